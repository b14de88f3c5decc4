//! Bad input never panics: property tests feed mutated platform answers, configs,
//! CSV/JSONL rows, webhook payloads, money strings and scripts to the parsers and the
//! mappings behind them. (Each case must come back as a value or an error.)

use autoinvest::backtest::import::jsonl::JsonlRows;
use autoinvest::backtest::import::lendingclub::LendingClubRows;
use autoinvest::config::Config;
use autoinvest::opportunity::PlatformId;
use autoinvest::platform::fundamerica::webhook::parse_data;
use autoinvest::platform::{fundamerica, fundingcircle, fundrise, issuer_portal};
use proptest::prelude::*;
use serde_json::Value;
use std::path::Path;

mod common;

/// Leaves that break naive code: huge, negative, fractional, exponent, wrong types.
fn nasty_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        "[0-9]{1,40}(\\.[0-9]{0,30})?"
            .prop_map(|n| serde_json::from_str(&n).unwrap_or(Value::Null)),
        prop_oneof![
            Just("1e400"),
            Just("-1e400"),
            Just("-0.0000001"),
            Just("79228162514264337593543950336"),
            Just("0.08990000000000001")
        ]
        .prop_map(|n| serde_json::from_str(n).unwrap()),
        ".{0,12}".prop_map(Value::String),
        Just(Value::Array(vec![])),
        Just(serde_json::json!({})),
    ]
}

/// Replaces leaves of `value` (chosen by `mask`) with `leaves`, cycling through both.
fn mutate(value: &mut Value, mask: &[bool], leaves: &[Value], at: &mut usize) {
    match value {
        Value::Object(map) => map.values_mut().for_each(|v| mutate(v, mask, leaves, at)),
        Value::Array(items) => items.iter_mut().for_each(|v| mutate(v, mask, leaves, at)),
        leaf => {
            if mask[*at % mask.len()] {
                *leaf = leaves[*at % leaves.len()].clone();
            }
            *at += 1;
        }
    }
}

fn mutated(sample: &str, mask: &[bool], leaves: &[Value]) -> String {
    let mut value: Value = serde_json::from_str(sample).unwrap();
    mutate(&mut value, mask, leaves, &mut 0);
    value.to_string()
}

fn fixture(path: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(path),
    )
    .unwrap()
}

const FC_LISTING: &str = r#"{"id": "9f8c36b9", "status": "live", "type": "fractional", "loan_amount_cents": 5000000,
 "amount_remaining_cents": 1250000, "interest_rate": 0.0899, "term_months": 36, "risk_band": "A+",
 "purpose": "Working capital", "industry": "Construction", "years_in_business": 7, "state": "CA",
 "min_order_cents": 2500, "max_order_cents": 2500000, "live_date": "2026-11-20T21:00:00Z", "expiry_date": "2026-11-27T21:00:00Z"}"#;

const FC_ORDER: &str = r#"{"transaction_id": 238699, "purchased_amount_cents": 150000, "cashback_rate": 0, "fund_managed": false,
 "updated_at": "2015-07-02T12:16:00-07:00", "interest_rate": 0.08990000000000001, "status": "pending",
 "id": "dde0l929", "truncated": false, "listing_id": "dde0l929", "investor_postfunded": false,
 "investor_id": "1feb837e", "investor_servicer_code": "orion", "accrued_interest_cents": 0,
 "original_purchase_amount_cents": 100000, "created_at": "2015-07-02T12:16:00-07:00", "payment_due_at": null}"#;

const FR_OFFERING: &str = r#"{"offeringId": 1, "offeringName": "Flagship Real Estate Fund", "status": "OPEN",
 "minimumInvestmentAmount": 10.00, "maximumInvestmentAmount": 100000.00,
 "assetClass": {"assetClassType": "REAL_ESTATE", "assetClassLabel": "Real Estate"},
 "currentPrice": {"price": 10.52, "priceDate": "2026-11-01"}, "currentDistributionRate": 0.41}"#;

