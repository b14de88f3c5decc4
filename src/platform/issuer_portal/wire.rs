//! The issuer portal's JSON (`issuer-portal-issuer-api.txt` for offerings,
//! `issuer-portal-third-party-api.txt` for the login and investments), as serde
//! structs named after the platform's fields, and their mapping into the domain.
//!
//! The seed documents print placeholders (`"unit_price": "text"`, `"id": 1`), so the
//! wire types accept every sample verbatim and the mapping decides what is usable:
//! money fields are kept as raw JSON (a DRF `DecimalField` renders a string, but a
//! number is accepted too) and turned into `Decimal` exactly, never through f64. No
//! `untagged`/`flatten` anywhere — both buffer numbers and break serde_json's
//! `arbitrary_precision`.
//!
//! Assumptions (the seeds do not say; kept here so a wrong guess is corrected once):
//! the investment answer's `quantity` is the number of shares bought, and its dollar
//! amount is that quantity at the unit price the order was sized with (`amount`,
//! `price` and `shares_amount` are undocumented and may include fees); a new
//! investment without a `status` is `started`, the first status of the seed's list.

use crate::money;
use crate::opportunity::{Opportunity, OpportunityKind, PlatformId, PlatformKind};
use crate::order::PlatformOrder;
use crate::secret::Secret;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use std::collections::BTreeMap;
use std::str::FromStr;

/// The offering status that accepts investments (`GET /api/offerings/?status=opened`).
pub const OPENED: &str = "opened";

/// The offering `type` that only gauges interest: nothing can be bought.
pub const TEST_THE_WATERS: &str = "test_the_waters";

/// `POST /api_third_party/auth/login/` body.
pub fn login_body(email: &Secret, password: &Secret) -> Value {
    serde_json::json!({ "email": email.expose(), "password": password.expose() })
}

/// `POST /api_third_party/auth/login/` answer: a token and when it stops working.
#[derive(Debug, Deserialize)]
pub struct LoginResponse {
    pub token: String,
    /// ISO 8601 (`2025-07-25T14:28:10.580Z`); null for a token that never expires.
    #[serde(default)]
    pub expiry: Option<String>,
}

impl LoginResponse {
    /// When the token expires; `None` when not given or unreadable.
    pub fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.expiry
            .as_deref()
            .and_then(|text| DateTime::parse_from_rfc3339(text.trim()).ok())
            .map(|at| at.with_timezone(&Utc))
    }
}

/// A DRF page (`count`, `next`, `previous`, `results`). Entries stay raw JSON so the
/// caller decides whether one bad entry is skipped or fails the whole read.
#[derive(Debug, Deserialize)]
pub struct Page {
    #[serde(default)]
    pub count: Option<u64>,
    /// Absolute URL of the next page; null on the last one.
    #[serde(default)]
    pub next: Option<String>,
    #[serde(default)]
    pub previous: Option<String>,
    pub results: Vec<Value>,
}

/// One offering of `GET /api/offerings/` (and `GET /api/offerings/{id}/`): the fields
/// the daemon uses or shows to scripts. Unknown keys are ignored.
#[derive(Debug, Deserialize)]
pub struct Offering {
    #[serde(deserialize_with = "opaque_id")]
    pub id: String,
    #[serde(default)]
    pub issuer: Option<Value>,
    #[serde(default)]
    pub name: Option<String>,
    /// The exemption: reg_a, reg_d_506b, reg_d_506c, reg_s, reg_cf, test_the_waters.
    #[serde(rename = "type", default)]
    pub offering_type: Option<String>,
    /// incomplete, pending, opened, closed, paused.
    pub status: String,
    #[serde(default)]
    pub security_type: Option<String>,
    #[serde(default)]
    pub share_or_unit: Option<String>,
    #[serde(default)]
    pub dollar_amount_investment: Option<bool>,
    #[serde(default)]
    pub unit_price: Option<Value>,
    #[serde(default)]
    pub administrative_fees: Option<Value>,
    #[serde(default)]
    pub administrative_fees_paid_by_investor: Option<bool>,
    #[serde(default)]
    pub number_of_shares: Option<Value>,
    #[serde(default)]
    pub max_investment_amount: Option<Value>,
    #[serde(default)]
    pub min_investment_amount: Option<Value>,
    #[serde(default)]
    pub investment_increment_amount: Option<Value>,
    #[serde(default)]
    pub accredited_investors: Option<bool>,
    #[serde(default)]
    pub non_accredited_investors: Option<bool>,
    #[serde(default)]
    pub slug: Option<String>,
    #[serde(default)]
    pub minimum_amount_raised: Option<Value>,
    #[serde(default)]
    pub maximum_amount_raised: Option<Value>,
    #[serde(default)]
    pub reg_cf_fee_percentage: Option<Value>,
    #[serde(default)]
    pub archived: Option<bool>,
    #[serde(default)]
    pub investors_excluded_countries: Option<Value>,
    #[serde(default)]
    pub investors_included_countries: Option<Value>,
    #[serde(default)]
    pub deadline_date: Option<String>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub opened_at: Option<String>,
}

