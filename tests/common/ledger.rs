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

/// The invariants every single-strategy, slot-"once" crash test checks after its
/// restart: every intent is final; a platform holds at most one order per opportunity;
/// a placed intent's order exists, for its opportunity and for the amount it asked for
/// and recorded;
/// an intent marked rejected or not placed has no order; and no order exists that no
/// intent accounts for.
pub fn assert_one_order_per_placed_intent(intents: &[Value], orders: &[LedgerOrder]) {
    let mut per_opportunity: std::collections::HashMap<&str, usize> = Default::default();
    for order in orders {
        *per_opportunity.entry(&order.opportunity_id).or_default() += 1;
    }
    let doubles: Vec<_> = per_opportunity.iter().filter(|(_, n)| **n > 1).collect();
    assert!(doubles.is_empty(), "double orders: {doubles:?}");
    for intent in intents {
        let state = intent["state"]["state"].as_str().unwrap_or_default();
        assert!(
            ["placed", "rejected", "not_placed"].contains(&state),
            "intent left unresolved after restart: {intent}"
        );
        let opportunity = text(&intent["opportunity_id"]);
        let on_platform = per_opportunity.get(opportunity.as_str()).copied();
        if state == "placed" {
            let order_id = text(&intent["state"]["order_id"]);
            let order = orders
                .iter()
                .find(|o| o.order_id == order_id)
                .unwrap_or_else(|| panic!("placed intent without its order: {intent}"));
            assert_eq!(order.opportunity_id, opportunity, "{intent}");
            assert_eq!(
                order.amount,
                decimal(&intent["state"]["amount"]),
                "{intent}"
            );
            assert_eq!(order.amount, decimal(&intent["amount"]), "{intent}");
        } else {
            assert_eq!(
                on_platform, None,
                "an order exists for an intent marked {state}: {intent}"
            );
        }
    }
    let placed = intents
        .iter()
        .filter(|i| i["state"]["state"] == "placed")
        .count();
    assert_eq!(
        orders.len(),
        placed,
        "orders on the platform that no intent accounts for"
    );
}
