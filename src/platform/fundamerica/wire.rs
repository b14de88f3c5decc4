//! FundAmerica's JSON (and the one form body we send), as serde structs named after the
//! platform's fields, and their mapping into the domain model, side by side.
//!
//! Shapes come from the seed document (`fundamerica-api.txt`): the `resource_list`
//! page, the offering and investment objects, the security object (for an equity
//! offering's share price), the webhook message and the error bodies. Money arrives as
//! decimal strings (`"5000000.0"`); numbers are accepted too, and both are read straight
//! into `Decimal` (serde_json's `arbitrary_precision`), never through f64. No
//! `untagged`/`flatten` anywhere — both buffer numbers and break that feature.
//!
//! Ids are opaque strings. Objects name their relations by URL (`offering_url`,
//! `investor_url`, `security_url`); the id is the URL's last path segment.

use crate::money;
use crate::opportunity::{Opportunity, OpportunityKind, PlatformId, PlatformKind, PurchaseMode};
use crate::order::{OrderIntent, PlatformOrder};
use chrono::{DateTime, Utc};
use reqwest::Url;
use rust_decimal::Decimal;
use serde::Deserialize;
use std::collections::BTreeMap;

/// `object` of a page of resources.
pub const RESOURCE_LIST: &str = "resource_list";

/// A page of a list action (`GET /api/offerings`, `GET /api/offerings/:id/investments`).
#[derive(Debug, Deserialize)]
pub struct ResourceList<T> {
    #[serde(default)]
    pub object: Option<String>,
    #[serde(default)]
    pub total_resources: Option<u64>,
    /// Whether there are further pages.
    #[serde(default)]
    pub more: bool,
    #[serde(default)]
    pub page: Option<u64>,
    #[serde(default)]
    pub per: Option<u64>,
    pub resources: Vec<T>,
}

/// The offering object. Every field the client reads is listed; unknown keys are
/// ignored.
#[derive(Debug, Deserialize)]
pub struct Offering {
    pub id: String,
    #[serde(default)]
    pub object: Option<String>,
    /// Investments are refused (403) unless this is true; absent means false.
    #[serde(default)]
    pub accept_investments: bool,
    #[serde(default)]
    pub name: Option<String>,
    /// "equity" (the platform's default) or "debt".
    #[serde(rename = "type", default)]
    pub offering_type: Option<String>,
    /// Target amount to raise.
    #[serde(default, with = "rust_decimal::serde::arbitrary_precision_option")]
    pub amount: Option<Decimal>,
    /// Oversubscription ceiling.
    #[serde(default, with = "rust_decimal::serde::arbitrary_precision_option")]
    pub max_amount: Option<Decimal>,
    #[serde(default, with = "rust_decimal::serde::arbitrary_precision_option")]
    pub min_amount: Option<Decimal>,
    /// Per-investment limits; null means no limit.
    #[serde(default, with = "rust_decimal::serde::arbitrary_precision_option")]
    pub min_investment_amount: Option<Decimal>,
    #[serde(default, with = "rust_decimal::serde::arbitrary_precision_option")]
    pub max_investment_amount: Option<Decimal>,
    /// Investments must divide evenly by this; null means no increment.
    #[serde(default, with = "rust_decimal::serde::arbitrary_precision_option")]
    pub investment_increment_amount: Option<Decimal>,
    #[serde(default, with = "rust_decimal::serde::arbitrary_precision_option")]
    pub funds_in_escrow: Option<Decimal>,
    #[serde(default, with = "rust_decimal::serde::arbitrary_precision_option")]
    pub funds_invested: Option<Decimal>,
    #[serde(default, with = "rust_decimal::serde::arbitrary_precision_option")]
    pub funds_received: Option<Decimal>,
    /// no_escrow, pending, opened, closed, cancelled.
    #[serde(default)]
    pub escrow_status: Option<String>,
    /// Kept as text: a date the platform prints oddly must not drop the offering.
    #[serde(default)]
    pub opened_at: Option<String>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub escrow_closes_at: Option<String>,
    #[serde(default)]
    pub regulatory_exemption: Option<String>,
    #[serde(default)]
    pub minimum_met: Option<bool>,
    #[serde(default)]
    pub accredited_investors: Option<bool>,
    #[serde(default)]
    pub non_accredited_investors: Option<bool>,
    #[serde(default)]
    pub us_investors: Option<bool>,
    #[serde(default)]
    pub non_us_investors: Option<bool>,
    #[serde(default)]
    pub funds_transfer_methods: Option<Vec<String>>,
    #[serde(default)]
    pub use_broker_dealer_service: Option<bool>,
    #[serde(default)]
    pub security_url: Option<String>,
    /// Present when the request asked for `_expand[security]=1`.
    #[serde(default)]
    pub security: Option<Security>,
}

