//! The FundAmerica emulator's JSON: the seed document's offering, investment and
//! security objects key for key, `resource_list` pages, webhook log entries, and the
//! ledger the admin API shows. Everything the emulator prints goes through here.
//!
//! Money is printed the way the platform prints it: a decimal string with at least
//! one fractional digit (`"5000000.0"`, `"1234.5"`), from integer cents.

use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::{json, Value};

/// Cents as FundAmerica prints money: `"5000000.0"`, `"1234.5"`, `"0.01"`.
pub(crate) fn amount(cents: i64) -> String {
    let value = Decimal::new(cents, 2).normalize();
    if value.scale() == 0 {
        format!("{value}.0")
    } else {
        value.to_string()
    }
}

fn optional_amount(cents: Option<i64>) -> Value {
    cents.map_or(Value::Null, |cents| amount(cents).into())
}

/// The bank details the seed prints on offerings and investments.
fn wire_details() -> Value {
    json!({
        "account_number": "200000147849",
        "bank_address": "1 Bank Road\nLas Vegas, NV 89102",
        "bank_name": "Common Bank",
        "bank_phone": "(702) 555-1234",
        "beneficiary_address": "3455 Peachtree Road, NE\n5th Floor\nAtlanta, GA 30326",
        "beneficiary_name": "FundAmerica Securities, LLC",
        "routing_number": "123456789",
        "swift_code": null
    })
}

const CHECK_MAILING_ADDRESS: &str =
    "FundAmerica Securities\n3455 Peachtree Road, NE\n5th Floor\nAtlanta, GA 30326";
const CHECK_MAILING_INSTRUCTIONS: &str = "Please make checks payable to \"FundAmerica Securities\" and include a note with your name, phone number and email address in case we have any questions.";

/// What the offering object shows of one offering at one moment.
#[derive(Debug, Clone)]
pub(crate) struct OfferingView {
    pub id: String,
    pub name: String,
    pub offering_type: &'static str,
    pub accept_investments: bool,
    pub escrow_status: &'static str,
    pub amount_cents: i64,
    pub max_amount_cents: i64,
    pub min_amount_cents: i64,
    pub min_investment_cents: Option<i64>,
    pub max_investment_cents: Option<i64>,
    pub increment_cents: Option<i64>,
    pub funds_received_cents: i64,
    pub minimum_met: bool,
    pub regulatory_exemption: &'static str,
    pub security: Option<SecurityView>,
    pub entity_id: String,
    pub created_at: String,
    pub opened_at: Option<String>,
    pub closed_at: Option<String>,
    pub escrow_closes_at: String,
}

/// An equity offering's security (where its share price lives).
#[derive(Debug, Clone)]
pub(crate) struct SecurityView {
    pub id: String,
    pub offering_id: String,
    pub name: String,
    pub share_price_cents: i64,
    pub entity_id: String,
    pub created_at: String,
}

impl SecurityView {
    pub(crate) fn to_json(&self, base: &str) -> Value {
        json!({
            "object": "security",
            "id": self.id,
            "url": format!("{base}/api/securities/{}", self.id),
            "created_at": self.created_at,
            "debt_interest_rate": null,
            "debt_maturity_date": null,
            "description": null,
            "entity_url": format!("{base}/api/entities/{}", self.entity_id),
            "equity_share_price": amount(self.share_price_cents),
            "issuer_name": self.name,
            "legends": null,
            "name": format!("{} Common Shares", self.name),
            "offering_url": format!("{base}/api/offerings/{}", self.offering_id),
            "type": "equity",
            "updated_at": self.created_at,
        })
    }
}

