//! Order intents, their idempotency keys and the order state machine.
//!
//! An intent is created (and flushed to the store) when the engine approves a buy;
//! from then on the intent's key is the only way an order for that decision can
//! exist. States move forward only:
//!
//! ```text
//! Claimed ──► Sending ──► Placed | Rejected | Unknown
//!    ▲  │        │                              │
//!    │  │        └─(provably not acted on)─► Claimed
//!    │  └─(no longer valid)─► NotPlaced          │
//!    └──────────────────────────── (reconcile) ─┴──► Placed | NotPlaced
//! ```
//!
//! `Claimed` means "persisted, never sent" (the `Sending` record is flushed before the
//! request leaves), so a `Claimed` intent found after a crash was never sent and may
//! be sent. `Sending` goes back to `Claimed` only when the platform provably did not
//! act (429, connection refused); anything ambiguous becomes `Unknown` and is
//! reconciled with the platform, never resent.

use crate::opportunity::{OpportunityKind, PlatformId, PurchaseMode};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;

/// The slot used when a strategy gives none: one purchase per opportunity, ever.
pub const DEFAULT_SLOT: &str = "once";

/// The order id a dry run records on the intents it "places" (no platform order exists).
pub const DRY_RUN_ORDER_ID: &str = "dry-run";

/// Deterministic key of one buy decision: (platform account, strategy, opportunity, slot).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn derive(platform: &PlatformId, strategy: &str, opportunity_id: &str, slot: &str) -> Self {
        // Components are length-prefixed so no choice of names can collide.
        IdempotencyKey(format!(
            "{}:{}|{}:{}|{}:{}|{}:{}",
            platform.as_str().len(),
            platform.as_str(),
            strategy.len(),
            strategy,
            opportunity_id.len(),
            opportunity_id,
            slot.len(),
            slot
        ))
    }

    /// Rebuilds a key read back from the store.
    pub fn from_stored(text: String) -> Self {
        IdempotencyKey(text)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A short, stable reference for platforms that deduplicate on a client id
    /// (Fundrise `partnerReferenceId`): "ai-" + 32 hex chars of SHA-256 of the key.
    pub fn partner_reference(&self) -> String {
        let digest = Sha256::digest(self.0.as_bytes());
        format!("ai-{}", &hex::encode(digest)[..32])
    }
}

impl fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.0)
    }
}

/// Where an intent is in its life.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum OrderState {
    /// Persisted and reserved against budgets; never sent.
    Claimed,
    /// Flushed right before the request left: it may or may not have reached the platform.
    Sending,
    /// The platform holds an order for this intent.
    Placed {
        order_id: String,
        /// What the platform says was bought (may be less than asked).
        amount: Decimal,
        /// The platform's own status word ("pending", "funded", …).
        platform_status: String,
    },
    /// The platform refused the order; nothing was bought.
    Rejected { reason: String },
    /// The outcome is not known (timeout, dropped connection, 5xx after sending).
    Unknown { error: String },
    /// Reconciliation found no order on the platform; nothing was bought, and the
    /// intent is never sent again.
    NotPlaced { reason: String },
}

impl OrderState {
    pub fn name(&self) -> &'static str {
        match self {
            OrderState::Claimed => "claimed",
            OrderState::Sending => "sending",
            OrderState::Placed { .. } => "placed",
            OrderState::Rejected { .. } => "rejected",
            OrderState::Unknown { .. } => "unknown",
            OrderState::NotPlaced { .. } => "not_placed",
        }
    }

    /// Final states need no reconciliation.
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            OrderState::Placed { .. } | OrderState::Rejected { .. } | OrderState::NotPlaced { .. }
        )
    }

    /// Whether money is (or may be) committed: counts against budgets.
    pub fn holds_money(&self) -> bool {
        !matches!(
            self,
            OrderState::Rejected { .. } | OrderState::NotPlaced { .. }
        )
    }

    /// Whether moving from `self` to `next` is allowed by the state machine.
    pub fn can_become(&self, next: &OrderState) -> bool {
        use OrderState::*;
        match (self, next) {
            (Claimed, Sending) | (Claimed, NotPlaced { .. }) | (Sending, Claimed) => true,
            (Sending, Placed { .. } | Rejected { .. } | Unknown { .. } | NotPlaced { .. }) => true,
            (Unknown { .. }, Placed { .. } | NotPlaced { .. } | Unknown { .. }) => true,
            // A placed order's platform status moves on (pending → funded).
            (Placed { .. }, Placed { .. }) => true,
            _ => false,
        }
    }
}