/// The security object: the only place the seed gives an equity share price.
#[derive(Debug, Deserialize)]
pub struct Security {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(rename = "type", default)]
    pub security_type: Option<String>,
    #[serde(default, with = "rust_decimal::serde::arbitrary_precision_option")]
    pub equity_share_price: Option<Decimal>,
}

/// The two kinds of offering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OfferingType {
    /// Sold in whole shares: `equity_share_count` is required with every investment.
    Equity,
    Debt,
}

impl OfferingType {
    pub fn as_str(self) -> &'static str {
        match self {
            OfferingType::Equity => "equity",
            OfferingType::Debt => "debt",
        }
    }
}

/// Why an offering was left out of a poll.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("offering {id}: {reason}")]
pub struct InvalidOffering {
    pub id: String,
    pub reason: String,
}

impl Offering {
    /// The offering's type; a missing type is the platform's default, equity.
    pub fn kind(&self) -> Result<OfferingType, String> {
        match self.offering_type.as_deref() {
            None | Some("equity") => Ok(OfferingType::Equity),
            Some("debt") => Ok(OfferingType::Debt),
            Some(other) => Err(format!("unknown offering type {other:?}")),
        }
    }

    /// The share price from the expanded security, when there is one.
    pub fn expanded_share_price(&self) -> Option<Decimal> {
        self.security.as_ref()?.equity_share_price
    }

    /// The id of the offering's security (from `security_url`), to look the share
    /// price up when the security was not expanded.
    pub fn security_id(&self) -> Option<String> {
        self.security_url.as_deref().and_then(last_segment)
    }

    /// The normalised opportunity. `share_price` is required for equity offerings: an
    /// investment in one must name a whole number of shares.
    pub fn to_opportunity(
        &self,
        platform: &PlatformId,
        share_price: Option<Decimal>,
    ) -> Result<Opportunity, InvalidOffering> {
        let invalid = |reason: String| InvalidOffering {
            id: self.id.clone(),
            reason,
        };
        let kind = self.kind().map_err(invalid)?;
        self.check().map_err(invalid)?;
        let unit_price = match kind {
            OfferingType::Equity => Some(check_share_price(share_price).map_err(invalid)?),
            OfferingType::Debt => None,
        };
        let mut opportunity = Opportunity::new(
            platform.clone(),
            PlatformKind::FundAmerica,
            self.id.clone(),
            OpportunityKind::Offering,
        );
        opportunity.purchase = PurchaseMode::Fractional;
        opportunity.name = self.name.clone();
        opportunity.asset_class = Some(kind.as_str().to_string());
        opportunity.amount = self.amount;
        opportunity.min_investment = self.min_investment_amount;
        opportunity.max_investment = self.max_investment_amount;
        // "Leave blank if there is no increment": zero means the same.
        opportunity.increment = self.investment_increment_amount.filter(|i| !i.is_zero());
        opportunity.unit_price = unit_price;
        opportunity.status = self
            .escrow_status
            .clone()
            .unwrap_or_else(|| "accepting_investments".to_string());
        opportunity.listed_at = parse_time(self.opened_at.as_deref())
            .or_else(|| parse_time(self.created_at.as_deref()));
        opportunity.extra = self.extra();
        Ok(opportunity)
    }

    /// Rejects numbers no real offering has: sizing an order from them would be a guess.
    fn check(&self) -> Result<(), String> {
        let amounts = [
            ("amount", self.amount),
            ("max_amount", self.max_amount),
            ("min_amount", self.min_amount),
            ("min_investment_amount", self.min_investment_amount),
            ("max_investment_amount", self.max_investment_amount),
            (
                "investment_increment_amount",
                self.investment_increment_amount,
            ),
        ];
        for (field, value) in amounts {
            if let Some(value) = value {
                money::check_sane(value).map_err(|error| format!("{field}: {error}"))?;
            }
        }
        if let (Some(min), Some(max)) = (self.min_investment_amount, self.max_investment_amount) {
            if min > max {
                return Err(format!(
                    "min_investment_amount {min} exceeds max_investment_amount {max}"
                ));
            }
        }
        Ok(())
    }

