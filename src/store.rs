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
        self.for_each_intent(|intent| index.add(&intent))
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
        self.for_each_intent(|intent| all.push(intent))?;
        all.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.key.cmp(&b.key)));
        Ok(all)
    }

    /// Decodes every stored intent in key order; the first unreadable one is the error.
    fn for_each_intent(&self, mut each: impl FnMut(OrderIntent)) -> Result<(), StoreError> {
        for entry in self.intents.iter() {
            let (key, value) = entry.map_err(|e| self.io(e))?;
            each(decode_intent(&String::from_utf8_lossy(&key), &value)?);
        }
        Ok(())
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
mod tests;
