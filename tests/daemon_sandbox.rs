//! The whole loop in-process against the sandbox over real loopback HTTP, with a
//! real sled store in a temp dir: live orders, dry runs, restarts, bad input.

mod common;

use autoinvest::order::OrderState;
use autoinvest::scheduler::{self, RunOptions};
use autoinvest::store::Store;
use common::*;
use serde_json::json;
use std::collections::HashMap;
use tokio_util::sync::CancellationToken;

async fn run_once(config_path: &std::path::Path, dry_run: bool) {
    let config = load(config_path);
    scheduler::run(
        config,
        RunOptions {
            dry_run,
            once: true,
            ..RunOptions::default()
        },
        CancellationToken::new(),
    )
    .await
    .expect("run --once succeeds");
}

#[tokio::test]
async fn dry_run_records_decisions_and_sends_no_order() {
    set_test_credentials();
    let shutdown = CancellationToken::new();
    let sandbox = start_sandbox(&shutdown).await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &sandbox.fundingcircle_url(), BUY_FRACTIONAL, "");

    run_once(&config, true).await;

    let ledger = ledger(sandbox.addr).await;
    assert_eq!(ledger["posts"], 0, "a dry run sent an order: {ledger}");
    assert_eq!(ledger["orders"].as_array().unwrap().len(), 0);
    let store = Store::open(&dir.path().join("state/dry-run")).unwrap();
    let intents = store.intents().unwrap();
    assert!(!intents.is_empty(), "the dry run decided to buy nothing");
    for intent in &intents {
        assert!(
            matches!(intent.state, OrderState::Placed { ref platform_status, .. } if platform_status == "dry_run")
        );
    }
    assert!(!store.decisions(1000).unwrap().is_empty());
    drop(store);
    // Nothing reached the live store.
    assert!(Store::open(&dir.path().join("state"))
        .unwrap()
        .intents()
        .unwrap()
        .is_empty());
    shutdown.cancel();
}

#[tokio::test]
async fn live_run_places_one_order_per_intent_and_never_again_after_restart() {
    set_test_credentials();
    let shutdown = CancellationToken::new();
    let sandbox = start_sandbox(&shutdown).await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &sandbox.fundingcircle_url(), BUY_FRACTIONAL, "");

    run_once(&config, false).await;
    let first = ledger(sandbox.addr).await;
    let orders = first["orders"].as_array().unwrap().clone();
    assert!(!orders.is_empty(), "nothing was bought: {first}");
    for order in &orders {
        assert_eq!(order["purchased_amount_cents"], 2500);
    }

    // A restart evaluates the same listings again and must not buy them twice.
    run_once(&config, false).await;
    let second = ledger(sandbox.addr).await;
    assert_eq!(second["orders"].as_array().unwrap().len(), orders.len());

    let store = Store::open(&dir.path().join("state")).unwrap();
    let intents = store.intents().unwrap();
    assert_eq!(intents.len(), orders.len());
    let mut per_listing: HashMap<String, usize> = HashMap::new();
    for order in &orders {
        *per_listing
            .entry(order["listing_id"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    assert!(
        per_listing.values().all(|n| *n == 1),
        "a listing was bought twice: {per_listing:?}"
    );
    for intent in intents {
        let OrderState::Placed { order_id, .. } = &intent.state else {
            panic!("intent not placed: {intent:?}");
        };
        assert!(orders.iter().any(|o| o["id"] == json!(order_id)));
    }
    shutdown.cancel();
}

#[tokio::test]
async fn budgets_cap_what_is_bought() {
    set_test_credentials();
    let shutdown = CancellationToken::new();
    let sandbox = start_sandbox(&shutdown).await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &sandbox.fundingcircle_url(), BUY_FRACTIONAL, "");
    // Daily budget $60 → two $25 orders, then $10 left: below the $25 minimum.
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("daily_limit = \"1000.00\"", "daily_limit = \"60.00\"");
    std::fs::write(&config, text).unwrap();

    run_once(&config, false).await;
    let ledger = ledger(sandbox.addr).await;
    assert_eq!(ledger["orders"].as_array().unwrap().len(), 2, "{ledger}");
    let store = Store::open(&dir.path().join("state")).unwrap();
    let skips: Vec<String> = store
        .decisions(1000)
        .unwrap()
        .into_iter()
        .filter_map(|d| match d.verdict {
            autoinvest::decision::Verdict::Skip { reason } => Some(reason),
            _ => None,
        })
        .collect();
    assert!(
        skips.iter().any(|r| r.contains("daily budget")),
        "{skips:?}"
    );
    shutdown.cancel();
}

#[tokio::test]
async fn bad_platform_responses_never_place_an_order() {
    set_test_credentials();
    let shutdown = CancellationToken::new();
    let sandbox = start_sandbox(&shutdown).await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &sandbox.fundingcircle_url(), BUY_FRACTIONAL, "");

    for fault in ["malformed_rate", "html_502_rate", "error_5xx_rate"] {
        set_faults(sandbox.addr, json!({ fault: 1.0 })).await;
        run_once(&config, false).await;
        let ledger = ledger(sandbox.addr).await;
        assert_eq!(
            ledger["orders"].as_array().unwrap().len(),
            0,
            "{fault}: {ledger}"
        );
    }
    let store = Store::open(&dir.path().join("state")).unwrap();
    assert!(store.intents().unwrap().is_empty());
    drop(store);

    // And once the platform recovers, the loop trades again.
    set_faults(sandbox.addr, json!({})).await;
    run_once(&config, false).await;
    assert!(!ledger(sandbox.addr).await["orders"]
        .as_array()
        .unwrap()
        .is_empty());
    shutdown.cancel();
}

