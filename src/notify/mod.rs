//! Outbound notifications: webhooks POSTed to the `[[notify]]` receivers when orders are
//! placed, rejected or fail, budgets run out, platforms go down or recover, and
//! strategies error.
//!
//! Delivery never holds up ordering: [`Notifier::emit`] only writes one record per
//! matching receiver to the store (and flushes, so it survives a restart) and wakes the
//! sender. The sender ([`Notifier::run`]) POSTs each record in its own task with the
//! receiver's timeout, removes it on a 2xx answer, and otherwise retries it with
//! exponential back-off until it is [`DeliveryPolicy::give_up_after`] old.
//!
//! Files: this one holds the public types; `queue` the persisted records and the exact
//! body; `sender` the delivery loop and the HTTP POST; `signature` the HMAC header.
//!
//! Receivers see the same `X-Autoinvest-Delivery` id on every retry of one notification
//! and should use it to deduplicate: a delivery whose removal from the queue was lost
//! (crash right after the 2xx) is sent again after a restart.

mod queue;
mod sender;
mod signature;

pub use crate::event::EventKind;
pub use sender::{send_test, DeliveryError, TestOutcome};
pub use signature::{sign, DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER};

use crate::config::{Config, ConfigError, NotifySettings};
use crate::secret::Secret;
use crate::store::Store;
use crate::telemetry::{Metrics, NOTIFICATION_OUTCOMES};
use chrono::Utc;
use queue::Queue;
use rust_decimal::Decimal;
use std::collections::BTreeSet;
use std::env::VarError;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// One notification, before it is addressed to receivers. Fields left `None` are left
/// out of the body.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub kind: EventKind,
    pub platform: Option<String>,
    pub strategy: Option<String>,
    pub opportunity_id: Option<String>,
    /// Dollars; sent as a string with two decimals (`"25.00"`).
    pub amount: Option<Decimal>,
    /// For people: what happened and, for failures, why.
    pub message: String,
}

impl Event {
    pub fn new(kind: EventKind, message: impl Into<String>) -> Event {
        Event {
            kind,
            platform: None,
            strategy: None,
            opportunity_id: None,
            amount: None,
            message: message.into(),
        }
    }

    pub fn platform(mut self, platform: impl Into<String>) -> Event {
        self.platform = Some(platform.into());
        self
    }

    pub fn strategy(mut self, strategy: impl Into<String>) -> Event {
        self.strategy = Some(strategy.into());
        self
    }

    pub fn opportunity(mut self, opportunity_id: impl Into<String>) -> Event {
        self.opportunity_id = Some(opportunity_id.into());
        self
    }

    pub fn amount(mut self, amount: Decimal) -> Event {
        self.amount = Some(amount);
        self
    }
}

/// One receiver, with its secret read from the environment.
#[derive(Clone, PartialEq)]
pub struct NotifyTarget {
    /// `http://` or `https://`. Only its host and port are ever logged or used as a
    /// metric label: webhook URLs often carry a token in their path.
    pub url: reqwest::Url,
    pub events: BTreeSet<EventKind>,
    /// The HMAC-SHA256 key; `None` = unsigned.
    pub secret: Option<Secret>,
    /// For one delivery attempt, connection included.
    pub timeout: Duration,
}

