//! Live/backtest parity: the daemon's dry run against the in-process sandbox records
//! the opportunities it evaluated (`record_opportunities`); replaying that file through
//! `backtest` with the same config must make the very same buy decisions (strategy,
//! opportunity, amount). The budgets used do not depend on the day (the dry run's
//! clock is the wall clock, the backtest's is `listed_at`), but the total budget does
//! bind, so the order of evaluation and shared budgets are part of what is compared.

mod backtest_support;
mod common;

use autoinvest::backtest::{self, BacktestOptions};
use autoinvest::order::OrderState;
use autoinvest::scheduler::{self, RunOptions};
use autoinvest::store::Store;
use backtest_support::read_decisions;
use common::*;
use rust_decimal::Decimal;
use std::collections::BTreeSet;
use std::str::FromStr;
use tokio_util::sync::CancellationToken;

/// Buys more of the better loans; whole loans only when small.
const PICKER: &str = r#"
fn decide(o, p) {
    if o.whole { return #{ amount: 0, reason: "whole loan" }; }
    if o.grade == "A+" || o.grade == "A" { return #{ amount: 75.50, reason: "prime band" }; }
    if o.rate >= 0.10 { return #{ amount: 40, reason: "high rate" }; }
    #{ amount: 0, reason: `band ${o.grade} at ${o.rate}` }
}
"#;

/// A second strategy sharing the same budgets.
const SECOND: &str = r#"
fn decide(o, p) {
    if o.whole { return (); }
    #{ amount: 30, reason: "second opinion" }
}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backtest_of_recorded_listings_decides_like_the_dry_run() {
    set_test_credentials();
    let shutdown = CancellationToken::new();
    let sandbox = start_sandbox(&shutdown).await;
    let dir = tempfile::tempdir().unwrap();
    let config_path = write_config(dir.path(), &sandbox.fundingcircle_url(), PICKER, "");
    std::fs::write(dir.path().join("second.rhai"), SECOND).unwrap();
    let text = std::fs::read_to_string(&config_path)
        .unwrap()
        .replace("daily_limit = \"1000.00\"", "")
        .replace("total_limit = \"5000.00\"", "total_limit = \"400.00\"")
        + "\n[[strategies]]\nname = \"second\"\nscript = \"second.rhai\"\n";
    std::fs::write(&config_path, text).unwrap();
    let recorded = dir.path().join("polled.jsonl");

    scheduler::run(
        load(&config_path),
        RunOptions {
            dry_run: true,
            once: true,
            record_opportunities: Some(recorded.clone()),
        },
        CancellationToken::new(),
    )
    .await
    .expect("dry run");
    assert_eq!(
        ledger(sandbox.addr).await["posts"],
        0,
        "a dry run sent an order"
    );

    let store = Store::open(&dir.path().join("state/dry-run")).unwrap();
    let live: BTreeSet<(String, String, Decimal)> = store
        .intents()
        .unwrap()
        .into_iter()
        .map(|intent| {
            assert!(matches!(intent.state, OrderState::Placed { .. }));
            (intent.strategy, intent.opportunity_id, intent.amount)
        })
        .collect();
    drop(store);

    let report_dir = dir.path().join("backtest");
    let options = BacktestOptions {
        data: recorded.clone(),
        report_dir: Some(report_dir.clone()),
        ..BacktestOptions::default()
    };
    let report = backtest::run(&load(&config_path), &options, &mut std::io::sink()).unwrap();
    assert_eq!(report.input.malformed_rows, 0);
    assert_eq!(
        report.input.rows, 12,
        "every polled listing was recorded once"
    );

    let lines = read_decisions(&report_dir);
    let replayed: BTreeSet<(String, String, Decimal)> = lines
        .iter()
        .filter(|l| l.decision == "buy")
        .map(|l| {
            (
                l.strategy.clone(),
                l.opportunity_id.clone(),
                Decimal::from_str(&l.amount).unwrap(),
            )
        })
        .collect();

    assert!(!live.is_empty(), "the dry run bought nothing");
    assert!(live.iter().any(|(s, _, _)| s == "second"));
    assert_eq!(replayed, live);
    // The total budget bound in the replay, as it did live.
    assert!(
        lines.iter().any(|l| l.reason.contains("the total budget")),
        "the total budget never bound: {lines:?}"
    );
    shutdown.cancel();
}
