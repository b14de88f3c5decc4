//! One intent → at most one investment on the issuer portal, across `kill -9`.
//!
//! Real processes: `autoinvest sandbox` runs as its own process (its ledger outlives
//! the daemon), `autoinvest run` with only the issuer portal configured is killed
//! with SIGKILL while investments are in flight (the sandbox makes each investment
//! and then drops the connection, or answers slowly), and restarted with `--once`.
//! Every intent must then be final, and the sandbox must hold exactly one investment
//! per placed intent and none for any other — never a double investment.

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

mod common;

use common::process::{self, free_port, intents, set_faults, KillOnDrop};

/// The environment the daemon under test reads its (test) credentials from.
const ENV: &[(&str, &str)] = &[
    ("AUTOINVEST_TEST_IP_API_KEY", "crash-test-key"),
    ("AUTOINVEST_TEST_IP_EMAIL", "crash@example.com"),
    ("AUTOINVEST_TEST_IP_PASSWORD", "crash-test-password"),
];

fn start_sandbox(port: u16) -> KillOnDrop {
    process::start_sandbox(port, 11)
}

fn ledger(port: u16) -> Value {
    process::ledger(port, "issuer_portal")
}

fn daemon(config: &Path, once: bool) -> Command {
    process::daemon(config, ENV, once)
}

/// A strategy that buys $500 of every offering (sizing turns it into whole shares).
const BUY_EVERY_OFFERING: &str = r#"
fn decide(o, p) {
    if o.kind != "offering" { return #{ amount: 0, reason: "not an offering" }; }
    #{ amount: 500, reason: "test: every offering" }
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
daily_limit = "100000.00"
total_limit = "100000.00"
cash_reserve = "0.00"

[platforms.ip]
kind = "issuer_portal"
base_url = "http://127.0.0.1:{port}/issuer_portal"
api_key_env = "AUTOINVEST_TEST_IP_API_KEY"
email_env = "AUTOINVEST_TEST_IP_EMAIL"
password_env = "AUTOINVEST_TEST_IP_PASSWORD"
investor_id = 7

[[strategies]]
name = "test-buyer"
script = "strategy.rhai"
platforms = ["ip"]
max_per_opportunity = "1000.00"
"#
    );
    let path = dir.join("config.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Runs the daemon until the sandbox holds at least `min_investments` investments (or
/// a deadline), waits `extra_delay`, then kills it with SIGKILL.
fn run_and_kill(config: &Path, port: u16, min_investments: usize, extra_delay: Duration) {
    process::run_and_kill(
        daemon(config, false),
        Duration::from_secs(30),
        || investments(port).len() >= min_investments,
        extra_delay,
    );
}

fn restart_once(config: &Path) {
    let status = daemon(config, true).status().unwrap();
    assert!(status.success(), "the --once restart failed: {status}");
}

fn check_invariants(config: &Path, port: u16) {
    let intents = intents(config);
    let orders = common::ledger::orders(&process::whole_ledger(port), "issuer_portal");
    common::ledger::assert_one_order_per_placed_intent(&intents, &orders);
    let investments = investments(port);
    for investment in &investments {
        assert_eq!(investment["investor"]["id"], 7, "{investment}");
    }
    // The intent's whole shares are what the platform holds.
    for intent in intents.iter().filter(|i| i["state"]["state"] == "placed") {
        let order_id = common::ledger::text(&intent["state"]["order_id"]);
        let investment = investments
            .iter()
            .find(|i| common::ledger::text(&i["id"]) == order_id)
            .unwrap_or_else(|| panic!("no investment {order_id} for {intent}"));
        assert_eq!(investment["quantity"], intent["shares"], "{intent}");
    }
}

#[test]
fn accept_then_drop_then_kill_never_doubles_an_investment() {
    let port = free_port();
    let _sandbox = start_sandbox(port);
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), port);
    // Every investment is made, then the connection is dropped: each outcome is
    // ambiguous and must be reconciled, never resent.
    set_faults(port, json!({ "drop_after_accept_rate": 1.0 }));
    run_and_kill(&config, port, 1, Duration::ZERO);
    set_faults(port, json!({}));
    restart_once(&config);
    check_invariants(&config, port);
    assert!(!investments(port).is_empty(), "the test bought nothing");
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
    set_faults(port, json!({}));
    restart_once(&config);
    check_invariants(&config, port);
    let placed = intents(&config)
        .iter()
        .filter(|i| i["state"]["state"] == "placed")
        .count();
    assert!(placed > 0, "the test bought nothing");
}
