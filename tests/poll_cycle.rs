//! One platform loop's work after a poll (`PlatformLoop::handle_poll`) on a real sled
//! store, with a client that records what reaches it: the first order goes out before
//! the rest of the poll is decided and recorded; intents claimed while sending was not
//! allowed are sent by the next cycle exactly once; and a second poll of the same
//! listings sends nothing again.

use async_trait::async_trait;
use autoinvest::engine::{Engine, StrategySlot};
use autoinvest::notify::Notifier;
use autoinvest::opportunity::{Opportunity, OpportunityKind, PlatformId, PlatformKind};
use autoinvest::order::{OrderIntent, OrderState, PlatformOrder};
use autoinvest::platform::{ApprovedOrder, PlatformClient, PlatformError};
use autoinvest::portfolio::Portfolio;
use autoinvest::scheduler::{LoopParts, PlatformLoop};
use autoinvest::sizing::{BudgetRules, StrategyRules};
use autoinvest::status::StatusBoard;
use autoinvest::store::Store;
use autoinvest::strategy::Strategy;
use autoinvest::telemetry::Metrics;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;

/// A Funding Circle account that places every order and notes, per order, how many
/// decisions the store held when it arrived.
struct Recorder {
    id: PlatformId,
    store: Arc<Store>,
    orders: Mutex<Vec<(String, usize)>>,
}

#[async_trait]
impl PlatformClient for Recorder {
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
        let decisions = self.store.decisions(10_000).unwrap().len();
        self.orders
            .lock()
            .unwrap()
            .push((order.intent.opportunity_id.clone(), decisions));
        Ok(PlatformOrder {
            order_id: format!("o-{}", order.intent.key),
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

fn listing(n: usize) -> Opportunity {
    let mut o = Opportunity::new(
        PlatformId::new("fc"),
        PlatformKind::FundingCircle,
        format!("listing-{n:03}"),
        OpportunityKind::Loan,
    );
    o.remaining = Some(dec!(5000));
    o.min_investment = Some(dec!(25));
    o.grade = Some("A".into());
    o
}

fn engine() -> Arc<Engine> {
    let strategy = Strategy::compile_source(
        "every-loan",
        "every_loan.rhai",
        r#"fn decide(o, p) { #{ amount: 25, reason: "test: every loan" } }"#,
    )
    .unwrap();
    let slot = StrategySlot {
        strategy: Arc::new(strategy),
        rules: StrategyRules {
            name: "every-loan".into(),
            ..StrategyRules::default()
        },
        platforms: None,
    };
    let budget = BudgetRules {
        daily_limit: None,
        total_limit: None,
        cash_reserve: Decimal::ZERO,
    };
    Arc::new(Engine::new(vec![slot], budget, HashMap::new(), None))
}

struct Harness {
    platform_loop: PlatformLoop,
    recorder: Arc<Recorder>,
    store: Arc<Store>,
    _dir: tempfile::TempDir,
}

fn harness() -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(dir.path()).unwrap());
    let metrics = Metrics::new();
    let recorder = Arc::new(Recorder {
        id: PlatformId::new("fc"),
        store: store.clone(),
        orders: Mutex::new(Vec::new()),
    });
    let (_, engine) = tokio::sync::watch::channel(engine());
    let platform_loop = PlatformLoop::new(LoopParts {
        client: recorder.clone(),
        engine,
        store: store.clone(),
        portfolio: Arc::new(Mutex::new(Portfolio::new(None))),
        metrics: metrics.clone(),
        status: StatusBoard::new("live", 3),
        notifier: Notifier::new(store.clone(), Vec::new(), false, metrics),
        dry_run: false,
        unhealthy_after: 3,
        record_opportunities: None,
    });
    Harness {
        platform_loop,
        recorder,
        store,
        _dir: dir,
    }
}

#[tokio::test]
async fn the_first_order_goes_out_before_the_poll_is_recorded_and_each_listing_once() {
    let mut h = harness();
    let listings: Vec<Opportunity> = (0..50).map(listing).collect();
    let shutdown = CancellationToken::new();

    h.platform_loop
        .handle_poll(listings.clone(), true, &shutdown)
        .await;

    let orders = h.recorder.orders.lock().unwrap().clone();
    assert_eq!(orders.len(), 50, "one order per listing");
    assert_eq!(
        orders[0].0, "listing-000",
        "the first listing's order leads"
    );
    assert_eq!(
        orders[0].1, 0,
        "the first order left before any decision of the poll was recorded"
    );
    assert_eq!(h.store.decisions(10_000).unwrap().len(), 50);
    assert!(h
        .store
        .intents()
        .unwrap()
        .iter()
        .all(|i| matches!(i.state, OrderState::Placed { .. })));

    // The same listings again: every intent exists, nothing is sent twice.
    h.platform_loop.handle_poll(listings, true, &shutdown).await;
    assert_eq!(h.recorder.orders.lock().unwrap().len(), 50);
    assert!(h.store.unresolved().unwrap().is_empty());
}

#[tokio::test]
async fn intents_claimed_while_sending_was_held_go_out_next_cycle_exactly_once() {
    let mut h = harness();
    let shutdown = CancellationToken::new();
    let first: Vec<Opportunity> = (0..10).map(listing).collect();

    // An earlier outcome is unknown: decide and claim, send nothing.
    h.platform_loop
        .handle_poll(first.clone(), false, &shutdown)
        .await;
    assert!(h.recorder.orders.lock().unwrap().is_empty());
    let held = h.store.unresolved().unwrap();
    assert_eq!(held.len(), 10);
    assert!(held.iter().all(|i| i.state == OrderState::Claimed));

    // Next cycle: the held intents (listings 0–9, still open) and the new listings
    // 10–14 each go out once; listing 3 is gone, so its intent is not placed.
    let mut second: Vec<Opportunity> = (0..15).map(listing).collect();
    second.retain(|o| o.id != "listing-003");
    h.platform_loop.handle_poll(second, true, &shutdown).await;

    let mut sent: Vec<String> = h
        .recorder
        .orders
        .lock()
        .unwrap()
        .iter()
        .map(|(id, _)| id.clone())
        .collect();
    sent.sort();
    let mut expected: Vec<String> = (0..15)
        .filter(|n| *n != 3)
        .map(|n| format!("listing-{n:03}"))
        .collect();
    expected.sort();
    assert_eq!(sent, expected);
    let gone = h
        .store
        .intents()
        .unwrap()
        .into_iter()
        .find(|i| i.opportunity_id == "listing-003")
        .unwrap();
    assert!(
        matches!(gone.state, OrderState::NotPlaced { .. }),
        "{:?}",
        gone.state
    );
    assert!(h.store.unresolved().unwrap().is_empty());
}
