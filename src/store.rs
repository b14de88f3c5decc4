//! Durable state: order intents, decisions and seen opportunities, in sled.
//!
//! The store is where "never a double order" is kept: an intent is written with an
//! insert-if-absent and flushed to disk *before* [`Store::claim`] returns, so a key that
//! was ever claimed survives a crash and is never claimed (or sent) again.
//!
//! sled stays behind this file: no sled type appears in the public API, so replacing it
//! (e.g. with redb) is a one-file change. Layout, one sled tree each:
//!
//! - `intents`: key = [`IdempotencyKey`] text, value = JSON [`OrderIntent`];
//! - `decisions`: key = big-endian `u64` from `generate_id` (iteration order = insertion
//!   order), value = JSON [`Decision`];
//! - `seen`: key = `platform \0 opportunity_id`, value = JSON first-seen timestamp;
//! - `webhooks`: key = a webhook's id (FundAmerica `webhook_id`), value = JSON time it
//!   was processed, so each webhook is acted on once;
//! - `notifications`: key = delivery id, value = a queued outbound notification (JSON
//!   owned by `notify`);
//! - `unresolved`: key = the key of an intent that may not be final, value = empty. An
//!   index, so the checks every poll cycle makes ([`Store::unresolved`]) cost what is
//!   open rather than the whole history. It may hold stale keys (a crash between an
//!   intent's final write and the key's removal), never miss one: a key is added
//!   before its intent is written and removed after the intent became final;
//! - `meta`: `schema_version`, `health_check` (last `/healthz` write),
//!   `unresolved_index` (set once the index was built from the intents).
//!
//! Besides, an in-memory [`intent_index`] (counts by state, placed orders per day, the
//! orders still tracked) is built from the intents at open and updated on every intent
//! write, so the per-cycle order tracking and status gauges read no stored intent.
//!
//! sled flushes in the background every 500 ms; intents are flushed explicitly,
//! because they guard money (and `notify` flushes its queue, which must survive a
//! restart once queued). sled does not reclaim space under insert/delete churn
//! on its own, so [`Store::prune`] runs on a schedule and [`Store::size_on_disk`] is
//! watched.

use crate::decision::Decision;
use crate::opportunity::{OpportunityKind, PlatformId};
use crate::order::{IdempotencyKey, OrderIntent, OrderState};
use chrono::{DateTime, NaiveDate, Utc};
use intent_index::IntentIndex;
pub use intent_index::{PlacedOnDay, TrackedOrder};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

mod intent_index;

/// Store failures. Any of them stops order placement (never a POST without a durable intent).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store at {path}: {message}")]
    Io { path: String, message: String },
    #[error("corrupt record under {key}: {message}")]
    Corrupt { key: String, message: String },
    #[error("intent {0} does not exist")]
    UnknownIntent(String),
    #[error("intent {key}: {from} cannot become {to}")]
    BadTransition {
        key: String,
        from: String,
        to: String,
    },
}

/// The most memory sled may use to cache pages. sled's default is 1 GiB: a store that
/// grows large (a long `keep_history`) would take the daemon's memory with it.
const CACHE_CAPACITY_BYTES: u64 = 32 * 1024 * 1024;

/// The layout version written by this build; a database with another version is refused
/// rather than misread.
const SCHEMA_VERSION: &[u8] = b"1";
const SCHEMA_VERSION_KEY: &[u8] = b"schema_version";
/// Set in `meta` once the `unresolved` index covers every intent (databases written
/// before the index existed get it built when first opened).
const UNRESOLVED_INDEX_KEY: &[u8] = b"unresolved_index";

/// The daemon's database. Cheap to clone: clones share one open database.
#[derive(Clone)]
pub struct Store {
    dir: PathBuf,
    db: sled::Db,
    intents: sled::Tree,
    unresolved: sled::Tree,
    decisions: sled::Tree,
    seen: sled::Tree,
    webhooks: sled::Tree,
    notifications: sled::Tree,
    /// Derived from `intents`; its lock is held across each intent write so the two
    /// change in the same order.
    index: Arc<Mutex<IntentIndex>>,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store").field("dir", &self.dir).finish()
    }
}

