//! Helpers shared by the integration tests: an embedded sandbox, configs written to
//! a temp dir, and the sandbox's ledger.
#![allow(dead_code)]

pub mod ledger;
pub mod process;

use autoinvest::config::Config;
use autoinvest::sandbox::{self, SandboxHandle, SandboxOptions};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Cases per property test: `default` (what CI runs), or `PROPTEST_CASES` when set
/// (`scripts/fuzz` sets it for long runs).
pub fn proptest_cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default)
}

/// A strategy that buys $25 of every fractional loan and skips whole loans.
pub const BUY_FRACTIONAL: &str = r#"
fn decide(o, p) {
    if o.whole { return #{ amount: 0, reason: "whole loan" }; }
    #{ amount: 25, reason: "test: every fractional loan" }
}
"#;

/// Starts an in-process sandbox on a free loopback port.
pub async fn start_sandbox(shutdown: &CancellationToken) -> SandboxHandle {
    let options = SandboxOptions {
        seed: 7,
        initial_listings: 12,
        listing_interval: Duration::from_secs(3600),
        ..SandboxOptions::default()
    };
    sandbox::spawn("127.0.0.1:0".parse().unwrap(), options, shutdown.clone())
        .await
        .expect("sandbox starts")
}

/// Writes `strategy.rhai` and `config.toml` into `dir`; returns the config path.
pub fn write_config(
    dir: &Path,
    fundingcircle_url: &str,
    script: &str,
    extra_budget: &str,
) -> PathBuf {
    std::fs::write(dir.join("strategy.rhai"), script).unwrap();
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
{extra_budget}

[platforms.fc]
kind = "fundingcircle"
base_url = "{fundingcircle_url}"
username_env = "AUTOINVEST_TEST_FC_USER"
password_env = "AUTOINVEST_TEST_FC_PASSWORD"
max_posts_per_second = 40

[[strategies]]
name = "test-buyer"
script = "strategy.rhai"
platforms = ["fc"]
max_per_opportunity = "100.00"
"#
    );
    let path = dir.join("config.toml");
    std::fs::write(&path, text).unwrap();
    path
}

pub fn set_test_credentials() {
    // Every test sets the same values, so concurrent tests cannot disagree.
    std::env::set_var("AUTOINVEST_TEST_FC_USER", "test-investor");
    std::env::set_var("AUTOINVEST_TEST_FC_PASSWORD", "s3cret-distinctive-value");
}

pub fn load(path: &Path) -> Config {
    Config::load(path).unwrap_or_else(|e| panic!("config invalid: {e}"))
}

/// The sandbox's Funding Circle ledger.
pub async fn ledger(addr: std::net::SocketAddr) -> Value {
    fundingcircle_part(addr, "ledger").await
}

/// The sandbox's Funding Circle order-POST counters (`GET /__sandbox/stats`).
pub async fn stats(addr: std::net::SocketAddr) -> Value {
    fundingcircle_part(addr, "stats").await
}

/// The Funding Circle part of the sandbox's `GET /__sandbox/{what}` answer.
async fn fundingcircle_part(addr: std::net::SocketAddr, what: &str) -> Value {
    let body: Value = reqwest::get(format!("http://{addr}/__sandbox/{what}"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["fundingcircle"].clone()
}

/// Switches sandbox faults on or off.
pub async fn set_faults(addr: std::net::SocketAddr, faults: Value) {
    let response = reqwest::Client::new()
        .put(format!("http://{addr}/__sandbox/faults"))
        .json(&faults)
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "setting faults: {}",
        response.status()
    );
}
