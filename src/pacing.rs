//! Request pacing per platform account: governor GCRA limiters for writes (order
//! POSTs) and reads, spread evenly (burst 1), plus the 429 back-off.
//!
//! Why not `governor`'s own `until_ready`: it sleeps on `futures-timer`, which tokio's
//! paused test clock does not drive. The limiters here run on [`TokioClock`] (governor's
//! `Clock` over `tokio::time::Instant`) and wait with `tokio::time::sleep`, so tests with
//! `#[tokio::test(start_paused = true)]` control time completely, and production uses
//! tokio's monotonic clock (no quanta clock jumping backwards, governor #299).
//!
//! Why burst 1: `Quota::per_second(40)` allows a burst of 40 and lets ~79 requests
//! through in one 1-second window. A period of at least 1 s / rate with a burst of 1
//! never grants two permits closer than the period, so no half-open 1-second window
//! ever holds more than `rate` grants.

use governor::clock::{Clock, Reference};
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use std::fmt;
use std::num::NonZeroU32;
use std::ops::Add;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;
use tokio::time::Instant;

/// Longest a platform's `Retry-After` is honoured: a larger value is more likely a
/// misconfigured proxy than a real instruction to stop for hours.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(5 * 60);

/// First step of the exponential back-off used when a 429 carries no `Retry-After`.
pub const FIRST_BACKOFF: Duration = Duration::from_secs(1);

/// Ceiling of the exponential back-off.
pub const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// Which limiter a request goes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestClass {
    /// GET and other requests that change nothing.
    Read,
    /// Order POSTs and other state-changing requests.
    Write,
}

/// A governor time reference on tokio's clock (so paused test time drives it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct TokioInstant(Instant);

impl Add<Nanos> for TokioInstant {
    type Output = TokioInstant;

    fn add(self, other: Nanos) -> TokioInstant {
        TokioInstant(self.0 + Duration::from(other))
    }
}

impl Reference for TokioInstant {
    fn duration_since(&self, earlier: Self) -> Nanos {
        self.0.saturating_duration_since(earlier.0).into()
    }

    fn saturating_sub(&self, duration: Nanos) -> Self {
        TokioInstant(self.0.checked_sub(duration.into()).unwrap_or(self.0))
    }
}

/// governor's `Clock` over `tokio::time::Instant`.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioClock;

impl Clock for TokioClock {
    type Instant = TokioInstant;

    fn now(&self) -> TokioInstant {
        TokioInstant(Instant::now())
    }
}

type Limiter = RateLimiter<NotKeyed, InMemoryState, TokioClock, NoOpMiddleware<TokioInstant>>;

/// One request class: its limiter, and a FIFO turnstile so waiters are served in
/// arrival order and only one of them polls the limiter at a time.
struct Lane {
    period: Duration,
    limiter: Limiter,
    turnstile: tokio::sync::Mutex<()>,
}

impl Lane {
    fn new(per_second: NonZeroU32) -> Lane {
        let period = spread_period(per_second);
        // `with_period` is None only for a zero period, which `spread_period` never gives.
        let quota = Quota::with_period(period)
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
            .allow_burst(NonZeroU32::MIN);
        Lane {
            period,
            limiter: RateLimiter::direct_with_clock(quota, TokioClock),
            turnstile: tokio::sync::Mutex::new(()),
        }
    }
}

/// The GCRA emission interval for `per_second` evenly spread requests: 1 s / rate
/// plus [`ARRIVAL_MARGIN_PER_MILLE`], rounded UP to the microsecond
/// (40/s → 25.3 ms, 39.5/s; 1/s → 1.012 s).
///
/// Why a margin: the platform counts arrivals, not our grants. A request's trip from
/// the grant to the platform varies by a few milliseconds (scheduling, connection
/// reuse), so grants exactly 1 s / rate apart could still land `rate + 1` requests in
/// one of the platform's 1-second windows. 1.2 % is 12 ms of slack per 40 requests.
pub fn spread_period(per_second: NonZeroU32) -> Duration {
    let per_second = u64::from(per_second.get());
    let micros = (1_000_000 * (1_000 + ARRIVAL_MARGIN_PER_MILLE)).div_ceil(per_second * 1_000);
    Duration::from_micros(micros)
}

/// How much longer than 1 s / rate the pacing period is, in thousandths.
pub const ARRIVAL_MARGIN_PER_MILLE: u64 = 12;

/// How early a timer sleep ends before a permit is due; the rest is waited by yielding.
/// tokio's timer fires on the first whole millisecond at or after a deadline, plus the
/// wake-up latency: sleeping the whole wait made every grant up to ~1 ms late, and a
/// burst-1 GCRA restarts its schedule from each late grant (25 ms became 26 ms, 38.5/s).
const TIMER_SLACK: Duration = Duration::from_micros(1_500);

/// Waits `wait`, ending within microseconds of it rather than up to a millisecond late:
/// a timer sleep for all but [`TIMER_SLACK`], then yields to the runtime until the caller
/// re-checks. The yielding costs at most ~1.5 ms of one core per permit, and only while
/// requests are queued; writes only (reads sleep on the timer: measured, yielding for
/// Funding Circle's per-listing reads took the idle daemon from 0.9 % to 1.45 % CPU).
async fn wait_precisely(wait: Duration) {
    if wait > TIMER_SLACK {
        tokio::time::sleep(wait - TIMER_SLACK).await;
        return;
    }
    let before = Instant::now();
    tokio::task::yield_now().await;
    // Paused test time never moves while a task keeps yielding: let the timer
    // advance it instead (exactly to the deadline, since paused time is exact).
    if Instant::now() == before {
        tokio::time::sleep(wait).await;
    }
}

