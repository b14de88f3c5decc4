//! The soak's short version for CI (issue 5; the long one is `scripts/soak`): the
//! daemon in-process at pacing saturation against the sandbox over loopback for
//! `RUN_FOR`, with history kept a few seconds and pruned every second. It checks what
//! the soak checks: no order POST answered 429 and never more than 40 within any one
//! second (the sandbox's own count), the pacer kept busy, and a store that stays
//! bounded — records by what pruning keeps, and its size on disk flat.

mod common;

use autoinvest::config::Config;
use autoinvest::sandbox::{self, SandboxHandle, SandboxOptions};
use autoinvest::scheduler::{self, RunOptions};
use autoinvest::store::Store;
use std::path::Path;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const RUN_FOR: Duration = Duration::from_secs(20);
const SAMPLE_EVERY: Duration = Duration::from_secs(1);
const STRATEGIES: usize = 8;
/// Longer than a listing stays open (`LISTING_LIFETIME`), as `[store] keep_history`
/// must be: a pruned intent's listing is closed, so it cannot be bought again.
const KEEP_HISTORY_SECS: u64 = 8;
const PRUNE_EVERY_SECS: u64 = 1;
/// As `scripts/soak`: one listing every 170 ms (5.9 listings/s), ~32 orders due per
/// second (8 strategies, ~68 % of listings fractional with $1,000 left), sent back to
/// back by the pacer between polls.
const LISTING_INTERVAL: Duration = Duration::from_millis(170);
const LISTING_LIFETIME: Duration = Duration::from_secs(6);
const RATE_LIMIT: u64 = 40;

/// The soak config (scripts/soak.d) with a short history.
fn write_config(dir: &Path, sandbox: &SandboxHandle) -> std::path::PathBuf {
    let strategy = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scripts/soak.d/buy_every_fractional.rhai"
    );
    let strategies: String = (1..=STRATEGIES)
        .map(|n| {
            format!(
                "[[strategies]]\nname = \"soak-{n}\"\nscript = \"{strategy}\"\n\
                 platforms = [\"fc\"]\nmax_per_opportunity = \"25.00\"\n\n"
            )
        })
        .collect();
    let config = include_str!("../scripts/soak.d/config.toml.in")
        .replace("@STATE_DIR@", &dir.join("state").display().to_string())
        .replace("@HTTP_LISTEN@", "")
        .replace("@BASE_URL@", &sandbox.fundingcircle_url())
        .replace("@KEEP_HISTORY@", &format!("{KEEP_HISTORY_SECS}s"))
        .replace("@PRUNE_EVERY@", &format!("{PRUNE_EVERY_SECS}s"))
        .replace("@STRATEGIES@", &strategies);
    let path = dir.join("config.toml");
    std::fs::write(&path, config).unwrap();
    path
}

fn saturating_sandbox() -> SandboxOptions {
    SandboxOptions {
        seed: 7,
        listing_interval: LISTING_INTERVAL,
        listing_lifetime: LISTING_LIFETIME,
        max_listings: 1_000_000,
        starting_cash_cents: 100_000_000_000_000,
        ..SandboxOptions::default()
    }
}

