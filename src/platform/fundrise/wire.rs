//! Fundrise Connect's JSON, as serde structs named after the platform's fields
//! (`fundrise-connect-openapi.yml`), and their mapping into the domain model.
//!
//! Money arrives as decimal strings (`"10.00"`, `".41"`); numbers are accepted too and
//! both are read straight into `Decimal` (no f64). Ids are `int64` strings in the spec;
//! they are kept as opaque text (an integer is accepted and kept as its digits). No
//! `untagged`/`flatten` anywhere: both buffer numbers and break serde_json's
//! `arbitrary_precision`.
//!
//! One field is not in the spec: `partnerReferenceId` on a transaction. The spec's
//! `TransactionResponse` has no such field, so reconciliation cannot count on it; when
//! a transaction does carry it, it is used (see `TransactionResponse::belongs_to`).

use crate::money;
use crate::opportunity::{Opportunity, OpportunityKind, PlatformId, PlatformKind, PurchaseMode};
use crate::order::PlatformOrder;
use crate::secret::Secret;
use chrono::{DateTime, FixedOffset, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;

/// The offering status that accepts investments (the other documented one is `CLOSED`).
pub const OPEN: &str = "OPEN";

/// The transaction type of an investment.
pub const INVESTMENT: &str = "INVESTMENT";

/// The documented per-transaction minimum of every open fund: also a floor under
/// whatever an offering reports (the spec's `@Min(10)` on the amount).
pub const PLATFORM_MINIMUM: Decimal = Decimal::from_parts(1_000, 0, 0, false, 2);

/// The documented per-transaction maximum: also a ceiling over whatever an offering
/// reports (the spec's `@Max(100000)` on the amount).
pub const PLATFORM_MAXIMUM: Decimal = Decimal::from_parts(10_000_000, 0, 0, false, 2);

/// `POST /v1/oauth/token` body (refresh token flow).
pub fn token_body(refresh_token: &Secret) -> serde_json::Value {
    serde_json::json!({ "grantType": "refresh_token", "refreshToken": refresh_token.expose() })
}

/// `POST /v1/oauth/token` answer (`OAuth2AccessTokenResponse`). No `Debug`: it holds
/// the access token. `expiresIn` is an int64 *string* in the spec ("3598").
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessTokenResponse {
    pub access_token: String,
    #[serde(default)]
    pub refresh_token: Option<String>,
    #[serde(default)]
    pub token_type: Option<String>,
    #[serde(default, deserialize_with = "optional_seconds")]
    pub expires_in: Option<u64>,
}

/// One entry of `GET /v1/offerings` (`OfferingResponse`). The limits are required by
/// the spec but read as optional: a missing one falls back to the documented limit.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OfferingResponse {
    #[serde(default)]
    pub current_price: Option<PriceResponse>,
    #[serde(deserialize_with = "identifier")]
    pub offering_id: String,
    pub offering_name: String,
    pub status: String,
    #[serde(default)]
    pub asset_class: Option<AssetClass>,
    #[serde(default, with = "rust_decimal::serde::arbitrary_precision_option")]
    pub minimum_investment_amount: Option<Decimal>,
    #[serde(default, with = "rust_decimal::serde::arbitrary_precision_option")]
    pub maximum_investment_amount: Option<Decimal>,
    #[serde(default)]
    pub primary_objective: Option<String>,
    /// "The approximate annualized dividend percentage"; the spec's sample is ".41",
    /// so whether it is a fraction or a percentage is not settled: passed on as given.
    #[serde(default, with = "rust_decimal::serde::arbitrary_precision_option")]
    pub current_distribution_rate: Option<Decimal>,
}

/// `PriceResponse`: the offering's current share price (NAV).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PriceResponse {
    #[serde(default, with = "rust_decimal::serde::arbitrary_precision_option")]
    pub price: Option<Decimal>,
    #[serde(default)]
    pub price_date: Option<String>,
}

/// `AssetClass`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssetClass {
    /// `REAL_ESTATE`, `PRIVATE_CREDIT` or `VENTURE`.
    #[serde(default)]
    pub asset_class_type: Option<String>,
    #[serde(default)]
    pub asset_class_label: Option<String>,
}

/// Why an offering was left out of a poll.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("offering {id}: {reason}")]
pub struct InvalidOffering {
    pub id: String,
    pub reason: String,
}

impl OfferingResponse {
    pub fn is_open(&self) -> bool {
        self.status == OPEN
    }