/// One approved buy, as persisted in the store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderIntent {
    pub key: IdempotencyKey,
    pub platform: PlatformId,
    pub strategy: String,
    pub opportunity_id: String,
    pub opportunity_kind: OpportunityKind,
    pub purchase: PurchaseMode,
    /// Dollars, already sized and checked against every limit and budget.
    pub amount: Decimal,
    /// Whole shares when the platform sells shares (issuer portal, FundAmerica equity).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shares: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grade: Option<String>,
    pub reason: String,
    pub slot: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub state: OrderState,
    /// True when recorded by a dry run: such intents never leave the process.
    #[serde(default)]
    pub dry_run: bool,
}

#[cfg(test)]
impl OrderIntent {
    /// For unit tests: a claimed $25.00 fractional loan intent of strategy "s" (slot
    /// "once", grade "A") on `platform`, created and updated at `at`. Tests override
    /// the fields that matter to them.
    pub(crate) fn for_test(platform: &str, opportunity_id: &str, at: DateTime<Utc>) -> Self {
        let platform = PlatformId::new(platform);
        OrderIntent {
            key: IdempotencyKey::derive(&platform, "s", opportunity_id, "once"),
            platform,
            strategy: "s".into(),
            opportunity_id: opportunity_id.into(),
            opportunity_kind: OpportunityKind::Loan,
            purchase: PurchaseMode::Fractional,
            amount: Decimal::new(2500, 2),
            shares: None,
            grade: Some("A".into()),
            reason: "test".into(),
            slot: "once".into(),
            created_at: at,
            updated_at: at,
            state: OrderState::Claimed,
            dry_run: false,
        }
    }
}

/// What a platform reports about an order (a POST answer or a lookup row).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlatformOrder {
    pub order_id: String,
    pub opportunity_id: String,
    pub amount: Decimal,
    pub status: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_deterministic_and_unambiguous() {
        let fc = PlatformId::new("fc");
        let a = IdempotencyKey::derive(&fc, "s", "l1", "once");
        assert_eq!(a, IdempotencyKey::derive(&fc, "s", "l1", "once"));
        assert_ne!(a, IdempotencyKey::derive(&fc, "s", "l1", "2026-11"));
        // "a|b" + "c" must not equal "a" + "b|c".
        let x = IdempotencyKey::derive(&fc, "a|b", "c", "once");
        let y = IdempotencyKey::derive(&fc, "a", "b|c", "once");
        assert_ne!(x, y);
        assert_eq!(a.partner_reference().len(), 35);
        assert_eq!(a.partner_reference(), a.clone().partner_reference());
    }

    #[test]
    fn state_machine_moves_forward_only() {
        let placed = OrderState::Placed {
            order_id: "o".into(),
            amount: Decimal::ONE,
            platform_status: "pending".into(),
        };
        assert!(OrderState::Claimed.can_become(&OrderState::Sending));
        assert!(OrderState::Sending.can_become(&placed));
        assert!(!placed.can_become(&OrderState::Sending));
        assert!(!OrderState::Rejected { reason: "x".into() }.can_become(&OrderState::Sending));
        assert!(!OrderState::Claimed.can_become(&placed));
        assert!(placed.is_final() && placed.holds_money());
        assert!(!OrderState::NotPlaced { reason: "x".into() }.holds_money());
    }
}