impl Store {
    /// Opens (or creates) the database in `dir`. Fails when another process holds it.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        let io_error = |message: String| StoreError::Io {
            path: dir.display().to_string(),
            message,
        };
        std::fs::create_dir_all(dir)
            .map_err(|e| io_error(format!("cannot create the directory: {e}")))?;
        let db = open_db(dir).map_err(|e| io_error(describe_open_error(&e)))?;
        let open_tree = |name: &str| {
            db.open_tree(name)
                .map_err(|e| io_error(format!("cannot open tree {name}: {e}")))
        };
        let store = Store {
            intents: open_tree("intents")?,
            unresolved: open_tree("unresolved")?,
            decisions: open_tree("decisions")?,
            seen: open_tree("seen")?,
            webhooks: open_tree("webhooks")?,
            notifications: open_tree("notifications")?,
            index: Arc::default(),
            dir: dir.to_path_buf(),
            db: db.clone(),
        };
        let meta = open_tree("meta")?;
        store.check_schema_version(&meta)?;
        store.build_unresolved_index(&meta)?;
        store.build_intent_index()?;
        Ok(store)
    }

    /// Fills the in-memory index from every stored intent (no other writer exists
    /// while opening).
    fn build_intent_index(&self) -> Result<(), StoreError> {
        let mut index = self.index();
        for entry in self.intents.iter() {
            let (key, value) = entry.map_err(|e| self.io(e))?;
            index.add(&decode_intent(&String::from_utf8_lossy(&key), &value)?);
        }
        Ok(())
    }

    /// The in-memory index. A poisoned lock is used as is: the index only feeds order
    /// tracking and gauges, never a decision to send, and its updates do not panic.
    fn index(&self) -> MutexGuard<'_, IntentIndex> {
        self.index.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Indexes every intent not yet final, once per database; afterwards drops the
    /// keys of claims a crash cut short (no other writer exists while opening).
    fn build_unresolved_index(&self, meta: &sled::Tree) -> Result<(), StoreError> {
        if meta
            .contains_key(UNRESOLVED_INDEX_KEY)
            .map_err(|e| self.io(e))?
        {
            for entry in self.unresolved.iter() {
                let (key, _) = entry.map_err(|e| self.io(e))?;
                if !self.intents.contains_key(&key).map_err(|e| self.io(e))? {
                    self.unresolved.remove(&key).map_err(|e| self.io(e))?;
                }
            }
            return Ok(());
        }
        for intent in self.intents()? {
            if !intent.state.is_final() {
                self.unresolved
                    .insert(intent.key.as_str().as_bytes(), &[])
                    .map_err(|e| self.io(e))?;
            }
        }
        meta.insert(UNRESOLVED_INDEX_KEY, &[])
            .map_err(|e| self.io(e))?;
        self.flush()
    }

    /// Writes the schema version into a new database, refuses a database of another version.
    fn check_schema_version(&self, meta: &sled::Tree) -> Result<(), StoreError> {
        let absent: Option<&[u8]> = None;
        match meta
            .compare_and_swap(SCHEMA_VERSION_KEY, absent, Some(SCHEMA_VERSION))
            .map_err(|e| self.io(e))?
        {
            Ok(()) => self.flush(),
            Err(found) if found.current.as_deref() == Some(SCHEMA_VERSION) => Ok(()),
            Err(found) => Err(self.io_message(format!(
                "schema version {} is not the one this build understands ({})",
                String::from_utf8_lossy(found.current.as_deref().unwrap_or_default()),
                String::from_utf8_lossy(SCHEMA_VERSION)
            ))),
        }
    }

    /// Persists a new intent and flushes. Returns `false` (and writes nothing) when an
    /// intent with the same key already exists.
    pub fn claim(&self, intent: &OrderIntent) -> Result<bool, StoreError> {
        Ok(self.claim_all(std::slice::from_ref(intent))?[0])
    }

    /// Persists new intents with one flush (one disk sync for all of them, not one
    /// each); for each, `false` when an intent with its key already existed (and
    /// nothing was written for it). None may be sent before this returns.
    pub fn claim_all(&self, intents: &[OrderIntent]) -> Result<Vec<bool>, StoreError> {
        let mut claimed = Vec::with_capacity(intents.len());
        for intent in intents {
            claimed.push(self.write_new_intent(intent)?);
        }
        if claimed.contains(&true) {
            // The durability point: the caller may send the orders as soon as we return.
            self.flush()?;
        }
        Ok(claimed)
    }

    /// Writes `intent` if its key is new (not flushed); `false` when it existed.
    fn write_new_intent(&self, intent: &OrderIntent) -> Result<bool, StoreError> {
        let value = encode_intent(intent)?;
        // Indexed before it exists: sled's log keeps write order, so a durable intent
        // always has its index key. (A duplicate claim leaves a stale key, dropped by
        // the next `unresolved`.)
        self.unresolved
            .insert(intent.key.as_str().as_bytes(), &[])
            .map_err(|e| self.io(e))?;
        let absent: Option<&[u8]> = None;
        let mut index = self.index();
        let swapped = self
            .intents
            .compare_and_swap(intent.key.as_str().as_bytes(), absent, Some(value))
            .map_err(|e| self.io(e))?;
        if swapped.is_err() {
            return Ok(false);
        }
        index.add(intent);
        Ok(true)
    }

    /// Moves an intent to `next` (checked against the state machine) and flushes.
    ///
    /// The write is a compare-and-swap against the value that was checked, retried when
    /// another writer got there first, so concurrent transitions cannot lose an update
    /// or bypass the state machine.
    pub fn transition(
        &self,
        key: &IdempotencyKey,
        next: OrderState,
        now: DateTime<Utc>,
    ) -> Result<OrderIntent, StoreError> {
        let tree_key = key.as_str().as_bytes();
        loop {
            let current_bytes = self
                .intents
                .get(tree_key)
                .map_err(|e| self.io(e))?
                .ok_or_else(|| StoreError::UnknownIntent(key.to_string()))?;
            let current = decode_intent(key.as_str(), &current_bytes)?;
            if !current.state.can_become(&next) {
                return Err(StoreError::BadTransition {
                    key: key.to_string(),
                    from: current.state.name().to_string(),
                    to: next.name().to_string(),
                });
            }
            let updated = OrderIntent {
                state: next.clone(),
                updated_at: now,
                ..current.clone()
            };
            let value = encode_intent(&updated)?;
            let mut index = self.index();
            let swapped = self
                .intents
                .compare_and_swap(tree_key, Some(current_bytes), Some(value))
                .map_err(|e| self.io(e))?;
            if swapped.is_ok() {
                index.remove(&current);
                index.add(&updated);
                drop(index);
                if updated.state.is_final() {
                    self.unresolved.remove(tree_key).map_err(|e| self.io(e))?;
                }
                self.flush()?;
                return Ok(updated);
            }
        }
    }

    /// The intent stored under `key`, if any.
    pub fn intent(&self, key: &IdempotencyKey) -> Result<Option<OrderIntent>, StoreError> {
        self.intents
            .get(key.as_str().as_bytes())
            .map_err(|e| self.io(e))?
            .map(|bytes| decode_intent(key.as_str(), &bytes))
            .transpose()
    }

    /// Every intent, oldest first. A record that cannot be read is an error, never
    /// skipped: forgetting an intent could mean sending its order twice.
    pub fn intents(&self) -> Result<Vec<OrderIntent>, StoreError> {
        let mut all = Vec::new();
        for entry in self.intents.iter() {
            let (key, value) = entry.map_err(|e| self.io(e))?;
            all.push(decode_intent(&String::from_utf8_lossy(&key), &value)?);
        }
        all.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.key.cmp(&b.key)));
        Ok(all)
    }

    /// Intents not in a final state (to reconcile or send), oldest first. Reads only
    /// the `unresolved` index's intents, and drops the index keys found stale.
    pub fn unresolved(&self) -> Result<Vec<OrderIntent>, StoreError> {
        let mut open = Vec::new();
        for entry in self.unresolved.iter() {
            let (key, _) = entry.map_err(|e| self.io(e))?;
            let key_text = String::from_utf8_lossy(&key).into_owned();
            // No intent: a claim in progress (or one a crash cut short, dropped at open).
            if let Some(value) = self.intents.get(&key).map_err(|e| self.io(e))? {
                let intent = decode_intent(&key_text, &value)?;
                if intent.state.is_final() {
                    self.unresolved.remove(&key).map_err(|e| self.io(e))?;
                } else {
                    open.push(intent);
                }
            }
        }
        open.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.key.cmp(&b.key)));
        Ok(open)
    }

    /// How many intents are not final: of one platform account, or of all with `None`.
    /// From memory: reads no stored intent.
    pub fn unresolved_count(&self, platform: Option<&PlatformId>) -> usize {
        self.index().unresolved(platform)
    }

    /// The placed orders of `platform` among the intents created on the UTC `day`.
    /// From memory: reads no stored intent.
    pub fn placed_on(&self, platform: &PlatformId, day: NaiveDate) -> PlacedOnDay {
        self.index().placed_on(platform, day)
    }

    /// `platform`'s placed orders whose platform status has not been found final,
    /// oldest first: every placed (not dry-run) intent, until
    /// [`Store::stop_tracking`] drops it. From memory: reads no stored intent. After
    /// a restart it starts again from every placed intent.
    pub fn tracked_orders(&self, platform: &PlatformId) -> Vec<TrackedOrder> {
        self.index().tracked(platform)
    }

    /// Stops listing `order` in [`Store::tracked_orders`]: its platform status is
    /// final. Kept when the intent's status changed since `order` was read.
    pub fn stop_tracking(&self, order: &TrackedOrder) {
        self.index().stop_tracking(order);
    }

    /// Appends a decision. Not flushed on its own: decisions are not money, and the
    /// background flush (or the next intent flush) persists them.
    pub fn record_decision(&self, decision: &Decision) -> Result<(), StoreError> {
        let id = self.db.generate_id().map_err(|e| self.io(e))?;
        let value = serde_json::to_vec(decision).map_err(|e| StoreError::Corrupt {
            key: format!("decisions/{id}"),
            message: format!("cannot encode: {e}"),
        })?;
        self.decisions
            .insert(id.to_be_bytes(), value)
            .map_err(|e| self.io(e))?;
        Ok(())
    }

    /// The most recent `limit` decisions, oldest first (newest last).
    pub fn decisions(&self, limit: usize) -> Result<Vec<Decision>, StoreError> {
        let mut recent = Vec::with_capacity(limit.min(1024));
        for entry in self.decisions.iter().rev().take(limit) {
            let (key, value) = entry.map_err(|e| self.io(e))?;
            recent.push(decode_decision(&key, &value)?);
        }
        recent.reverse();
        Ok(recent)
    }

    /// Remembers an opportunity; `true` the first time it is seen.
    pub fn mark_seen(
        &self,
        platform: &str,
        opportunity_id: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let key = seen_key(platform, opportunity_id);
        let value = serde_json::to_vec(&at).map_err(|e| StoreError::Corrupt {
            key: format!("seen/{platform}/{opportunity_id}"),
            message: format!("cannot encode: {e}"),
        })?;
        let absent: Option<&[u8]> = None;
        let swapped = self
            .seen
            .compare_and_swap(key, absent, Some(value))
            .map_err(|e| self.io(e))?;
        Ok(swapped.is_ok())
    }

    /// Records that the webhook `id` is being processed and flushes; `true` the first
    /// time, `false` (and nothing written) for an id already recorded — a replay.
    pub fn mark_webhook_processed(&self, id: &str, at: DateTime<Utc>) -> Result<bool, StoreError> {
        let value = serde_json::to_vec(&at).map_err(|e| StoreError::Corrupt {
            key: format!("webhooks/{id}"),
            message: format!("cannot encode: {e}"),
        })?;
        let absent: Option<&[u8]> = None;
        let swapped = self
            .webhooks
            .compare_and_swap(id.as_bytes(), absent, Some(value))
            .map_err(|e| self.io(e))?;
        if swapped.is_err() {
            return Ok(false);
        }
        // Durable before the webhook is acted on: after a crash it is still a replay.
        self.flush()?;
        Ok(true)
    }

    /// Removes records older than `older_than` and returns how many were removed:
    /// decisions, seen records and processed webhook ids by their timestamp (a
    /// platform resends a webhook for minutes, not months), and intents that are
    /// final, were last updated before the cutoff, and are for a *loan*.
    ///
    /// Trade-off: a removed intent's key is forgotten, so the same decision could be
    /// made (and sent) again if the opportunity were still offered. Loan listings close
    /// within days (Funding Circle: a week), so a cutoff of months is safe for them.
    /// Offerings (open funds) can stay open for years, so their intents are kept
    /// whatever their age: they are few, and forgetting a placed one would buy twice.
    /// Unfinished intents are never removed. A record that cannot be read is an error
    /// and nothing after it is removed.
    pub fn prune(&self, older_than: DateTime<Utc>) -> Result<usize, StoreError> {
        Ok(self.prune_decisions(older_than)?
            + self.prune_seen(older_than)?
            + self.prune_webhooks(older_than)?
            + self.prune_intents(older_than)?)
    }

    fn prune_decisions(&self, older_than: DateTime<Utc>) -> Result<usize, StoreError> {
        let mut removed = 0;
        for entry in self.decisions.iter() {
            let (key, value) = entry.map_err(|e| self.io(e))?;
            if decode_decision(&key, &value)?.at < older_than {
                self.decisions.remove(key).map_err(|e| self.io(e))?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    fn prune_seen(&self, older_than: DateTime<Utc>) -> Result<usize, StoreError> {
        let mut removed = 0;
        for entry in self.seen.iter() {
            let (key, value) = entry.map_err(|e| self.io(e))?;
            let first_seen: DateTime<Utc> =
                serde_json::from_slice(&value).map_err(|e| StoreError::Corrupt {
                    key: format!("seen/{}", String::from_utf8_lossy(&key).replace('\0', "/")),
                    message: e.to_string(),
                })?;
            if first_seen < older_than {
                self.seen.remove(key).map_err(|e| self.io(e))?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    fn prune_webhooks(&self, older_than: DateTime<Utc>) -> Result<usize, StoreError> {
        let mut removed = 0;
        for entry in self.webhooks.iter() {
            let (key, value) = entry.map_err(|e| self.io(e))?;
            let processed: DateTime<Utc> =
                serde_json::from_slice(&value).map_err(|e| StoreError::Corrupt {
                    key: format!("webhooks/{}", String::from_utf8_lossy(&key)),
                    message: e.to_string(),
                })?;
            if processed < older_than {
                self.webhooks.remove(key).map_err(|e| self.io(e))?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    fn prune_intents(&self, older_than: DateTime<Utc>) -> Result<usize, StoreError> {
        let mut removed = 0;
        for entry in self.intents.iter() {
            let (key, value) = entry.map_err(|e| self.io(e))?;
            let intent = decode_intent(&String::from_utf8_lossy(&key), &value)?;
            let forgettable = intent.state.is_final()
                && intent.updated_at < older_than
                && intent.opportunity_kind == OpportunityKind::Loan;
            if forgettable {
                // Only remove the exact record that was checked, in case it just changed.
                let unchanged: Option<&[u8]> = None;
                let mut index = self.index();
                let swapped = self
                    .intents
                    .compare_and_swap(key, Some(value), unchanged)
                    .map_err(|e| self.io(e))?;
                if swapped.is_ok() {
                    index.remove(&intent);
                    removed += 1;
                }
            }
        }
        Ok(removed)
    }

    /// Writes (or overwrites) a queued notification. Not flushed: call [`Store::flush`].
    pub fn put_notification(&self, delivery_id: &str, record: &[u8]) -> Result<(), StoreError> {
        self.notifications
            .insert(delivery_id.as_bytes(), record)
            .map_err(|e| self.io(e))?;
        Ok(())
    }

    /// Every queued notification as `(delivery id, record)`, in key order.
    pub fn notifications(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let mut all = Vec::new();
        for entry in self.notifications.iter() {
            let (key, value) = entry.map_err(|e| self.io(e))?;
            all.push((String::from_utf8_lossy(&key).into_owned(), value.to_vec()));
        }
        Ok(all)
    }

    /// Removes a queued notification (absent is fine). Not flushed: call [`Store::flush`].
    pub fn remove_notification(&self, delivery_id: &str) -> Result<(), StoreError> {
        self.notifications
            .remove(delivery_id.as_bytes())
            .map_err(|e| self.io(e))?;
        Ok(())
    }

    /// Bytes the database occupies on disk.
    pub fn size_on_disk(&self) -> Result<u64, StoreError> {
        self.db.size_on_disk().map_err(|e| self.io(e))
    }

    /// Proves the database still takes durable writes (for `/healthz`): writes the
    /// current time under `meta/health_check` and flushes.
    pub fn check_writable(&self) -> Result<(), StoreError> {
        let meta = self.db.open_tree("meta").map_err(|e| self.io(e))?;
        let now = chrono::Utc::now().to_rfc3339();
        meta.insert("health_check", now.as_bytes())
            .map_err(|e| self.io(e))?;
        self.flush()
    }

    /// Writes every pending change to disk and waits for it.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.db.flush().map_err(|e| self.io(e))?;
        Ok(())
    }

    fn io(&self, error: sled::Error) -> StoreError {
        self.io_message(error.to_string())
    }

    fn io_message(&self, message: String) -> StoreError {
        StoreError::Io {
            path: self.dir.display().to_string(),
            message,
        }
    }
}

/// sled's lock failure says only "could not acquire lock"; say what it means for us.
/// How long opening waits for a lock that is being released: a `Store` dropped in
/// this process hands sled's file lock back from a background thread a moment later.
const LOCK_RELEASE_WAIT: std::time::Duration = std::time::Duration::from_millis(500);

/// Opens sled in `dir`, retrying a held lock for up to [`LOCK_RELEASE_WAIT`].
fn open_db(dir: &Path) -> sled::Result<sled::Db> {
    let started = std::time::Instant::now();
    loop {
        let opened = sled::Config::new()
            .path(dir)
            .cache_capacity(CACHE_CAPACITY_BYTES)
            .open();
        match opened {
            Err(error) if is_lock_held(&error) && started.elapsed() < LOCK_RELEASE_WAIT => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => return other,
        }
    }
}

fn is_lock_held(error: &sled::Error) -> bool {
    error.to_string().contains("could not acquire lock")
}

fn describe_open_error(error: &sled::Error) -> String {
    let text = error.to_string();
    if is_lock_held(error) {
        format!("the database is locked: another autoinvest may be running ({text})")
    } else {
        format!("cannot open the database: {text}")
    }
}

fn seen_key(platform: &str, opportunity_id: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(platform.len() + 1 + opportunity_id.len());
    key.extend_from_slice(platform.as_bytes());
    key.push(0);
    key.extend_from_slice(opportunity_id.as_bytes());
    key
}

fn encode_intent(intent: &OrderIntent) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(intent).map_err(|e| StoreError::Corrupt {
        key: intent.key.to_string(),
        message: format!("cannot encode: {e}"),
    })
}

fn decode_intent(key: &str, bytes: &[u8]) -> Result<OrderIntent, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt {
        key: key.to_string(),
        message: e.to_string(),
    })
}

fn decode_decision(key: &[u8], bytes: &[u8]) -> Result<Decision, StoreError> {
    let id = <[u8; 8]>::try_from(key).map(u64::from_be_bytes);
    let name = match id {
        Ok(id) => format!("decisions/{id}"),
        Err(_) => format!("decisions/{}", hex::encode(key)),
    };
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt {
        key: name,
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::Verdict;
    use crate::opportunity::{PlatformId, PurchaseMode};
    use chrono::{Duration, TimeZone};
    use rust_decimal_macros::dec;
    use tempfile::TempDir;

    fn at(day: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, day, 12, 0, 0).unwrap()
    }

    fn intent(opportunity_id: &str, kind: OpportunityKind, created: DateTime<Utc>) -> OrderIntent {
        let platform = PlatformId::new("fc");
        OrderIntent {
            key: IdempotencyKey::derive(&platform, "s", opportunity_id, "once"),
            platform,
            strategy: "s".into(),
            opportunity_id: opportunity_id.into(),
            opportunity_kind: kind,
            purchase: PurchaseMode::Fractional,
            amount: dec!(25.00),
            shares: None,
            grade: Some("A".into()),
            reason: "test".into(),
            slot: "once".into(),
            created_at: created,
            updated_at: created,
            state: OrderState::Claimed,
            dry_run: false,
        }
    }

    fn decision(when: DateTime<Utc>, verdict: Verdict) -> Decision {
        Decision {
            at: when,
            platform: PlatformId::new("fc"),
            strategy: "s".into(),
            opportunity_id: "l1".into(),
            verdict,
        }
    }

    fn placed() -> OrderState {
        OrderState::Placed {
            order_id: "o1".into(),
            amount: dec!(25.00),
            platform_status: "pending".into(),
        }
    }

    #[test]
    fn intents_are_sorted_by_creation_and_unresolved_excludes_final() {
        let dir = TempDir::new().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let late = intent("late", OpportunityKind::Loan, at(3));
        let early = intent("early", OpportunityKind::Loan, at(1));
        assert!(store.claim(&late).unwrap());
        assert!(store.claim(&early).unwrap());
        store
            .transition(&early.key, OrderState::Sending, at(2))
            .unwrap();
        store.transition(&early.key, placed(), at(2)).unwrap();

        let all = store.intents().unwrap();
        assert_eq!(
            all.iter()
                .map(|i| i.opportunity_id.as_str())
                .collect::<Vec<_>>(),
            ["early", "late"]
        );
        let open = store.unresolved().unwrap();
        assert_eq!(open.len(), 1);
        assert_eq!(open[0].key, late.key);
    }

    fn index_keys(store: &Store) -> Vec<String> {
        store
            .unresolved
            .iter()
            .keys()
            .map(|k| String::from_utf8(k.unwrap().to_vec()).unwrap())
            .collect()
    }

    #[test]
    fn the_unresolved_index_holds_exactly_the_intents_not_final() {
        let dir = TempDir::new().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let done = intent("done", OpportunityKind::Loan, at(1));
        let open = intent("open", OpportunityKind::Loan, at(2));
        assert!(store.claim(&done).unwrap());
        assert!(store.claim(&open).unwrap());
        assert_eq!(index_keys(&store).len(), 2);
        store
            .transition(&done.key, OrderState::Sending, at(2))
            .unwrap();
        assert_eq!(index_keys(&store).len(), 2, "Sending is not final");
        store.transition(&done.key, placed(), at(2)).unwrap();
        assert_eq!(index_keys(&store), [open.key.as_str()]);
        // A second claim of a final intent writes nothing and leaves no trace.
        assert!(!store.claim(&done).unwrap());
        assert_eq!(store.unresolved().unwrap()[0].key, open.key);
        assert_eq!(index_keys(&store), [open.key.as_str()]);
    }

    #[test]
    fn a_database_from_before_the_index_gets_it_built_and_orphan_keys_go_at_open() {
        let dir = TempDir::new().unwrap();
        let done = intent("done", OpportunityKind::Loan, at(1));
        let open = intent("open", OpportunityKind::Loan, at(2));
        {
            let store = Store::open(dir.path()).unwrap();
            store.claim(&done).unwrap();
            store.claim(&open).unwrap();
            store
                .transition(&done.key, OrderState::Sending, at(2))
                .unwrap();
            store.transition(&done.key, placed(), at(2)).unwrap();
            // As an older build left it: no index, no marker.
            store.unresolved.clear().unwrap();
            let meta = store.db.open_tree("meta").unwrap();
            meta.remove(UNRESOLVED_INDEX_KEY).unwrap();
            store.flush().unwrap();
        }
        {
            let store = Store::open(dir.path()).unwrap();
            assert_eq!(index_keys(&store), [open.key.as_str()]);
            // A claim cut short by a crash: the index key without its intent.
            store.unresolved.insert("fc/s/ghost/once", &[]).unwrap();
            store.flush().unwrap();
            assert_eq!(store.unresolved().unwrap().len(), 1);
        }
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(index_keys(&store), [open.key.as_str()]);
        assert_eq!(store.unresolved().unwrap()[0].key, open.key);
    }

    /// The index as a fresh build from every stored intent would give it.
    fn recounted(store: &Store) -> IntentIndex {
        let mut index = IntentIndex::default();
        for intent in store.intents().unwrap() {
            index.add(&intent);
        }
        index
    }

    fn placed_as(order_id: &str, amount: rust_decimal::Decimal, status: &str) -> OrderState {
        OrderState::Placed {
            order_id: order_id.into(),
            amount,
            platform_status: status.into(),
        }
    }

    #[test]
    fn the_intent_index_follows_claims_transitions_prune_and_a_reopen() {
        let dir = TempDir::new().unwrap();
        let fc = PlatformId::new("fc");
        let fr = PlatformId::new("fr");
        let a = intent("a", OpportunityKind::Loan, at(1));
        let b = intent("b", OpportunityKind::Loan, at(1));
        let c = OrderIntent {
            key: IdempotencyKey::derive(&fr, "s", "c", "once"),
            platform: fr.clone(),
            ..intent("c", OpportunityKind::Loan, at(2))
        };
        {
            let store = Store::open(dir.path()).unwrap();
            assert_eq!(
                store.claim_all(&[a.clone(), b.clone(), c.clone()]).unwrap(),
                [true; 3]
            );
            assert_eq!(
                store.claim_all(std::slice::from_ref(&a)).unwrap(),
                [false],
                "a claimed twice"
            );
            assert_eq!(store.unresolved_count(Some(&fc)), 2);
            assert_eq!(store.unresolved_count(None), 3);

            store
                .transition(&a.key, OrderState::Sending, at(1))
                .unwrap();
            store
                .transition(&a.key, placed_as("o1", dec!(20), "pending"), at(1))
                .unwrap();
            let not_placed = OrderState::NotPlaced { reason: "x".into() };
            store.transition(&b.key, not_placed, at(1)).unwrap();
            store
                .transition(&c.key, OrderState::Sending, at(2))
                .unwrap();
            assert_eq!(store.unresolved_count(Some(&fc)), 0);
            assert_eq!(store.unresolved_count(Some(&fr)), 1);
            let placed = store.placed_on(&fc, at(1).date_naive());
            assert_eq!((placed.orders, placed.amount), (1, dec!(20)));
            assert_eq!(
                store.placed_on(&fc, at(2).date_naive()),
                PlacedOnDay::default()
            );
            let tracked = store.tracked_orders(&fc);
            assert_eq!(tracked.len(), 1);
            assert_eq!(tracked[0].platform_status, "pending");
            assert!(store.tracked_orders(&fr).is_empty());

            // The platform status moves on: tracked with the new one.
            store
                .transition(&a.key, placed_as("o1", dec!(20), "funded"), at(3))
                .unwrap();
            assert_eq!(store.tracked_orders(&fc)[0].platform_status, "funded");
            assert_eq!(store.placed_on(&fc, at(1).date_naive()).orders, 1);
            assert_eq!(*store.index(), recounted(&store));
        }
        // Rebuilt from the intents at open: the same counts.
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(*store.index(), recounted(&store));
        assert_eq!(store.unresolved_count(None), 1);
        assert_eq!(store.placed_on(&fc, at(1).date_naive()).amount, dec!(20));

        // Pruning forgets a and b (final loans, old): a's placed order goes too.
        assert_eq!(store.prune(at(20)).unwrap(), 2);
        assert_eq!(
            store.placed_on(&fc, at(1).date_naive()),
            PlacedOnDay::default()
        );
        assert!(store.tracked_orders(&fc).is_empty());
        assert_eq!(*store.index(), recounted(&store));
    }

    #[test]
    fn tracking_stops_for_a_final_status_and_resumes_when_the_status_changes() {
        let dir = TempDir::new().unwrap();
        let fc = PlatformId::new("fc");
        let store = Store::open(dir.path()).unwrap();
        let a = intent("a", OpportunityKind::Loan, at(1));
        store.claim(&a).unwrap();
        store
            .transition(&a.key, OrderState::Sending, at(1))
            .unwrap();
        store
            .transition(&a.key, placed_as("o1", dec!(25), "late"), at(1))
            .unwrap();
        let found_final = store.tracked_orders(&fc)[0].clone();
        // Meanwhile the status changes (a webhook): the newer status stays tracked.
        store
            .transition(&a.key, placed_as("o1", dec!(25), "current"), at(2))
            .unwrap();
        store.stop_tracking(&found_final);
        assert_eq!(store.tracked_orders(&fc).len(), 1);
        store.stop_tracking(&store.tracked_orders(&fc)[0]);
        assert!(store.tracked_orders(&fc).is_empty());
        store
            .transition(&a.key, placed_as("o1", dec!(25), "charged_off"), at(3))
            .unwrap();
        assert_eq!(store.tracked_orders(&fc)[0].platform_status, "charged_off");
        // The counts do not depend on tracking.
        assert_eq!(store.placed_on(&fc, at(1).date_naive()).orders, 1);
    }

    #[test]
    fn the_intent_index_is_built_for_intents_written_without_it() {
        let dir = TempDir::new().unwrap();
        let fc = PlatformId::new("fc");
        let placed = OrderIntent {
            state: placed_as("o1", dec!(30), "pending"),
            ..intent("placed", OpportunityKind::Loan, at(1))
        };
        let claimed = intent("claimed", OpportunityKind::Loan, at(1));
        {
            let store = Store::open(dir.path()).unwrap();
            // As an older build (or any writer not going through the index) left them.
            for i in [&placed, &claimed] {
                store
                    .intents
                    .insert(i.key.as_str(), encode_intent(i).unwrap())
                    .unwrap();
            }
            store.flush().unwrap();
            assert_eq!(store.unresolved_count(None), 0, "written past the index");
        }
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.unresolved_count(Some(&fc)), 1);
        let on_day = store.placed_on(&fc, at(1).date_naive());
        assert_eq!((on_day.orders, on_day.amount), (1, dec!(30)));
        assert_eq!(store.tracked_orders(&fc)[0].order_id, "o1");
    }

    #[test]
    fn corrupt_intent_is_reported_never_skipped() {
        let dir = TempDir::new().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store
            .claim(&intent("good", OpportunityKind::Loan, at(1)))
            .unwrap();
        store
            .intents
            .insert("broken-key", &b"{not json"[..])
            .unwrap();
        // As a claimed (not final) intent is: in the unresolved index.
        store.unresolved.insert("broken-key", &[]).unwrap();

        for result in [store.intents().map(|_| ()), store.unresolved().map(|_| ())] {
            match result {
                Err(StoreError::Corrupt { key, .. }) => assert_eq!(key, "broken-key"),
                other => panic!("expected Corrupt, got {other:?}"),
            }
        }
        let broken = IdempotencyKey::from_stored("broken-key".into());
        assert!(matches!(
            store.intent(&broken),
            Err(StoreError::Corrupt { .. })
        ));
        assert!(matches!(
            store.transition(&broken, OrderState::Sending, at(2)),
            Err(StoreError::Corrupt { .. })
        ));
        assert!(matches!(
            store.prune(at(28)),
            Err(StoreError::Corrupt { .. })
        ));
    }

    #[test]
    fn corrupt_decision_is_reported_with_its_id() {
        let dir = TempDir::new().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store
            .decisions
            .insert(7u64.to_be_bytes(), &b"[]"[..])
            .unwrap();
        match store.decisions(10) {
            Err(StoreError::Corrupt { key, .. }) => assert_eq!(key, "decisions/7"),
            other => panic!("expected Corrupt, got {other:?}"),
        }
    }

    #[test]
    fn decisions_round_trip_and_return_the_most_recent_oldest_first() {
        let dir = TempDir::new().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let buy = decision(
            at(1),
            Verdict::Buy {
                key: IdempotencyKey::from_stored("k".into()),
                amount: dec!(25.50),
                reason: "A band".into(),
            },
        );
        store.record_decision(&buy).unwrap();
        for day in 2..=5 {
            let skip = Verdict::Skip {
                reason: format!("day {day}"),
            };
            store.record_decision(&decision(at(day), skip)).unwrap();
        }
        assert_eq!(store.decisions(100).unwrap()[0], buy);
        let recent = store.decisions(2).unwrap();
        assert_eq!(
            recent.iter().map(|d| d.at).collect::<Vec<_>>(),
            [at(4), at(5)]
        );
        assert!(store.decisions(0).unwrap().is_empty());
    }

    #[test]
    fn mark_seen_is_true_only_the_first_time() {
        let dir = TempDir::new().unwrap();
        let store = Store::open(dir.path()).unwrap();
        assert!(store.mark_seen("fc", "l1", at(1)).unwrap());
        assert!(!store.mark_seen("fc", "l1", at(2)).unwrap());
        assert!(store.mark_seen("fr", "l1", at(2)).unwrap());
        // An id that merely shares a prefix is a different opportunity.
        assert!(store.mark_seen("fc", "l10", at(2)).unwrap());
    }

    #[test]
    fn webhooks_are_processed_once_across_reopening_and_pruned_when_old() {
        let dir = TempDir::new().unwrap();
        {
            let store = Store::open(dir.path()).unwrap();
            assert!(store.mark_webhook_processed("w1", at(1)).unwrap());
            assert!(!store.mark_webhook_processed("w1", at(2)).unwrap());
            assert!(store.mark_webhook_processed("w10", at(5)).unwrap());
        }
        let store = Store::open(dir.path()).unwrap();
        assert!(!store.mark_webhook_processed("w1", at(3)).unwrap());
        // Webhooks only: intents, decisions and seen records are counted apart.
        assert_eq!(store.prune(at(4)).unwrap(), 1);
        assert!(store.mark_webhook_processed("w1", at(6)).unwrap());
        assert!(!store.mark_webhook_processed("w10", at(6)).unwrap());
    }

    #[test]
    fn prune_keeps_what_idempotency_needs() {
        let dir = TempDir::new().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let cutoff = at(20);
        let old = at(1);

        let old_final_loan = intent("old-final-loan", OpportunityKind::Loan, old);
        let old_open_loan = intent("old-open-loan", OpportunityKind::Loan, old);
        let old_final_offering = intent("old-final-offering", OpportunityKind::Offering, old);
        let recent_final_loan = intent("recent-final-loan", OpportunityKind::Loan, old);
        for i in [
            &old_final_loan,
            &old_open_loan,
            &old_final_offering,
            &recent_final_loan,
        ] {
            assert!(store.claim(i).unwrap());
        }
        let not_placed = OrderState::NotPlaced { reason: "x".into() };
        store
            .transition(&old_final_loan.key, not_placed.clone(), old)
            .unwrap();
        store
            .transition(&old_final_offering.key, not_placed.clone(), old)
            .unwrap();
        store
            .transition(
                &recent_final_loan.key,
                not_placed,
                cutoff + Duration::days(1),
            )
            .unwrap();
        store
            .transition(&old_open_loan.key, OrderState::Sending, old)
            .unwrap();

        store
            .record_decision(&decision(
                old,
                Verdict::Skip {
                    reason: "old".into(),
                },
            ))
            .unwrap();
        store
            .record_decision(&decision(
                at(25),
                Verdict::Skip {
                    reason: "new".into(),
                },
            ))
            .unwrap();
        store.mark_seen("fc", "old", old).unwrap();
        store.mark_seen("fc", "new", at(25)).unwrap();

        assert_eq!(store.prune(cutoff).unwrap(), 3);

        let mut kept: Vec<String> = store
            .intents()
            .unwrap()
            .into_iter()
            .map(|i| i.opportunity_id)
            .collect();
        kept.sort();
        assert_eq!(
            kept,
            ["old-final-offering", "old-open-loan", "recent-final-loan"]
        );
        assert_eq!(store.decisions(10).unwrap().len(), 1);
        assert!(store.mark_seen("fc", "old", at(26)).unwrap());
        assert!(!store.mark_seen("fc", "new", at(26)).unwrap());
        assert_eq!(store.prune(cutoff).unwrap(), 0);
    }

    #[test]
    fn refuses_a_database_of_another_schema_version() {
        let dir = TempDir::new().unwrap();
        {
            let store = Store::open(dir.path()).unwrap();
            let meta = store.db.open_tree("meta").unwrap();
            meta.insert(SCHEMA_VERSION_KEY, &b"99"[..]).unwrap();
            store.flush().unwrap();
        }
        let error = Store::open(dir.path()).unwrap_err().to_string();
        assert!(error.contains("schema version 99"), "{error}");
    }

    #[test]
    fn size_on_disk_is_reported() {
        let dir = TempDir::new().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store
            .claim(&intent("l1", OpportunityKind::Loan, at(1)))
            .unwrap();
        assert!(store.size_on_disk().unwrap() > 0);
    }
}
