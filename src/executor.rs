//! Order execution for one platform account: claim → re-check → pace → POST →
//! record, and reconciliation of intents whose outcome is unknown.
//!
//! The rules that keep money safe live here:
//! - an intent is durable (`Claimed`, flushed) before it can be sent, and marked
//!   `Sending` (flushed) right before the request leaves;
//! - the amount is re-checked against every limit and budget right before sending;
//! - an ambiguous outcome is never resent: it becomes `Unknown` and is reconciled
//!   with the platform's own records first;
//! - a dry run records what it would send and sends nothing.

use crate::engine::Engine;
use crate::notify::{Event, EventKind, Notifier};
use crate::opportunity::{Opportunity, PlatformId};
use crate::order::{OrderIntent, OrderState, PlatformOrder, DRY_RUN_ORDER_ID};
use crate::platform::{ApprovedOrder, PlatformClient, PlatformError};
use crate::portfolio::Portfolio;
use crate::store::{Store, StoreError};
use crate::telemetry::Metrics;
use chrono::Utc;
use futures::stream::{Stream, StreamExt};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use tokio_util::sync::CancellationToken;

/// Placed orders whose status is refreshed per cycle (bounds the extra requests).
const TRACKED_PER_CYCLE: usize = 20;

/// Orders for different opportunities in flight at once (the pacer still spaces them).
const CONCURRENT_OPPORTUNITIES: usize = 8;

/// Why sending stopped for this cycle.
#[derive(Debug, thiserror::Error)]
pub enum ExecutorError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(
        "{count} intent(s) on {platform} are unresolved; no new orders until they are reconciled"
    )]
    Unresolved { platform: String, count: usize },
}

/// Executes one platform account's intents.
pub struct Executor {
    platform: PlatformId,
    client: Arc<dyn PlatformClient>,
    store: Arc<Store>,
    portfolio: Arc<Mutex<Portfolio>>,
    metrics: Arc<Metrics>,
    notifier: Notifier,
    dry_run: bool,
}