    /// The per-transaction limits that apply: the offering's own, never below the
    /// documented $10 nor above the documented $100,000.
    pub fn limits(&self) -> (Decimal, Decimal) {
        let minimum = self
            .minimum_investment_amount
            .map_or(PLATFORM_MINIMUM, |m| m.max(PLATFORM_MINIMUM));
        let maximum = self
            .maximum_investment_amount
            .map_or(PLATFORM_MAXIMUM, |m| m.min(PLATFORM_MAXIMUM));
        (minimum, maximum)
    }

    /// The normalised opportunity, or why this entry is not believable.
    pub fn to_opportunity(&self, platform: &PlatformId) -> Result<Opportunity, InvalidOffering> {
        self.check().map_err(|reason| InvalidOffering {
            id: self.offering_id.clone(),
            reason,
        })?;
        let mut opportunity = Opportunity::new(
            platform.clone(),
            PlatformKind::Fundrise,
            self.offering_id.clone(),
            OpportunityKind::Offering,
        );
        let (minimum, maximum) = self.limits();
        opportunity.purchase = PurchaseMode::Fractional;
        opportunity.name = Some(self.offering_name.clone());
        // Lower case, as scripts see asset classes on every platform ("real_estate");
        // Fundrise's own enum word stays in `extra.asset_class_type`.
        opportunity.asset_class = self
            .asset_class
            .as_ref()
            .and_then(|class| class.asset_class_type.as_deref())
            .map(str::to_ascii_lowercase);
        opportunity.status = self.status.clone();
        opportunity.min_investment = Some(minimum);
        opportunity.max_investment = Some(maximum);
        // Amounts are dollars with at most two decimals; shares are fractional, so
        // there is no unit price to buy whole multiples of.
        opportunity.increment = Some(money::CENT);
        opportunity.extra = self.extra();
        Ok(opportunity)
    }

    fn check(&self) -> Result<(), String> {
        if self.offering_id.trim().is_empty() {
            return Err("empty offeringId".into());
        }
        let amounts = [
            ("minimumInvestmentAmount", self.minimum_investment_amount),
            ("maximumInvestmentAmount", self.maximum_investment_amount),
            (
                "currentPrice.price",
                self.current_price.as_ref().and_then(|p| p.price),
            ),
        ];
        for (field, value) in amounts {
            if let Some(value) = value {
                money::check_sane(value).map_err(|error| format!("{field}: {error}"))?;
            }
        }
        Ok(())
    }

    /// Platform-specific fields scripts read as `o.extra`.
    fn extra(&self) -> BTreeMap<String, serde_json::Value> {
        let mut extra = BTreeMap::new();
        let class = self.asset_class.as_ref();
        let price = self.current_price.as_ref();
        let entries = [
            (
                "asset_class_type",
                class
                    .and_then(|c| c.asset_class_type.clone())
                    .map(serde_json::Value::from),
            ),
            (
                "asset_class_label",
                class
                    .and_then(|c| c.asset_class_label.clone())
                    .map(serde_json::Value::from),
            ),
            (
                "primary_objective",
                self.primary_objective.clone().map(serde_json::Value::from),
            ),
            (
                "current_distribution_rate",
                self.current_distribution_rate.map(decimal_value),
            ),
            (
                "share_price",
                price.and_then(|p| p.price).map(decimal_value),
            ),
            (
                "price_date",
                price
                    .and_then(|p| p.price_date.clone())
                    .map(serde_json::Value::from),
            ),
        ];
        for (key, value) in entries {
            if let Some(value) = value {
                extra.insert(key.to_string(), value);
            }
        }
        extra
    }
}

/// A decimal as an exact JSON number (scripts see it as a Decimal).
fn decimal_value(value: Decimal) -> serde_json::Value {
    serde_json::from_str(&value.to_string()).unwrap_or(serde_json::Value::Null)
}

/// One entry of `GET /v1/offering/{id}/documents` (`DocumentResponse`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DocumentResponse {
    #[serde(deserialize_with = "identifier")]
    pub document_id: String,
    #[serde(default)]
    pub document_name: Option<String>,
    #[serde(default)]
    pub document_type: Option<String>,
    #[serde(default)]
    pub document_url: Option<String>,
}

/// One entry of `GET /v1/offering/{id}/acknowledgments` (`AcknowledgmentResponse`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AcknowledgmentResponse {
    #[serde(deserialize_with = "identifier")]
    pub acknowledgment_id: String,
    #[serde(default)]
    pub acknowledgment_text: Option<String>,
}

