//! The sandbox's clock: tokio's monotonic time, so the emulators' notion of "how long
//! have we been running" follows the runtime (and can be driven by explicit instants in
//! tests), anchored to a wall-clock origin for the dates the emulators print.

use chrono::{DateTime, SubsecRound, Utc};
use std::time::Duration;
use tokio::time::Instant;

/// When the sandbox started, in both monotonic and wall-clock terms.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SandboxClock {
    started: Instant,
    origin: DateTime<Utc>,
}

impl SandboxClock {
    /// Starts now; `origin` is the wall-clock time printed for this instant (`None`: now,
    /// truncated to whole seconds so printed dates stay short).
    pub(crate) fn start(origin: Option<DateTime<Utc>>) -> Self {
        SandboxClock {
            started: Instant::now(),
            origin: origin.unwrap_or_else(|| Utc::now().trunc_subsecs(0)),
        }
    }

    /// Time since the start (zero for instants before it).
    pub(crate) fn elapsed(&self, now: Instant) -> Duration {
        now.saturating_duration_since(self.started)
    }

    /// Milliseconds since the start, as the ledger reports them.
    pub(crate) fn millis_since_start(&self, now: Instant) -> u64 {
        u64::try_from(self.elapsed(now).as_millis()).unwrap_or(u64::MAX)
    }

    /// The wall-clock time `offset` after the start.
    pub(crate) fn wall_time_at(&self, offset: Duration) -> DateTime<Utc> {
        let offset = chrono::Duration::from_std(offset).unwrap_or(chrono::Duration::MAX);
        self.origin
            .checked_add_signed(offset)
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }

    /// The wall-clock time at `now`.
    pub(crate) fn wall_time(&self, now: Instant) -> DateTime<Utc> {
        self.wall_time_at(self.elapsed(now))
    }

    /// The instant `offset` after the start (for tests and for instants the emulators
    /// compute ahead, such as expiry).
    #[cfg(test)]
    pub(crate) fn at(&self, offset: Duration) -> Instant {
        self.started + offset
    }
}