/// Locks the portfolio; a poisoned lock still holds consistent data (every update is
/// a single call), so it is used as is.
pub fn lock(portfolio: &Mutex<Portfolio>) -> MutexGuard<'_, Portfolio> {
    portfolio.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Executor {
    pub fn new(
        client: Arc<dyn PlatformClient>,
        store: Arc<Store>,
        portfolio: Arc<Mutex<Portfolio>>,
        metrics: Arc<Metrics>,
        notifier: Notifier,
        dry_run: bool,
    ) -> Self {
        Executor {
            platform: client.id().clone(),
            client,
            store,
            portfolio,
            metrics,
            notifier,
            dry_run,
        }
    }

    fn count(&self, outcome: &str) {
        self.metrics
            .orders_total
            .with_label_values(&[self.platform.as_str(), outcome])
            .inc();
    }

    fn own_intents(&self) -> Result<Vec<OrderIntent>, StoreError> {
        Ok(self
            .store
            .unresolved()?
            .into_iter()
            .filter(|i| i.platform == self.platform)
            .collect())
    }

    /// Reconciles every `Sending`/`Unknown` intent of this platform with the
    /// platform's records. Errors when any stays unresolved: nothing new may be sent.
    pub async fn reconcile_unresolved(&self) -> Result<(), ExecutorError> {
        let pending: Vec<OrderIntent> = self
            .own_intents()?
            .into_iter()
            .filter(|i| matches!(i.state, OrderState::Sending | OrderState::Unknown { .. }))
            .collect();
        let mut still_open = 0;
        for intent in pending {
            if !self.reconcile(&intent).await? {
                still_open += 1;
            }
        }
        if still_open > 0 {
            return Err(ExecutorError::Unresolved {
                platform: self.platform.to_string(),
                count: still_open,
            });
        }
        Ok(())
    }

    /// Looks an intent up on the platform; `Ok(true)` when it reached a final state.
    async fn reconcile(&self, intent: &OrderIntent) -> Result<bool, StoreError> {
        if self.dry_run {
            // A dry run never sent it: nothing can exist on the platform.
            self.settle(
                intent,
                OrderState::NotPlaced {
                    reason: "dry run: never sent".into(),
                },
            )?;
            return Ok(true);
        }
        let candidates = match self.client.find_orders(intent).await {
            Ok(orders) => orders,
            Err(error) => {
                tracing::warn!(platform = %self.platform, intent = %intent.key, %error, "reconciliation lookup failed; will retry");
                return Ok(false);
            }
        };
        let taken = self.order_ids_of_other_intents(intent)?;
        let found = pick_order(intent, candidates, &taken);
        let next = match found {
            Some(order) => {
                tracing::info!(platform = %self.platform, intent = %intent.key, order = %order.order_id, amount = %order.amount, "reconciled: order exists");
                placed(order)
            }
            None => {
                tracing::info!(platform = %self.platform, intent = %intent.key, "reconciled: no order on the platform");
                OrderState::NotPlaced {
                    reason: "reconciled: the platform has no order for this intent".into(),
                }
            }
        };
        self.settle(intent, next)?;
        Ok(true)
    }

    /// Order ids already attributed to other intents for the same opportunity, so one
    /// platform order is never claimed by two intents.
    fn order_ids_of_other_intents(
        &self,
        intent: &OrderIntent,
    ) -> Result<HashSet<String>, StoreError> {
        Ok(self
            .store
            .intents()?
            .into_iter()
            .filter(|other| {
                other.platform == intent.platform
                    && other.opportunity_id == intent.opportunity_id
                    && other.key != intent.key
            })
            .filter_map(|other| match other.state {
                OrderState::Placed { order_id, .. } => Some(order_id),
                _ => None,
            })
            .collect())
    }

    /// Records a new state and adjusts the portfolio for money given back.
    fn settle(&self, intent: &OrderIntent, next: OrderState) -> Result<OrderIntent, StoreError> {
        let updated = self.store.transition(&intent.key, next, Utc::now())?;
        let released = match &updated.state {
            OrderState::Placed { amount, .. } if *amount < intent.amount => intent.amount - *amount,
            OrderState::Rejected { .. } | OrderState::NotPlaced { .. } => intent.amount,
            _ => rust_decimal::Decimal::ZERO,
        };
        if !released.is_zero() {
            lock(&self.portfolio).release(intent, released);
        }
        self.count(match &updated.state {
            OrderState::Placed { .. } if self.dry_run => "dry_run",
            other => other.name(),
        });
        if let OrderState::Placed { amount, .. } = &updated.state {
            if !self.dry_run {
                self.metrics
                    .order_amount_usd_total
                    .with_label_values(&[self.platform.as_str()])
                    .inc_by(rust_decimal::prelude::ToPrimitive::to_f64(amount).unwrap_or(0.0));
            }
        }
        self.notify(&updated);
        Ok(updated)
    }

    /// Tells the notification receivers about an order that reached an outcome.
    fn notify(&self, intent: &OrderIntent) {
        let (kind, amount, message) = match &intent.state {
            OrderState::Placed {
                order_id, amount, ..
            } => (
                EventKind::OrderPlaced,
                *amount,
                format!("order {order_id} placed: {}", intent.reason),
            ),
            OrderState::Rejected { reason } => {
                (EventKind::OrderRejected, intent.amount, reason.clone())
            }
            OrderState::NotPlaced { reason } => {
                (EventKind::OrderFailed, intent.amount, reason.clone())
            }
            OrderState::Unknown { error } => (
                EventKind::OrderFailed,
                intent.amount,
                format!("outcome unknown, reconciling: {error}"),
            ),
            OrderState::Claimed | OrderState::Sending => return,
        };
        self.notifier.emit(
            Event::new(kind, message)
                .platform(self.platform.as_str())
                .strategy(&intent.strategy)
                .opportunity(&intent.opportunity_id)
                .amount(amount),
        );
    }

    /// Refreshes the platform status of placed orders that are not final yet (a few per
    /// cycle, oldest first), so the history shows how each order ended. Works from the
    /// store's in-memory list of tracked orders, dropping those found final, so a
    /// cycle reads only the intents it refreshes, however long the history.
    pub async fn track_placed(&self) {
        if self.dry_run {
            return;
        }
        let mut open = Vec::new();
        for order in self.store.tracked_orders(&self.platform) {
            if self.client.status_is_final(&order.platform_status) {
                self.store.stop_tracking(&order);
            } else if open.len() < TRACKED_PER_CYCLE {
                open.push(order);
            }
        }
        for order in open {
            let intent = match self.store.intent(&order.key) {
                Ok(Some(intent)) => intent,
                Ok(None) => continue,
                Err(error) => {
                    tracing::warn!(platform = %self.platform, intent = %order.key, %error, "cannot read a placed intent");
                    continue;
                }
            };
            match self.client.order_status(&order.order_id).await {
                Ok(Some(status)) => record_status_of(&self.store, &intent, status),
                Ok(None) => {}
                Err(error) => {
                    tracing::debug!(platform = %self.platform, order = %order.order_id, %error, "order status lookup failed");
                }
            }
        }
    }

    /// This platform's `Claimed` intents, grouped by opportunity: left by an earlier
    /// cycle that could not send them (a failed reconciliation, a shutdown, a crash).
    /// Take them before claiming anything new, so nothing is handed over twice.
    pub fn claimed_leftovers(&self) -> Result<Vec<Vec<OrderIntent>>, StoreError> {
        let mut by_opportunity: BTreeMap<String, Vec<OrderIntent>> = BTreeMap::new();
        for intent in self.own_intents()? {
            if intent.state == OrderState::Claimed {
                by_opportunity
                    .entry(intent.opportunity_id.clone())
                    .or_default()
                    .push(intent);
            }
        }
        Ok(by_opportunity.into_values().collect())
    }

    /// Sends the `Claimed` intents as they arrive, one batch per opportunity: a batch's
    /// intents go one after another (so a lookup by listing can always tell its orders
    /// apart); different opportunities run concurrently. An intent whose opportunity is
    /// no longer open (not in `open`) becomes `NotPlaced`. Stops early on shutdown,
    /// leaving the rest `Claimed` for the next run.
    pub async fn send_claimed(
        &self,
        engine: &Engine,
        open: &HashMap<&str, &Opportunity>,
        batches: impl Stream<Item = Vec<OrderIntent>>,
        shutdown: &CancellationToken,
    ) -> Result<(), ExecutorError> {
        let results: Vec<Result<(), ExecutorError>> = batches
            .map(|intents| async move {
                for intent in intents {
                    if shutdown.is_cancelled() {
                        return Ok(());
                    }
                    match open.get(intent.opportunity_id.as_str()) {
                        Some(opp) => self.send_one(engine, &intent, opp).await?,
                        None => {
                            self.settle(
                                &intent,
                                OrderState::NotPlaced {
                                    reason: "the opportunity is no longer open".into(),
                                },
                            )?;
                        }
                    }
                }
                Ok(())
            })
            .buffer_unordered(CONCURRENT_OPPORTUNITIES)
            .collect()
            .await;
        results.into_iter().collect()
    }

    async fn send_one(
        &self,
        engine: &Engine,
        intent: &OrderIntent,
        opp: &Opportunity,
    ) -> Result<(), ExecutorError> {
        let check = engine.verify(intent, opp, &mut lock(&self.portfolio), Utc::now());
        if let Err(refusal) = check {
            tracing::warn!(platform = %self.platform, intent = %intent.key, reason = %refusal, "order refused by the pre-send check");
            self.settle(
                intent,
                OrderState::NotPlaced {
                    reason: refusal.reason,
                },
            )?;
            return Ok(());
        }
        let sending = self
            .store
            .transition(&intent.key, OrderState::Sending, Utc::now())?;
        if self.dry_run {
            tracing::info!(platform = %self.platform, strategy = %intent.strategy, opportunity = %intent.opportunity_id, amount = %intent.amount, reason = %intent.reason, "dry run: would place order");
            self.settle(
                &sending,
                OrderState::Placed {
                    order_id: DRY_RUN_ORDER_ID.into(),
                    amount: intent.amount,
                    platform_status: "dry_run".into(),
                },
            )?;
            return Ok(());
        }
        let result = self
            .client
            .place_order(&ApprovedOrder {
                intent: sending.clone(),
            })
            .await;
        self.record_outcome(&sending, result).await
    }

    async fn record_outcome(
        &self,
        intent: &OrderIntent,
        result: Result<PlatformOrder, PlatformError>,
    ) -> Result<(), ExecutorError> {
        let next = match result {
            Ok(order) => {
                tracing::info!(platform = %self.platform, strategy = %intent.strategy, opportunity = %intent.opportunity_id, order = %order.order_id, amount = %order.amount, status = %order.status, "order placed");
                placed(order)
            }
            Err(error @ (PlatformError::Rejected { .. } | PlatformError::Auth { .. })) => {
                tracing::warn!(platform = %self.platform, intent = %intent.key, %error, "order rejected");
                OrderState::Rejected {
                    reason: error.to_string(),
                }
            }
            Err(
                error @ (PlatformError::RateLimited { .. } | PlatformError::Connectivity { .. }),
            ) => {
                // The platform provably did not act: the intent goes back to the queue.
                tracing::warn!(platform = %self.platform, intent = %intent.key, %error, "order not sent; will retry next cycle");
                self.store
                    .transition(&intent.key, OrderState::Claimed, Utc::now())?;
                self.count("deferred");
                return Ok(());
            }
            Err(error) => {
                tracing::error!(platform = %self.platform, intent = %intent.key, %error, "order outcome unknown; reconciling");
                let unknown = self.settle(
                    intent,
                    OrderState::Unknown {
                        error: error.to_string(),
                    },
                )?;
                if !self.reconcile(&unknown).await? {
                    return Err(ExecutorError::Unresolved {
                        platform: self.platform.to_string(),
                        count: 1,
                    });
                }
                return Ok(());
            }
        };
        self.settle(intent, next)?;
        Ok(())
    }
}

