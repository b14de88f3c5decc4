//! The one model every platform's listings and offerings are normalised into.
//!
//! Platform modules map their wire types into [`Opportunity`]; the engine, the
//! strategies, sizing and the backtest only ever see this type.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// A platform account's id: the `[platforms.<id>]` table name in the config (e.g. "fc").
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PlatformId(pub String);

impl PlatformId {
    pub fn new(id: impl Into<String>) -> Self {
        PlatformId(id.into())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PlatformId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.0)
    }
}

/// Which API a platform account speaks (the config's `kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlatformKind {
    #[serde(rename = "fundingcircle")]
    FundingCircle,
    #[serde(rename = "fundrise")]
    Fundrise,
    #[serde(rename = "fundamerica")]
    FundAmerica,
    #[serde(rename = "issuer_portal")]
    IssuerPortal,
    /// Historical LendingClub rows replayed by the backtest; never traded live.
    #[serde(rename = "lendingclub")]
    LendingClub,
}

impl PlatformKind {
    /// The name used in config files, scripts and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            PlatformKind::FundingCircle => "fundingcircle",
            PlatformKind::Fundrise => "fundrise",
            PlatformKind::FundAmerica => "fundamerica",
            PlatformKind::IssuerPortal => "issuer_portal",
            PlatformKind::LendingClub => "lendingclub",
        }
    }
}

impl fmt::Display for PlatformKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// A loan listing or an open offering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OpportunityKind {
    Loan,
    Offering,
}

impl OpportunityKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OpportunityKind::Loan => "loan",
            OpportunityKind::Offering => "offering",
        }
    }
}

/// How an opportunity can be bought.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PurchaseMode {
    /// Any amount within the limits (fractional loans, offerings).
    #[default]
    Fractional,
    /// The whole remaining amount or nothing (Funding Circle whole loans).
    Whole,
}

/// One open opportunity, normalised. Money is `Decimal` dollars; `rate` is an annual
/// rate as a fraction (0.0899 = 8.99 %). Missing values are `None` (`()` in scripts).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Opportunity {
    /// Platform account id from the config ("fc"); "lendingclub" for backtest rows.
    pub platform: PlatformId,
    pub platform_kind: PlatformKind,
    /// The platform's id for the listing or offering, an opaque string.
    pub id: String,
    pub kind: OpportunityKind,
    #[serde(default)]
    pub purchase: PurchaseMode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asset_class: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grade: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_grade: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub term_months: Option<u32>,
    /// Total size of the loan or offering.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<Decimal>,
    /// What is still available to buy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remaining: Option<Decimal>,
    /// Per-transaction minimum.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_investment: Option<Decimal>,
    /// Per-transaction maximum.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_investment: Option<Decimal>,
    /// Amounts must be whole multiples of this (cents when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub increment: Option<Decimal>,
    /// Price of one share when the platform sells whole shares.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_price: Option<Decimal>,
    /// The platform's status word ("live", "OPEN", "opened", …).
    #[serde(default)]
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listed_at: Option<DateTime<Utc>>,
    /// Platform-specific fields and unknown CSV columns, visible to scripts as `o.extra`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<String, serde_json::Value>,
}

impl Opportunity {
    /// A minimal opportunity; callers fill in what they know.
    pub fn new(
        platform: PlatformId,
        platform_kind: PlatformKind,
        id: impl Into<String>,
        kind: OpportunityKind,
    ) -> Self {
        Opportunity {
            platform,
            platform_kind,
            id: id.into(),
            kind,
            purchase: PurchaseMode::Fractional,
            name: None,
            asset_class: None,
            grade: None,
            sub_grade: None,
            rate: None,
            term_months: None,
            amount: None,
            remaining: None,
            min_investment: None,
            max_investment: None,
            increment: None,
            unit_price: None,
            status: String::new(),
            listed_at: None,
            extra: BTreeMap::new(),
        }
    }
}