impl fmt::Debug for NotifyTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NotifyTarget")
            .field("target", &self.label())
            .field("events", &self.events)
            .field("secret", &self.secret)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl NotifyTarget {
    /// The receiver from `settings` (the `index`-th `[[notify]]`), reading `secret_env`.
    /// A named variable that is unset or empty is an error: a receiver that checks
    /// signatures would refuse every unsigned delivery.
    pub fn from_settings(index: usize, settings: &NotifySettings) -> Result<Self, ConfigError> {
        let secret = match &settings.secret_env {
            None => None,
            Some(env_var) => Some(read_secret(index, env_var)?),
        };
        let url = reqwest::Url::parse(&settings.url).map_err(|e| ConfigError {
            key: format!("notify[{index}].url"),
            message: format!("is not a URL ({e})"),
            line: None,
        })?;
        Ok(NotifyTarget {
            url,
            events: settings.events.clone(),
            secret,
            timeout: settings.timeout,
        })
    }

    /// Every `[[notify]]` receiver of `config`, or every problem reading their secrets.
    pub fn all_from_config(config: &Config) -> Result<Vec<NotifyTarget>, Vec<ConfigError>> {
        let (targets, errors): (Vec<_>, Vec<_>) = config
            .notify
            .iter()
            .enumerate()
            .map(|(index, settings)| NotifyTarget::from_settings(index, settings))
            .partition(Result::is_ok);
        if errors.is_empty() {
            Ok(targets.into_iter().flatten().collect())
        } else {
            Err(errors.into_iter().filter_map(Result::err).collect())
        }
    }

    /// `host[:port]`: the metric label and the name in logs (bounded by the config, and
    /// free of any token the URL's path or query may hold).
    pub fn label(&self) -> String {
        url_label(&self.url)
    }

    fn wants(&self, kind: EventKind) -> bool {
        self.events.contains(&kind)
    }
}

fn read_secret(index: usize, env_var: &str) -> Result<Secret, ConfigError> {
    let problem = match std::env::var(env_var) {
        Ok(value) if !value.is_empty() => return Ok(Secret::new(value)),
        Ok(_) => "is empty",
        Err(VarError::NotPresent) => "is not set",
        Err(VarError::NotUnicode(_)) => "is not valid UTF-8",
    };
    Err(ConfigError {
        key: format!("notify[{index}].secret_env"),
        message: format!("environment variable {env_var} {problem}"),
        line: None,
    })
}

fn url_label(url: &reqwest::Url) -> String {
    let host = url.host_str().unwrap_or("unknown");
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    }
}

/// Retry timing. The defaults suit production; tests shorten them.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryPolicy {
    /// Wait after the first failed attempt; doubled after each further failure.
    pub first_retry: Duration,
    /// Ceiling of the wait between attempts.
    pub max_retry: Duration,
    /// A notification still undelivered this long after `emit` is dropped (and logged).
    pub give_up_after: Duration,
    /// Least time between two deliveries to one receiver (200 ms: at most 5 per second).
    pub min_interval_per_target: Duration,
}

impl Default for DeliveryPolicy {
    fn default() -> Self {
        DeliveryPolicy {
            first_retry: Duration::from_secs(1),
            max_retry: Duration::from_secs(10 * 60),
            give_up_after: Duration::from_secs(3 * 24 * 3600),
            min_interval_per_target: Duration::from_millis(200),
        }
    }
}

impl DeliveryPolicy {
    /// The wait after `failures` failed attempts (1 = the first failure).
    fn backoff(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(31);
        self.first_retry
            .saturating_mul(1 << doublings)
            .min(self.max_retry)
    }
}

/// The handle that queues notifications. Cheap to clone; clones share one queue.
#[derive(Clone, Default)]
pub struct Notifier {
    /// `None`: no receivers configured, every call is a no-op.
    shared: Option<Arc<Shared>>,
}

impl fmt::Debug for Notifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let targets = self.shared.as_ref().map(|s| s.targets.len()).unwrap_or(0);
        f.debug_struct("Notifier")
            .field("targets", &targets)
            .finish()
    }
}

/// What the handle and the sender share.
struct Shared {
    queue: Queue,
    targets: Vec<NotifyTarget>,
    dry_run: bool,
    metrics: Arc<Metrics>,
    policy: DeliveryPolicy,
    /// Wakes the sender when `emit` queued something.
    wake: tokio::sync::Notify,
}

impl Notifier {
    /// A notifier for `targets`, queueing in `store`. With `dry_run`, every body says
    /// `"dry_run": true` and its message starts with `[dry run]`.
    pub fn new(
        store: Arc<Store>,
        targets: Vec<NotifyTarget>,
        dry_run: bool,
        metrics: Arc<Metrics>,
    ) -> Notifier {
        Notifier::with_policy(store, targets, dry_run, metrics, DeliveryPolicy::default())
    }

