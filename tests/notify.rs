//! Outbound notifications over real HTTP on loopback, against a small axum receiver:
//! the signed body and headers, retries with one delivery id, delivery after a
//! restart, a hanging receiver delaying nothing, dry-run marking, event filtering,
//! the `[[notify]]` config validation and `autoinvest notify test`.

use autoinvest::config::{Config, ConfigErrors};
use autoinvest::notify::{
    DeliveryPolicy, Event, EventKind, Notifier, NotifyTarget, DELIVERY_HEADER, EVENT_HEADER,
    SIGNATURE_HEADER,
};
use autoinvest::secret::Secret;
use autoinvest::store::Store;
use autoinvest::telemetry::Metrics;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use bytes::Bytes;
use hmac::{Hmac, Mac};
use rust_decimal_macros::dec;
use serde_json::Value;
use sha2::Sha256;
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tempfile::TempDir;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

// ----- a webhook receiver --------------------------------------------------------

/// One request as the receiver saw it.
#[derive(Debug)]
struct Received {
    headers: HeaderMap,
    body: Bytes,
}

impl Received {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("no {name} header"))
            .to_str()
            .unwrap()
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

#[derive(Clone)]
struct Behaviour {
    seen: mpsc::UnboundedSender<Received>,
    /// Answer 500 to this many requests first.
    failures_left: Arc<AtomicUsize>,
    /// Never answer.
    hang: bool,
}

async fn receive(
    State(behaviour): State<Behaviour>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let _ = behaviour.seen.send(Received { headers, body });
    if behaviour.hang {
        std::future::pending::<()>().await;
    }
    let failed = behaviour
        .failures_left
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    if failed {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::NO_CONTENT
    }
}

struct Receiver {
    url: String,
    requests: mpsc::UnboundedReceiver<Received>,
}

impl Receiver {
    async fn next(&mut self) -> Received {
        tokio::time::timeout(Duration::from_secs(10), self.requests.recv())
            .await
            .expect("a request within 10 s")
            .expect("receiver running")
    }

    /// Nothing more arrives within `wait` (after the queue has emptied, a further
    /// request would be a duplicate).
    async fn assert_quiet(&mut self, wait: Duration) {
        if let Ok(Some(extra)) = tokio::time::timeout(wait, self.requests.recv()).await {
            panic!(
                "unexpected extra request: {}",
                String::from_utf8_lossy(&extra.body)
            );
        }
    }
}

async fn start_receiver_at(addr: SocketAddr, failures: usize, hang: bool) -> Receiver {
    let (seen, requests) = mpsc::unbounded_channel();
    let behaviour = Behaviour {
        seen,
        failures_left: Arc::new(AtomicUsize::new(failures)),
        hang,
    };
    let app = Router::new()
        .route("/hook/{token}", post(receive))
        .with_state(behaviour);
    let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    Receiver {
        url: format!("http://{addr}/hook/t0k3n"),
        requests,
    }
}

async fn start_receiver(failures: usize, hang: bool) -> Receiver {
    start_receiver_at("127.0.0.1:0".parse().unwrap(), failures, hang).await
}

/// A loopback address nothing listens on (yet).
fn unused_addr() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

// ----- the notifier under test ---------------------------------------------------

fn target(url: &str, secret: Option<&str>) -> NotifyTarget {
    NotifyTarget {
        url: url.parse().unwrap(),
        events: EventKind::ALL.into_iter().collect(),
        secret: secret.map(Secret::new),
        timeout: Duration::from_secs(5),
    }
}

fn fast_policy() -> DeliveryPolicy {
    DeliveryPolicy {
        first_retry: Duration::from_millis(20),
        max_retry: Duration::from_millis(100),
        give_up_after: Duration::from_secs(3600),
        min_interval_per_target: Duration::from_millis(1),
    }
}

struct Harness {
    _dir: TempDir,
    store: Arc<Store>,
    metrics: Arc<Metrics>,
    notifier: Notifier,
    shutdown: CancellationToken,
    sender: tokio::task::JoinHandle<()>,
}

