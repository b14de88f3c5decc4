//! The pacer on tokio's paused clock: spacing, per-second caps, independence of the
//! read and write lanes, and the 429 hold / back-off. No real sleeping anywhere.

use autoinvest::pacing::{Pacer, RequestClass, MAX_BACKOFF, MAX_RETRY_AFTER};
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

fn rate(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap()
}

/// Runs `total` requests of `class` from `tasks` concurrent tasks and returns the
/// (virtual) instants at which permits were granted, sorted.
async fn grant_times(
    pacer: Arc<Pacer>,
    class: RequestClass,
    tasks: usize,
    total: usize,
) -> Vec<Instant> {
    let grants = Arc::new(Mutex::new(Vec::with_capacity(total)));
    let per_task = total / tasks;
    assert_eq!(per_task * tasks, total, "total must split evenly");
    let handles: Vec<_> = (0..tasks)
        .map(|_| {
            let pacer = pacer.clone();
            let grants = grants.clone();
            tokio::spawn(async move {
                for _ in 0..per_task {
                    pacer.until_ready(class).await;
                    grants.lock().unwrap().push(Instant::now());
                }
            })
        })
        .collect();
    for handle in handles {
        handle.await.unwrap();
    }
    let mut grants = Arc::try_unwrap(grants).unwrap().into_inner().unwrap();
    grants.sort();
    grants
}

/// The largest number of grants in any half-open window `[t, t + 1 s)`.
fn max_in_any_second(grants: &[Instant]) -> usize {
    let mut best = 0;
    let mut end = 0;
    for start in 0..grants.len() {
        while end < grants.len() && grants[end] - grants[start] < Duration::from_secs(1) {
            end += 1;
        }
        best = best.max(end - start);
    }
    best
}

fn min_gap(grants: &[Instant]) -> Duration {
    grants
        .windows(2)
        .map(|pair| pair[1] - pair[0])
        .min()
        .unwrap_or(Duration::MAX)
}

/// Grants per second from the first grant to the last.
fn throughput(grants: &[Instant]) -> f64 {
    let span = *grants.last().unwrap() - grants[0];
    (grants.len() - 1) as f64 / span.as_secs_f64()
}

#[tokio::test(start_paused = true)]
async fn a_thousand_writes_at_40_per_second_are_spread_never_bursted() {
    let pacer = Arc::new(Pacer::new(rate(40), rate(100)));
    let grants = grant_times(pacer, RequestClass::Write, 8, 1_000).await;

    assert_eq!(grants.len(), 1_000);
    assert!(
        max_in_any_second(&grants) <= 40,
        "{} in one second",
        max_in_any_second(&grants)
    );
    assert!(
        min_gap(&grants) >= Duration::from_micros(25_300),
        "gap {:?}",
        min_gap(&grants)
    );
    // tokio's paused clock only stops on whole milliseconds, so on virtual time the
    // 25.3 ms period becomes 26 ms (38.5/s). On the real clock the pacer ends each
    // wait by yielding and keeps 25.3 ms (39.5/s): measured over loopback by
    // `cargo bench --bench pacing_loopback`.
    assert!(
        throughput(&grants) >= 38.0,
        "throughput {}/s",
        throughput(&grants)
    );
}

#[tokio::test(start_paused = true)]
async fn ten_per_second_and_one_per_second_hold_their_rates() {
    for (per_second, total, period) in [
        (10, 60, Duration::from_micros(101_200)),
        (1, 6, Duration::from_micros(1_012_000)),
    ] {
        let pacer = Arc::new(Pacer::new(rate(per_second), rate(per_second)));
        assert_eq!(pacer.period(RequestClass::Write), period);
        let grants = grant_times(pacer, RequestClass::Write, 3, total).await;

        assert!(
            max_in_any_second(&grants) <= per_second as usize,
            "rate {per_second}"
        );
        assert!(
            min_gap(&grants) >= period,
            "rate {per_second}: gap {:?}",
            min_gap(&grants)
        );
        assert!(
            throughput(&grants) >= per_second as f64 * 0.97,
            "rate {per_second}: {}/s",
            throughput(&grants)
        );
    }
}

