//! What the engine decided for one (strategy, opportunity) pair: the record kept in
//! the store, shown by `orders`/`status`, and compared across live, dry-run and backtest.

use crate::opportunity::PlatformId;
use crate::order::IdempotencyKey;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// The outcome of one evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Verdict {
    /// Approved: an intent with this key and amount was (or, in dry-run, would be) sent.
    Buy {
        key: IdempotencyKey,
        amount: Decimal,
        reason: String,
    },
    /// Not bought, with why (the strategy's reason, or the sizing/budget rule that refused).
    Skip { reason: String },
    /// The script failed; the opportunity is skipped.
    Error { message: String },
}

impl Verdict {
    /// Label for `autoinvest_decisions_total{decision}`.
    pub fn label(&self) -> &'static str {
        match self {
            Verdict::Buy { .. } => "buy",
            Verdict::Skip { .. } => "skip",
            Verdict::Error { .. } => "error",
        }
    }
}

/// One decision with its context.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    pub at: DateTime<Utc>,
    pub platform: PlatformId,
    pub strategy: String,
    pub opportunity_id: String,
    #[serde(flatten)]
    pub verdict: Verdict,
}
