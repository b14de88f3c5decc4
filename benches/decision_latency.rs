//! Decision latency: from a parsed 500-listing Funding Circle poll to the first order
//! handed to the platform client (whose first step is the pacer), through the daemon's
//! own per-poll code (`PlatformLoop::handle_poll`: decide with the shipped strategies,
//! claim durably in a real sled store, verify, mark Sending, send).
//!
//! The listings come from one real poll of the in-process sandbox (HTTP + parsing, done
//! once, outside the measurement). Each round offers them under fresh ids, with a fresh
//! portfolio, so every round decides and buys anew; the store keeps growing, as it does
//! in a running daemon. The client under test records when `place_order` is first
//! called and answers at once, so no network time is in the figures.
//!
//! Also printed: the whole cycle (`handle_poll` until it returns: every order sent,
//! decisions recorded, orders tracked, gauges published), whose end-of-cycle work runs
//! right before the next poll's decisions.
//!
//! Run: `cargo bench --bench decision_latency` (prints p50/p99/max in ms).

use async_trait::async_trait;
use autoinvest::app;
use autoinvest::config::Config;
use autoinvest::notify::Notifier;
use autoinvest::opportunity::{Opportunity, PlatformId, PlatformKind};
use autoinvest::order::{OrderIntent, PlatformOrder};
use autoinvest::platform::fundingcircle::{FundingCircleClient, FundingCircleSettings};
use autoinvest::platform::{ApprovedOrder, PlatformClient, PlatformError};
use autoinvest::portfolio::Portfolio;
use autoinvest::sandbox::{self, SandboxOptions};
use autoinvest::scheduler::{LoopParts, PlatformLoop};
use autoinvest::secret::Secret;
use autoinvest::status::StatusBoard;
use autoinvest::store::Store;
use autoinvest::telemetry::Metrics;
use rust_decimal::Decimal;
use std::num::NonZeroU32;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

const LISTINGS: usize = 500;
const ROUNDS: usize = 200;

/// A Funding Circle account that answers instantly and remembers when the first order
/// reached it.
struct Probe {
    id: PlatformId,
    first_order: Mutex<Option<Instant>>,
    orders: std::sync::atomic::AtomicUsize,
}

#[async_trait]
impl PlatformClient for Probe {
    fn id(&self) -> &PlatformId {
        &self.id
    }

    fn kind(&self) -> PlatformKind {
        PlatformKind::FundingCircle
    }

    async fn poll(&self) -> Result<Vec<Opportunity>, PlatformError> {
        Ok(Vec::new())
    }

    async fn place_order(&self, order: &ApprovedOrder) -> Result<PlatformOrder, PlatformError> {
        self.first_order
            .lock()
            .unwrap()
            .get_or_insert_with(Instant::now);
        self.orders
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(PlatformOrder {
            order_id: format!("order-{}", order.intent.key),
            opportunity_id: order.intent.opportunity_id.clone(),
            amount: order.intent.amount,
            status: "pending".into(),
        })
    }

    async fn find_orders(&self, _: &OrderIntent) -> Result<Vec<PlatformOrder>, PlatformError> {
        Ok(Vec::new())
    }

    async fn available_cash(&self) -> Result<Option<Decimal>, PlatformError> {
        Ok(None)
    }
}

/// One real poll of the sandbox's Funding Circle emulator with `LISTINGS` open listings.
async fn polled_listings() -> Vec<Opportunity> {
    let shutdown = CancellationToken::new();
    let options = SandboxOptions {
        initial_listings: LISTINGS,
        ..SandboxOptions::default()
    };
    let sandbox = sandbox::spawn("127.0.0.1:0".parse().unwrap(), options, shutdown.clone())
        .await
        .expect("sandbox");
    let client = FundingCircleClient::new(
        FundingCircleSettings {
            id: PlatformId::new("fc"),
            base_url: sandbox.fundingcircle_url(),
            username: Secret::new("bench"),
            password: Secret::new("bench"),
            max_posts_per_second: NonZeroU32::new(40).unwrap(),
            max_gets_per_second: NonZeroU32::new(5_000).unwrap(),
            request_timeout: Duration::from_secs(10),
        },
        Metrics::new(),
    )
    .expect("client");
    let listings = client.poll().await.expect("poll");
    shutdown.cancel();
    listings
}

