//! FundAmerica webhooks over real HTTP: the router the daemon merges accepts a signed
//! webhook once (durably, across a restart), refuses forged, replayed and malformed
//! ones, never records a webhook it could not hand over, counts every outcome — and a
//! webhook from the emulator's log leads the client to the investment's new state.

use autoinvest::config::Config;
use autoinvest::opportunity::PlatformId;
use autoinvest::platform::fundamerica::webhook::{
    expected_signature, webhook_router, Fetch, WebhookAccount, WebhookEvent, WebhookReceiver,
    WEBHOOK_PATH,
};
use autoinvest::platform::fundamerica::wire::PaymentMethod;
use autoinvest::platform::fundamerica::{FundAmericaClient, FundAmericaSettings};
use autoinvest::sandbox::{self, SandboxOptions};
use autoinvest::secret::Secret;
use autoinvest::store::Store;
use autoinvest::telemetry::Metrics;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

mod common;

const KEY: &str = "verification-key-3f9a";
const SEED_WEBHOOK: &str = include_str!("fixtures/fundamerica/webhook.json");

/// The daemon's side: a webhook router on loopback, its store, metrics and events.
struct Daemon {
    addr: SocketAddr,
    metrics: Arc<Metrics>,
    events: mpsc::Receiver<WebhookEvent>,
    _shutdown: tokio_util::sync::DropGuard,
}

impl Daemon {
    async fn start(state: &Path, key: &str, capacity: usize) -> Daemon {
        let store = Store::open(state).unwrap();
        let metrics = Metrics::new();
        let (sender, events) = mpsc::channel(capacity);
        let accounts = vec![WebhookAccount {
            platform: PlatformId::new("fa"),
            verification_key: Secret::new(key),
        }];
        let router = webhook_router(WebhookReceiver::new(
            accounts,
            store,
            metrics.clone(),
            sender,
        ));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shutdown = CancellationToken::new();
        let stop = shutdown.clone();
        tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(stop.cancelled_owned())
                .await
                .unwrap();
        });
        Daemon {
            addr,
            metrics,
            events,
            _shutdown: shutdown.drop_guard(),
        }
    }

    async fn post_data(&self, data: &str) -> (StatusCode, Value) {
        let response = reqwest::Client::new()
            .post(format!("http://{}{WEBHOOK_PATH}", self.addr))
            .form(&[("data", data)])
            .send()
            .await
            .unwrap();
        (response.status(), response.json().await.unwrap())
    }

    fn count(&self, platform: &str, outcome: &str) -> u64 {
        self.metrics
            .webhooks_total
            .with_label_values(&[platform, outcome])
            .get()
    }
}

/// A webhook message about an investment, signed with `key`.
fn signed(webhook_id: &str, investment: &str, key: &str) -> String {
    json!({
        "object": "investment",
        "id": investment,
        "url": format!("https://apps.fundamerica.com/api/investments/{investment}"),
        "webhook_id": webhook_id,
        "signature": expected_signature(webhook_id, &Secret::new(key)),
        "action": "update",
        "changes": ["status"]
    })
    .to_string()
}

#[tokio::test]
async fn a_signed_webhook_is_accepted_once_and_its_investment_is_to_be_fetched() {
    let dir = tempfile::tempdir().unwrap();
    let mut daemon = Daemon::start(dir.path(), KEY, 8).await;

    let (status, body) = daemon.post_data(&signed("wh-1", "inv-1", KEY)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["webhook_id"], "wh-1");
    let event = daemon.events.try_recv().unwrap();
    assert_eq!(
        event,
        WebhookEvent {
            platform: PlatformId::new("fa"),
            webhook_id: "wh-1".into(),
            action: Some("update".into()),
            changes: vec!["status".into()],
            fetch: Fetch::Investment { id: "inv-1".into() },
        }
    );

    let (status, body) = daemon.post_data(&signed("wh-1", "inv-1", KEY)).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body["error"]
        .as_str()
        .unwrap()
        .contains("already processed"));
    assert!(
        daemon.events.try_recv().is_err(),
        "a replay is not acted on"
    );

    assert_eq!(daemon.count("fa", "accepted"), 1);
    assert_eq!(daemon.count("fa", "replayed"), 1);
    let exported = daemon.metrics.render();
    assert!(
        exported.contains(r#"autoinvest_webhooks_total{outcome="replayed",platform="fa"} 1"#),
        "{exported}"
    );
}