impl OfferingView {
    /// The seed's offering object; with `expand_security`, the security inline too.
    pub(crate) fn to_json(&self, base: &str, expand_security: bool) -> Value {
        // In parts: one `json!` this long exceeds the macro recursion limit.
        let mut offering = merged([
            json!({
                "object": "offering",
                "id": self.id,
                "url": format!("{base}/api/offerings/{}", self.id),
                "accept_investments": self.accept_investments,
                "accredited_investors": true,
                "ach_deposit_amount": "0.0",
                "ach_deposit_max_percent": "6.0",
                "ach_deposit_release_at": null,
                "ach_limit": "1000000.0",
                "amount": amount(self.amount_cents),
                "can_disburse": false,
                "check_mailing_address": CHECK_MAILING_ADDRESS,
                "check_mailing_instructions": CHECK_MAILING_INSTRUCTIONS,
                "closed_at": self.closed_at,
                "created_at": self.created_at,
                "description": null,
                "entity_url": format!("{base}/api/entities/{}", self.entity_id),
                "escrow_closes_at": self.escrow_closes_at,
                "escrow_status": self.escrow_status,
                "escrow_term_days": 365,
                "funds_disbursable": "0.0",
            }),
            json!({
                "funds_in_escrow": amount(self.funds_received_cents),
                "funds_invested": "0.0",
                "funds_received": amount(self.funds_received_cents),
                "funds_refunded": "0.0",
                "funds_transfer_methods": ["ach", "check", "wire"],
                "funds_unavailable": "0.0",
                "investment_increment_amount": optional_amount(self.increment_cents),
                "max_amount": amount(self.max_amount_cents),
                "max_investment_amount": optional_amount(self.max_investment_cents),
                "min_amount": amount(self.min_amount_cents),
                "min_investment_amount": optional_amount(self.min_investment_cents),
                "minimum_met": self.minimum_met,
                "name": self.name,
                "non_accredited_investors": false,
                "non_us_investors": false,
                "opened_at": self.opened_at,
                "payment_reference": format!("<INVESTOR NAME> - {}", self.name),
                "regulatory_exemption": self.regulatory_exemption,
                "regulatory_exemption_details": null,
                "security_url": self
                    .security
                    .as_ref()
                    .map(|s| format!("{base}/api/securities/{}", s.id)),
                "type": self.offering_type,
                "updated_at": self.created_at,
                "us_investors": true,
                "us_states_only": null,
                "use_broker_dealer_service": false,
                "wire_details": wire_details(),
            }),
        ]);
        if let (true, Some(security), Some(object)) = (
            expand_security,
            self.security.as_ref(),
            offering.as_object_mut(),
        ) {
            object.insert("security".to_string(), security.to_json(base));
        }
        offering
    }
}

/// One investment, as the emulator keeps it.
#[derive(Debug, Clone)]
pub(crate) struct InvestmentRecord {
    pub id: String,
    pub offering_id: String,
    pub offering_name: String,
    pub investor_id: String,
    pub amount_cents: i64,
    pub share_count: Option<u64>,
    pub share_price_cents: Option<i64>,
    pub payment_method: String,
    pub status: &'static str,
    pub created_at: String,
    pub updated_at: String,
}

impl InvestmentRecord {
    /// Money received for it (customer service marked it received, or later).
    fn received_cents(&self) -> i64 {
        match self.status {
            "received" | "invested" | "cancelled" | "refunded" => self.amount_cents,
            _ => 0,
        }
    }

    /// The seed's investment object, key for key.
    pub(crate) fn to_json(&self, base: &str) -> Value {
        let in_escrow = match self.status {
            "received" | "invested" => self.amount_cents,
            _ => 0,
        };
        let refunded = if self.status == "refunded" {
            self.amount_cents
        } else {
            0
        };
        merged([
            json!({
                "object": "investment",
                "id": self.id,
                "url": format!("{base}/api/investments/{}", self.id),
                "offering_url": format!("{base}/api/offerings/{}", self.offering_id),
                "amount": amount(self.amount_cents),
                "amount_in_escrow": amount(in_escrow),
                "amount_received": amount(self.received_cents()),
                "amount_refunded": amount(refunded),
                "aml_exception": false,
                "background_check_url": null,
                "brokerage_fee": "0.0",
                "check_mailing_address": CHECK_MAILING_ADDRESS,
                "check_mailing_instructions": CHECK_MAILING_INSTRUCTIONS,
                "cleared": false,
                "clearing_failures": [],
                "created_at": self.created_at,
                "data": {},
            }),
            json!({
                "debt_face_value": if self.share_count.is_none() { Value::from(amount(self.amount_cents)) } else { Value::Null },
                "debt_par_value": if self.share_count.is_none() { Value::from(amount(self.amount_cents)) } else { Value::Null },
                "entity_url": format!("{base}/api/entities/{}", self.investor_id),
                "equity_share_count": self.share_count.map(|count| format!("{count}.0")),
                "equity_share_price": optional_amount(self.share_price_cents),
                "financial_adviser_name": null,
                "funds_disbursable": 0,
                "investor_url": format!("{base}/api/investors/{}", self.investor_id),
                "payment_method": self.payment_method,
                "payment_reference": format!("Sandbox Investor - {}", self.offering_name),
                "review_trade": false,
                "status": self.status,
                "subscription_agreement_url": null,
                "technology_fee": "0.0",
                "trade_review_status": null,
                "trade_review_url": null,
                "updated_at": self.updated_at,
                "wire_details": wire_details(),
            }),
        ])
    }

