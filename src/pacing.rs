//! Request pacing per platform account: governor GCRA limiters for writes (order
//! POSTs) and reads, spread evenly (burst 1), plus the 429 back-off.
//! (Stub: being implemented.)

use std::num::NonZeroU32;
use std::time::Duration;

/// Which limiter a request goes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestClass {
    /// GET and other requests that change nothing.
    Read,
    /// Order POSTs and other state-changing requests.
    Write,
}

/// Paces one platform account's requests.
#[derive(Debug)]
pub struct Pacer {}

impl Pacer {
    /// `writes_per_second`: at most this many writes in any 1-second window, evenly spread.
    pub fn new(writes_per_second: NonZeroU32, reads_per_second: NonZeroU32) -> Self {
        let _ = (writes_per_second, reads_per_second);
        todo!()
    }

    /// Waits until a request of this class may leave; returns how long it waited.
    /// Call right before `send()`.
    pub async fn until_ready(&self, class: RequestClass) -> Duration {
        let _ = class;
        todo!()
    }

    /// A 429 arrived: hold every request until `retry_after` has passed (or an
    /// exponential back-off when the platform gave none).
    pub fn rate_limited(&self, retry_after: Option<Duration>) {
        let _ = retry_after;
        todo!()
    }

    /// A request succeeded: reset the back-off.
    pub fn succeeded(&self) {
        todo!()
    }
}