#[tokio::test]
async fn forged_and_malformed_webhooks_are_refused_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let mut daemon = Daemon::start(dir.path(), KEY, 8).await;

    let (status, _) = daemon
        .post_data(&signed("wh-2", "inv-1", "guessed-key"))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // The seed's own example is signed with a key we do not have.
    let (status, _) = daemon.post_data(SEED_WEBHOOK).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // A valid signature of another webhook id does not carry over.
    let mut tampered: Value = serde_json::from_str(&signed("wh-3", "inv-1", KEY)).unwrap();
    tampered["webhook_id"] = "wh-4".into();
    let (status, _) = daemon.post_data(&tampered.to_string()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let (status, _) = daemon.post_data("{not json").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let json_body = reqwest::Client::new()
        .post(format!("http://{}{WEBHOOK_PATH}", daemon.addr))
        .json(&json!({"data": signed("wh-5", "inv-1", KEY)}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        json_body.status(),
        StatusCode::BAD_REQUEST,
        "the platform posts a form"
    );
    let too_big = reqwest::Client::new()
        .post(format!("http://{}{WEBHOOK_PATH}", daemon.addr))
        .form(&[("data", "x".repeat(100_000))])
        .send()
        .await
        .unwrap();
    assert!(too_big.status().is_client_error());

    assert!(
        daemon.events.try_recv().is_err(),
        "nothing refused reaches the daemon"
    );
    assert_eq!(daemon.count("unknown", "forged"), 3);
    assert_eq!(daemon.count("unknown", "malformed"), 3);
    assert_eq!(daemon.count("fa", "accepted"), 0);
    // A forged id is not recorded: the real webhook with that id still gets through.
    let (status, _) = daemon.post_data(&signed("wh-2", "inv-1", KEY)).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_replay_is_refused_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    {
        // The first run, without HTTP, so its store is closed when this block ends.
        let (sender, _events) = mpsc::channel(8);
        let receiver = WebhookReceiver::new(
            vec![WebhookAccount {
                platform: PlatformId::new("fa"),
                verification_key: Secret::new(KEY),
            }],
            Store::open(dir.path()).unwrap(),
            Metrics::new(),
            sender,
        );
        assert!(receiver.receive(&signed("wh-r", "inv-1", KEY)).is_ok());
    }
    let mut daemon = Daemon::start(dir.path(), KEY, 8).await;
    let (status, _) = daemon.post_data(&signed("wh-r", "inv-1", KEY)).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(daemon.events.try_recv().is_err());
}

#[tokio::test]
async fn a_webhook_the_daemon_cannot_take_is_not_recorded_so_the_retry_works() {
    let dir = tempfile::tempdir().unwrap();
    let mut daemon = Daemon::start(dir.path(), KEY, 1).await;
    let (status, _) = daemon.post_data(&signed("wh-a", "inv-1", KEY)).await;
    assert_eq!(status, StatusCode::OK);
    // The queue is full: answered 503, so the platform retries in a minute.
    let (status, _) = daemon.post_data(&signed("wh-b", "inv-2", KEY)).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(daemon.count("fa", "unavailable"), 1);

    assert_eq!(daemon.events.recv().await.unwrap().webhook_id, "wh-a");
    let (status, _) = daemon.post_data(&signed("wh-b", "inv-2", KEY)).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the retry is processed, not a replay"
    );
    assert_eq!(daemon.events.recv().await.unwrap().webhook_id, "wh-b");

    daemon.events.close();
    let (status, _) = daemon.post_data(&signed("wh-c", "inv-3", KEY)).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn a_webhook_from_the_emulators_log_leads_to_the_investments_new_state() {
    let shutdown = CancellationToken::new();
    let _stop = shutdown.clone().drop_guard();
    let sandbox = sandbox::spawn(
        "127.0.0.1:0".parse().unwrap(),
        SandboxOptions::default(),
        shutdown,
    )
    .await
    .unwrap();
    let base = format!("http://{}/fundamerica", sandbox.addr);
    let client = FundAmericaClient::new(
        FundAmericaSettings {
            id: PlatformId::new("fa"),
            base_url: base.clone(),
            api_key: Secret::new("sandbox"),
            investor_id: "AcDqHluSTJy1nPjo7om1Ww".into(),
            payment_method: PaymentMethod::Wire,
            max_posts_per_second: NonZeroU32::new(10).unwrap(),
            max_gets_per_second: NonZeroU32::new(100).unwrap(),
            request_timeout: Duration::from_secs(10),
        },
        Metrics::new(),
    )
    .unwrap();
    let http = reqwest::Client::new();
    let offerings: Value = http
        .get(format!("{base}/api/offerings?per=100"))
        .basic_auth("sandbox", None::<&str>)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let offering = offerings["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| {
            o["accept_investments"] == true
                && o["type"] == "debt"
                && o["min_investment_amount"].is_null()
                && o["investment_increment_amount"].is_null()
        })
        .expect("an open debt offering without limits");
    let made: Value = http
        .post(format!("{base}/api/investments"))
        .basic_auth("sandbox", None::<&str>)
        .form(&[
            ("amount", "250.00"),
            ("offering_id", offering["id"].as_str().unwrap()),
            ("investor_id", "AcDqHluSTJy1nPjo7om1Ww"),
            ("payment_method", "wire"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let investment = made["id"].as_str().unwrap();
    let received = http
        .patch(format!("{base}/api/test_mode/investments/{investment}"))
        .basic_auth("sandbox", None::<&str>)
        .form(&[("status", "received")])
        .send()
        .await
        .unwrap();
    assert!(received.status().is_success());
    let logs: Value = http
        .get(format!("{base}/api/webhook_logs"))
        .basic_auth("sandbox", None::<&str>)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let update = logs["resources"][1]["data"].as_str().unwrap().to_string();

    // The emulator signs with "sandbox": the key a sandboxed account gets by default.
    let dir = tempfile::tempdir().unwrap();
    let mut daemon = Daemon::start(dir.path(), "sandbox", 8).await;
    let (status, _) = daemon.post_data(&update).await;
    assert_eq!(status, StatusCode::OK);
    let event = daemon.events.recv().await.unwrap();
    let Fetch::Investment { id } = event.fetch else {
        panic!("expected an investment to fetch, got {:?}", event.fetch);
    };
    assert_eq!(id, investment);
    let current = client.investment_status(&id).await.unwrap();
    assert_eq!(current.status, "received");
    assert_eq!(current.opportunity_id, offering["id"].as_str().unwrap());
}

#[test]
fn webhook_accounts_come_from_the_config_with_the_sandbox_placeholder() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(
        &path,
        r#"
[sandbox]
enabled = true

[platforms.fa]
kind = "fundamerica"
api_key_env = "AUTOINVEST_TEST_FA_WEBHOOK_API_KEY_UNSET"
webhook_key_env = "AUTOINVEST_TEST_FA_WEBHOOK_KEY_UNSET"
investor_id = "AcDqHluSTJy1nPjo7om1Ww"
payment_method = "wire"

[platforms.fa_nohooks]
kind = "fundamerica"
api_key_env = "AUTOINVEST_TEST_FA_WEBHOOK_API_KEY_UNSET"
investor_id = "AcDqHluSTJy1nPjo7om1Ww"
payment_method = "check"
"#,
    )
    .unwrap();
    let config = Config::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let accounts = WebhookAccount::from_config(&config).unwrap();
    assert_eq!(accounts.len(), 1);
    assert_eq!(accounts[0].platform.as_str(), "fa");
    assert_eq!(accounts[0].verification_key.expose(), "sandbox");
}

/// The endpoint itself under random input, over real HTTP: random bytes or random text
/// as the body, as a form field or raw, under several content types, and signed-looking
/// webhooks with random fields. Every answer is a 4xx, the server keeps answering, and
/// nothing reaches the daemon. Cases: 256, or `PROPTEST_CASES` (`scripts/fuzz`).
#[test]
fn random_requests_to_the_endpoint_are_refused_and_never_break_it() {
    use proptest::prelude::*;
    use proptest::test_runner::{Config as RunnerConfig, TestRunner};

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut daemon = runtime.block_on(Daemon::start(dir.path(), KEY, 8));
    let url = format!("http://{}{WEBHOOK_PATH}", daemon.addr);
    let client = reqwest::Client::new();
    let cases = common::proptest_cases(256);

    let lookalike = (".{0,24}", ".{0,24}", ".{0,40}", any::<bool>()).prop_map(
        |(webhook_id, id, signature, as_number)| {
            let id = if as_number { json!(12345) } else { json!(id) };
            json!({"object": "investment", "id": id, "webhook_id": webhook_id,
                   "signature": signature, "action": "update"})
            .to_string()
            .into_bytes()
        },
    );
    let body = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..512),
        ".{0,256}".prop_map(String::into_bytes),
        lookalike,
    ];
    let content_type = prop_oneof![
        Just("application/x-www-form-urlencoded"),
        Just("application/json"),
        Just("text/plain"),
        Just("multipart/form-data; boundary=x"),
    ];
    let mut runner = TestRunner::new(RunnerConfig::with_cases(cases));
    runner
        .run(
            &(body, content_type, any::<bool>()),
            |(body, content_type, as_form_field)| {
                let status = runtime.block_on(async {
                    let request = if as_form_field {
                        let data = String::from_utf8_lossy(&body).into_owned();
                        client.post(&url).form(&[("data", data)])
                    } else {
                        client
                            .post(&url)
                            .header(reqwest::header::CONTENT_TYPE, content_type)
                            .body(body)
                    };
                    request.send().await.expect("the endpoint answers").status()
                });
                prop_assert!(status.is_client_error(), "answered {}", status);
                Ok(())
            },
        )
        .unwrap();
    assert!(
        daemon.events.try_recv().is_err(),
        "nothing random reaches the daemon"
    );
    assert_eq!(daemon.count("fa", "accepted"), 0);
}