impl Harness {
    fn start(targets: Vec<NotifyTarget>, dry_run: bool) -> Harness {
        let dir = TempDir::new().unwrap();
        let store = Arc::new(Store::open(dir.path()).unwrap());
        let metrics = Metrics::new();
        let notifier = Notifier::with_policy(
            store.clone(),
            targets,
            dry_run,
            metrics.clone(),
            fast_policy(),
        );
        let shutdown = CancellationToken::new();
        let sender = tokio::spawn(notifier.clone().run(shutdown.clone()));
        Harness {
            _dir: dir,
            store,
            metrics,
            notifier,
            shutdown,
            sender,
        }
    }

    fn count(&self, url: &str, outcome: &str) -> u64 {
        count(&self.metrics, url, outcome)
    }

    async fn stop(self) {
        self.shutdown.cancel();
        self.sender.await.unwrap();
    }
}

fn count(metrics: &Metrics, url: &str, outcome: &str) -> u64 {
    let label = target(url, None).label();
    metrics
        .notifications_total
        .with_label_values(&[label.as_str(), outcome])
        .get()
}

/// Waits (up to 10 s) for `condition`, e.g. the sender's bookkeeping after a 2xx.
async fn eventually(what: &str, condition: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn queued(store: &Store) -> Vec<Value> {
    store
        .notifications()
        .unwrap()
        .iter()
        .map(|(_, record)| serde_json::from_slice(record).unwrap())
        .collect()
}

fn placed_event() -> Event {
    Event::new(EventKind::OrderPlaced, "bought $25.00 of L-1001")
        .platform("fc")
        .strategy("prime-loans")
        .opportunity("L-1001")
        .amount(dec!(25))
}

fn hmac_hex(key: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

// ----- delivery --------------------------------------------------------------------

#[tokio::test]
async fn delivers_a_signed_body_with_the_documented_headers() {
    let mut receiver = start_receiver(0, false).await;
    let harness = Harness::start(vec![target(&receiver.url, Some("wh-key-1"))], false);

    let before = chrono::Utc::now();
    harness.notifier.emit(placed_event());
    let request = receiver.next().await;

    assert_eq!(request.header("content-type"), "application/json");
    assert_eq!(request.header(EVENT_HEADER), "order_placed");
    let delivery = request.header(DELIVERY_HEADER);
    assert!(
        delivery.len() == 32 && delivery.chars().all(|c| c.is_ascii_hexdigit()),
        "{delivery}"
    );
    assert_eq!(
        request.header(SIGNATURE_HEADER),
        format!("sha256={}", hmac_hex("wh-key-1", &request.body))
    );

    let body = request.json();
    let at = chrono::DateTime::parse_from_rfc3339(body["at"].as_str().unwrap()).unwrap();
    assert!(at >= before - chrono::Duration::milliseconds(1), "{at}");
    let mut expected = serde_json::json!({
        "event": "order_placed",
        "dry_run": false,
        "platform": "fc",
        "strategy": "prime-loans",
        "opportunity_id": "L-1001",
        "amount": "25.00",
        "message": "bought $25.00 of L-1001",
    });
    expected["at"] = body["at"].clone();
    assert_eq!(body, expected);

    eventually("the record to leave the queue", || {
        queued(&harness.store).is_empty()
    })
    .await;
    assert_eq!(harness.count(&receiver.url, "delivered"), 1);
    assert_eq!(harness.count(&receiver.url, "retry"), 0);
    harness.stop().await;
}

#[tokio::test]
async fn without_a_secret_there_is_no_signature_and_absent_fields_are_left_out() {
    let mut receiver = start_receiver(0, false).await;
    let harness = Harness::start(vec![target(&receiver.url, None)], false);

    harness
        .notifier
        .emit(Event::new(EventKind::PlatformDown, "fc: connection refused").platform("fc"));
    let request = receiver.next().await;

    assert!(request.headers.get(SIGNATURE_HEADER).is_none());
    assert_eq!(request.header(EVENT_HEADER), "platform_down");
    let body = request.json();
    let keys: BTreeSet<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    assert_eq!(
        keys,
        BTreeSet::from(["event", "at", "dry_run", "platform", "message"])
    );
    harness.stop().await;
}

#[tokio::test]
async fn a_failed_delivery_is_retried_with_the_same_delivery_id_and_body() {
    let mut receiver = start_receiver(2, false).await;
    let harness = Harness::start(vec![target(&receiver.url, Some("k"))], false);

    harness.notifier.emit(placed_event());
    let attempts = [
        receiver.next().await,
        receiver.next().await,
        receiver.next().await,
    ];

    let ids: BTreeSet<&str> = attempts.iter().map(|r| r.header(DELIVERY_HEADER)).collect();
    assert_eq!(ids.len(), 1, "one delivery id across retries: {ids:?}");
    assert!(attempts.iter().all(|r| r.body == attempts[0].body));
    assert!(attempts
        .iter()
        .all(|r| r.header(SIGNATURE_HEADER) == format!("sha256={}", hmac_hex("k", &r.body))));
    eventually("the delivery to be counted", || {
        harness.count(&receiver.url, "delivered") == 1
    })
    .await;
    assert_eq!(harness.count(&receiver.url, "retry"), 2);
    eventually("the queue to empty", || queued(&harness.store).is_empty()).await;
    receiver.assert_quiet(Duration::from_millis(200)).await;
    harness.stop().await;
}

#[tokio::test]
async fn a_failing_attempt_is_rescheduled_with_back_off_in_the_store() {
    let mut receiver = start_receiver(usize::MAX, false).await;
    let mut policy = fast_policy();
    policy.first_retry = Duration::from_secs(30);
    policy.max_retry = Duration::from_secs(600);
    let dir = TempDir::new().unwrap();
    let store = Arc::new(Store::open(dir.path()).unwrap());
    let notifier = Notifier::with_policy(
        store.clone(),
        vec![target(&receiver.url, None)],
        false,
        Metrics::new(),
        policy,
    );
    let shutdown = CancellationToken::new();
    let sender = tokio::spawn(notifier.clone().run(shutdown.clone()));

    let emitted = chrono::Utc::now();
    notifier.emit(placed_event());
    receiver.next().await;
    eventually("the failed attempt to be recorded", || {
        queued(&store).first().is_some_and(|r| r["attempts"] == 1)
    })
    .await;
    let record = &queued(&store)[0];
    let next: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(record["next_attempt_at"].clone()).unwrap();
    let wait = next - emitted;
    assert!(
        wait >= chrono::Duration::seconds(30) && wait < chrono::Duration::seconds(40),
        "{wait}"
    );
    // Not due for 30 s: nothing is sent meanwhile.
    receiver.assert_quiet(Duration::from_millis(300)).await;
    shutdown.cancel();
    sender.await.unwrap();
}

#[tokio::test]
async fn an_undeliverable_notification_is_dropped_after_give_up_after() {
    let receiver = start_receiver(usize::MAX, false).await;
    let mut policy = fast_policy();
    policy.give_up_after = Duration::from_millis(150);
    let dir = TempDir::new().unwrap();
    let store = Arc::new(Store::open(dir.path()).unwrap());
    let metrics = Metrics::new();
    let notifier = Notifier::with_policy(
        store.clone(),
        vec![target(&receiver.url, None)],
        false,
        metrics.clone(),
        policy,
    );
    let shutdown = CancellationToken::new();
    let sender = tokio::spawn(notifier.clone().run(shutdown.clone()));

    notifier.emit(placed_event());
    eventually("the notification to be given up", || {
        count(&metrics, &receiver.url, "dropped") == 1
    })
    .await;
    assert!(queued(&store).is_empty());
    assert!(count(&metrics, &receiver.url, "retry") >= 1);
    assert_eq!(count(&metrics, &receiver.url, "delivered"), 0);
    shutdown.cancel();
    sender.await.unwrap();
}

// ----- restart ---------------------------------------------------------------------

#[tokio::test]
async fn a_notification_queued_while_the_receiver_is_down_is_delivered_once_after_a_restart() {
    let addr = unused_addr();
    let url = format!("http://{addr}/hook/t0k3n");
    let dir = TempDir::new().unwrap();

    // First life: the receiver is down; emit, let the sender fail at least once, stop.
    let delivery_id = {
        let store = Arc::new(Store::open(dir.path()).unwrap());
        let metrics = Metrics::new();
        let notifier = Notifier::with_policy(
            store.clone(),
            vec![target(&url, Some("k"))],
            false,
            metrics.clone(),
            fast_policy(),
        );
        notifier.emit(placed_event());
        let shutdown = CancellationToken::new();
        let sender = tokio::spawn(notifier.clone().run(shutdown.clone()));
        eventually("a failed attempt", || count(&metrics, &url, "retry") >= 1).await;
        shutdown.cancel();
        sender.await.unwrap();
        let records = queued(&store);
        assert_eq!(records.len(), 1);
        records[0]["delivery_id"].as_str().unwrap().to_string()
    };

    // Second life: a new store handle and notifier over the same directory.
    let mut receiver = start_receiver_at(addr, 0, false).await;
    let store = Arc::new(Store::open(dir.path()).unwrap());
    let metrics = Metrics::new();
    let notifier = Notifier::with_policy(
        store.clone(),
        vec![target(&url, Some("k"))],
        false,
        metrics.clone(),
        fast_policy(),
    );
    let shutdown = CancellationToken::new();
    let sender = tokio::spawn(notifier.run(shutdown.clone()));

    let request = receiver.next().await;
    assert_eq!(request.header(DELIVERY_HEADER), delivery_id);
    assert_eq!(request.header(EVENT_HEADER), "order_placed");
    assert_eq!(request.json()["opportunity_id"], "L-1001");
    eventually("the queue to empty", || queued(&store).is_empty()).await;
    receiver.assert_quiet(Duration::from_millis(200)).await;
    assert_eq!(count(&metrics, &url, "delivered"), 1);
    shutdown.cancel();
    sender.await.unwrap();
}

// ----- never in the way of orders -----------------------------------------------------

#[tokio::test]
async fn a_hanging_receiver_delays_neither_emit_nor_other_receivers() {
    let mut hanging = start_receiver(0, true).await;
    let mut healthy = start_receiver(0, false).await;
    let mut slow_target = target(&hanging.url, None);
    slow_target.timeout = Duration::from_secs(1);
    let harness = Harness::start(vec![slow_target, target(&healthy.url, None)], false);

    let started = Instant::now();
    harness.notifier.emit(placed_event());
    hanging.next().await;
    // The first delivery to the hanging receiver is now in flight and unanswered.
    let emit_started = Instant::now();
    harness
        .notifier
        .emit(Event::new(EventKind::BudgetExhausted, "daily budget used"));
    let emit_took = emit_started.elapsed();
    assert!(
        emit_took < Duration::from_millis(500),
        "emit took {emit_took:?}"
    );

    let first = healthy.next().await;
    let second = healthy.next().await;
    assert_eq!(
        (first.header(EVENT_HEADER), second.header(EVENT_HEADER)),
        ("order_placed", "budget_exhausted")
    );
    eventually("both deliveries to the healthy receiver", || {
        harness.count(&healthy.url, "delivered") == 2
    })
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "the healthy receiver waited for the hanging one: {:?}",
        started.elapsed()
    );

    // The hanging delivery times out on its own and is rescheduled.
    eventually("the hanging delivery to time out", || {
        harness.count(&hanging.url, "retry") >= 1
    })
    .await;
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(harness.count(&hanging.url, "delivered"), 0);
    harness.stop().await;
}

#[tokio::test]
async fn a_disabled_notifier_queues_nothing_and_its_sender_returns() {
    let notifier = Notifier::disabled();
    notifier.emit(placed_event());
    tokio::time::timeout(
        Duration::from_secs(1),
        notifier.run(CancellationToken::new()),
    )
    .await
    .expect("run returns at once without receivers");
}

// ----- dry run and filtering ----------------------------------------------------------

#[tokio::test]
async fn dry_run_notifications_say_so_in_the_flag_and_the_message() {
    let mut receiver = start_receiver(0, false).await;
    let harness = Harness::start(vec![target(&receiver.url, None)], true);

    harness.notifier.emit(placed_event());
    let body = receiver.next().await.json();

    assert_eq!(body["dry_run"], true);
    assert_eq!(body["message"], "[dry run] bought $25.00 of L-1001");
    harness.stop().await;
}

#[tokio::test]
async fn only_the_events_a_receiver_lists_are_queued_and_sent() {
    let mut picky = start_receiver(0, false).await;
    let mut everything = start_receiver(0, false).await;
    let mut picky_target = target(&picky.url, None);
    picky_target.events = BTreeSet::from([EventKind::OrderPlaced]);
    let harness = Harness::start(vec![picky_target, target(&everything.url, None)], false);

    harness
        .notifier
        .emit(Event::new(EventKind::BudgetExhausted, "daily budget used"));
    let records = queued(&harness.store);
    assert!(
        records.len() <= 1
            && records
                .iter()
                .all(|r| r["target_url"] == everything.url.as_str()),
        "{records:?}"
    );
    harness.notifier.emit(placed_event());

    assert_eq!(picky.next().await.header(EVENT_HEADER), "order_placed");
    assert_eq!(
        everything.next().await.header(EVENT_HEADER),
        "budget_exhausted"
    );
    assert_eq!(everything.next().await.header(EVENT_HEADER), "order_placed");
    eventually("the queue to empty", || queued(&harness.store).is_empty()).await;
    picky.assert_quiet(Duration::from_millis(200)).await;
    harness.stop().await;
}

// ----- configuration ----------------------------------------------------------------

fn config(text: &str) -> Result<Config, ConfigErrors> {
    Config::from_toml_str(text, Path::new("/etc/autoinvest/config.toml"))
}

fn message_for<'e>(errors: &'e ConfigErrors, key: &str) -> &'e str {
    errors
        .errors
        .iter()
        .find(|e| e.key == key)
        .map(|e| e.message.as_str())
        .unwrap_or_else(|| panic!("no error for {key} in:\n{errors}"))
}

