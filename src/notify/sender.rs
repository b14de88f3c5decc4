//! The delivery loop and the POST itself.
//!
//! The loop owns no record for long: each pass reads the queue, starts every due
//! record whose receiver has a free rate slot in its own task, and sleeps until the
//! next one is due, `emit` wakes it, a delivery finishes, or shutdown. A receiver that
//! hangs holds one task until its timeout and nothing else.

use super::queue::{self, Pending};
use super::signature::{sign, DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER};
use super::{count, Event, EventKind, NotifyTarget, Shared};
use chrono::Utc;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::{Id, JoinError, JoinSet};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Longest the loop sleeps without looking at the queue: bounds the effect of a
/// wall-clock jump on persisted next-attempt times.
const IDLE_RECHECK: Duration = Duration::from_secs(60);
/// Wait before reading the queue again after the store failed.
const STORE_RETRY: Duration = Duration::from_secs(5);

/// Why one attempt failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    #[error("answered HTTP {0}")]
    Status(u16),
    #[error("timed out after {}", humantime::format_duration(*.0))]
    Timeout(Duration),
    /// Connection refused, TLS failure, ... (never the URL: it may hold a token).
    #[error("{0}")]
    Transport(String),
}

impl DeliveryError {
    fn from_reqwest(error: reqwest::Error, timeout: Duration) -> DeliveryError {
        if error.is_timeout() {
            return DeliveryError::Timeout(timeout);
        }
        let error = error.without_url();
        let mut text = error.to_string();
        let mut source = std::error::Error::source(&error);
        while let Some(cause) = source {
            text.push_str(": ");
            text.push_str(&cause.to_string());
            source = cause.source();
        }
        DeliveryError::Transport(text)
    }
}

/// The result of `notify test` for one receiver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestOutcome {
    /// `host[:port]`.
    pub target: String,
    /// The 2xx status, or why it failed.
    pub result: Result<u16, DeliveryError>,
}

/// Sends a `test` event to every receiver now, whatever their `events` say, bypassing
/// the queue (nothing is retried or stored).
pub async fn send_test(targets: &[NotifyTarget], dry_run: bool) -> Vec<TestOutcome> {
    let client = match http_client() {
        Ok(client) => client,
        Err(error) => {
            let error = DeliveryError::from_reqwest(error, Duration::ZERO);
            return targets
                .iter()
                .map(|target| TestOutcome {
                    target: target.label(),
                    result: Err(error.clone()),
                })
                .collect();
        }
    };
    let event = Event::new(EventKind::Test, "Test notification from autoinvest");
    let addressed: Vec<&NotifyTarget> = targets.iter().collect();
    let records = queue::address(&event, &addressed, dry_run, Utc::now());
    let attempts = targets.iter().zip(&records).map(|(target, record)| async {
        TestOutcome {
            target: target.label(),
            result: post(&client, target, record).await,
        }
    });
    futures::future::join_all(attempts).await
}

