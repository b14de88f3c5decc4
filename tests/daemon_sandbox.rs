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
