//! The Funding Circle emulator's JSON: listing summaries and details (DESIGN.md's
//! assumed shape), the seed document's order object, HAL pages, and error bodies.
//! Everything the emulator prints goes through these types, so a correction to an
//! assumed shape is made here once.

use crate::sandbox::listings::ListingType;
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::{json, Value};

/// One entry of `GET /api/v2/listings`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct ListingSummary {
    pub id: String,
    pub status: &'static str,
    #[serde(rename = "type")]
    pub listing_type: ListingType,
    pub preview_date: String,
    pub live_date: String,
    pub expiry_date: String,
}

/// `GET /api/v2/listings/{id}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct ListingDetails {
    pub id: String,
    pub status: &'static str,
    #[serde(rename = "type")]
    pub listing_type: ListingType,
    pub loan_amount_cents: i64,
    pub amount_remaining_cents: i64,
    /// A JSON number with 4 decimal places (e.g. 0.0899), printed from the exact decimal.
    #[serde(with = "rust_decimal::serde::arbitrary_precision")]
    pub interest_rate: Decimal,
    pub term_months: u32,
    pub risk_band: &'static str,
    pub purpose: &'static str,
    pub industry: &'static str,
    pub years_in_business: u32,
    pub state: &'static str,
    pub min_order_cents: i64,
    pub max_order_cents: i64,
    pub live_date: String,
    pub expiry_date: String,
}

/// The order object of the seed document, key for key (`POST /api/v2/orders` answers
/// one; `GET /api/v2/orders` pages them).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Order {
    pub transaction_id: u64,
    pub purchased_amount_cents: i64,
    pub cashback_rate: u32,
    pub fund_managed: bool,
    pub updated_at: String,
    #[serde(with = "rust_decimal::serde::arbitrary_precision")]
    pub interest_rate: Decimal,
    pub status: &'static str,
    pub id: String,
    pub truncated: bool,
    pub listing_id: String,
    pub investor_postfunded: bool,
    pub investor_id: String,
    pub investor_servicer_code: &'static str,
    pub accrued_interest_cents: i64,
    pub original_purchase_amount_cents: i64,
    pub created_at: String,
    pub payment_due_at: Option<String>,
}

/// `POST /api/v2/login`'s answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Session {
    pub token: String,
    pub expires_in: u64,
}

/// What the admin ledger reports for Funding Circle.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Ledger {
    /// Every order executed, including those whose response was dropped or mangled.
    pub orders: Vec<Order>,
    /// Order POSTs received (whatever their fate).
    pub posts: u64,
    /// Order POSTs refused with a 4xx other than 429 (validation, unknown listing, auth).
    pub rejected: u64,
    /// Order POSTs answered 429 (by the rate limit or an injected fault).
    pub rate_limited: u64,
    /// Arrival of each order POST, in milliseconds since the sandbox started.
    pub post_times_ms: Vec<u64>,
}

/// What `GET /__sandbox/stats` reports for Funding Circle: the ledger's counters
/// without its lists (a soak asks every few seconds, for hours).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Stats {
    /// Order POSTs received (whatever their fate).
    pub posts: u64,
    /// Order POSTs refused with a 4xx other than 429.
    pub rejected: u64,
    /// Order POSTs answered 429 (by the rate limit or an injected fault).
    pub rate_limited: u64,
    /// The most order POSTs that arrived within any one second (limit: 40).
    pub max_posts_in_any_second: usize,
    /// Orders executed.
    pub orders: usize,
    /// Listings released so far (live, funded or expired).
    pub listings_released: usize,
}

/// A page of a HAL collection, as `GET /api/v2/listings` and `/orders` answer.
pub(crate) struct HalPage<T> {
    pub size: usize,
    pub offset: usize,
    pub total_count: usize,
    /// Name of the collection under `_embedded` ("listings", "orders").
    pub embedded_key: &'static str,
    pub items: Vec<T>,
    pub self_href: String,
    /// Present only when more items follow.
    pub next_href: Option<String>,
}

impl<T: Serialize> HalPage<T> {
    pub(crate) fn to_json(&self) -> Value {
        let mut links = json!({"self": {"href": self.self_href}});
        if let Some(next) = &self.next_href {
            links["next"] = json!({"href": next});
        }
        json!({
            "size": self.size,
            "offset": self.offset,
            "total_count": self.total_count,
            "_embedded": {self.embedded_key: self.items},
            "_links": links,
        })
    }
}

/// An error body. It carries both shapes a client may look for: `error` (a message, as
/// login failures are usually reported) and `errors` (a list of code and message, as
/// order refusals are).
pub(crate) fn error_body(code: &str, message: &str) -> Value {
    json!({
        "error": message,
        "errors": [{"code": code, "message": message}],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn rates_print_as_exact_json_numbers() {
        let details = ListingDetails {
            id: "x".into(),
            status: "live",
            listing_type: ListingType::Fractional,
            loan_amount_cents: 5_000_000,
            amount_remaining_cents: 1_250_000,
            interest_rate: Decimal::new(899, 4),
            term_months: 36,
            risk_band: "A+",
            purpose: "Working capital",
            industry: "Construction",
            years_in_business: 7,
            state: "CA",
            min_order_cents: 2500,
            max_order_cents: 2_500_000,
            live_date: "2026-11-20T21:00:00Z".into(),
            expiry_date: "2026-11-27T21:00:00Z".into(),
        };
        let text = serde_json::to_string(&details).unwrap();
        assert!(text.contains(r#""interest_rate":0.0899,"#), "{text}");
        assert!(text.contains(r#""type":"fractional""#), "{text}");
        assert_eq!(Decimal::new(500, 4), dec!(0.0500));
    }

    #[test]
    fn next_link_only_when_given() {
        let page = HalPage::<u8> {
            size: 2,
            offset: 0,
            total_count: 2,
            embedded_key: "orders",
            items: vec![1, 2],
            self_href: "s".into(),
            next_href: None,
        };
        let json = page.to_json();
        assert_eq!(json["_embedded"]["orders"], json!([1, 2]));
        assert!(json["_links"].get("next").is_none());
    }
}
