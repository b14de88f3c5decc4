//! Durable state in sled: order intents, decisions, seen opportunities.
//! (Stub: being implemented.)

use crate::decision::Decision;
use crate::order::{IdempotencyKey, OrderIntent, OrderState};
use chrono::{DateTime, Utc};
use std::path::Path;

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

/// The daemon's database.
pub struct Store {}

impl Store {
    /// Opens (or creates) the database in `dir`.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        let _ = dir;
        todo!()
    }

    /// Persists a new intent and flushes. Returns `false` (and writes nothing) when an
    /// intent with the same key already exists.
    pub fn claim(&self, intent: &OrderIntent) -> Result<bool, StoreError> {
        let _ = intent;
        todo!()
    }

    /// Moves an intent to `next` (checked against the state machine) and flushes.
    pub fn transition(
        &self,
        key: &IdempotencyKey,
        next: OrderState,
        now: DateTime<Utc>,
    ) -> Result<OrderIntent, StoreError> {
        let _ = (key, next, now);
        todo!()
    }

    pub fn intent(&self, key: &IdempotencyKey) -> Result<Option<OrderIntent>, StoreError> {
        let _ = key;
        todo!()
    }

    /// Every intent, oldest first.
    pub fn intents(&self) -> Result<Vec<OrderIntent>, StoreError> {
        todo!()
    }

    /// Intents not in a final state.
    pub fn unresolved(&self) -> Result<Vec<OrderIntent>, StoreError> {
        todo!()
    }

    /// Appends a decision (not flushed on its own).
    pub fn record_decision(&self, decision: &Decision) -> Result<(), StoreError> {
        let _ = decision;
        todo!()
    }

    /// The most recent decisions, newest last.
    pub fn decisions(&self, limit: usize) -> Result<Vec<Decision>, StoreError> {
        let _ = limit;
        todo!()
    }

    /// Remembers an opportunity; `true` the first time it is seen.
    pub fn mark_seen(
        &self,
        platform: &str,
        opportunity_id: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let _ = (platform, opportunity_id, at);
        todo!()
    }

    pub fn flush(&self) -> Result<(), StoreError> {
        todo!()
    }
}
impl Store {
    pub fn prune(&self, older_than: DateTime<Utc>) -> Result<usize, StoreError> {
        let _ = older_than;
        todo!()
    }
    pub fn size_on_disk(&self) -> u64 {
        todo!()
    }
}