#[test]
fn notify_tables_are_read_with_defaults() {
    let config = config(
        r#"
[[notify]]
url = "https://hooks.example.com/services/T0/B0/tok3n"
events = ["order_placed", "order_failed"]
secret_env = "AUTOINVEST_WEBHOOK_KEY"
timeout = "3s"

[[notify]]
url = "http://127.0.0.1:8080/hook"
events = ["*"]
"#,
    )
    .unwrap();
    assert_eq!(config.notify.len(), 2);
    let first = &config.notify[0];
    assert_eq!(first.url, "https://hooks.example.com/services/T0/B0/tok3n");
    assert_eq!(
        first.events,
        BTreeSet::from([EventKind::OrderPlaced, EventKind::OrderFailed])
    );
    assert_eq!(first.secret_env.as_deref(), Some("AUTOINVEST_WEBHOOK_KEY"));
    assert_eq!(first.timeout, Duration::from_secs(3));
    let second = &config.notify[1];
    assert_eq!(second.events, EventKind::ALL.into_iter().collect());
    assert_eq!(
        (second.secret_env.as_deref(), second.timeout),
        (None, Duration::from_secs(10))
    );
}

#[test]
fn no_notify_table_means_no_receivers() {
    assert!(config("mode = \"dry-run\"\n").unwrap().notify.is_empty());
}