/// Records a placed order's new platform status on its intent.
pub fn record_order_status(
    store: &Store,
    platform: &crate::opportunity::PlatformId,
    order: crate::order::PlatformOrder,
) {
    let Ok(intents) = store.intents() else { return };
    let Some(intent) = intents.into_iter().find(|i| {
        &i.platform == platform
            && matches!(&i.state, OrderState::Placed { order_id, .. } if *order_id == order.order_id)
    }) else {
        return;
    };
    record_status_of(store, &intent, order);
}

/// Records `order`'s status on `intent`, the placed intent it belongs to.
fn record_status_of(store: &Store, intent: &OrderIntent, order: crate::order::PlatformOrder) {
    let platform = &intent.platform;
    let OrderState::Placed {
        amount,
        platform_status,
        ..
    } = &intent.state
    else {
        return;
    };
    if *platform_status == order.status {
        return;
    }
    let next = OrderState::Placed {
        order_id: order.order_id.clone(),
        amount: *amount,
        platform_status: order.status.clone(),
    };
    match store.transition(&intent.key, next, Utc::now()) {
        Ok(_) => {
            tracing::info!(%platform, order = %order.order_id, status = %order.status, "order status updated")
        }
        Err(error) => tracing::warn!(%platform, %error, "cannot record an order's new status"),
    }
}

