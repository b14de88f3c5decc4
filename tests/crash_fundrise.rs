//! One intent → at most one Fundrise investment, across `kill -9`.
//!
//! Real processes: `autoinvest sandbox` runs as its own process (its ledger outlives
//! the daemon), `autoinvest run` trades only on the sandbox's Fundrise emulator and is
//! killed with SIGKILL while investments are in flight (the emulator executes each
//! investment and then drops the connection, or answers slowly), then restarted with
//! `--once`. Two strategies buy the same $100 of every fund, so reconciliation must
//! tell apart investments that share fund, amount and day — the spec's transactions
//! carry no `partnerReferenceId` — and must not mistake the account's old $100
//! investment in fund 1 for a new one. Checked against the emulator's ledger, which
//! records the `partnerReferenceId` of every investment: every intent ends final, each
//! placed intent holds exactly the investment made under its own reference, and no
//! investment exists that no intent accounts for.

use autoinvest::order::IdempotencyKey;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

mod common;

use common::process::{self, free_port, intents, set_faults, KillOnDrop};

/// The environment the daemon under test reads its (test) credentials from.
const ENV: &[(&str, &str)] = &[
    ("AUTOINVEST_TEST_FR_PARTNER_USER", "crash-partner"),
    (
        "AUTOINVEST_TEST_FR_PARTNER_PASSWORD",
        "crash-partner-password",
    ),
    ("AUTOINVEST_TEST_FR_REFRESH_TOKEN", "crash-refresh-token"),
];

fn start_sandbox(port: u16) -> KillOnDrop {
    process::start_sandbox(port, 11)
}

fn ledger(port: u16) -> Value {
    process::ledger(port, "fundrise")
}

fn daemon(config: &Path, once: bool) -> Command {
    process::daemon(config, ENV, once)
}

/// Buys $100 of every offering, once per strategy.
const BUY_EVERY_FUND: &str = r#"
fn decide(o, p) {
    if o.kind != "offering" { return #{ amount: 0, reason: "not an offering" }; }
    #{ amount: 100, reason: "test: every open fund" }
}
"#;

fn investments(port: u16) -> Vec<Value> {
    ledger(port)["investments"].as_array().unwrap().clone()
}

fn write_config(dir: &Path, port: u16) -> PathBuf {
    std::fs::write(dir.join("strategy.rhai"), BUY_EVERY_FUND).unwrap();
    let text = format!(
        r#"
mode = "live"
state_dir = "state"
poll_interval = "1s"
http_listen = ""

[budget]
daily_limit = "1000.00"
total_limit = "5000.00"
cash_reserve = "0.00"

[platforms.fr]
kind = "fundrise"
base_url = "http://127.0.0.1:{port}/fundrise"
partner_user_env = "AUTOINVEST_TEST_FR_PARTNER_USER"
partner_password_env = "AUTOINVEST_TEST_FR_PARTNER_PASSWORD"
refresh_token_env = "AUTOINVEST_TEST_FR_REFRESH_TOKEN"
account_id = "12"
acknowledge_documents = true

[[strategies]]
name = "buyer-a"
script = "strategy.rhai"
platforms = ["fr"]
max_per_opportunity = "100.00"

[[strategies]]
name = "buyer-b"
script = "strategy.rhai"
platforms = ["fr"]
max_per_opportunity = "100.00"
"#
    );
    let path = dir.join("config.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Runs the daemon until the emulator holds at least `min_investments` investments (or
/// for at most [`RUN_AT_MOST`]: an intent whose POST never left before a kill is
/// reconciled to "not placed" and never sent again, so progress can stop until the
/// emulator releases another fund), waits `extra_delay`, then kills it with SIGKILL.
fn run_and_kill(config: &Path, port: u16, min_investments: usize, extra_delay: Duration) {
    process::run_and_kill(
        daemon(config, false),
        RUN_AT_MOST,
        || investments(port).len() >= min_investments,
        extra_delay,
    );
}

const RUN_AT_MOST: Duration = Duration::from_secs(3);

fn restart_once(config: &Path) {
    let status = daemon(config, true).status().unwrap();
    assert!(status.success(), "the restarted daemon failed: {status}");
}

fn check_invariants(config: &Path, port: u16) {
    let investments = investments(port);
    let intents = intents(config);
    let by_reference: HashMap<&str, &Value> = investments
        .iter()
        .map(|i| (i["partner_reference_id"].as_str().unwrap(), i))
        .collect();
    assert_eq!(
        by_reference.len(),
        investments.len(),
        "one investment per reference"
    );
    let mut per_fund: HashMap<&str, usize> = HashMap::new();
    for investment in &investments {
        *per_fund
            .entry(investment["offering_id"].as_str().unwrap())
            .or_default() += 1;
    }
    assert!(
        per_fund.values().all(|n| *n <= 2),
        "more investments in a fund than strategies buying it: {per_fund:?}"
    );
    let mut placed = 0;
    for intent in &intents {
        let state = intent["state"]["state"].as_str().unwrap();
        assert!(
            ["placed", "rejected", "not_placed"].contains(&state),
            "intent left unresolved after restart: {intent}"
        );
        let key = IdempotencyKey::from_stored(intent["key"].as_str().unwrap().to_string());
        let own = by_reference.get(key.partner_reference().as_str());
        if state == "placed" {
            placed += 1;
            let own =
                own.unwrap_or_else(|| panic!("placed intent without its investment: {intent}"));
            assert_eq!(
                intent["state"]["order_id"], own["transaction_id"],
                "a placed intent holds another intent's (or an old) investment: {intent}"
            );
        } else {
            assert!(
                own.is_none(),
                "an investment exists for an intent marked {state}: {intent}"
            );
        }
    }
    assert_eq!(
        investments.len(),
        placed,
        "investments on the platform that no intent accounts for"
    );
}

#[test]
fn accept_then_drop_then_kill_never_doubles_nor_misattributes_an_investment() {
    let port = free_port();
    let _sandbox = start_sandbox(port);
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), port);
    // Every investment is executed, then its connection dropped: each outcome is unknown.
    set_faults(
        port,
        json!({ "drop_after_accept_rate": 1.0, "latency_ms": 30 }),
    );
    run_and_kill(&config, port, 1, Duration::from_millis(0));
    set_faults(port, json!({}));
    restart_once(&config);
    check_invariants(&config, port);
    // Another run changes nothing that is already decided.
    let before = investments(port).len();
    restart_once(&config);
    check_invariants(&config, port);
    assert!(investments(port).len() >= before);
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
    assert!(!investments(port).is_empty(), "the test bought nothing");
    let intents = intents(&config);
    assert_eq!(
        intents.len(),
        8,
        "two strategies × four funds: {intents:#?}"
    );
}
