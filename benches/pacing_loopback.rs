//! Pacing accuracy over real loopback HTTP: the Funding Circle client sends a backlog
//! of fractional orders to the in-process sandbox from several tasks at once; the
//! sandbox's ledger (its own arrival times) gives the figures.
//!
//! Run: `cargo bench --bench pacing_loopback` (prints one table; not a timed test).

use autoinvest::opportunity::{OpportunityKind, PlatformId, PurchaseMode};
use autoinvest::order::{IdempotencyKey, OrderIntent, OrderState};
use autoinvest::platform::fundingcircle::{FundingCircleClient, FundingCircleSettings};
use autoinvest::platform::{ApprovedOrder, PlatformClient};
use autoinvest::sandbox::{self, SandboxOptions};
use autoinvest::secret::Secret;
use autoinvest::telemetry::Metrics;
use chrono::Utc;
use rust_decimal_macros::dec;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

const ORDERS: usize = 400;
const TASKS: usize = 8;

fn intent(listing: &str, n: usize) -> OrderIntent {
    let now = Utc::now();
    OrderIntent {
        key: IdempotencyKey::derive(&PlatformId::new("fc"), "bench", listing, &n.to_string()),
        platform: PlatformId::new("fc"),
        strategy: "bench".into(),
        opportunity_id: listing.into(),
        opportunity_kind: OpportunityKind::Loan,
        purchase: PurchaseMode::Fractional,
        amount: dec!(25),
        shares: None,
        grade: None,
        reason: String::new(),
        slot: n.to_string(),
        created_at: now,
        updated_at: now,
        state: OrderState::Sending,
        dry_run: false,
    }
}

#[tokio::main]
async fn main() {
    let shutdown = CancellationToken::new();
    let options = SandboxOptions {
        initial_listings: 200,
        starting_cash_cents: 10_000_000_000,
        ..SandboxOptions::default()
    };
    let sandbox = sandbox::spawn("127.0.0.1:0".parse().unwrap(), options, shutdown.clone())
        .await
        .expect("sandbox");
    let client = Arc::new(
        FundingCircleClient::new(
            FundingCircleSettings {
                id: PlatformId::new("fc"),
                base_url: sandbox.fundingcircle_url(),
                username: Secret::new("bench"),
                password: Secret::new("bench"),
                max_posts_per_second: NonZeroU32::new(40).unwrap(),
                max_gets_per_second: NonZeroU32::new(100).unwrap(),
                request_timeout: Duration::from_secs(10),
            },
            Metrics::new(),
        )
        .expect("client"),
    );
    let listings: Vec<String> = client
        .poll()
        .await
        .expect("poll")
        .into_iter()
        .filter(|o| {
            o.purchase == PurchaseMode::Fractional && o.remaining.is_some_and(|r| r >= dec!(1000))
        })
        .map(|o| o.id)
        .collect();
    assert!(!listings.is_empty());
    let ledger_url = format!("http://{}/__sandbox/ledger", sandbox.addr);
    let before: serde_json::Value = reqwest::get(&ledger_url)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let posts_before = before["fundingcircle"]["post_times_ms"]
        .as_array()
        .unwrap()
        .len();

    let started = Instant::now();
    let mut tasks = Vec::new();
    for t in 0..TASKS {
        let client = client.clone();
        let listings = listings.clone();
        tasks.push(tokio::spawn(async move {
            let mut errors = 0;
            for n in (t..ORDERS).step_by(TASKS) {
                let order = ApprovedOrder {
                    intent: intent(&listings[n % listings.len()], n),
                };
                if client.place_order(&order).await.is_err() {
                    errors += 1;
                }
            }
            errors
        }));
    }
    let mut errors = 0;
    for task in tasks {
        errors += task.await.unwrap();
    }
    let elapsed = started.elapsed();

    let ledger: serde_json::Value = reqwest::get(&ledger_url)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let fc = &ledger["fundingcircle"];
    // Order POSTs only: the login POST came before the backlog.
    let times: Vec<u64> = fc["post_times_ms"].as_array().unwrap()[posts_before..]
        .iter()
        .map(|t| t.as_u64().unwrap())
        .collect();
    let max_in_window = times
        .iter()
        .enumerate()
        .map(|(i, start)| times[i..].iter().take_while(|t| **t < start + 1000).count())
        .max()
        .unwrap_or(0);
    let min_gap = times.windows(2).map(|w| w[1] - w[0]).min().unwrap_or(0);
    let span_s = (times.last().unwrap() - times.first().unwrap()) as f64 / 1000.0;
    println!("| figure | value |");
    println!("|---|---|");
    println!("| orders sent | {} ({} errors) |", times.len(), errors);
    println!("| wall time | {:.2} s |", elapsed.as_secs_f64());
    println!(
        "| sustained POSTs/s (server arrivals) | {:.2} |",
        (times.len() - 1) as f64 / span_s
    );
    println!("| max POSTs in any 1-second window | {max_in_window} |");
    println!("| min gap between arrivals | {min_gap} ms (ms resolution) |");
    println!("| 429s received | {} |", fc["rate_limited"]);
    shutdown.cancel();
}
