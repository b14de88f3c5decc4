//! Funding Circle's JSON, as serde structs named after the platform's fields, and
//! their mapping into the domain model, side by side.
//!
//! The order object comes from the seed document (`fundingcircle-orders-api.txt`).
//! Everything else is an assumption (see DESIGN.md "Platforms") and lives only here,
//! so a wrong guess is corrected in one place: the login answer, the listing details,
//! the `GET /orders` page and the portfolio answer.
//!
//! Numbers with a fraction are read straight into `Decimal` (serde_json's
//! `arbitrary_precision`): `0.08990000000000001` stays exactly that. No
//! `untagged`/`flatten` anywhere — both buffer numbers and break that feature.

use crate::money;
use crate::opportunity::{Opportunity, OpportunityKind, PlatformId, PlatformKind, PurchaseMode};
use crate::order::PlatformOrder;
use crate::secret::Secret;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;

/// `POST /api/v2/login` body.
pub fn login_body(username: &Secret, password: &Secret) -> serde_json::Value {
    serde_json::json!({ "username": username.expose(), "password": password.expose() })
}

/// `POST /api/v2/login` answer (assumed shape). `expires_in` is in seconds.
#[derive(Deserialize)]
pub struct LoginResponse {
    pub token: String,
    #[serde(default)]
    pub expires_in: Option<u64>,
}

/// `GET /api/v2/listings` answer: a HAL page. Entries are kept as raw JSON so one
/// malformed entry is skipped instead of failing the whole page.
#[derive(Debug, Deserialize)]
pub struct ListingsPage {
    #[serde(default)]
    pub total_count: Option<u64>,
    #[serde(rename = "_embedded", default)]
    pub embedded: EmbeddedListings,
}

#[derive(Debug, Default, Deserialize)]
pub struct EmbeddedListings {
    #[serde(default)]
    pub listings: Vec<serde_json::Value>,
}

/// One entry of the listings page: only what paging needs (details come separately).
#[derive(Debug, Deserialize)]
pub struct ListingSummary {
    pub id: String,
    pub status: String,
}

/// `GET /api/v2/listings/{id}` answer (assumed shape, DESIGN.md).
#[derive(Debug, Deserialize)]
pub struct ListingDetails {
    pub id: String,
    pub status: String,
    /// "whole" or "fractional".
    #[serde(rename = "type")]
    pub loan_type: String,
    pub loan_amount_cents: i64,
    pub amount_remaining_cents: i64,
    /// Annual rate as a fraction (0.0899 = 8.99 %).
    #[serde(with = "rust_decimal::serde::arbitrary_precision")]
    pub interest_rate: Decimal,
    #[serde(default)]
    pub term_months: Option<u32>,
    #[serde(default)]
    pub risk_band: Option<String>,
    #[serde(default)]
    pub purpose: Option<String>,
    #[serde(default)]
    pub industry: Option<String>,
    #[serde(default)]
    pub years_in_business: Option<u32>,
    #[serde(default)]
    pub state: Option<String>,
    pub min_order_cents: i64,
    pub max_order_cents: i64,
    #[serde(default)]
    pub live_date: Option<DateTime<Utc>>,
    /// Kept as the platform wrote it: scripts see it in `extra`, nothing computes with it.
    #[serde(default)]
    pub expiry_date: Option<String>,
}

/// Why a listing was left out of a poll.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("listing {id}: {reason}")]
pub struct InvalidListing {
    pub id: String,
    pub reason: String,
}

/// Loan terms Funding Circle offers run from 12 to 60 months; anything past this is corrupt.
const MAX_TERM_MONTHS: u32 = 600;

