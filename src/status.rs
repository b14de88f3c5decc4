//! The daemon's live status per platform account, shared by the poll loops (which
//! write it) and the HTTP endpoint (which reads it for `/healthz` and `/status`).

use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

/// Consecutive failed polls after which `/healthz` reports the daemon unhealthy.
pub const UNHEALTHY_AFTER_FAILURES: u32 = 3;

/// One platform account's state.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PlatformStatus {
    pub last_success: Option<DateTime<Utc>>,
    pub consecutive_failures: u32,
    pub open_opportunities: usize,
    pub last_error: Option<String>,
    /// Intents whose outcome is not final yet.
    pub unresolved_intents: usize,
}

/// Shared, cheaply cloned status board.
#[derive(Debug, Clone, Default)]
pub struct StatusBoard(Arc<Mutex<BTreeMap<String, PlatformStatus>>>);

impl StatusBoard {
    pub fn update(&self, platform: &str, change: impl FnOnce(&mut PlatformStatus)) {
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        change(map.entry(platform.to_string()).or_default());
    }

    pub fn snapshot(&self) -> BTreeMap<String, PlatformStatus> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Platforms that failed too many polls in a row.
    pub fn failing(&self) -> Vec<String> {
        self.snapshot()
            .into_iter()
            .filter(|(_, s)| s.consecutive_failures >= UNHEALTHY_AFTER_FAILURES)
            .map(|(id, _)| id)
            .collect()
    }
}