fn http_client() -> reqwest::Result<reqwest::Client> {
    // A redirected POST turns into a GET on most servers: treat 3xx as a failure.
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("autoinvest/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// One attempt: the 2xx status, or why not.
async fn post(
    client: &reqwest::Client,
    target: &NotifyTarget,
    record: &Pending,
) -> Result<u16, DeliveryError> {
    let mut request = client
        .post(target.url.clone())
        .timeout(target.timeout)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(EVENT_HEADER, &record.event)
        .header(DELIVERY_HEADER, &record.delivery_id);
    if let Some(secret) = &target.secret {
        request = request.header(SIGNATURE_HEADER, sign(secret, record.body.as_bytes()));
    }
    let response = request
        .body(record.body.clone())
        .send()
        .await
        .map_err(|e| DeliveryError::from_reqwest(e, target.timeout))?;
    let status = response.status();
    if status.is_success() {
        Ok(status.as_u16())
    } else {
        Err(DeliveryError::Status(status.as_u16()))
    }
}

type Attempt = (Pending, Result<u16, DeliveryError>);

/// What woke the loop.
enum Wake {
    Shutdown,
    Finished(Result<(Id, Attempt), JoinError>),
    Look,
}

struct Sender {
    shared: Arc<Shared>,
    client: reqwest::Client,
    tasks: JoinSet<Attempt>,
    /// Delivery id of each running task.
    in_flight: HashMap<Id, String>,
    /// Per receiver URL: the earliest time of its next delivery (the rate limit).
    next_slot: HashMap<String, Instant>,
}

/// Delivers queued notifications until `shutdown`.
pub(super) async fn run(shared: Arc<Shared>, shutdown: CancellationToken) {
    let client = match http_client() {
        Ok(client) => client,
        Err(error) => {
            tracing::error!(error = %error.without_url(), "cannot build the notification HTTP client; notifications stay queued");
            return;
        }
    };
    if let Ok(queued) = shared.queue.all() {
        if !queued.is_empty() {
            tracing::info!(
                pending = queued.len(),
                "delivering notifications queued earlier"
            );
        }
    }
    let mut sender = Sender {
        shared,
        client,
        tasks: JoinSet::new(),
        in_flight: HashMap::new(),
        next_slot: HashMap::new(),
    };
    loop {
        let look_again_at = sender.start_due();
        match sender.wait(&shutdown, look_again_at).await {
            Wake::Shutdown => break,
            Wake::Finished(joined) => sender.finish(joined),
            Wake::Look => {}
        }
    }
    // Dropping the JoinSet aborts deliveries in flight; their records stay queued.
}

impl Sender {
    async fn wait(&mut self, shutdown: &CancellationToken, until: Instant) -> Wake {
        tokio::select! {
            biased;
            () = shutdown.cancelled() => Wake::Shutdown,
            Some(joined) = self.tasks.join_next_with_id() => Wake::Finished(joined),
            () = self.shared.wake.notified() => Wake::Look,
            () = tokio::time::sleep_until(until) => Wake::Look,
        }
    }

    /// Starts every due record whose receiver has a free slot; returns when to look
    /// again.
    fn start_due(&mut self) -> Instant {
        let now = Instant::now();
        let wall_now = Utc::now();
        let records = match self.shared.queue.all() {
            Ok(records) => records,
            Err(error) => {
                tracing::error!(%error, "cannot read the notification queue");
                return now + STORE_RETRY;
            }
        };
        let mut look_again_at = now + IDLE_RECHECK;
        for record in records {
            if self.in_flight.values().any(|id| *id == record.delivery_id) {
                continue;
            }
            let Some(target) = self.target_for(&record) else {
                self.abandon(&record, "its receiver is no longer configured");
                continue;
            };
            let due = now
                + (record.next_attempt_at - wall_now)
                    .to_std()
                    .unwrap_or(Duration::ZERO);
            let slot = self
                .next_slot
                .get(&record.target_url)
                .copied()
                .unwrap_or(now);
            let ready_at = due.max(slot);
            if ready_at > now {
                look_again_at = look_again_at.min(ready_at);
                continue;
            }
            self.next_slot.insert(
                record.target_url.clone(),
                now + self.shared.policy.min_interval_per_target,
            );
            self.start(target, record);
        }
        look_again_at
    }

    fn target_for(&self, record: &Pending) -> Option<NotifyTarget> {
        self.shared
            .targets
            .iter()
            .find(|target| target.url.as_str() == record.target_url)
            .cloned()
    }

    fn start(&mut self, target: NotifyTarget, record: Pending) {
        let client = self.client.clone();
        let delivery_id = record.delivery_id.clone();
        let handle = self.tasks.spawn(async move {
            let result = post(&client, &target, &record).await;
            (record, result)
        });
        self.in_flight.insert(handle.id(), delivery_id);
    }

    fn finish(&mut self, joined: Result<(Id, Attempt), JoinError>) {
        let (task, (record, result)) = match joined {
            Ok(done) => done,
            Err(error) => {
                // The record is still queued: the next pass starts it again.
                self.in_flight.remove(&error.id());
                tracing::error!(%error, "a notification delivery task failed");
                return;
            }
        };
        self.in_flight.remove(&task);
        match result {
            Ok(status) => self.delivered(&record, status),
            Err(error) => self.failed(record, &error),
        }
    }

    fn delivered(&self, record: &Pending, status: u16) {
        let target = record.target_label();
        tracing::debug!(%target, event = %record.event, delivery_id = %record.delivery_id, status, "notification delivered");
        count(&self.shared.metrics, &target, "delivered");
        if let Err(error) = self.shared.queue.remove(&record.delivery_id) {
            // It will be sent again; the receiver deduplicates by delivery id.
            tracing::error!(%error, delivery_id = %record.delivery_id, "cannot remove a delivered notification");
        }
    }

    fn failed(&self, mut record: Pending, error: &DeliveryError) {
        record.attempts = record.attempts.saturating_add(1);
        let now = Utc::now();
        let age = (now - record.created_at).to_std().unwrap_or(Duration::ZERO);
        if age >= self.shared.policy.give_up_after {
            self.abandon(
                &record,
                &format!("still failing after {} attempts: {error}", record.attempts),
            );
            return;
        }
        let wait = self.shared.policy.backoff(record.attempts);
        // `wait` is at most `max_retry`; the fallbacks only keep this free of panics.
        let step = chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::days(1));
        record.next_attempt_at = now.checked_add_signed(step).unwrap_or(now);
        let target = record.target_label();
        tracing::warn!(%target, event = %record.event, delivery_id = %record.delivery_id, attempts = record.attempts, %error, retry_in = %humantime::format_duration(wait), "notification not delivered; will retry");
        count(&self.shared.metrics, &target, "retry");
        if let Err(error) = self.shared.queue.put(&record) {
            tracing::error!(%error, delivery_id = %record.delivery_id, "cannot reschedule a notification");
        }
    }

    /// Drops a record for good.
    fn abandon(&self, record: &Pending, why: &str) {
        let target = record.target_label();
        tracing::error!(%target, event = %record.event, delivery_id = %record.delivery_id, reason = why, "notification dropped");
        count(&self.shared.metrics, &target, "dropped");
        if let Err(error) = self.shared.queue.remove(&record.delivery_id) {
            tracing::error!(%error, delivery_id = %record.delivery_id, "cannot remove a dropped notification");
        }
    }
}
