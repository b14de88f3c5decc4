//! The daemon's live status, shared by the poll loops (which write it) and the HTTP
//! endpoint (which serves it as `/status` and judges `/healthz` by it).

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

/// One platform account's state.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PlatformStatus {
    pub last_success: Option<DateTime<Utc>>,
    pub consecutive_failures: u32,
    pub last_error: Option<String>,
    /// Open opportunities in the last successful poll.
    pub open_opportunities: usize,
    /// Orders placed (or, in a dry run, recorded) today, UTC.
    pub orders_today: usize,
    pub amount_today: Decimal,
    /// Intents whose outcome is not final yet.
    pub unresolved_intents: usize,
    /// Budget left for this account, by scope ("daily", "total"), when configured.
    pub budget_remaining: BTreeMap<String, Decimal>,
    pub pacing: PacingStatus,
}

/// The account's request pacer.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PacingStatus {
    /// Milliseconds until requests may leave again after a 429 (0 when not held).
    pub held_for_ms: u64,
    /// 429 answers since the last success.
    pub consecutive_rate_limits: u32,
    pub last_rate_limited: Option<DateTime<Utc>>,
}

/// One strategy's decisions since start.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct StrategyStatus {
    /// Recorded decisions by outcome ("buy", "skip", "error").
    pub decisions: BTreeMap<String, u64>,
    /// The last run-time error, naming the script line.
    pub last_error: Option<String>,
    pub last_error_at: Option<DateTime<Utc>>,
}

/// Everything `/status` shows.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Status {
    pub mode: String,
    /// Consecutive failed polls after which a platform makes `/healthz` unhealthy.
    pub unhealthy_after: u32,
    pub started_at: Option<DateTime<Utc>>,
    pub platforms: BTreeMap<String, PlatformStatus>,
    pub strategies: BTreeMap<String, StrategyStatus>,
    /// Account-wide budget left, by scope ("daily", "total").
    pub budget_remaining: BTreeMap<String, Decimal>,
}

/// Shared, cheaply cloned status board.
#[derive(Debug, Clone, Default)]
pub struct StatusBoard(Arc<Mutex<Status>>);

impl StatusBoard {
    pub fn new(mode: &str, unhealthy_after: u32) -> Self {
        StatusBoard(Arc::new(Mutex::new(Status {
            mode: mode.to_string(),
            unhealthy_after,
            started_at: Some(Utc::now()),
            ..Status::default()
        })))
    }

    fn with<T>(&self, f: impl FnOnce(&mut Status) -> T) -> T {
        f(&mut self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }

    pub fn update<T>(&self, platform: &str, change: impl FnOnce(&mut PlatformStatus) -> T) -> T {
        self.with(|s| change(s.platforms.entry(platform.to_string()).or_default()))
    }

    pub fn update_strategy(&self, strategy: &str, change: impl FnOnce(&mut StrategyStatus)) {
        self.with(|s| change(s.strategies.entry(strategy.to_string()).or_default()));
    }

    pub fn set_budget_remaining(&self, scope: &str, value: Decimal) {
        self.with(|s| s.budget_remaining.insert(scope.to_string(), value));
    }

    pub fn snapshot(&self) -> Status {
        self.with(|s| s.clone())
    }

    /// Platforms that failed too many polls in a row.
    pub fn failing(&self) -> Vec<String> {
        self.with(|s| {
            s.platforms
                .iter()
                .filter(|(_, p)| p.consecutive_failures >= s.unhealthy_after.max(1))
                .map(|(id, _)| id.clone())
                .collect()
        })
    }
}