impl ListingDetails {
    /// The normalised opportunity, or why these details are not believable.
    pub fn to_opportunity(&self, platform: &PlatformId) -> Result<Opportunity, InvalidListing> {
        self.check().map_err(|reason| InvalidListing {
            id: self.id.clone(),
            reason,
        })?;
        let mut opportunity = Opportunity::new(
            platform.clone(),
            PlatformKind::FundingCircle,
            self.id.clone(),
            OpportunityKind::Loan,
        );
        opportunity.purchase = if self.loan_type == "whole" {
            PurchaseMode::Whole
        } else {
            PurchaseMode::Fractional
        };
        opportunity.grade = self.risk_band.clone();
        opportunity.rate = Some(self.interest_rate);
        opportunity.term_months = self.term_months;
        opportunity.amount = Some(money::from_cents(self.loan_amount_cents));
        opportunity.remaining = Some(money::from_cents(self.amount_remaining_cents));
        opportunity.min_investment = Some(money::from_cents(self.min_order_cents));
        opportunity.max_investment = Some(money::from_cents(self.max_order_cents));
        opportunity.increment = Some(money::CENT);
        opportunity.status = self.status.clone();
        opportunity.listed_at = self.live_date;
        opportunity.name = self.purpose.clone();
        opportunity.extra = self.extra();
        Ok(opportunity)
    }

    /// Rejects numbers no real listing has: they mean the shape or the data is wrong,
    /// and sizing an order from them would be a guess.
    fn check(&self) -> Result<(), String> {
        for (field, cents) in [
            ("loan_amount_cents", self.loan_amount_cents),
            ("amount_remaining_cents", self.amount_remaining_cents),
            ("min_order_cents", self.min_order_cents),
            ("max_order_cents", self.max_order_cents),
        ] {
            sane_dollars(field, cents)?;
        }
        if self.amount_remaining_cents > self.loan_amount_cents {
            return Err(format!(
                "amount_remaining_cents {} exceeds loan_amount_cents {}",
                self.amount_remaining_cents, self.loan_amount_cents
            ));
        }
        if self.min_order_cents > self.max_order_cents {
            return Err(format!(
                "min_order_cents {} exceeds max_order_cents {}",
                self.min_order_cents, self.max_order_cents
            ));
        }
        if self.interest_rate < Decimal::ZERO || self.interest_rate > Decimal::ONE {
            return Err(format!(
                "interest_rate {} is not within 0..1",
                self.interest_rate
            ));
        }
        if let Some(term) = self
            .term_months
            .filter(|term| *term == 0 || *term > MAX_TERM_MONTHS)
        {
            return Err(format!("term_months {term} is not a loan term"));
        }
        Ok(())
    }

    /// Platform-specific fields scripts can read as `o.extra`.
    fn extra(&self) -> BTreeMap<String, serde_json::Value> {
        let mut extra = BTreeMap::new();
        extra.insert("type".to_string(), self.loan_type.clone().into());
        let optional = [
            (
                "industry",
                self.industry.clone().map(serde_json::Value::from),
            ),
            (
                "years_in_business",
                self.years_in_business.map(serde_json::Value::from),
            ),
            ("state", self.state.clone().map(serde_json::Value::from)),
            (
                "expiry_date",
                self.expiry_date.clone().map(serde_json::Value::from),
            ),
        ];
        for (key, value) in optional {
            if let Some(value) = value {
                extra.insert(key.to_string(), value);
            }
        }
        extra
    }
}

/// Dollars from non-negative, not absurd cents.
fn sane_dollars(field: &str, cents: i64) -> Result<Decimal, String> {
    if cents < 0 {
        return Err(format!("{field} is negative ({cents})"));
    }
    money::check_sane(money::from_cents(cents)).map_err(|error| format!("{field}: {error}"))
}

