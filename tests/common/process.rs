//! Real-process helpers for the crash tests: the `autoinvest sandbox` and
//! `autoinvest run` children, the sandbox's admin API, and the order history as
//! `orders --json` prints it.

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_autoinvest");

/// A child process killed (SIGKILL) and reaped when dropped.
pub struct KillOnDrop(pub Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts `autoinvest sandbox` on `port`; returns once it is listening.
pub fn start_sandbox(port: u16, seed: u64) -> KillOnDrop {
    let mut child = Command::new(BIN)
        .args([
            "sandbox",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--seed",
            &seed.to_string(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("sandbox starts");
    // Wait for its "listening" line, then keep draining stdout so that the sandbox
    // never writes into a closed pipe.
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert!(line.contains("listening"), "sandbox said: {line}");
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    KillOnDrop(child)
}

/// Switches the sandbox's faults (`{}`: none).
pub fn set_faults(port: u16, faults: Value) {
    let response = reqwest::blocking::Client::new()
        .put(format!("http://127.0.0.1:{port}/__sandbox/faults"))
        .json(&faults)
        .send()
        .expect("sandbox reachable");
    assert!(
        response.status().is_success(),
        "setting faults: {}",
        response.status()
    );
}

/// One platform's part of the sandbox ledger ("fundingcircle", "fundrise", …).
pub fn ledger(port: u16, platform: &str) -> Value {
    whole_ledger(port)[platform].clone()
}

/// The sandbox ledger of every platform, keyed by platform kind.
pub fn whole_ledger(port: u16) -> Value {
    reqwest::blocking::get(format!("http://127.0.0.1:{port}/__sandbox/ledger"))
        .expect("sandbox reachable")
        .json()
        .expect("ledger is JSON")
}

/// `autoinvest --config CONFIG run [--once]` with the given environment, quiet.
pub fn daemon(config: &Path, env: &[(&str, &str)], once: bool) -> Command {
    let mut command = Command::new(BIN);
    command
        .arg("--config")
        .arg(config)
        .arg("run")
        .envs(env.iter().copied())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if once {
        command.arg("--once");
    }
    command
}

/// The order history (`orders --json`).
pub fn intents(config: &Path) -> Vec<Value> {
    let output = Command::new(BIN)
        .arg("--config")
        .arg(config)
        .args(["orders", "--json"])
        .output()
        .expect("orders runs");
    assert!(
        output.status.success(),
        "orders failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("orders --json is JSON")
}

/// Runs the daemon until `progressed()` (or `at_most` passed), waits `extra_delay`,
/// then kills it with SIGKILL.
pub fn run_and_kill(
    mut daemon: Command,
    at_most: Duration,
    progressed: impl Fn() -> bool,
    extra_delay: Duration,
) {
    let mut child = KillOnDrop(daemon.spawn().expect("daemon starts"));
    let deadline = Instant::now() + at_most;
    while Instant::now() < deadline && !progressed() {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(extra_delay);
    child.0.kill().expect("SIGKILL");
    child.0.wait().unwrap();
}