fn placed(order: PlatformOrder) -> OrderState {
    OrderState::Placed {
        order_id: order.order_id,
        amount: order.amount,
        platform_status: order.status,
    }
}

/// The platform order that belongs to `intent`: not already attributed to another
/// intent, preferring one for exactly the intent's amount.
fn pick_order(
    intent: &OrderIntent,
    candidates: Vec<PlatformOrder>,
    taken: &HashSet<String>,
) -> Option<PlatformOrder> {
    let mut free: Vec<PlatformOrder> = candidates
        .into_iter()
        .filter(|o| o.opportunity_id == intent.opportunity_id && !taken.contains(&o.order_id))
        .collect();
    let exact = free.iter().position(|o| o.amount == intent.amount);
    match exact {
        Some(index) => Some(free.swap_remove(index)),
        None => free.into_iter().next(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn order(id: &str, listing: &str, amount: rust_decimal::Decimal) -> PlatformOrder {
        PlatformOrder {
            order_id: id.into(),
            opportunity_id: listing.into(),
            amount,
            status: "pending".into(),
        }
    }

    #[test]
    fn picks_a_free_order_preferring_the_exact_amount() {
        let now = Utc::now();
        let intent = OrderIntent {
            amount: dec!(50),
            state: OrderState::Unknown {
                error: "timeout".into(),
            },
            ..OrderIntent::for_test("fc", "L", now)
        };
        let taken: HashSet<String> = ["o1".to_string()].into();
        let found = pick_order(
            &intent,
            vec![
                order("o1", "L", dec!(50)),
                order("o2", "L", dec!(25)),
                order("o3", "L", dec!(50)),
                order("o4", "X", dec!(50)),
            ],
            &taken,
        );
        assert_eq!(found.map(|o| o.order_id), Some("o3".to_string()));
        assert_eq!(
            pick_order(&intent, vec![order("o1", "L", dec!(50))], &taken),
            None
        );
        assert_eq!(
            pick_order(&intent, vec![order("o2", "L", dec!(25))], &taken).map(|o| o.order_id),
            Some("o2".into())
        );
    }
}