/// The ids an investment acknowledges: the offering's documents, then its
/// acknowledgments, each once, in that order.
pub fn acknowledged_ids(
    documents: &[DocumentResponse],
    acknowledgments: &[AcknowledgmentResponse],
) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    let all = documents
        .iter()
        .map(|d| &d.document_id)
        .chain(acknowledgments.iter().map(|a| &a.acknowledgment_id));
    for id in all {
        if !ids.contains(id) {
            ids.push(id.clone());
        }
    }
    ids
}

/// `POST /v1/account/{accountId}/investment` body (`InvestmentPlacementRequest`);
/// `amount` must already be whole cents (it is printed with exactly two decimals).
pub fn investment_body(
    partner_reference_id: &str,
    offering_id: &str,
    amount: Decimal,
    acknowledged_document_ids: &[String],
) -> serde_json::Value {
    serde_json::json!({
        "partnerReferenceId": partner_reference_id,
        "offeringId": offering_id,
        "amount": money::format_2dp(amount),
        "acknowledgedDocumentIds": acknowledged_document_ids,
    })
}

/// `TransactionResponse`: what placing, cancelling and looking up investments answer.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransactionResponse {
    #[serde(deserialize_with = "identifier")]
    pub transaction_id: String,
    /// Absent on pending liquidations; required for an investment.
    #[serde(default, with = "rust_decimal::serde::arbitrary_precision_option")]
    pub amount: Option<Decimal>,
    /// `INVESTMENT`, `LIQUIDATION` or `DIVIDEND`.
    pub transaction_type: String,
    /// e.g. `2023-02-15T00:00:00.000-05:00`.
    pub transaction_date: String,
    #[serde(default)]
    pub description: Option<String>,
    /// `PENDING`, `COMPLETE` (terminal) or `FAILED` (terminal; also a cancelled one).
    pub status: String,
    #[serde(default)]
    pub debit_credit_memo: Option<String>,
    #[serde(default, with = "rust_decimal::serde::arbitrary_precision_option")]
    pub fees: Option<Decimal>,
    #[serde(default)]
    pub offerings: Vec<TransactionOffering>,
    #[serde(default)]
    pub is_cancellable: Option<bool>,
    /// Not in the spec (see the module docs); used when present.
    #[serde(default)]
    pub partner_reference_id: Option<String>,
}

/// `TransactionOfferingResponse`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransactionOffering {
    #[serde(deserialize_with = "identifier")]
    pub offering_id: String,
    #[serde(default)]
    pub offering_name: Option<String>,
    #[serde(default, with = "rust_decimal::serde::arbitrary_precision_option")]
    pub shares: Option<Decimal>,
    #[serde(default, with = "rust_decimal::serde::arbitrary_precision_option")]
    pub share_price: Option<Decimal>,
    #[serde(default, with = "rust_decimal::serde::arbitrary_precision_option")]
    pub amount: Option<Decimal>,
}

/// What identifies the investment an intent would have made, for a lookup.
#[derive(Debug, Clone, PartialEq)]
pub struct InvestmentMatch<'a> {
    pub partner_reference_id: &'a str,
    pub offering_id: &'a str,
    pub amount: Decimal,
    /// Investments dated before this cannot be the intent's.
    pub not_before: DateTime<Utc>,
}

impl TransactionResponse {
    /// The investment as the domain sees it: one offering, a sane amount.
    pub fn to_platform_order(&self) -> Result<PlatformOrder, String> {
        let id = &self.transaction_id;
        if self.transaction_type != INVESTMENT {
            return Err(format!(
                "transaction {id} is a {}, not an investment",
                self.transaction_type
            ));
        }
        let offering = match self.offerings.as_slice() {
            [offering] => offering,
            other => {
                return Err(format!(
                    "investment {id} names {} offerings, expected one",
                    other.len()
                ))
            }
        };
        let amount = self
            .amount
            .ok_or_else(|| format!("investment {id} has no amount"))?;
        let amount =
            money::check_sane(amount).map_err(|error| format!("investment {id}: {error}"))?;
        Ok(PlatformOrder {
            order_id: id.clone(),
            opportunity_id: offering.offering_id.clone(),
            amount,
            status: self.status.clone(),
        })
    }

    /// When the platform dated it.
    pub fn date(&self) -> Result<DateTime<FixedOffset>, String> {
        DateTime::parse_from_rfc3339(&self.transaction_date).map_err(|error| {
            format!(
                "transaction {}: transactionDate {:?}: {error}",
                self.transaction_id, self.transaction_date
            )
        })
    }

