//! One intent → at most one FundAmerica investment, across `kill -9`.
//!
//! Real processes: `autoinvest sandbox` runs as its own process (its ledger outlives
//! the daemon); `autoinvest run`, configured with only a FundAmerica account pointed at
//! it and a strategy that buys every offering, is killed with SIGKILL while the
//! emulator accepts each investment and then drops the connection (or answers
//! slowly), and is restarted with `--once`. Afterwards every intent must be final and
//! the emulator must hold exactly the investments the placed intents name — one per
//! offering, never two.

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

mod common;

use common::process::{self, free_port, intents, set_faults, KillOnDrop};

/// The environment the daemon under test reads its (test) credentials from.
const ENV: &[(&str, &str)] = &[("AUTOINVEST_TEST_FA_API_KEY", "crash-test-key")];

fn start_sandbox(port: u16) -> KillOnDrop {
    process::start_sandbox(port, 11)
}

fn ledger(port: u16) -> Value {
    process::ledger(port, "fundamerica")
}

fn daemon(config: &Path, once: bool) -> Command {
    process::daemon(config, ENV, once)
}

/// Buys every offering; sizing fits the amount to each offering's limits and shares.
const BUY_EVERY_OFFERING: &str = r#"
fn decide(o, p) {
    #{ amount: 5000, reason: "test: every offering" }
}
"#;

fn investments(port: u16) -> Vec<Value> {
    ledger(port)["investments"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn write_config(dir: &Path, port: u16) -> PathBuf {
    std::fs::write(dir.join("strategy.rhai"), BUY_EVERY_OFFERING).unwrap();
    let text = format!(
        r#"
mode = "live"
state_dir = "state"
poll_interval = "1s"
http_listen = ""

[budget]
daily_limit = "1000000.00"
total_limit = "1000000.00"
cash_reserve = "0.00"

[platforms.fa]
kind = "fundamerica"
base_url = "http://127.0.0.1:{port}/fundamerica"
api_key_env = "AUTOINVEST_TEST_FA_API_KEY"
investor_id = "AcDqHluSTJy1nPjo7om1Ww"
payment_method = "ach"
ach_authorization_id = "c1iNJPrgToCWwLOD3pAhgg"

[[strategies]]
name = "every-offering"
script = "strategy.rhai"
platforms = ["fa"]
max_per_opportunity = "5000.00"
"#
    );
    let path = dir.join("config.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Runs the daemon until the emulator holds at least `min_investments` investments
/// (or a deadline), waits `extra_delay`, then kills it with SIGKILL.
fn run_and_kill(config: &Path, port: u16, min_investments: usize, extra_delay: Duration) {
    process::run_and_kill(
        daemon(config, false),
        Duration::from_secs(30),
        || investments(port).len() >= min_investments,
        extra_delay,
    );
}

fn restart_once_and_check(config: &Path, port: u16) {
    set_faults(port, json!({}));
    let status = daemon(config, true).status().unwrap();
    assert!(status.success(), "run --once after the crash failed");
    check_invariants(config, port);
}

fn check_invariants(config: &Path, port: u16) {
    let orders = common::ledger::orders(&process::whole_ledger(port), "fundamerica");
    common::ledger::assert_one_order_per_placed_intent(&intents(config), &orders);
}

#[test]
fn accept_then_drop_then_kill_never_doubles_an_investment() {
    let port = free_port();
    let _sandbox = start_sandbox(port);
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), port);
    // Every investment is made, then the connection is dropped: each outcome is ambiguous.
    set_faults(port, json!({ "drop_after_accept_rate": 1.0 }));
    run_and_kill(&config, port, 1, Duration::ZERO);
    restart_once_and_check(&config, port);

    // Another run leaves every final intent as it was and resends none of them; it
    // only sends for offerings released since (one appears every two seconds).
    let before = intents(&config);
    let posts_before = ledger(port)["posts"].as_u64().unwrap();
    let status = daemon(&config, true).status().unwrap();
    assert!(status.success());
    let after = intents(&config);
    for old in &before {
        let now = after
            .iter()
            .find(|i| i["key"] == old["key"])
            .expect("intents are never lost");
        assert_eq!(now["state"], old["state"], "a final intent changed");
    }
    let new_intents = (after.len() - before.len()) as u64;
    let new_posts = ledger(port)["posts"].as_u64().unwrap() - posts_before;
    assert!(
        new_posts <= new_intents,
        "{new_posts} POSTs for {new_intents} new intents"
    );
    check_invariants(&config, port);
}

#[test]
fn kills_at_varied_moments_with_slow_answers_never_double_an_investment() {
    let port = free_port();
    let _sandbox = start_sandbox(port);
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), port);
    for (cycle, delay_ms) in [0u64, 35, 80, 150, 260].into_iter().enumerate() {
        let drop_rate = if cycle % 2 == 0 { 0.5 } else { 0.0 };
        set_faults(
            port,
            json!({ "latency_ms": 40, "drop_after_accept_rate": drop_rate }),
        );
        run_and_kill(&config, port, cycle, Duration::from_millis(delay_ms));
    }
    restart_once_and_check(&config, port);
    assert!(!investments(port).is_empty(), "the test bought nothing");
}
