//! The issuer-portal emulator's JSON, with the seed documents' field names: the
//! offering object of the issuer API, the investment objects of the third-party API
//! (the `POST` answer, where `offering` is an id, and the list entry, where it is an
//! object), the login answer, DRF pages and the admin ledger.
//!
//! Money is printed as 2-decimal strings from integer cents, as DRF renders
//! `DecimalField`s. Only a subset of the seed's many keys is printed: every key the
//! client reads, and the ones a human looking at the sandbox would expect.

use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::{json, Value};

/// Dollars from cents: `1275` → `"12.75"`.
pub(crate) fn dollars(cents: i64) -> String {
    Decimal::new(cents, 2).to_string()
}

/// An offering (`GET /api/offerings/`, `GET /api/offerings/{id}/`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Offering {
    pub id: u64,
    pub issuer: u64,
    pub name: String,
    #[serde(rename = "type")]
    pub offering_type: &'static str,
    pub status: &'static str,
    pub description: String,
    pub security_type: &'static str,
    pub share_or_unit: &'static str,
    pub dollar_amount_investment: bool,
    pub unit_price: String,
    pub administrative_fees: String,
    pub administrative_fees_paid_by_investor: bool,
    pub number_of_shares: i64,
    pub max_investment_amount: Option<String>,
    pub min_investment_amount: Option<String>,
    pub investment_increment_amount: Option<String>,
    pub minimum_wire_transfer_amount: Option<String>,
    pub contact_email: String,
    pub accredited_investors: bool,
    pub non_accredited_investors: bool,
    pub slug: String,
    pub support_email: String,
    pub default_timezone: &'static str,
    pub auto_approve_investments: bool,
    pub auto_accept_investments: bool,
    pub minimum_amount_raised: String,
    pub maximum_amount_raised: String,
    pub reg_cf_fee_percentage: Option<String>,
    pub archived: bool,
    pub investors_excluded_countries: Vec<&'static str>,
    pub investors_included_countries: Vec<&'static str>,
    pub deadline_date: String,
    pub created_at: String,
    pub opened_at: String,
}

/// The investor object nested in investments (`investor`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Investor {
    pub id: u64,
    pub user: InvestorUser,
    #[serde(rename = "type")]
    pub investor_type: &'static str,
    pub receive_sms: bool,
    pub receive_emails: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct InvestorUser {
    pub id: u64,
    pub email: String,
}

impl Investor {
    /// The sandbox knows every investor id; each is a person with a made-up email.
    pub(crate) fn sandbox(id: u64) -> Investor {
        Investor {
            id,
            user: InvestorUser {
                id,
                email: format!("investor{id}@sandbox.example"),
            },
            investor_type: "person",
            receive_sms: false,
            receive_emails: true,
        }
    }
}

/// `POST /api_third_party/investments/`'s answer (the seed's keys, `offering` an id).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct CreatedInvestment {
    pub id: u64,
    pub quantity: i64,
    pub offering: u64,
    pub investor: Investor,
    pub payment_intent_client_secret: Option<String>,
    pub requested_payment_method: String,
    pub amount: String,
    pub price_fees: String,
    pub price_payment_processing_fees: String,
    pub receive_sms: bool,
    pub utm_parameters: Option<Value>,
    pub shares_amount: String,
    pub bonus_shares: i64,
    pub quantity_qualified_shares: i64,
    pub price_qualified_shares: String,
}

/// The offering summary nested in listed investments.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct OfferingSummary {
    pub id: u64,
    pub name: String,
    #[serde(rename = "type")]
    pub offering_type: &'static str,
    pub slug: String,
    pub dollar_amount_investment: bool,
    pub share_or_unit: &'static str,
    pub upload_id_required: bool,
    pub issuer_broker_control: bool,
}

/// One entry of `GET /api_third_party/investments/` (the seed's keys, `offering` an
/// object).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct ListedInvestment {
    pub id: u64,
    pub quantity: i64,
    pub price: String,
    pub price_fees: String,
    pub price_payment_processing_fees: String,
    pub amount: String,
    pub status: &'static str,
    pub payment_intent_id: Option<String>,
    pub offering: OfferingSummary,
    pub reference_id: String,
    pub investor_individual_name: String,
    pub investor: Investor,
    pub payment_method: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub has_investor_signed: bool,
    pub requested_payment_method: String,
    pub bonus_shares: i64,
    pub shares_amount: String,
    pub quantity_qualified_shares: i64,
    pub price_qualified_shares: String,
}

/// `POST /api_third_party/auth/login/`'s answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Session {
    pub token: String,
    pub expiry: String,
}

/// What the admin ledger reports for the issuer portal.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Ledger {
    /// Every investment made, including those whose answer was dropped or mangled.
    pub investments: Vec<ListedInvestment>,
    /// Investment POSTs received (whatever their fate).
    pub posts: u64,
    /// Investment POSTs refused with a 4xx other than 429 (validation, auth).
    pub rejected: u64,
    /// Investment POSTs answered 429 (an injected fault).
    pub rate_limited: u64,
    /// Arrival of each investment POST, in milliseconds since the sandbox started.
    pub post_times_ms: Vec<u64>,
    /// Successful logins and logouts.
    pub logins: u64,
    pub logouts: u64,
}

/// A DRF page: `count`, absolute `next`/`previous` links (null at either end) and
/// `results`.
pub(crate) fn drf_page<T: Serialize>(
    count: usize,
    next: Option<String>,
    previous: Option<String>,
    results: Vec<T>,
) -> Value {
    json!({"count": count, "next": next, "previous": previous, "results": results})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dollars_print_two_decimals() {
        assert_eq!(dollars(1275), "12.75");
        assert_eq!(dollars(10_000), "100.00");
        assert_eq!(dollars(5), "0.05");
    }

    #[test]
    fn pages_have_null_links_at_the_ends() {
        let page = drf_page(1, None, None, vec![1]);
        assert_eq!(
            page,
            json!({"count": 1, "next": null, "previous": null, "results": [1]})
        );
    }
}
