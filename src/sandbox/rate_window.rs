//! A sliding-window request limit, as platforms enforce it server-side: at most
//! `limit` admitted requests in any window of `window` length. Refused requests are
//! not counted, so a client that backs off is served again as soon as the oldest
//! admitted request leaves the window.

use std::collections::VecDeque;
use std::time::Duration;
use tokio::time::Instant;

#[derive(Debug, Clone)]
pub(crate) struct SlidingWindow {
    limit: usize,
    window: Duration,
    /// Instants of the admitted requests still inside the window, oldest first.
    admitted: VecDeque<Instant>,
}

impl SlidingWindow {
    pub(crate) fn new(limit: usize, window: Duration) -> Self {
        SlidingWindow {
            limit,
            window,
            admitted: VecDeque::with_capacity(limit),
        }
    }

    /// Admits a request arriving at `now`, or says how long until one would be.
    pub(crate) fn try_admit(&mut self, now: Instant) -> Result<(), Duration> {
        while let Some(oldest) = self.admitted.front() {
            if now.saturating_duration_since(*oldest) >= self.window {
                self.admitted.pop_front();
            } else {
                break;
            }
        }
        match self.admitted.front() {
            Some(oldest) if self.admitted.len() >= self.limit => {
                Err(self.window - now.saturating_duration_since(*oldest))
            }
            _ => {
                self.admitted.push_back(now);
                Ok(())
            }
        }
    }
}

/// A wait as whole seconds for a `Retry-After` header: rounded up, at least 1.
pub(crate) fn retry_after_seconds(wait: Duration) -> u64 {
    u64::try_from(wait.as_millis().div_ceil(1000))
        .unwrap_or(u64::MAX)
        .max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn the_41st_request_within_one_second_is_refused() {
        let start = Instant::now();
        let mut window = SlidingWindow::new(40, SECOND);
        for i in 0..40u64 {
            assert_eq!(
                window.try_admit(start + Duration::from_millis(i * 20)),
                Ok(())
            );
        }
        // 40 admitted between 0 and 780 ms; at 999 ms the first is still inside.
        let refused = window.try_admit(start + Duration::from_millis(999));
        assert_eq!(refused, Err(Duration::from_millis(1)));
        // At exactly 1 s the first has left the window: one slot frees up, one only.
        assert_eq!(window.try_admit(start + SECOND), Ok(()));
        assert!(window.try_admit(start + SECOND).is_err());
    }

    #[test]
    fn refused_requests_do_not_extend_the_lockout() {
        let start = Instant::now();
        let mut window = SlidingWindow::new(2, SECOND);
        assert!(window.try_admit(start).is_ok());
        assert!(window.try_admit(start).is_ok());
        for ms in [100, 500, 900] {
            assert!(window.try_admit(start + Duration::from_millis(ms)).is_err());
        }
        assert!(window.try_admit(start + SECOND).is_ok());
    }

    #[test]
    fn evenly_spread_requests_at_the_limit_are_all_admitted() {
        let start = Instant::now();
        let mut window = SlidingWindow::new(40, SECOND);
        for i in 0..400u64 {
            let at = start + Duration::from_millis(i * 25);
            assert_eq!(window.try_admit(at), Ok(()), "request {i}");
        }
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(retry_after_seconds(Duration::ZERO), 1);
        assert_eq!(retry_after_seconds(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_seconds(Duration::from_millis(1000)), 1);
        assert_eq!(retry_after_seconds(Duration::from_millis(1001)), 2);
    }
}