/// The order object of the seed document (`POST /api/v2/orders` answer, and the
/// entries of `GET /api/v2/orders`). Every documented key is listed so the shape is
/// pinned; unknown keys are ignored.
#[derive(Debug, Deserialize)]
pub struct OrderResponse {
    /// Documented as STRING, sent as a number in the seed's examples: both accepted.
    #[serde(default, deserialize_with = "string_or_number")]
    pub transaction_id: Option<String>,
    pub purchased_amount_cents: i64,
    #[serde(default, with = "rust_decimal::serde::arbitrary_precision_option")]
    pub cashback_rate: Option<Decimal>,
    #[serde(default)]
    pub fund_managed: Option<bool>,
    #[serde(default)]
    pub updated_at: Option<String>,
    #[serde(default, with = "rust_decimal::serde::arbitrary_precision_option")]
    pub interest_rate: Option<Decimal>,
    pub status: String,
    /// Opaque: the seed's sample ids are not valid UUIDs.
    pub id: String,
    #[serde(default)]
    pub truncated: Option<bool>,
    pub listing_id: String,
    #[serde(default)]
    pub investor_postfunded: Option<bool>,
    #[serde(default)]
    pub investor_id: Option<String>,
    #[serde(default)]
    pub investor_servicer_code: Option<String>,
    #[serde(default)]
    pub accrued_interest_cents: Option<i64>,
    #[serde(default)]
    pub original_purchase_amount_cents: Option<i64>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub payment_due_at: Option<String>,
}

impl OrderResponse {
    /// What the platform says it bought.
    pub fn to_platform_order(&self) -> Result<PlatformOrder, String> {
        Ok(PlatformOrder {
            order_id: self.id.clone(),
            opportunity_id: self.listing_id.clone(),
            amount: sane_dollars("purchased_amount_cents", self.purchased_amount_cents)?,
            status: self.status.clone(),
        })
    }
}

/// `GET /api/v2/orders?listing_id=..` answer (assumed: a HAL page like the listings).
#[derive(Debug, Deserialize)]
pub struct OrdersPage {
    #[serde(default)]
    pub total_count: Option<u64>,
    #[serde(rename = "_embedded", default)]
    pub embedded: EmbeddedOrders,
}

#[derive(Debug, Default, Deserialize)]
pub struct EmbeddedOrders {
    #[serde(default)]
    pub orders: Vec<OrderResponse>,
}

/// `GET /api/v2/portfolio` answer (assumed shape).
#[derive(Debug, Deserialize)]
pub struct Portfolio {
    pub available_cash_cents: i64,
}

impl Portfolio {
    pub fn available_cash(&self) -> Result<Decimal, String> {
        sane_dollars("available_cash_cents", self.available_cash_cents)
    }
}