/// The 429 state shared by both classes: a platform that says "slow down" means the
/// whole account.
#[derive(Debug, Default)]
struct Backoff {
    /// No request of this account leaves before this instant.
    hold_until: Option<Instant>,
    /// 429s since the last success; drives the exponential back-off.
    consecutive: u32,
}

/// Paces one platform account's requests.
pub struct Pacer {
    writes: Lane,
    reads: Lane,
    backoff: Mutex<Backoff>,
}

impl fmt::Debug for Pacer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pacer")
            .field("write_period", &self.writes.period)
            .field("read_period", &self.reads.period)
            .field("hold_remaining", &self.hold_remaining())
            .finish()
    }
}

impl Pacer {
    /// `writes_per_second`: at most this many writes in any 1-second window, evenly spread.
    pub fn new(writes_per_second: NonZeroU32, reads_per_second: NonZeroU32) -> Self {
        Pacer {
            writes: Lane::new(writes_per_second),
            reads: Lane::new(reads_per_second),
            backoff: Mutex::new(Backoff::default()),
        }
    }

    /// Waits until a request of this class may leave; returns how long it waited.
    /// Call right before `send()`.
    ///
    /// Waits for any 429 hold first, then for the limiter's permit (re-checking the
    /// hold, since a 429 may arrive while waiting). Cancel-safe: dropping the future
    /// releases its place in the queue without taking a permit.
    pub async fn until_ready(&self, class: RequestClass) -> Duration {
        let started = Instant::now();
        let lane = self.lane(class);
        let _turn = lane.turnstile.lock().await;
        loop {
            let hold = self.hold_remaining();
            if !hold.is_zero() {
                tokio::time::sleep(hold).await;
                continue;
            }
            match lane.limiter.check() {
                Ok(()) => return started.elapsed(),
                Err(not_until) => {
                    let wait = not_until.wait_time_from(TokioClock.now());
                    match class {
                        RequestClass::Write => wait_precisely(wait).await,
                        // A read a millisecond late costs nothing; yielding costs CPU.
                        RequestClass::Read => tokio::time::sleep(wait).await,
                    }
                }
            }
        }
    }

    /// A 429 arrived: hold every request until `retry_after` has passed (capped at
    /// [`MAX_RETRY_AFTER`]), or an exponential back-off (1 s, 2 s, 4 s … capped at
    /// [`MAX_BACKOFF`]) when the platform gave none. An earlier, longer hold is kept.
    pub fn rate_limited(&self, retry_after: Option<Duration>) {
        let mut backoff = self.backoff();
        backoff.consecutive = backoff.consecutive.saturating_add(1);
        let wait = match retry_after {
            Some(given) => given.min(MAX_RETRY_AFTER),
            None => exponential_backoff(backoff.consecutive),
        };
        let until = Instant::now() + wait;
        backoff.hold_until = Some(backoff.hold_until.map_or(until, |held| held.max(until)));
    }

    /// A request succeeded: reset the back-off. A hold the platform asked for still
    /// runs out on its own (the success may be of a request sent before the 429).
    pub fn succeeded(&self) {
        self.backoff().consecutive = 0;
    }

    /// How long requests are still held by a 429 (zero when not held).
    pub fn hold_remaining(&self) -> Duration {
        self.backoff().hold_until.map_or(Duration::ZERO, |until| {
            until.saturating_duration_since(Instant::now())
        })
    }

    /// 429s received since the last success.
    pub fn consecutive_rate_limits(&self) -> u32 {
        self.backoff().consecutive
    }

    /// The minimum spacing between two permits of this class.
    pub fn period(&self, class: RequestClass) -> Duration {
        self.lane(class).period
    }

    fn lane(&self, class: RequestClass) -> &Lane {
        match class {
            RequestClass::Read => &self.reads,
            RequestClass::Write => &self.writes,
        }
    }

    fn backoff(&self) -> MutexGuard<'_, Backoff> {
        // The guarded data is two plain values, valid even if a holder panicked.
        self.backoff
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// 1 s for the first 429, doubling for each further one, capped at [`MAX_BACKOFF`].
fn exponential_backoff(consecutive: u32) -> Duration {
    let doublings = consecutive.saturating_sub(1).min(16);
    FIRST_BACKOFF
        .saturating_mul(1u32 << doublings)
        .min(MAX_BACKOFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(n: u32) -> NonZeroU32 {
        NonZeroU32::new(n).unwrap()
    }

    #[test]
    fn period_has_the_arrival_margin_and_is_rounded_up_to_the_microsecond() {
        assert_eq!(spread_period(rate(40)), Duration::from_micros(25_300));
        assert_eq!(spread_period(rate(10)), Duration::from_micros(101_200));
        assert_eq!(spread_period(rate(1)), Duration::from_micros(1_012_000));
        assert_eq!(spread_period(rate(3)), Duration::from_micros(337_334));
        assert_eq!(spread_period(rate(7)), Duration::from_micros(144_572));
        // DESIGN.md: the Funding Circle period stays within 25.0–25.6 ms (≥ 39/s).
        let fc = spread_period(rate(40));
        assert!(fc >= Duration::from_micros(25_000) && fc <= Duration::from_micros(25_600));
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let steps: Vec<u64> = (1..=8).map(|n| exponential_backoff(n).as_secs()).collect();
        assert_eq!(steps, vec![1, 2, 4, 8, 16, 32, 60, 60]);
        assert_eq!(exponential_backoff(u32::MAX), MAX_BACKOFF);
    }
}