#[tokio::test(start_paused = true)]
async fn the_first_request_is_not_delayed_and_the_second_waits_one_period() {
    let pacer = Pacer::new(rate(40), rate(40));
    assert_eq!(pacer.until_ready(RequestClass::Write).await, Duration::ZERO);
    // One period, rounded up to tokio's whole-millisecond virtual clock.
    let second = pacer.until_ready(RequestClass::Write).await;
    assert!(
        second >= Duration::from_micros(25_300) && second <= Duration::from_millis(26),
        "second waited {second:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn reads_are_not_slowed_by_a_write_backlog() {
    let pacer = Arc::new(Pacer::new(rate(40), rate(40)));
    let backlog = tokio::spawn(grant_times(pacer.clone(), RequestClass::Write, 4, 200));
    // Let the writers queue up and take the first permits (5 s of backlog remain).
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!backlog.is_finished());

    let started = Instant::now();
    let waited = pacer.until_ready(RequestClass::Read).await;

    assert_eq!(waited, Duration::ZERO);
    assert_eq!(started.elapsed(), Duration::ZERO);
    assert!(
        !backlog.is_finished(),
        "the write backlog is still being served"
    );
    assert_eq!(backlog.await.unwrap().len(), 200);
}

#[tokio::test(start_paused = true)]
async fn a_429_with_retry_after_holds_every_class() {
    let pacer = Pacer::new(rate(40), rate(40));
    pacer.until_ready(RequestClass::Write).await;
    pacer.rate_limited(Some(Duration::from_secs(2)));

    let started = Instant::now();
    let waited = pacer.until_ready(RequestClass::Read).await;
    assert!(waited >= Duration::from_secs(2), "read waited {waited:?}");
    assert!(started.elapsed() >= Duration::from_secs(2));
    // The hold is over: the next write only waits for its own limiter.
    assert!(pacer.until_ready(RequestClass::Write).await < Duration::from_millis(25));
}

#[tokio::test(start_paused = true)]
async fn a_429_arriving_while_waiting_for_a_permit_is_honoured() {
    let pacer = Arc::new(Pacer::new(rate(1), rate(1)));
    pacer.until_ready(RequestClass::Write).await;
    let waiter = tokio::spawn({
        let pacer = pacer.clone();
        async move { pacer.until_ready(RequestClass::Write).await }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    pacer.rate_limited(Some(Duration::from_secs(3)));

    // Permit due at 1 s, but the hold set at 0.5 s lasts until 3.5 s.
    assert!(waiter.await.unwrap() >= Duration::from_millis(3_500));
}

#[tokio::test(start_paused = true)]
async fn retry_after_is_capped() {
    let pacer = Pacer::new(rate(40), rate(40));
    pacer.rate_limited(Some(Duration::from_secs(3_600)));
    assert_eq!(pacer.hold_remaining(), MAX_RETRY_AFTER);
    assert_eq!(pacer.until_ready(RequestClass::Read).await, MAX_RETRY_AFTER);
}

#[tokio::test(start_paused = true)]
async fn without_retry_after_the_backoff_grows_then_resets_after_success() {
    let pacer = Pacer::new(rate(40), rate(40));
    let mut waits = Vec::new();
    for _ in 0..4 {
        pacer.rate_limited(None);
        waits.push(pacer.until_ready(RequestClass::Read).await);
    }
    let secs: Vec<u64> = waits.iter().map(|w| w.as_secs()).collect();
    assert_eq!(secs, vec![1, 2, 4, 8]);
    assert_eq!(pacer.consecutive_rate_limits(), 4);

    pacer.succeeded();
    assert_eq!(pacer.consecutive_rate_limits(), 0);
    pacer.rate_limited(None);
    assert_eq!(
        pacer.until_ready(RequestClass::Read).await,
        Duration::from_secs(1)
    );
}

#[tokio::test(start_paused = true)]
async fn the_backoff_is_capped_at_a_minute() {
    let pacer = Pacer::new(rate(40), rate(40));
    for _ in 0..10 {
        pacer.rate_limited(None);
    }
    assert_eq!(pacer.hold_remaining(), MAX_BACKOFF);
}

#[tokio::test(start_paused = true)]
async fn a_shorter_retry_after_does_not_cut_a_longer_hold() {
    let pacer = Pacer::new(rate(40), rate(40));
    pacer.rate_limited(Some(Duration::from_secs(10)));
    pacer.rate_limited(Some(Duration::from_secs(1)));
    assert_eq!(pacer.hold_remaining(), Duration::from_secs(10));
}

/// On the real clock the wait ends by yielding rather than on the millisecond timer:
/// permits must still never come closer than 1 s / rate. (Measured here after each
/// grant, so a gap may look a few microseconds shorter than the 25.3 ms period.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_the_real_clock_permits_are_never_closer_than_one_fortieth_of_a_second() {
    let pacer = Arc::new(Pacer::new(rate(40), rate(40)));
    let grants = grant_times(pacer, RequestClass::Write, 4, 24).await;
    assert!(
        min_gap(&grants) >= Duration::from_millis(25),
        "gap {:?}",
        min_gap(&grants)
    );
    assert!(max_in_any_second(&grants) <= 40);
}