/// A JSON string, or a JSON integer kept as its text.
fn string_or_number<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    use serde::de::Error;
    match serde_json::Value::deserialize(deserializer)? {
        serde_json::Value::Null => Ok(None),
        serde_json::Value::String(text) => Ok(Some(text)),
        serde_json::Value::Number(number) if number.is_u64() || number.is_i64() => {
            Ok(Some(number.to_string()))
        }
        other => Err(D::Error::custom(format!(
            "expected a string or an integer, found {other}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn details(json: serde_json::Value) -> ListingDetails {
        serde_json::from_str(&json.to_string()).unwrap()
    }

    fn sample() -> serde_json::Value {
        serde_json::json!({
            "id": "9f8c36b9-x", "status": "live", "type": "fractional",
            "loan_amount_cents": 5000000, "amount_remaining_cents": 1250000,
            "interest_rate": 0.0899, "term_months": 36, "risk_band": "A+",
            "purpose": "Working capital", "industry": "Construction",
            "years_in_business": 7, "state": "CA", "min_order_cents": 2500,
            "max_order_cents": 2500000, "live_date": "2026-11-20T21:00:00Z",
            "expiry_date": "2026-11-27T21:00:00Z"
        })
    }

    #[test]
    fn maps_the_design_sample_exactly() {
        let fc = PlatformId::new("fc");
        let o = details(sample()).to_opportunity(&fc).unwrap();
        assert_eq!(o.platform, fc);
        assert_eq!(o.platform_kind, PlatformKind::FundingCircle);
        assert_eq!(o.kind, OpportunityKind::Loan);
        assert_eq!(o.purchase, PurchaseMode::Fractional);
        assert_eq!(o.rate, Some(dec!(0.0899)));
        assert_eq!(o.amount, Some(dec!(50000.00)));
        assert_eq!(o.remaining, Some(dec!(12500.00)));
        assert_eq!(o.min_investment, Some(dec!(25.00)));
        assert_eq!(o.max_investment, Some(dec!(25000.00)));
        assert_eq!(o.increment, Some(dec!(0.01)));
        assert_eq!(o.grade.as_deref(), Some("A+"));
        assert_eq!(o.term_months, Some(36));
        assert_eq!(o.name.as_deref(), Some("Working capital"));
        assert_eq!(o.status, "live");
        assert_eq!(
            o.listed_at.unwrap().to_rfc3339(),
            "2026-11-20T21:00:00+00:00"
        );
        assert_eq!(o.extra["industry"], "Construction");
        assert_eq!(o.extra["years_in_business"], 7);
        assert_eq!(o.extra["state"], "CA");
        assert_eq!(o.extra["type"], "fractional");
        assert_eq!(o.extra["expiry_date"], "2026-11-27T21:00:00Z");
    }

    #[test]
    fn whole_loans_are_bought_whole() {
        let mut json = sample();
        json["type"] = "whole".into();
        let o = details(json)
            .to_opportunity(&PlatformId::new("fc"))
            .unwrap();
        assert_eq!(o.purchase, PurchaseMode::Whole);
    }

    #[test]
    fn absurd_values_are_refused() {
        let cases: [(&str, serde_json::Value); 7] = [
            ("loan_amount_cents", (-1).into()),
            ("amount_remaining_cents", 6_000_000.into()),
            ("min_order_cents", 3_000_000.into()),
            ("max_order_cents", 100.into()),
            ("term_months", 0.into()),
            ("loan_amount_cents", 1_000_000_000_000_000i64.into()),
            ("amount_remaining_cents", (-5).into()),
        ];
        for (field, value) in cases {
            let mut json = sample();
            json[field] = value.clone();
            let refused = details(json).to_opportunity(&PlatformId::new("fc"));
            assert!(refused.is_err(), "{field} = {value} was accepted");
        }
        for rate in ["-0.01", "1.5"] {
            let text = sample().to_string().replace("0.0899", rate);
            let parsed: ListingDetails = serde_json::from_str(&text).unwrap();
            assert!(
                parsed.to_opportunity(&PlatformId::new("fc")).is_err(),
                "rate {rate}"
            );
        }
    }

    #[test]
    fn transaction_id_may_be_a_number_or_a_string() {
        let base = r#"{"purchased_amount_cents":1,"status":"pending","id":"o","listing_id":"l","transaction_id":TX}"#;
        let parse = |tx: &str| serde_json::from_str::<OrderResponse>(&base.replace("TX", tx));
        assert_eq!(
            parse("238699").unwrap().transaction_id.as_deref(),
            Some("238699")
        );
        assert_eq!(
            parse(r#""tx-1""#).unwrap().transaction_id.as_deref(),
            Some("tx-1")
        );
        assert_eq!(parse("null").unwrap().transaction_id, None);
        assert!(parse("1.5").is_err());
    }

    #[test]
    fn negative_amounts_in_answers_are_refused() {
        let order: OrderResponse = serde_json::from_str(
            r#"{"purchased_amount_cents":-1,"status":"pending","id":"o","listing_id":"l"}"#,
        )
        .unwrap();
        assert!(order.to_platform_order().is_err());
        assert!(Portfolio {
            available_cash_cents: -1
        }
        .available_cash()
        .is_err());
        assert_eq!(
            Portfolio {
                available_cash_cents: 123456
            }
            .available_cash(),
            Ok(dec!(1234.56))
        );
    }
}