    /// Platform-specific fields scripts can read as `o.extra`. Amounts stay the
    /// platform's decimal strings.
    fn extra(&self) -> BTreeMap<String, serde_json::Value> {
        let text = |value: &Option<String>| value.clone().map(serde_json::Value::from);
        let amount = |value: Option<Decimal>| value.map(|d| serde_json::Value::from(d.to_string()));
        let flag = |value: Option<bool>| value.map(serde_json::Value::from);
        let entries = [
            ("type", text(&self.offering_type)),
            ("escrow_status", text(&self.escrow_status)),
            ("regulatory_exemption", text(&self.regulatory_exemption)),
            ("escrow_closes_at", text(&self.escrow_closes_at)),
            ("max_amount", amount(self.max_amount)),
            ("min_amount", amount(self.min_amount)),
            ("funds_in_escrow", amount(self.funds_in_escrow)),
            ("funds_invested", amount(self.funds_invested)),
            ("funds_received", amount(self.funds_received)),
            ("minimum_met", flag(self.minimum_met)),
            ("accredited_investors", flag(self.accredited_investors)),
            (
                "non_accredited_investors",
                flag(self.non_accredited_investors),
            ),
            ("us_investors", flag(self.us_investors)),
            ("non_us_investors", flag(self.non_us_investors)),
            (
                "use_broker_dealer_service",
                flag(self.use_broker_dealer_service),
            ),
            (
                "funds_transfer_methods",
                self.funds_transfer_methods
                    .clone()
                    .map(serde_json::Value::from),
            ),
        ];
        entries
            .into_iter()
            .filter_map(|(key, value)| value.map(|value| (key.to_string(), value)))
            .collect()
    }
}

fn check_share_price(price: Option<Decimal>) -> Result<Decimal, String> {
    let price = price.ok_or("equity offering without a share price")?;
    if price <= Decimal::ZERO {
        return Err(format!("share price {price} is not positive"));
    }
    if money::floor_cents(price) != price {
        return Err(format!("share price {price} has fractions of a cent"));
    }
    money::check_sane(price).map_err(|error| format!("share price: {error}"))
}

/// An RFC 3339 time, or nothing.
fn parse_time(text: Option<&str>) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text?)
        .ok()
        .map(|time| time.with_timezone(&Utc))
}

/// The investment object (`POST /api/investments` answer, `GET /api/investments/:id`,
/// the entries of `GET /api/offerings/:id/investments`).
#[derive(Debug, Deserialize)]
pub struct Investment {
    pub id: String,
    #[serde(default)]
    pub object: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub offering_url: Option<String>,
    #[serde(with = "rust_decimal::serde::arbitrary_precision")]
    pub amount: Decimal,
    #[serde(default, with = "rust_decimal::serde::arbitrary_precision_option")]
    pub amount_in_escrow: Option<Decimal>,
    #[serde(default, with = "rust_decimal::serde::arbitrary_precision_option")]
    pub amount_received: Option<Decimal>,
    #[serde(default, with = "rust_decimal::serde::arbitrary_precision_option")]
    pub amount_refunded: Option<Decimal>,
    #[serde(default, with = "rust_decimal::serde::arbitrary_precision_option")]
    pub equity_share_count: Option<Decimal>,
    #[serde(default, with = "rust_decimal::serde::arbitrary_precision_option")]
    pub equity_share_price: Option<Decimal>,
    #[serde(default)]
    pub investor_url: Option<String>,
    #[serde(default)]
    pub entity_url: Option<String>,
    #[serde(default)]
    pub payment_method: Option<String>,
    /// not_received, received, cancelled, voided, refunded, invested.
    pub status: String,
    #[serde(default)]
    pub cleared: Option<bool>,
    #[serde(default)]
    pub trade_review_status: Option<String>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub updated_at: Option<String>,
}

impl Investment {
    /// The offering's id, from `offering_url`.
    pub fn offering_id(&self) -> Option<String> {
        self.offering_url.as_deref().and_then(last_segment)
    }

    /// The investor's id, from `investor_url`.
    pub fn investor_id(&self) -> Option<String> {
        self.investor_url.as_deref().and_then(last_segment)
    }

    /// What the platform says was invested. `offering_id` stands in when the answer
    /// does not name its offering (it was asked about that offering).
    pub fn to_platform_order(&self, offering_id: &str) -> Result<PlatformOrder, String> {
        let amount = money::check_sane(self.amount)
            .map_err(|error| format!("investment {}: amount: {error}", self.id))?;
        if self.id.trim().is_empty() {
            return Err("investment without an id".to_string());
        }
        Ok(PlatformOrder {
            order_id: self.id.clone(),
            opportunity_id: self
                .offering_id()
                .unwrap_or_else(|| offering_id.to_string()),
            amount,
            status: self.status.clone(),
        })
    }
}

