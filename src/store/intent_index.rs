//! An in-memory summary of the stored intents: what every poll cycle's order tracking
//! and status gauges need, so that no cycle decodes the whole (ever-growing) history.
//!
//! The store builds it from the intents when it opens and applies every intent write
//! to it while holding its lock, in the order the writes happened. It is never
//! persisted, so it cannot be lost in a crash or disagree with a database written by
//! an older build: the intents remain the one source of truth.

use crate::opportunity::PlatformId;
use crate::order::{IdempotencyKey, OrderIntent, OrderState, DRY_RUN_ORDER_ID};
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use std::collections::HashMap;

/// A placed order whose platform status may still move on (pending → funded), as
/// order tracking needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackedOrder {
    pub key: IdempotencyKey,
    pub platform: PlatformId,
    pub order_id: String,
    /// The platform status last recorded on the intent.
    pub platform_status: String,
    pub created_at: DateTime<Utc>,
}

/// The placed orders of one platform account among the intents created on one UTC day.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PlacedOnDay {
    pub orders: usize,
    /// The placed amounts (what the platform accepted), in dollars.
    pub amount: Decimal,
}

/// Counts and sets derived from the intents; see the module docs.
#[derive(Debug, Default, PartialEq)]
pub(super) struct IntentIndex {
    /// Intents not in a final state, per platform account.
    unresolved: HashMap<PlatformId, usize>,
    /// Placed intents per platform account and UTC day of creation.
    placed: HashMap<(PlatformId, NaiveDate), PlacedOnDay>,
    /// Placed (not dry-run) orders whose status has not been found final yet, by
    /// intent key. Order tracking drops an entry once the platform calls it final.
    tracked: HashMap<IdempotencyKey, TrackedOrder>,
}

impl IntentIndex {
    /// Accounts for an intent that was written.
    pub(super) fn add(&mut self, intent: &OrderIntent) {
        if !intent.state.is_final() {
            *self.unresolved.entry(intent.platform.clone()).or_default() += 1;
        }
        if let OrderState::Placed {
            order_id,
            amount,
            platform_status,
        } = &intent.state
        {
            let day = self
                .placed
                .entry((intent.platform.clone(), intent.created_at.date_naive()))
                .or_default();
            day.orders += 1;
            // Saturating: the amount is the platform's answer, so never trusted not to
            // overflow; a wrong gauge beats a panic while the store is being written.
            day.amount = day.amount.saturating_add(*amount);
            if order_id != DRY_RUN_ORDER_ID {
                self.tracked.insert(
                    intent.key.clone(),
                    TrackedOrder {
                        key: intent.key.clone(),
                        platform: intent.platform.clone(),
                        order_id: order_id.clone(),
                        platform_status: platform_status.clone(),
                        created_at: intent.created_at,
                    },
                );
            }
        }
    }

    /// Takes back what [`IntentIndex::add`] accounted for `intent`, which was
    /// overwritten or removed.
    pub(super) fn remove(&mut self, intent: &OrderIntent) {
        if !intent.state.is_final() {
            if let Some(count) = self.unresolved.get_mut(&intent.platform) {
                *count = count.saturating_sub(1);
                if *count == 0 {
                    self.unresolved.remove(&intent.platform);
                }
            }
        }
        if let OrderState::Placed { amount, .. } = &intent.state {
            let day = (intent.platform.clone(), intent.created_at.date_naive());
            if let Some(placed) = self.placed.get_mut(&day) {
                placed.orders = placed.orders.saturating_sub(1);
                placed.amount = placed.amount.saturating_sub(*amount);
                if placed.orders == 0 {
                    self.placed.remove(&day);
                }
            }
            self.tracked.remove(&intent.key);
        }
    }

    /// Intents not final: of one platform account, or of all with `None`.
    pub(super) fn unresolved(&self, platform: Option<&PlatformId>) -> usize {
        match platform {
            Some(platform) => self.unresolved.get(platform).copied().unwrap_or(0),
            None => self.unresolved.values().sum(),
        }
    }