/// Why an offering was left out of a poll.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("offering {id}: {reason}")]
pub struct InvalidOffering {
    pub id: String,
    pub reason: String,
}

impl Offering {
    /// Open for investment: `opened`, not archived, and not a test-the-waters page.
    pub fn is_buyable(&self) -> bool {
        self.status == OPENED
            && self.archived != Some(true)
            && self.offering_type.as_deref() != Some(TEST_THE_WATERS)
    }

    /// The normalised opportunity, or why this offering's figures are unusable.
    pub fn to_opportunity(&self, platform: &PlatformId) -> Result<Opportunity, InvalidOffering> {
        let invalid = |reason: String| InvalidOffering {
            id: self.id.clone(),
            reason,
        };
        let limits = self.limits().map_err(invalid)?;
        let mut opportunity = Opportunity::new(
            platform.clone(),
            PlatformKind::IssuerPortal,
            self.id.clone(),
            OpportunityKind::Offering,
        );
        opportunity.name = self.name.clone();
        opportunity.asset_class = self.offering_type.clone();
        opportunity.status = self.status.clone();
        opportunity.unit_price = Some(limits.unit_price);
        opportunity.min_investment = limits.min;
        opportunity.max_investment = limits.max;
        opportunity.increment = limits.increment;
        opportunity.amount = limits.size;
        opportunity.listed_at = self.opened_at.as_deref().and_then(parse_time);
        opportunity.extra = self.extra();
        Ok(opportunity)
    }

    /// The money figures, checked: a unit price is required (orders are whole shares),
    /// nothing negative or absurd, the minimum not above the maximum.
    fn limits(&self) -> Result<Limits, String> {
        let unit_price = decimal("unit_price", self.unit_price.as_ref())?
            .ok_or("no unit_price: orders are in whole shares")?;
        if unit_price <= Decimal::ZERO {
            return Err(format!("unit_price {unit_price} is not positive"));
        }
        let min = decimal("min_investment_amount", self.min_investment_amount.as_ref())?;
        let max = decimal("max_investment_amount", self.max_investment_amount.as_ref())?;
        let increment = decimal(
            "investment_increment_amount",
            self.investment_increment_amount.as_ref(),
        )?;
        if let (Some(min), Some(max)) = (min, max) {
            if min > max {
                return Err(format!(
                    "min_investment_amount {min} exceeds max_investment_amount {max}"
                ));
            }
        }
        if increment.is_some_and(|step| step <= Decimal::ZERO) {
            // Zero would mean "any amount": say so with `null`, not with 0.
            return Err("investment_increment_amount is not positive".to_string());
        }
        let size = decimal("maximum_amount_raised", self.maximum_amount_raised.as_ref())?;
        Ok(Limits {
            unit_price,
            min,
            max,
            increment,
            size,
        })
    }