/// The six documented investment statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InvestmentStatus {
    /// Funds not received and accepted yet.
    NotReceived,
    /// Funds received and accepted by customer service.
    Received,
    /// Cancelled: becomes voided (no funds yet) or refunded.
    Cancelled,
    /// Cancelled before funds were received.
    Voided,
    /// Cancelled after funds were received, and refunded.
    Refunded,
    /// The offering closed: the investment is done and cannot be cancelled.
    Invested,
}

impl InvestmentStatus {
    pub const ALL: [InvestmentStatus; 6] = [
        InvestmentStatus::NotReceived,
        InvestmentStatus::Received,
        InvestmentStatus::Cancelled,
        InvestmentStatus::Voided,
        InvestmentStatus::Refunded,
        InvestmentStatus::Invested,
    ];

    /// The platform's word; `None` for a word the seed does not document.
    pub fn parse(word: &str) -> Option<InvestmentStatus> {
        InvestmentStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == word)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            InvestmentStatus::NotReceived => "not_received",
            InvestmentStatus::Received => "received",
            InvestmentStatus::Cancelled => "cancelled",
            InvestmentStatus::Voided => "voided",
            InvestmentStatus::Refunded => "refunded",
            InvestmentStatus::Invested => "invested",
        }
    }

    /// No further change will happen.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            InvestmentStatus::Voided | InvestmentStatus::Refunded | InvestmentStatus::Invested
        )
    }

    /// The investment will not go through (or did not).
    pub fn is_cancelled(self) -> bool {
        matches!(
            self,
            InvestmentStatus::Cancelled | InvestmentStatus::Voided | InvestmentStatus::Refunded
        )
    }
}

/// How the investor pays (the account's `payment_method`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentMethod {
    /// ACH needs the id of an ACH authorization the investor signed.
    Ach {
        authorization_id: String,
    },
    Check,
    Wire,
}

impl PaymentMethod {
    /// From the config's `payment_method` and `ach_authorization_id`.
    pub fn from_config(
        method: &str,
        ach_authorization_id: Option<&str>,
    ) -> Result<PaymentMethod, String> {
        match (method, ach_authorization_id) {
            ("ach", Some(id)) if !id.trim().is_empty() => Ok(PaymentMethod::Ach {
                authorization_id: id.to_string(),
            }),
            ("ach", _) => Err("payment_method \"ach\" needs an ach_authorization_id".into()),
            ("check", _) => Ok(PaymentMethod::Check),
            ("wire", _) => Ok(PaymentMethod::Wire),
            (other, _) => Err(format!(
                "payment_method {other:?} is not one of ach, check, wire"
            )),
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            PaymentMethod::Ach { .. } => "ach",
            PaymentMethod::Check => "check",
            PaymentMethod::Wire => "wire",
        }
    }
}

/// The form fields of `POST /api/investments` for an intent, in a fixed order:
/// `amount`, `offering_id`, `investor_id`, `payment_method`, then
/// `ach_authorization_id` (ACH only) and `equity_share_count` (when the intent buys
/// shares). Refuses an amount that is not a positive number of whole cents, so what
/// is sent is exactly the sized amount.
pub fn investment_form(
    intent: &OrderIntent,
    investor_id: &str,
    payment: &PaymentMethod,
) -> Result<Vec<(String, String)>, String> {
    let cents = money::to_cents(intent.amount).map_err(|error| error.to_string())?;
    if cents <= 0 {
        return Err(format!("amount {} is not positive", intent.amount));
    }
    if intent.shares == Some(0) {
        return Err("a share count of 0".to_string());
    }
    let mut fields = vec![
        ("amount", money::format_2dp(intent.amount)),
        ("offering_id", intent.opportunity_id.clone()),
        ("investor_id", investor_id.to_string()),
        ("payment_method", payment.as_str().to_string()),
    ];
    if let PaymentMethod::Ach { authorization_id } = payment {
        fields.push(("ach_authorization_id", authorization_id.clone()));
    }
    if let Some(shares) = intent.shares {
        fields.push(("equity_share_count", shares.to_string()));
    }
    Ok(fields
        .into_iter()
        .map(|(name, value)| (name.to_string(), value))
        .collect())
}

/// A 422 body: `{object: {field: [messages]}}` (errors not tied to a field are under
/// `base`).
pub type ValidationErrors = BTreeMap<String, BTreeMap<String, Vec<String>>>;