    /// The compact form the admin ledger lists.
    pub(crate) fn to_ledger(&self) -> LedgerInvestment {
        LedgerInvestment {
            id: self.id.clone(),
            offering_id: self.offering_id.clone(),
            investor_id: self.investor_id.clone(),
            amount: amount(self.amount_cents),
            equity_share_count: self.share_count,
            payment_method: self.payment_method.clone(),
            status: self.status,
            created_at: self.created_at.clone(),
        }
    }
}

/// A webhook the platform would have sent (`GET /api/webhook_logs`): `data` is
/// exactly the JSON text of the message.
#[derive(Debug, Clone)]
pub(crate) struct WebhookLog {
    pub id: String,
    pub data: String,
    pub created_at: String,
}

impl WebhookLog {
    pub(crate) fn to_json(&self, base: &str) -> Value {
        json!({
            "object": "webhook_log",
            "id": self.id,
            "url": format!("{base}/api/webhook_logs/{}", self.id),
            "created_at": self.created_at,
            "data": self.data,
        })
    }
}

/// The keys of JSON objects, in order, as one object.
fn merged<const N: usize>(parts: [Value; N]) -> Value {
    let mut object = serde_json::Map::new();
    for part in parts {
        if let Value::Object(entries) = part {
            object.extend(entries);
        }
    }
    Value::Object(object)
}

/// A `resource_list` page of already rendered resources.
pub(crate) fn resource_list(all: Vec<Value>, page: usize, per: usize) -> Value {
    let total = all.len();
    let start = page.saturating_sub(1).saturating_mul(per);
    let resources: Vec<Value> = all.into_iter().skip(start).take(per).collect();
    let shown_up_to = start.saturating_add(resources.len());
    json!({
        "object": "resource_list",
        "total_resources": total,
        "more": shown_up_to < total,
        "page": page,
        "per": per,
        "resources": resources,
    })
}

/// One investment in the admin ledger.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct LedgerInvestment {
    pub id: String,
    pub offering_id: String,
    pub investor_id: String,
    pub amount: String,
    pub equity_share_count: Option<u64>,
    pub payment_method: String,
    pub status: &'static str,
    pub created_at: String,
}

/// What the emulator executed and saw, as `GET /__sandbox/ledger` shows it under
/// `"fundamerica"`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Ledger {
    /// Every investment created, oldest first.
    pub investments: Vec<LedgerInvestment>,
    /// Investment POSTs that arrived (before faults).
    pub posts: u64,
    /// POSTs answered 4xx (validation, 403, 404; not 429).
    pub rejected: u64,
    /// POSTs answered 429 (injected faults).
    pub rate_limited: u64,
    /// Arrival of each POST, in milliseconds since the sandbox started.
    pub post_times_ms: Vec<u64>,
    /// Investments cancelled with DELETE.
    pub cancellations: u64,
    /// Webhook messages logged.
    pub webhooks: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_prints_like_the_platform() {
        assert_eq!(amount(500_000_000), "5000000.0");
        assert_eq!(amount(123_450), "1234.5");
        assert_eq!(amount(1), "0.01");
        assert_eq!(amount(0), "0.0");
    }

    #[test]
    fn pages_say_whether_there_is_more() {
        let all: Vec<Value> = (0..5).map(Value::from).collect();
        let first = resource_list(all.clone(), 1, 2);
        assert_eq!(first["resources"], json!([0, 1]));
        assert_eq!(first["more"], true);
        assert_eq!(first["total_resources"], 5);
        let last = resource_list(all.clone(), 3, 2);
        assert_eq!(last["resources"], json!([4]));
        assert_eq!(last["more"], false);
        let beyond = resource_list(all, 9, 2);
        assert_eq!(beyond["resources"], json!([]));
        assert_eq!(beyond["more"], false);
    }
}
