//! One platform loop's work after a poll (`PlatformLoop::handle_poll`) on a real sled
//! store, with a client that records what reaches it: the first order goes out before
//! the rest of the poll is decided and recorded; intents claimed while sending was not
//! allowed are sent by the next cycle exactly once; a second poll of the same
//! listings sends nothing again; placed orders are tracked until their platform
//! status is final (and no longer after); the status board's counts follow the store.

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

/// A Funding Circle account that places every order ("pending") and notes, per order,
/// how many decisions the store held when it arrived. Looked up, an order is "funded",
/// the final status.
struct Recorder {
    id: PlatformId,
    store: Arc<Store>,
    orders: Mutex<Vec<(String, usize)>>,
    /// Per order, how many intents the store held when it arrived.
    intents_at_order: Mutex<Vec<usize>>,
    status_lookups: Mutex<Vec<String>>,
}

impl Recorder {
    /// The listings an order was sent for, sorted.
    fn listings_ordered(&self) -> Vec<String> {
        let mut listings: Vec<String> = self
            .orders
            .lock()
            .unwrap()
            .iter()
            .map(|(id, _)| id.clone())
            .collect();
        listings.sort();
        listings
    }
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
        let intents = self.store.intents().unwrap().len();
        self.intents_at_order.lock().unwrap().push(intents);
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

    async fn order_status(&self, order_id: &str) -> Result<Option<PlatformOrder>, PlatformError> {
        self.status_lookups.lock().unwrap().push(order_id.into());
        let listing = order_id
            .rsplit('|')
            .nth(1)
            .and_then(|id| id.split(':').nth(1));
        Ok(Some(PlatformOrder {
            order_id: order_id.into(),
            opportunity_id: listing.unwrap_or_default().into(),
            amount: dec!(25),
            status: "funded".into(),
        }))
    }

    fn status_is_final(&self, status: &str) -> bool {
        status == "funded"
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
    status: StatusBoard,
    metrics: Arc<Metrics>,
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
        intents_at_order: Mutex::new(Vec::new()),
        status_lookups: Mutex::new(Vec::new()),
    });
    let status = StatusBoard::new("live", 3);
    let (_, engine) = tokio::sync::watch::channel(engine());
    let platform_loop = PlatformLoop::new(LoopParts {
        client: recorder.clone(),
        engine,
        store: store.clone(),
        portfolio: Arc::new(Mutex::new(Portfolio::new(None))),
        metrics: metrics.clone(),
        status: status.clone(),
        notifier: Notifier::new(store.clone(), Vec::new(), false, metrics.clone()),
        dry_run: false,
        unhealthy_after: 3,
        record_opportunities: None,
    });
    Harness {
        platform_loop,
        recorder,
        store,
        status,
        metrics,
        _dir: dir,
    }
}

fn platform_status(h: &Harness) -> autoinvest::status::PlatformStatus {
    h.status.snapshot().platforms["fc"].clone()
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
    assert_eq!(
        *h.recorder.intents_at_order.lock().unwrap(),
        (1..=50).collect::<Vec<usize>>(),
        "each listing's order is taken up as soon as it is claimed, before the next claim"
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

    let sent = h.recorder.listings_ordered();
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

#[tokio::test]
async fn placed_orders_are_tracked_until_final_then_never_looked_up_again() {
    let mut h = harness();
    let shutdown = CancellationToken::new();
    let listings: Vec<Opportunity> = (0..3).map(listing).collect();

    // Placed "pending" (not final): the same cycle looks each order up once.
    h.platform_loop
        .handle_poll(listings.clone(), true, &shutdown)
        .await;
    let mut looked_up = h.recorder.status_lookups.lock().unwrap().clone();
    looked_up.sort();
    let placed = h.recorder.listings_ordered();
    assert_eq!(looked_up.len(), 3);
    assert!(looked_up
        .iter()
        .zip(&placed)
        .all(|(order, listing)| order.contains(listing.as_str())));
    let statuses: Vec<String> = h
        .store
        .intents()
        .unwrap()
        .into_iter()
        .map(|i| match i.state {
            OrderState::Placed {
                platform_status, ..
            } => platform_status,
            other => panic!("not placed: {other:?}"),
        })
        .collect();
    assert_eq!(statuses, ["funded"; 3]);

    // "funded" is final: later cycles look nothing up.
    h.platform_loop.handle_poll(listings, true, &shutdown).await;
    h.platform_loop
        .handle_poll(Vec::new(), true, &shutdown)
        .await;
    assert_eq!(h.recorder.status_lookups.lock().unwrap().len(), 3);
}

#[tokio::test]
async fn the_status_board_and_gauge_count_what_the_store_holds() {
    let mut h = harness();
    let shutdown = CancellationToken::new();

    // Claimed and held: unresolved, nothing placed yet.
    h.platform_loop
        .handle_poll((0..4).map(listing).collect(), false, &shutdown)
        .await;
    let held = platform_status(&h);
    assert_eq!(held.unresolved_intents, 4);
    assert_eq!(held.orders_today, 0);
    assert_eq!(h.metrics.unresolved_intents.get(), 4);

    // Sent: four held and two new orders of 25.00, placed today.
    h.platform_loop
        .handle_poll((0..6).map(listing).collect(), true, &shutdown)
        .await;
    let sent = platform_status(&h);
    assert_eq!(sent.unresolved_intents, 0);
    assert_eq!(sent.orders_today, 6);
    assert_eq!(sent.amount_today, dec!(150));
    assert_eq!(h.metrics.unresolved_intents.get(), 0);
    assert_eq!(h.store.intents().unwrap().len(), 6);
}