/// Polls `url` until `ready` accepts the JSON it serves (or 20 s pass).
async fn wait_for(url: &str, ready: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        if let Ok(response) = reqwest::get(url).await {
            if let Ok(body) = response.json::<serde_json::Value>().await {
                if ready(&body) {
                    return body;
                }
                if std::time::Instant::now() > deadline {
                    panic!("{url} never got ready: {body}");
                }
            }
        }
        assert!(std::time::Instant::now() < deadline, "{url} never answered");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn status_shows_orders_budgets_and_a_failing_platform() {
    set_test_credentials();
    let shutdown = CancellationToken::new();
    let sandbox = start_sandbox(&shutdown).await;
    let dir = tempfile::tempdir().unwrap();
    let config_path = write_config(dir.path(), &sandbox.fundingcircle_url(), BUY_FRACTIONAL, "");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let text = std::fs::read_to_string(&config_path).unwrap().replace(
        "http_listen = \"\"",
        &format!("http_listen = \"127.0.0.1:{port}\""),
    );
    std::fs::write(&config_path, text).unwrap();
    let config = load(&config_path);
    let daemon_stop = CancellationToken::new();
    let daemon = tokio::spawn(scheduler::run(
        config,
        RunOptions::default(),
        daemon_stop.clone(),
    ));

    let status_url = format!("http://127.0.0.1:{port}/status");
    let status = wait_for(&status_url, |s| {
        s["platforms"]["fc"]["orders_today"].as_u64().unwrap_or(0) > 0
    })
    .await;
    let ledger_now = ledger(sandbox.addr).await;
    let placed = ledger_now["orders"].as_array().unwrap().len() as u64;
    let fc = &status["platforms"]["fc"];
    assert_eq!(status["mode"], "live");
    assert_eq!(fc["orders_today"].as_u64().unwrap(), placed);
    let amount: rust_decimal::Decimal = fc["amount_today"].as_str().unwrap().parse().unwrap();
    assert_eq!(amount, rust_decimal::Decimal::from(25 * placed));
    let daily_left: rust_decimal::Decimal = status["budget_remaining"]["daily"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(daily_left, rust_decimal::Decimal::from(1000) - amount);
    assert_eq!(fc["consecutive_failures"], 0);
    assert!(
        status["strategies"]["test-buyer"]["decisions"]["buy"]
            .as_u64()
            .unwrap()
            >= placed
    );

    // The platform fails: /status says so, and /healthz turns unhealthy after 3 polls.
    set_faults(sandbox.addr, json!({ "error_5xx_rate": 1.0 })).await;
    let status = wait_for(&status_url, |s| {
        s["platforms"]["fc"]["consecutive_failures"]
            .as_u64()
            .unwrap_or(0)
            >= 3
    })
    .await;
    assert!(status["platforms"]["fc"]["last_error"]
        .as_str()
        .unwrap()
        .contains("fc"));
    let health = reqwest::get(format!("http://127.0.0.1:{port}/healthz"))
        .await
        .unwrap();
    assert_eq!(health.status(), 503);

    daemon_stop.cancel();
    daemon.await.unwrap().unwrap();
    // With the daemon stopped, `status` falls back to the store.
    let store = Store::open(&dir.path().join("state")).unwrap();
    let summary = autoinvest::status_report::from_store(&store).unwrap();
    assert_eq!(summary.orders_today as u64, placed);
    assert_eq!(summary.unresolved, 0);
    shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_notifies_placed_orders() {
    use axum::routing::post;
    use std::sync::{Arc, Mutex};
    set_test_credentials();
    let shutdown = CancellationToken::new();
    let sandbox = start_sandbox(&shutdown).await;
    let received: Arc<Mutex<Vec<serde_json::Value>>> = Arc::default();
    let app = axum::Router::new().route(
        "/hook",
        post({
            let received = received.clone();
            move |axum::Json(body): axum::Json<serde_json::Value>| async move {
                received.lock().unwrap().push(body);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let receiver_addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });

    let dir = tempfile::tempdir().unwrap();
    let notify =
        format!("[[notify]]\nurl = \"http://{receiver_addr}/hook\"\nevents = [\"order_placed\"]\n");
    let config_path = write_config(dir.path(), &sandbox.fundingcircle_url(), BUY_FRACTIONAL, "");
    let text = std::fs::read_to_string(&config_path).unwrap();
    std::fs::write(&config_path, format!("{text}\n{notify}")).unwrap();
    let daemon_stop = CancellationToken::new();
    let daemon = tokio::spawn(scheduler::run(
        load(&config_path),
        RunOptions::default(),
        daemon_stop.clone(),
    ));

    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while received.lock().unwrap().is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "no notification arrived"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    daemon_stop.cancel();
    daemon.await.unwrap().unwrap();
    let first = received.lock().unwrap()[0].clone();
    assert_eq!(first["event"], "order_placed");
    assert_eq!(first["platform"], "fc");
    assert_eq!(first["strategy"], "test-buyer");
    assert_eq!(first["amount"], "25.00");
    assert_eq!(first["dry_run"], false);
    shutdown.cancel();
}