    /// Whether this transaction can be the investment `wanted` describes: by its
    /// `partnerReferenceId` when the platform gives one; otherwise an investment in
    /// the same offering, for exactly the amount, dated no earlier than `not_before`.
    pub fn belongs_to(&self, wanted: &InvestmentMatch<'_>) -> Result<bool, String> {
        if self.transaction_type != INVESTMENT {
            return Ok(false);
        }
        if let Some(reference) = &self.partner_reference_id {
            return Ok(reference == wanted.partner_reference_id);
        }
        let order = self.to_platform_order()?;
        Ok(order.opportunity_id == wanted.offering_id
            && order.amount == wanted.amount
            && self.date()? >= wanted.not_before)
    }
}

/// An `Identifier` (an int64 string) or a JSON integer, as text.
fn identifier<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    use serde::de::Error;
    match serde_json::Value::deserialize(deserializer)? {
        serde_json::Value::String(text) => Ok(text),
        serde_json::Value::Number(number) if number.is_u64() || number.is_i64() => {
            Ok(number.to_string())
        }
        other => Err(D::Error::custom(format!(
            "expected an id (string or integer), found {other}"
        ))),
    }
}

/// Seconds as an int64 string ("3598") or a JSON integer.
fn optional_seconds<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    use serde::de::Error;
    match serde_json::Value::deserialize(deserializer)? {
        serde_json::Value::Null => Ok(None),
        serde_json::Value::String(text) => text
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| D::Error::custom(format!("expiresIn {text:?} is not whole seconds"))),
        serde_json::Value::Number(number) => number
            .as_u64()
            .map(Some)
            .ok_or_else(|| D::Error::custom(format!("expiresIn {number} is not whole seconds"))),
        other => Err(D::Error::custom(format!(
            "expiresIn: expected seconds, found {other}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn offering(json: serde_json::Value) -> OfferingResponse {
        serde_json::from_str(&json.to_string()).unwrap()
    }

    #[test]
    fn limits_keep_to_the_documented_floor_and_ceiling() {
        let cases = [
            (
                json_limits("10.00", "100000.00"),
                (dec!(10.00), dec!(100000.00)),
            ),
            (json_limits("5", "250000"), (dec!(10.00), dec!(100000.00))),
            (
                json_limits("500.00", "50000.00"),
                (dec!(500.00), dec!(50000.00)),
            ),
            (
                serde_json::json!({"offeringId": "1", "offeringName": "F", "status": "OPEN"}),
                (dec!(10.00), dec!(100000.00)),
            ),
            (
                serde_json::json!({"offeringId": "1", "offeringName": "F", "status": "OPEN",
                    "minimumInvestmentAmount": null, "maximumInvestmentAmount": null}),
                (dec!(10.00), dec!(100000.00)),
            ),
        ];
        for (json, expected) in cases {
            assert_eq!(offering(json.clone()).limits(), expected, "{json}");
        }
    }

    fn json_limits(min: &str, max: &str) -> serde_json::Value {
        serde_json::json!({"offeringId": "1", "offeringName": "F", "status": "OPEN",
            "minimumInvestmentAmount": min, "maximumInvestmentAmount": max})
    }

    #[test]
    fn numbers_and_strings_both_read_exactly() {
        let text = r#"{"offeringId": 7, "offeringName": "F", "status": "OPEN",
            "minimumInvestmentAmount": 10.10, "maximumInvestmentAmount": "99999.99",
            "currentDistributionRate": ".41"}"#;
        let parsed: OfferingResponse = serde_json::from_str(text).unwrap();
        assert_eq!(parsed.offering_id, "7");
        assert_eq!(parsed.minimum_investment_amount, Some(dec!(10.10)));
        assert_eq!(parsed.maximum_investment_amount, Some(dec!(99999.99)));
        assert_eq!(parsed.current_distribution_rate, Some(dec!(0.41)));
        let o = parsed.to_opportunity(&PlatformId::new("fr")).unwrap();
        assert_eq!(o.extra["current_distribution_rate"].to_string(), "0.41");
    }

    #[test]
    fn absurd_amounts_are_refused() {
        for (field, value) in [
            ("minimumInvestmentAmount", "-10.00"),
            ("maximumInvestmentAmount", "1e40"),
            ("maximumInvestmentAmount", "99999999999999"),
        ] {
            let mut json = json_limits("10.00", "100000.00");
            json[field] = value.into();
            let parsed = serde_json::from_str::<OfferingResponse>(&json.to_string());
            let refused = match parsed {
                Ok(parsed) => parsed.to_opportunity(&PlatformId::new("fr")).is_err(),
                Err(_) => true,
            };
            assert!(refused, "{field} = {value} was accepted");
        }
    }

    #[test]
    fn expires_in_is_a_string_or_a_number() {
        let parse = |value: &str| {
            serde_json::from_str::<AccessTokenResponse>(&format!(
                r#"{{"accessToken": "t", "expiresIn": {value}}}"#
            ))
            .map(|answer| answer.expires_in)
        };
        assert_eq!(parse(r#""3598""#).unwrap(), Some(3598));
        assert_eq!(parse("3598").unwrap(), Some(3598));
        assert_eq!(parse("null").unwrap(), None);
        assert!(parse(r#""soon""#).is_err());
        assert!(parse("-1").is_err());
    }

    #[test]
    fn acknowledged_ids_list_documents_then_acknowledgments_once() {
        let documents: Vec<DocumentResponse> =
            serde_json::from_str(r#"[{"documentId": "101"}, {"documentId": "102"}]"#).unwrap();
        let acknowledgments: Vec<AcknowledgmentResponse> =
            serde_json::from_str(r#"[{"acknowledgmentId": "1"}, {"acknowledgmentId": "101"}]"#)
                .unwrap();
        assert_eq!(
            acknowledged_ids(&documents, &acknowledgments),
            vec!["101", "102", "1"]
        );
    }

    fn transaction(json: serde_json::Value) -> TransactionResponse {
        serde_json::from_str(&json.to_string()).unwrap()
    }

    fn investment() -> serde_json::Value {
        serde_json::json!({
            "transactionId": "11", "transactionType": "INVESTMENT",
            "description": "Investment into Fundrise Offering", "amount": "100.00",
            "transactionDate": "2026-11-20T00:00:00.000-05:00",
            "offerings": [{"offeringId": "24", "offeringName": "Flagship Fund"}],
            "status": "PENDING", "isCancellable": true, "debitCreditMemo": "CREDIT"
        })
    }

    #[test]
    fn a_transaction_belongs_to_an_intent_by_reference_or_by_offering_amount_and_date() {
        let wanted = InvestmentMatch {
            partner_reference_id: "ai-1",
            offering_id: "24",
            amount: dec!(100),
            not_before: "2026-11-19T00:00:00Z".parse().unwrap(),
        };
        assert_eq!(transaction(investment()).belongs_to(&wanted), Ok(true));
        let mut other_offering = investment();
        other_offering["offerings"][0]["offeringId"] = "25".into();
        let mut other_amount = investment();
        other_amount["amount"] = "100.01".into();
        let mut too_old = investment();
        too_old["transactionDate"] = "2026-11-18T00:00:00.000-05:00".into();
        let mut dividend = investment();
        dividend["transactionType"] = "DIVIDEND".into();
        let mut other_reference = investment();
        other_reference["partnerReferenceId"] = "ai-2".into();
        for json in [
            other_offering,
            other_amount,
            too_old,
            dividend,
            other_reference,
        ] {
            assert_eq!(
                transaction(json.clone()).belongs_to(&wanted),
                Ok(false),
                "{json}"
            );
        }
        // A matching reference wins over a different amount.
        let mut same_reference = investment();
        same_reference["partnerReferenceId"] = "ai-1".into();
        same_reference["amount"] = "50.00".into();
        assert_eq!(transaction(same_reference).belongs_to(&wanted), Ok(true));
        let mut undated = investment();
        undated["transactionDate"] = "yesterday".into();
        assert!(transaction(undated).belongs_to(&wanted).is_err());
    }

    #[test]
    fn an_investment_names_one_offering_and_an_amount() {
        let order = transaction(investment()).to_platform_order().unwrap();
        assert_eq!(
            order,
            PlatformOrder {
                order_id: "11".into(),
                opportunity_id: "24".into(),
                amount: dec!(100.00),
                status: "PENDING".into(),
            }
        );
        let mut two = investment();
        two["offerings"] = serde_json::json!([{"offeringId": "1"}, {"offeringId": "2"}]);
        let mut no_amount = investment();
        no_amount.as_object_mut().unwrap().remove("amount");
        let mut negative = investment();
        negative["amount"] = "-1.00".into();
        for json in [two, no_amount, negative] {
            assert!(
                transaction(json.clone()).to_platform_order().is_err(),
                "{json}"
            );
        }
    }

    #[test]
    fn the_investment_body_prints_two_decimals() {
        let body = investment_body("ai-1", "24", dec!(25), &["1".to_string()]);
        assert_eq!(
            body,
            serde_json::json!({"partnerReferenceId": "ai-1", "offeringId": "24",
                "amount": "25.00", "acknowledgedDocumentIds": ["1"]})
        );
    }
}