    /// [`Notifier::new`] with other retry timing.
    pub fn with_policy(
        store: Arc<Store>,
        targets: Vec<NotifyTarget>,
        dry_run: bool,
        metrics: Arc<Metrics>,
        policy: DeliveryPolicy,
    ) -> Notifier {
        if targets.is_empty() {
            return Notifier::disabled();
        }
        for target in &targets {
            let label = target.label();
            for outcome in NOTIFICATION_OUTCOMES {
                metrics
                    .notifications_total
                    .with_label_values(&[label.as_str(), outcome]);
            }
        }
        Notifier {
            shared: Some(Arc::new(Shared {
                queue: Queue::new(store),
                targets,
                dry_run,
                metrics,
                policy,
                wake: tokio::sync::Notify::new(),
            })),
        }
    }

    /// A notifier with no receivers: `emit` does nothing and `run` returns at once.
    pub fn disabled() -> Notifier {
        Notifier { shared: None }
    }

    /// Queues `event` for every receiver whose `events` include it, durably, and wakes
    /// the sender. Never fails and never waits for the network: a store failure is
    /// logged and counted as `dropped`.
    pub fn emit(&self, event: Event) {
        let Some(shared) = &self.shared else {
            return;
        };
        let targets: Vec<&NotifyTarget> = shared
            .targets
            .iter()
            .filter(|target| target.wants(event.kind))
            .collect();
        if targets.is_empty() {
            return;
        }
        let records = queue::address(&event, &targets, shared.dry_run, Utc::now());
        match shared.queue.push(&records) {
            Ok(()) => shared.wake.notify_one(),
            Err(error) => {
                tracing::error!(%error, event = %event.kind, "cannot queue a notification; it is lost");
                for target in targets {
                    count(&shared.metrics, &target.label(), "dropped");
                }
            }
        }
    }

    /// Delivers queued notifications (also those left from before a restart) until
    /// `shutdown`. Deliveries still in flight then are abandoned and stay queued.
    pub async fn run(self, shutdown: CancellationToken) {
        if let Some(shared) = self.shared {
            sender::run(shared, shutdown).await;
        }
    }
}

fn count(metrics: &Metrics, target: &str, outcome: &str) {
    metrics
        .notifications_total
        .with_label_values(&[target, outcome])
        .inc();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_names_round_trip_and_match_serde() {
        for kind in EventKind::ALL {
            assert_eq!(EventKind::from_name(kind.name()), Some(kind));
            assert_eq!(
                serde_json::to_string(&kind).unwrap(),
                format!("\"{}\"", kind.name())
            );
        }
        assert_eq!(EventKind::from_name("order_placd"), None);
    }

    #[test]
    fn backoff_doubles_up_to_the_ceiling() {
        let policy = DeliveryPolicy::default();
        let waits: Vec<u64> = [1, 2, 3, 10, 11, 40, u32::MAX]
            .into_iter()
            .map(|n| policy.backoff(n).as_secs())
            .collect();
        assert_eq!(waits, [1, 2, 4, 512, 600, 600, 600]);
    }

    #[test]
    fn labels_keep_host_and_port_only() {
        let url = reqwest::Url::parse("https://hooks.example.com/services/T0/B0/tok3n").unwrap();
        assert_eq!(url_label(&url), "hooks.example.com");
        let url = reqwest::Url::parse("http://127.0.0.1:8080/x?key=abc").unwrap();
        assert_eq!(url_label(&url), "127.0.0.1:8080");
    }

    #[test]
    fn debug_hides_the_secret_and_the_url_path() {
        let target = NotifyTarget {
            url: reqwest::Url::parse("https://h.example/hook/tok3n").unwrap(),
            events: BTreeSet::from([EventKind::Test]),
            secret: Some(Secret::new("hunter2-key")),
            timeout: Duration::from_secs(1),
        };
        let shown = format!("{target:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("tok3n"),
            "{shown}"
        );
    }
}