#[test]
fn every_notify_problem_is_reported_at_once_without_showing_the_url() {
    let errors = config(
        r#"
[[notify]]
url = "ftp://files.example.com/s3cr3t-path"
events = ["order_placd", "*"]
secret_env = "1BAD"
timeout = "forever"
retries = 3

[[notify]]
events = []
secret = "hunter2"

[[notify]]
url = "https://user:pw@hooks.example.com/x"
events = "order_placed"

[[notify]]
url = "http://a.example/hook"
events = ["test"]

[[notify]]
url = "http://a.example/hook"
events = ["nonsense"]
timeout = "0s"
"#,
    )
    .unwrap_err();
    let mut keys: Vec<&str> = errors.errors.iter().map(|e| e.key.as_str()).collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "notify[0].events",
            "notify[0].retries",
            "notify[0].secret_env",
            "notify[0].timeout",
            "notify[0].url",
            "notify[1].events",
            "notify[1].secret",
            "notify[1].url",
            "notify[2].events",
            "notify[2].url",
            "notify[4].events",
            "notify[4].timeout",
            "notify[4].url",
        ]
    );
    assert_eq!(
        message_for(&errors, "notify[0].url"),
        "is not an http:// or https:// URL (scheme \"ftp\"); the URL is not shown"
    );
    assert!(message_for(&errors, "notify[0].events")
        .starts_with("unknown event \"order_placd\" (did you mean order_placed?); expected \"*\" or one of \"order_placed\""));
    assert_eq!(
        message_for(&errors, "notify[1].secret"),
        "put secrets in environment variables: use secret_env"
    );
    assert_eq!(message_for(&errors, "notify[1].url"), "missing (required)");
    assert_eq!(
        message_for(&errors, "notify[2].url"),
        "must not contain credentials: use secret_env for signing"
    );
    assert_eq!(
        message_for(&errors, "notify[4].url"),
        "the same URL as notify[3]"
    );
    assert!(message_for(&errors, "notify[0].retries").starts_with("unknown key"));
    let text = errors.to_string();
    for hidden in ["s3cr3t-path", "hunter2", "user:pw"] {
        assert!(!text.contains(hidden), "{hidden} shown in:\n{text}");
    }
    // Every problem carries its line.
    assert!(errors.errors.iter().all(|e| e.line.is_some()), "{errors:?}");
}