/// "investment.amount: must be at least 1000.0; investment.base: …" from a 422 body,
/// or `None` when the text is not that shape.
pub fn describe_validation_errors(body: &str) -> Option<String> {
    let errors: ValidationErrors = serde_json::from_str(body).ok()?;
    let parts: Vec<String> = errors
        .iter()
        .flat_map(|(object, fields)| {
            fields.iter().flat_map(move |(field, messages)| {
                messages
                    .iter()
                    .map(move |message| format!("{object}.{field}: {message}"))
            })
        })
        .collect();
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// The `data` parameter of a webhook POST.
#[derive(Debug, Clone, Deserialize)]
pub struct WebhookMessage {
    /// The kind of object that changed ("investment", "offering", …).
    pub object: String,
    pub id: String,
    #[serde(default)]
    pub url: Option<String>,
    pub webhook_id: String,
    /// MD5 hex of `webhook_id` + the verification key.
    pub signature: String,
    /// "create" or "update".
    #[serde(default)]
    pub action: Option<String>,
    #[serde(default)]
    pub changes: Vec<String>,
}

/// The last non-empty path segment of an absolute URL (an object's id).
pub fn last_segment(url: &str) -> Option<String> {
    let url = Url::parse(url).ok()?;
    url.path_segments()?
        .rev()
        .find(|segment| !segment.is_empty())
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn ids_are_the_last_path_segment() {
        assert_eq!(
            last_segment("https://apps.fundamerica.com/api/offerings/CXamBIvwRneFrQnh1CjFuw"),
            Some("CXamBIvwRneFrQnh1CjFuw".to_string())
        );
        assert_eq!(
            last_segment("http://127.0.0.1:1/fundamerica/api/investors/a-b_c/"),
            Some("a-b_c".to_string())
        );
        assert_eq!(last_segment("not a url"), None);
    }

    #[test]
    fn amounts_may_be_strings_or_numbers() {
        let parse = |amount: &str| {
            serde_json::from_str::<Investment>(&format!(
                r#"{{"id":"i","amount":{amount},"status":"not_received"}}"#
            ))
        };
        assert_eq!(parse(r#""50000.0""#).unwrap().amount, dec!(50000.0));
        assert_eq!(parse("1000.10").unwrap().amount, dec!(1000.10));
        assert_eq!(parse("7").unwrap().amount, dec!(7));
        assert_eq!(
            parse("0.30000000000000004").unwrap().amount,
            dec!(0.30000000000000004)
        );
        assert!(parse(r#""lots""#).is_err());
        assert!(parse("null").is_err());
    }

    #[test]
    fn statuses_round_trip_and_classify() {
        for status in InvestmentStatus::ALL {
            assert_eq!(InvestmentStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(InvestmentStatus::parse("pending"), None);
        let finals: Vec<_> = InvestmentStatus::ALL
            .into_iter()
            .filter(|s| s.is_final())
            .map(InvestmentStatus::as_str)
            .collect();
        assert_eq!(finals, ["voided", "refunded", "invested"]);
        let cancelled: Vec<_> = InvestmentStatus::ALL
            .into_iter()
            .filter(|s| s.is_cancelled())
            .map(InvestmentStatus::as_str)
            .collect();
        assert_eq!(cancelled, ["cancelled", "voided", "refunded"]);
    }

    #[test]
    fn payment_methods_from_config() {
        assert_eq!(
            PaymentMethod::from_config("ach", Some("c1iN")),
            Ok(PaymentMethod::Ach {
                authorization_id: "c1iN".into()
            })
        );
        assert!(PaymentMethod::from_config("ach", None).is_err());
        assert!(PaymentMethod::from_config("ach", Some(" ")).is_err());
        assert_eq!(
            PaymentMethod::from_config("wire", Some("ignored")),
            Ok(PaymentMethod::Wire)
        );
        assert_eq!(
            PaymentMethod::from_config("check", None),
            Ok(PaymentMethod::Check)
        );
        assert!(PaymentMethod::from_config("paypal", None).is_err());
    }

    #[test]
    fn validation_errors_are_described_field_by_field() {
        let body = r#"{"offering":{"name":["is already in use"]},"entity":{}}"#;
        assert_eq!(
            describe_validation_errors(body).as_deref(),
            Some("offering.name: is already in use")
        );
        let two = r#"{"investment":{"amount":["a","b"],"base":["c"]}}"#;
        assert_eq!(
            describe_validation_errors(two).as_deref(),
            Some("investment.amount: a; investment.amount: b; investment.base: c")
        );
        assert_eq!(
            describe_validation_errors(r#"{"status_message":"x"}"#),
            None
        );
        assert_eq!(describe_validation_errors("{}"), None);
    }
}