    /// Platform-specific fields scripts can read as `o.extra` (only those given).
    fn extra(&self) -> BTreeMap<String, Value> {
        let text = |value: &Option<String>| value.clone().map(Value::from);
        let flag = |value: Option<bool>| value.map(Value::from);
        let entries = [
            ("type", text(&self.offering_type)),
            ("security_type", text(&self.security_type)),
            ("share_or_unit", text(&self.share_or_unit)),
            ("slug", text(&self.slug)),
            ("deadline_date", text(&self.deadline_date)),
            ("issuer", self.issuer.clone()),
            ("number_of_shares", self.number_of_shares.clone()),
            ("minimum_amount_raised", self.minimum_amount_raised.clone()),
            ("maximum_amount_raised", self.maximum_amount_raised.clone()),
            ("reg_cf_fee_percentage", self.reg_cf_fee_percentage.clone()),
            ("administrative_fees", self.administrative_fees.clone()),
            (
                "administrative_fees_paid_by_investor",
                flag(self.administrative_fees_paid_by_investor),
            ),
            ("accredited_investors", flag(self.accredited_investors)),
            (
                "non_accredited_investors",
                flag(self.non_accredited_investors),
            ),
            (
                "dollar_amount_investment",
                flag(self.dollar_amount_investment),
            ),
            (
                "investors_excluded_countries",
                self.investors_excluded_countries.clone(),
            ),
            (
                "investors_included_countries",
                self.investors_included_countries.clone(),
            ),
        ];
        entries
            .into_iter()
            .filter_map(|(key, value)| match value {
                None | Some(Value::Null) => None,
                Some(value) => Some((key.to_string(), value)),
            })
            .collect()
    }
}

/// An offering's checked money figures.
struct Limits {
    unit_price: Decimal,
    min: Option<Decimal>,
    max: Option<Decimal>,
    increment: Option<Decimal>,
    size: Option<Decimal>,
}

/// `POST /api_third_party/investments/` body: whole shares of one offering for the
/// configured investor, and how the investor will pay.
pub fn investment_body(
    quantity: u64,
    offering_id: &str,
    investor_id: u64,
    payment_method: &str,
) -> Value {
    serde_json::json!({
        "quantity": quantity,
        "offering": id_value(offering_id),
        "investor": investor_id,
        "requested_payment_method": payment_method,
    })
}

/// An id as the platform printed it: integer ids go back as JSON integers.
fn id_value(id: &str) -> Value {
    id.parse::<u64>()
        .map_or_else(|_| Value::from(id), Value::from)
}

/// An investment: the `POST /api_third_party/investments/` answer, and each entry of
/// `GET /api_third_party/investments/`. `offering` is an id in the first and an
/// object in the second; `investor` is an object in both. `status` is passed on as
/// the platform says it: started, not_received, payment_failed, received, cancelled,
/// refunded, invested, approved, not_approved, accepted, accepted_escrow_closed.
#[derive(Debug, Deserialize)]
pub struct Investment {
    #[serde(deserialize_with = "opaque_id")]
    pub id: String,
    #[serde(default)]
    pub quantity: Option<u64>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(deserialize_with = "reference_id")]
    pub offering: String,
    #[serde(default, deserialize_with = "optional_reference_id")]
    pub investor: Option<String>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub requested_payment_method: Option<String>,
}

impl Investment {
    /// What the platform holds, with the shares valued at `unit_price` (the price the
    /// order was sized with).
    pub fn to_platform_order(&self, unit_price: Decimal) -> Result<PlatformOrder, String> {
        let quantity = self
            .quantity
            .ok_or_else(|| format!("investment {} has no quantity", self.id))?;
        let amount = Decimal::from(quantity)
            .checked_mul(unit_price)
            .ok_or_else(|| format!("investment {}: quantity {quantity} overflows", self.id))?;
        let amount = money::check_sane(amount)
            .map_err(|error| format!("investment {}: {error}", self.id))?;
        Ok(PlatformOrder {
            order_id: self.id.clone(),
            opportunity_id: self.offering.clone(),
            amount,
            status: self.status.clone().unwrap_or_else(|| "started".to_string()),
        })
    }

    /// When the platform created it; `None` when not given or unreadable.
    pub fn created(&self) -> Option<DateTime<Utc>> {
        self.created_at.as_deref().and_then(parse_time)
    }
}

fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text.trim())
        .ok()
        .map(|at| at.with_timezone(&Utc))
}

/// A money field: absent or null is `None`; a decimal string or number is read
/// exactly; anything else (the seeds' `"text"`, negatives, absurd sizes) is an error.
pub fn decimal(field: &str, value: Option<&Value>) -> Result<Option<Decimal>, String> {
    let text = match value {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(text)) => text.trim().to_string(),
        // With `arbitrary_precision` the number's text is exactly what was sent.
        Some(Value::Number(number)) => number.to_string(),
        Some(other) => return Err(format!("{field} is not a decimal: {other}")),
    };
    let parsed = Decimal::from_str(&text)
        .or_else(|_| Decimal::from_scientific(&text))
        .map_err(|_| format!("{field} {text:?} is not a decimal"))?;
    money::check_sane(parsed)
        .map(Some)
        .map_err(|error| format!("{field}: {error}"))
}