    pub(super) fn placed_on(&self, platform: &PlatformId, day: NaiveDate) -> PlacedOnDay {
        self.placed
            .get(&(platform.clone(), day))
            .copied()
            .unwrap_or_default()
    }

    /// One platform account's tracked orders, oldest first.
    pub(super) fn tracked(&self, platform: &PlatformId) -> Vec<TrackedOrder> {
        let mut orders: Vec<TrackedOrder> = self
            .tracked
            .values()
            .filter(|order| &order.platform == platform)
            .cloned()
            .collect();
        orders.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.key.cmp(&b.key)));
        orders
    }

    /// Stops tracking `order` if its recorded status is still the one that was found
    /// final (a newer status, written meanwhile, is tracked on).
    pub(super) fn stop_tracking(&mut self, order: &TrackedOrder) {
        let unchanged = self
            .tracked
            .get(&order.key)
            .is_some_and(|current| current.platform_status == order.platform_status);
        if unchanged {
            self.tracked.remove(&order.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use rust_decimal_macros::dec;

    fn intent(platform: &str, id: &str, day: u32, state: OrderState) -> OrderIntent {
        let created = Utc.with_ymd_and_hms(2026, 1, day, 12, 0, 0).unwrap();
        OrderIntent {
            state,
            ..OrderIntent::for_test(platform, id, created)
        }
    }

    fn placed(order_id: &str, amount: Decimal, status: &str) -> OrderState {
        OrderState::Placed {
            order_id: order_id.into(),
            amount,
            platform_status: status.into(),
        }
    }

    fn day(n: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 1, n).unwrap()
    }

    #[test]
    fn counts_follow_each_intent_through_its_states() {
        let fc = PlatformId::new("fc");
        let mut index = IntentIndex::default();
        let claimed = intent("fc", "a", 1, OrderState::Claimed);
        index.add(&claimed);
        index.add(&intent("fr", "b", 1, OrderState::Sending));
        assert_eq!(index.unresolved(Some(&fc)), 1);
        assert_eq!(index.unresolved(None), 2);

        let done = OrderIntent {
            state: placed("o1", dec!(40), "pending"),
            ..claimed.clone()
        };
        index.remove(&claimed);
        index.add(&done);
        assert_eq!(index.unresolved(Some(&fc)), 0);
        assert_eq!(index.unresolved(None), 1);
        let on_day = index.placed_on(&fc, day(1));
        assert_eq!((on_day.orders, on_day.amount), (1, dec!(40)));
        assert_eq!(index.placed_on(&fc, day(2)), PlacedOnDay::default());
        assert_eq!(index.tracked(&fc).len(), 1);

        index.remove(&done);
        assert_eq!(index.placed_on(&fc, day(1)), PlacedOnDay::default());
        assert!(index.tracked(&fc).is_empty());
    }

    #[test]
    fn tracking_stops_only_for_the_status_found_final_and_never_for_dry_runs() {
        let fc = PlatformId::new("fc");
        let mut index = IntentIndex::default();
        let pending = intent("fc", "a", 2, placed("o1", dec!(50), "pending"));
        index.add(&pending);
        index.add(&intent("fc", "b", 1, placed("o2", dec!(50), "pending")));
        index.add(&intent(
            "fc",
            "c",
            1,
            placed(DRY_RUN_ORDER_ID, dec!(50), "x"),
        ));
        let tracked = index.tracked(&fc);
        assert_eq!(
            tracked
                .iter()
                .map(|o| o.order_id.as_str())
                .collect::<Vec<_>>(),
            ["o2", "o1"],
            "oldest first, no dry run"
        );
        let seen = tracked[1].clone();

        // The status moved on after it was read: the newer one is still tracked.
        let funded = OrderIntent {
            state: placed("o1", dec!(50), "funded"),
            ..pending.clone()
        };
        index.remove(&pending);
        index.add(&funded);
        index.stop_tracking(&seen);
        assert_eq!(index.tracked(&fc).len(), 2);

        index.stop_tracking(&index.tracked(&fc)[1].clone());
        assert_eq!(index.tracked(&fc).len(), 1);
        assert_eq!(index.placed_on(&fc, day(2)).orders, 1, "still placed");
    }
}
