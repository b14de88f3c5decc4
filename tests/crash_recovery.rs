//! One intent → at most one order, across `kill -9`.
//!
//! Real processes: `autoinvest sandbox` runs as its own process (its ledger outlives
//! the daemon), `autoinvest run` is killed with SIGKILL while orders are in flight
//! (the sandbox accepts each order and then drops the connection, or answers slowly),
//! and restarted. After the restart every intent must be reconciled to a final state
//! and the sandbox must hold at most one order per intent — never a double order.

mod common;

use common::BUY_FRACTIONAL;
use serde_json::{json, Value};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::process::{self, free_port, intents, set_faults, KillOnDrop};

/// The environment the daemon under test reads its (test) credentials from.
const ENV: &[(&str, &str)] = &[
    ("AUTOINVEST_TEST_FC_USER", "crash-test"),
    ("AUTOINVEST_TEST_FC_PASSWORD", "crash-test-password"),
];

fn start_sandbox(port: u16) -> KillOnDrop {
    process::start_sandbox(port, 11)
}

fn ledger(port: u16) -> Value {
    process::ledger(port, "fundingcircle")
}

fn daemon(config: &Path, once: bool) -> Command {
    process::daemon(config, ENV, once)
}

/// Runs the daemon until the sandbox has accepted at least `min_orders` orders (or a
/// deadline), then kills it with SIGKILL.
fn run_and_kill(config: &Path, port: u16, min_orders: usize, extra_delay: Duration) {
    process::run_and_kill(
        daemon(config, false),
        Duration::from_secs(30),
        || ledger(port)["orders"].as_array().map_or(0, |o| o.len()) >= min_orders,
        extra_delay,
    );
}

fn check_invariants(config: &Path, port: u16) {
    let orders = common::ledger::orders(&process::whole_ledger(port), "fundingcircle");
    common::ledger::assert_one_order_per_placed_intent(&intents(config), &orders);
}

fn write_config(dir: &Path, port: u16) -> std::path::PathBuf {
    common::write_config(
        dir,
        &format!("http://127.0.0.1:{port}/fundingcircle"),
        BUY_FRACTIONAL,
        "",
    )
}

#[test]
fn accept_then_drop_then_kill_never_doubles_an_order() {
    let port = free_port();
    let _sandbox = start_sandbox(port);
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), port);
    // Every order is executed, then the connection is dropped: each outcome is ambiguous.
    set_faults(port, json!({ "drop_after_accept_rate": 1.0 }));
    run_and_kill(&config, port, 1, Duration::from_millis(0));
    set_faults(port, json!({}));
    let status = daemon(&config, true).status().unwrap();
    assert!(status.success());
    check_invariants(&config, port);
}

#[test]
fn kills_at_varied_moments_with_slow_answers_never_double_an_order() {
    let port = free_port();
    let _sandbox = start_sandbox(port);
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), port);
    for (cycle, delay_ms) in [0u64, 35, 80, 150, 260].into_iter().enumerate() {
        let faults = json!({ "latency_ms": 40, "drop_after_accept_rate": if cycle % 2 == 0 { 0.5 } else { 0.0 } });
        set_faults(port, faults);
        run_and_kill(&config, port, cycle, Duration::from_millis(delay_ms));
    }
    set_faults(port, json!({}));
    let status = daemon(&config, true).status().unwrap();
    assert!(status.success());
    check_invariants(&config, port);
    assert!(
        !ledger(port)["orders"].as_array().unwrap().is_empty(),
        "the test bought nothing"
    );
}