#[test]
fn a_named_secret_variable_must_be_set() {
    let config = config(
        r#"
[[notify]]
url = "http://a.example/hook"
events = ["*"]
secret_env = "AUTOINVEST_TEST_NOTIFY_KEY_THAT_IS_NEVER_SET"
"#,
    )
    .unwrap();
    let errors = NotifyTarget::all_from_config(&config).unwrap_err();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].key, "notify[0].secret_env");
    assert_eq!(
        errors[0].message,
        "environment variable AUTOINVEST_TEST_NOTIFY_KEY_THAT_IS_NEVER_SET is not set"
    );
}

// ----- `autoinvest notify test` ----------------------------------------------------------

const BIN: &str = env!("CARGO_BIN_EXE_autoinvest");

fn write_notify_config(dir: &Path, urls: &[&str]) -> std::path::PathBuf {
    let mut text = String::from("mode = \"dry-run\"\n");
    for url in urls {
        text.push_str(&format!(
            "\n[[notify]]\nurl = \"{url}\"\nevents = [\"order_placed\"]\nsecret_env = \"AUTOINVEST_TEST_NOTIFY_KEY\"\ntimeout = \"2s\"\n"
        ));
    }
    let path = dir.join("config.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Runs the binary off the runtime's threads, so the in-test receiver keeps answering.
async fn notify_test(config: &Path) -> std::process::Output {
    let config = config.to_path_buf();
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(BIN)
            .arg("--config")
            .arg(&config)
            .args(["notify", "test"])
            .env("AUTOINVEST_TEST_NOTIFY_KEY", "cli-key")
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn notify_test_sends_a_signed_test_event_to_every_receiver() {
    let mut receiver = start_receiver(0, false).await;
    let dir = TempDir::new().unwrap();
    let config = write_notify_config(dir.path(), &[&receiver.url]);

    let output = notify_test(&config).await;

    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let label = target(&receiver.url, None).label();
    assert_eq!(stdout, format!("notify[0] {label}: delivered (204)\n"));
    let request = receiver.next().await;
    assert_eq!(request.header(EVENT_HEADER), "test");
    assert_eq!(
        request.header(SIGNATURE_HEADER),
        format!("sha256={}", hmac_hex("cli-key", &request.body))
    );
    let body = request.json();
    assert_eq!(
        (body["event"].as_str(), body["dry_run"].as_bool()),
        (Some("test"), Some(true))
    );
    assert!(body["message"].as_str().unwrap().starts_with("[dry run] "));
}

#[tokio::test]
async fn notify_test_reports_each_failure_and_exits_1() {
    let receiver = start_receiver(1, false).await;
    let down = format!("http://{}/hook/t0k3n", unused_addr());
    let dir = TempDir::new().unwrap();
    let config = write_notify_config(dir.path(), &[&receiver.url, &down]);

    let output = notify_test(&config).await;

    assert_eq!(output.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert_eq!(
        lines[0],
        format!(
            "notify[0] {}: failed: answered HTTP 500",
            target(&receiver.url, None).label()
        )
    );
    assert!(
        lines[1].starts_with(&format!(
            "notify[1] {}: failed: ",
            target(&down, None).label()
        )),
        "{stdout}"
    );
    assert!(
        !stdout.contains("t0k3n"),
        "the URL path is never shown: {stdout}"
    );
}
