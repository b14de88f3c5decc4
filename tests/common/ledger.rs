//! The sandbox ledger of every platform read as one kind of record, so a crash test can
//! match what the platforms executed against the daemon's intents without knowing each
//! emulator's JSON shape.

use rust_decimal::Decimal;
use serde_json::Value;

/// One order or investment a platform emulator executed.
#[derive(Debug, Clone, PartialEq)]
pub struct LedgerOrder {
    /// The platform's id for it (what a placed intent records as `order_id`).
    pub order_id: String,
    /// The listing or offering it is for (an intent's `opportunity_id`).
    pub opportunity_id: String,
    pub amount: Decimal,
    /// The client's reference sent with it, where the platform keeps one (Fundrise's
    /// `partnerReferenceId`).
    pub reference: Option<String>,
}

/// The platform kinds, as the ledger (and a config's `kind`) names them.
pub const KINDS: [&str; 4] = ["fundingcircle", "fundrise", "fundamerica", "issuer_portal"];

/// The orders in `kind`'s part of the whole ledger (`GET /__sandbox/ledger`).
pub fn orders(ledger: &Value, kind: &str) -> Vec<LedgerOrder> {
    let part = &ledger[kind];
    let records = |field: &str| part[field].as_array().cloned().unwrap_or_default();
    match kind {
        "fundingcircle" => records("orders").iter().map(fundingcircle).collect(),
        "fundrise" => records("investments").iter().map(fundrise).collect(),
        "fundamerica" => records("investments").iter().map(fundamerica).collect(),
        "issuer_portal" => records("investments").iter().map(issuer_portal).collect(),
        other => panic!("no ledger reader for platform kind {other}"),
    }
}

/// Order POSTs `kind` received (executed, refused or faulted alike).
pub fn posts(ledger: &Value, kind: &str) -> u64 {
    ledger[kind]["posts"].as_u64().unwrap_or(0)
}

fn fundingcircle(order: &Value) -> LedgerOrder {
    let cents = order["purchased_amount_cents"]
        .as_i64()
        .unwrap_or_else(|| panic!("no purchased_amount_cents: {order}"));
    LedgerOrder {
        order_id: text(&order["id"]),
        opportunity_id: text(&order["listing_id"]),
        amount: Decimal::new(cents, 2),
        reference: None,
    }
}

fn fundrise(investment: &Value) -> LedgerOrder {
    LedgerOrder {
        order_id: text(&investment["transaction_id"]),
        opportunity_id: text(&investment["offering_id"]),
        amount: decimal(&investment["amount"]),
        reference: Some(text(&investment["partner_reference_id"])),
    }
}

fn fundamerica(investment: &Value) -> LedgerOrder {
    LedgerOrder {
        order_id: text(&investment["id"]),
        opportunity_id: text(&investment["offering_id"]),
        amount: decimal(&investment["amount"]),
        reference: None,
    }
}

fn issuer_portal(investment: &Value) -> LedgerOrder {
    LedgerOrder {
        order_id: text(&investment["id"]),
        opportunity_id: text(&investment["offering"]["id"]),
        amount: decimal(&investment["amount"]),
        reference: None,
    }
}

/// A JSON string's text, or a number's digits (ids are either, depending on the platform).
pub fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        other => panic!("not an id: {other}"),
    }
}

/// A decimal written as a JSON string or number.
pub fn decimal(value: &Value) -> Decimal {
    text(value)
        .parse()
        .unwrap_or_else(|_| panic!("not a decimal: {value}"))
}