fn dir_bytes(dir: &Path) -> u64 {
    let mut total = 0;
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        match entry.metadata() {
            Ok(meta) if meta.is_dir() => total += dir_bytes(&entry.path()),
            Ok(meta) => total += meta.len(),
            Err(_) => {}
        }
    }
    total
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saturated_run_keeps_the_rate_limit_and_a_bounded_store() {
    std::env::set_var("SOAK_FC_USERNAME", "soak");
    std::env::set_var("SOAK_FC_PASSWORD", "soak-password");
    let sandbox_stop = CancellationToken::new();
    let sandbox = sandbox::spawn(
        "127.0.0.1:0".parse().unwrap(),
        saturating_sandbox(),
        sandbox_stop.clone(),
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = Config::load(&write_config(dir.path(), &sandbox)).unwrap();
    let state = config.state_dir.clone();

    let shutdown = CancellationToken::new();
    let daemon = tokio::spawn(scheduler::run(
        config,
        RunOptions::default(),
        shutdown.clone(),
    ));
    let mut store_sizes = Vec::new();
    let started = tokio::time::Instant::now();
    while started.elapsed() < RUN_FOR {
        tokio::time::sleep(SAMPLE_EVERY).await;
        store_sizes.push(dir_bytes(&state));
        let now = common::stats(sandbox.addr).await;
        eprintln!(
            "{:>5.1}s posts {} 429s {} max/1s {} orders {} store {} bytes",
            started.elapsed().as_secs_f64(),
            now["posts"],
            now["rate_limited"],
            now["max_posts_in_any_second"],
            now["orders"],
            store_sizes.last().unwrap_or(&0)
        );
    }
    let during = common::stats(sandbox.addr).await;
    shutdown.cancel();
    daemon.await.unwrap().expect("the daemon stops cleanly");
    let placed = common::ledger(sandbox.addr).await["orders"]
        .as_array()
        .unwrap()
        .clone();
    sandbox_stop.cancel();

    // Pruning never leads to a second order: one per strategy per listing at most.
    let mut per_listing: std::collections::HashMap<&str, usize> = Default::default();
    for order in &placed {
        *per_listing
            .entry(order["listing_id"].as_str().unwrap())
            .or_default() += 1;
    }
    let most = per_listing.values().copied().max().unwrap_or(0);
    assert!(most <= STRATEGIES, "a listing was bought {most} times");

    // The rate limit, as the platform counts it.
    assert_eq!(during["rate_limited"], 0, "POSTs answered 429: {during}");
    let max_in_second = during["max_posts_in_any_second"].as_u64().unwrap();
    assert!(
        max_in_second <= RATE_LIMIT,
        "{max_in_second} POSTs within one second"
    );
    // The pacer was the bottleneck: it ran near its limit for a good part of the run.
    assert!(
        max_in_second >= RATE_LIMIT - 5,
        "never near saturation: at most {max_in_second} POSTs within one second ({during})"
    );
    let posts = during["posts"].as_u64().unwrap();
    assert!(
        posts >= RUN_FOR.as_secs() * 15,
        "{posts} POSTs in {RUN_FOR:?}: not saturated"
    );

    // Records: only what the last few seconds wrote survives pruning (finished intents
    // and decisions older than keep_history go every prune_every). Orders come at most
    // 40/s; the bound allows the history kept, one prune interval, and a few seconds
    // for the cycle in flight and the backlog.
    let store = Store::open(&state).unwrap();
    let window = KEEP_HISTORY_SECS + PRUNE_EVERY_SECS + 6;
    let intents = store.intents().unwrap();
    let decisions = store.decisions(usize::MAX).unwrap();
    let all_orders = during["orders"].as_u64().unwrap();
    assert!(
        intents.len() as u64 <= 40 * window,
        "{} intents kept ({all_orders} orders placed in all)",
        intents.len()
    );

    // Nothing finished is older than the history kept plus one prune interval (and
    // the time it took to stop).
    let oldest_allowed = chrono::Utc::now()
        - chrono::Duration::seconds((KEEP_HISTORY_SECS + PRUNE_EVERY_SECS + 2) as i64);
    let stale = intents
        .iter()
        .filter(|i| i.state.is_final() && i.updated_at < oldest_allowed)
        .count();
    assert_eq!(stale, 0, "{stale} finished intents outlived keep_history");
    let stale = decisions.iter().filter(|d| d.at < oldest_allowed).count();
    assert_eq!(
        stale,
        0,
        "{stale} of {} decisions outlived keep_history",
        decisions.len()
    );

    // Size on disk: flat once pruning runs (sled reuses the space of removed records).
    let half = store_sizes.len() / 2;
    let first = *store_sizes[..half].iter().max().unwrap();
    let second = *store_sizes[half..].iter().max().unwrap();
    assert!(
        second <= first + first / 4 + 4 * 1024 * 1024,
        "store grew from {first} to {second} bytes: {store_sizes:?}"
    );
}