fn mask_and_leaves() -> impl Strategy<Value = (Vec<bool>, Vec<Value>)> {
    (
        proptest::collection::vec(any::<bool>(), 1..24),
        proptest::collection::vec(nasty_leaf(), 1..8),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(common::proptest_cases(512)))]

    #[test]
    fn platform_answers_never_panic((mask, leaves) in mask_and_leaves()) {
        let platform = PlatformId::new("p");
        if let Ok(listing) = serde_json::from_str::<fundingcircle::wire::ListingDetails>(&mutated(FC_LISTING, &mask, &leaves)) {
            let _ = listing.to_opportunity(&platform);
        }
        if let Ok(order) = serde_json::from_str::<fundingcircle::wire::OrderResponse>(&mutated(FC_ORDER, &mask, &leaves)) {
            let _ = order.to_platform_order();
        }
        if let Ok(offering) = serde_json::from_str::<fundrise::wire::OfferingResponse>(&mutated(FR_OFFERING, &mask, &leaves)) {
            let _ = offering.to_opportunity(&platform);
        }
        if let Ok(offering) = serde_json::from_str::<fundamerica::wire::Offering>(&mutated(&fixture("fundamerica/offering.json"), &mask, &leaves)) {
            let _ = offering.to_opportunity(&platform, Some(rust_decimal::Decimal::new(125, 2)));
            let _ = offering.to_opportunity(&platform, None);
        }
        if let Ok(investment) = serde_json::from_str::<fundamerica::wire::Investment>(&mutated(&fixture("fundamerica/investment.json"), &mask, &leaves)) {
            let _ = investment.to_platform_order("o");
        }
        if let Ok(offering) = serde_json::from_str::<issuer_portal::wire::Offering>(&mutated(&fixture("issuer_portal/offering.json"), &mask, &leaves)) {
            let _ = offering.to_opportunity(&platform);
        }
        if let Ok(investment) = serde_json::from_str::<issuer_portal::wire::Investment>(&mutated(&fixture("issuer_portal/third_party_investment.json"), &mask, &leaves)) {
            let _ = investment.to_platform_order(rust_decimal::Decimal::new(1000, 2));
        }
    }

    #[test]
    fn config_text_never_panics(text in "(?s).{0,400}") {
        let _ = Config::from_toml_str(&text, Path::new("/nonexistent/config.toml"));
    }

    #[test]
    fn mutated_shipped_config_never_panics(drop_line in 0usize..200, junk in "[a-z_\\[\\]=\". 0-9-]{0,30}") {
        let shipped = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("config.toml")).unwrap();
        let text: Vec<&str> = shipped.lines().enumerate().map(|(i, l)| if i == drop_line { junk.as_str() } else { l }).collect();
        let _ = Config::from_toml_str(&text.join("\n"), Path::new(env!("CARGO_MANIFEST_DIR")).join("config.toml").as_path());
    }

    #[test]
    fn csv_rows_never_panic(rows in proptest::collection::vec("[0-9A-Za-z%., \"-]{0,60}", 0..6)) {
        let header = "loan_amount,term,interest_rate,grade,sub_grade,issue_month,loan_status,initial_listing_status,loan_purpose,state,annual_income";
        let text = format!("{header}\n{}\n", rows.join("\n"));
        if let Ok(rows) = LendingClubRows::new(text.as_bytes()) {
            for row in rows {
                let _ = row;
            }
        }
    }

    #[test]
    fn jsonl_rows_never_panic(lines in proptest::collection::vec("(?s).{0,80}", 0..6)) {
        let text = lines.join("\n");
        for row in JsonlRows::new(text.as_bytes()) {
            let _ = row;
        }
    }

    #[test]
    fn webhook_payloads_never_panic(data in "(?s).{0,200}", (mask, leaves) in mask_and_leaves()) {
        let _ = parse_data(&data);
        let _ = parse_data(&mutated(&fixture("fundamerica/webhook.json"), &mask, &leaves));
    }

    #[test]
    fn money_and_scripts_never_panic(text in "(?s).{0,60}") {
        let _ = autoinvest::money::parse_usd(&text);
        let _ = autoinvest::strategy::Strategy::compile_source("fuzz", "fuzz.rhai", &text);
    }
}

/// The samples the properties mutate are valid as they stand (so the mutations start
/// from answers that reach the mappings).
#[test]
fn unmutated_samples_parse_and_map() {
    let platform = PlatformId::new("p");
    let listing: fundingcircle::wire::ListingDetails = serde_json::from_str(FC_LISTING).unwrap();
    assert!(listing.to_opportunity(&platform).is_ok());
    let order: fundingcircle::wire::OrderResponse = serde_json::from_str(FC_ORDER).unwrap();
    assert!(order.to_platform_order().is_ok());
    let offering: fundrise::wire::OfferingResponse = serde_json::from_str(FR_OFFERING).unwrap();
    assert!(offering.to_opportunity(&platform).is_ok());
    let offering: fundamerica::wire::Offering =
        serde_json::from_str(&fixture("fundamerica/offering.json")).unwrap();
    let _ = offering.to_opportunity(&platform, Some(rust_decimal::Decimal::new(125, 2)));
    let _: fundamerica::wire::Investment =
        serde_json::from_str(&fixture("fundamerica/investment.json")).unwrap();
    let offering: issuer_portal::wire::Offering =
        serde_json::from_str(&fixture("issuer_portal/offering.json")).unwrap();
    let _ = offering.to_opportunity(&platform);
    let _: issuer_portal::wire::Investment =
        serde_json::from_str(&fixture("issuer_portal/third_party_investment.json")).unwrap();
    assert!(
        parse_data(&fixture("fundamerica/webhook.json")).is_ok()
            || parse_data(
                &serde_json::from_str::<Value>(&fixture("fundamerica/webhook.json"))
                    .unwrap()
                    .to_string()
            )
            .is_ok()
    );
}