/// The shipped config's strategies and platforms, with the budgets lifted so that every
/// round buys (the scripts' own caps still apply: a fresh portfolio each round).
fn shipped_config() -> Config {
    let mut config = Config::load(Path::new("config.toml")).expect("config.toml");
    config.budget.daily_limit = None;
    config.budget.total_limit = None;
    for strategy in &mut config.strategies {
        strategy.daily_limit = None;
        strategy.total_limit = None;
    }
    config
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() {
    let listings = polled_listings().await;
    assert_eq!(
        listings.len(),
        LISTINGS,
        "the sandbox offers {LISTINGS} listings"
    );
    let config = shipped_config();
    let slots = app::compile_strategies(&config).expect("strategies compile");
    let strategies = slots.len();
    let engine = Arc::new(app::build_engine(&config, slots, None));
    let (_engine_updates, engine_rx) = tokio::sync::watch::channel(engine);
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Arc::new(Store::open(dir.path()).expect("store"));
    let metrics = Metrics::new();
    let portfolio = Arc::new(Mutex::new(Portfolio::new(None)));
    let probe = Arc::new(Probe {
        id: PlatformId::new("fc"),
        first_order: Mutex::new(None),
        orders: Default::default(),
    });
    let mut platform_loop = PlatformLoop::new(LoopParts {
        client: probe.clone(),
        engine: engine_rx,
        store: store.clone(),
        portfolio: portfolio.clone(),
        metrics: metrics.clone(),
        status: StatusBoard::new("live", 3),
        notifier: Notifier::new(store.clone(), Vec::new(), false, metrics),
        dry_run: false,
        unhealthy_after: 3,
        record_opportunities: None,
    });
    let shutdown = CancellationToken::new();

    let mut latencies = Vec::with_capacity(ROUNDS);
    let mut cycles = Vec::with_capacity(ROUNDS);
    for round in 0..ROUNDS {
        let offered: Vec<Opportunity> = listings
            .iter()
            .map(|o| {
                let mut o = o.clone();
                o.id = format!("{}-r{round}", o.id);
                o
            })
            .collect();
        *portfolio.lock().unwrap() = Portfolio::new(None);
        *probe.first_order.lock().unwrap() = None;
        let started = Instant::now();
        platform_loop.handle_poll(offered, true, &shutdown).await;
        cycles.push(started.elapsed());
        let first = probe.first_order.lock().unwrap().expect("a round buys");
        latencies.push(first - started);
    }
    let orders = probe.orders.load(std::sync::atomic::Ordering::Relaxed);
    latencies.sort();
    cycles.sort();
    println!("| figure | value |");
    println!("|---|---|");
    println!("| rounds × listings × strategies | {ROUNDS} × {LISTINGS} × {strategies} |");
    println!(
        "| orders per round (mean) | {:.1} |",
        orders as f64 / ROUNDS as f64
    );
    println!(
        "| p50 poll → first order | {:.3} ms |",
        ms(percentile(&latencies, 0.50))
    );
    println!(
        "| p99 poll → first order | {:.3} ms |",
        ms(percentile(&latencies, 0.99))
    );
    println!("| max | {:.3} ms |", ms(*latencies.last().unwrap()));
    println!(
        "| whole cycle p50 / p99 | {:.2} ms / {:.2} ms |",
        ms(percentile(&cycles, 0.50)),
        ms(percentile(&cycles, 0.99))
    );
    println!(
        "| intents in the store at the end | {} |",
        store.intents().expect("intents").len()
    );
}