/// An id printed as an integer (or, tolerated, a string), kept as text.
fn opaque_id<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    use serde::de::Error;
    let value = Value::deserialize(deserializer)?;
    id_text(&value).ok_or_else(|| D::Error::custom(format!("expected an id, found {value}")))
}

/// A related object given as its id or as an object holding `id`.
fn reference_id<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    use serde::de::Error;
    let value = Value::deserialize(deserializer)?;
    let id = match &value {
        Value::Object(object) => object.get("id").and_then(id_text),
        other => id_text(other),
    };
    id.ok_or_else(|| {
        D::Error::custom(format!(
            "expected an id or an object with one, found {value}"
        ))
    })
}

fn optional_reference_id<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    reference_id(deserializer).map(Some)
}

fn id_text(value: &Value) -> Option<String> {
    match value {
        Value::Number(number) if number.is_u64() => Some(number.to_string()),
        Value::String(text) if !text.trim().is_empty() => Some(text.trim().to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;
    use serde_json::json;

    #[test]
    fn decimals_are_read_exactly_from_strings_and_numbers() {
        let cases: [(Value, Option<Decimal>); 6] = [
            (json!("10.00"), Some(dec!(10.00))),
            (json!(" 0.1 "), Some(dec!(0.1))),
            (serde_json::from_str("12.345").unwrap(), Some(dec!(12.345))),
            (json!(1e3), Some(dec!(1000))),
            (json!(5), Some(dec!(5))),
            (Value::Null, None),
        ];
        for (value, expected) in cases {
            assert_eq!(decimal("f", Some(&value)), Ok(expected), "{value}");
        }
        assert_eq!(decimal("f", None), Ok(None));
        for bad in [
            json!("text"),
            json!("-1.00"),
            json!(true),
            json!(""),
            json!("1e40"),
        ] {
            assert!(decimal("f", Some(&bad)).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn ids_are_kept_as_text_and_integer_ids_go_back_as_integers() {
        let investment: Investment = serde_json::from_value(json!({
            "id": 17, "quantity": 4, "offering": {"id": 3, "name": "x"},
            "investor": {"id": 9}
        }))
        .unwrap();
        assert_eq!(investment.id, "17");
        assert_eq!(investment.offering, "3");
        assert_eq!(investment.investor.as_deref(), Some("9"));
        let body = investment_body(4, "3", 9, "wire");
        assert_eq!(
            body,
            json!({"quantity": 4, "offering": 3, "investor": 9, "requested_payment_method": "wire"})
        );
        assert_eq!(investment_body(1, "ab-1", 9, "wire")["offering"], "ab-1");
        for bad in [json!(-1), json!(1.5), json!(null), json!({})] {
            let parsed = serde_json::from_value::<Investment>(json!({"id": bad, "offering": 1}));
            assert!(parsed.is_err(), "id {bad} accepted");
        }
    }

    #[test]
    fn the_amount_is_the_confirmed_quantity_at_the_sized_unit_price() {
        let investment: Investment =
            serde_json::from_value(json!({"id": 1, "quantity": 8, "offering": 2})).unwrap();
        let order = investment.to_platform_order(dec!(12.50)).unwrap();
        assert_eq!(order.amount, dec!(100.00));
        assert_eq!(order.status, "started");
        assert_eq!(order.opportunity_id, "2");
        let no_quantity: Investment =
            serde_json::from_value(json!({"id": 1, "offering": 2})).unwrap();
        assert!(no_quantity.to_platform_order(dec!(1)).is_err());
    }

    #[test]
    fn login_expiry_is_read_when_it_is_a_date() {
        let answer = |expiry: Value| {
            serde_json::from_value::<LoginResponse>(json!({"token": "t", "expiry": expiry}))
                .unwrap()
                .expires_at()
        };
        assert_eq!(
            answer(json!("2025-07-25T14:28:10.580Z")).map(|at| at.to_rfc3339()),
            Some("2025-07-25T14:28:10.580+00:00".to_string())
        );
        assert_eq!(answer(Value::Null), None);
        assert_eq!(answer(json!("soon")), None);
    }
}
