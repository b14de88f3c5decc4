//! The shipped `strategies/reg_cf_filter.rhai` on offerings the issuer-portal client
//! mapped from the seed's offering object: it buys small tickets of Reg CF and Reg A
//! offerings open to non-accredited investors, and says why it skips the rest.

use autoinvest::opportunity::{
    Opportunity, OpportunityKind, PlatformId, PlatformKind, PurchaseMode,
};
use autoinvest::order::{IdempotencyKey, OrderIntent, OrderState};
use autoinvest::platform::issuer_portal::wire::Offering;
use autoinvest::portfolio::{Portfolio, PortfolioView};
use autoinvest::strategy::{Strategy, StrategyAnswer};
use chrono::Utc;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde_json::{json, Value};
use std::path::PathBuf;

const SEED_OFFERING: &str = include_str!("fixtures/issuer_portal/offering.json");

fn strategy() -> Strategy {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("strategies/reg_cf_filter.rhai");
    Strategy::compile_file("reg_cf_filter.rhai", &path).unwrap_or_else(|e| panic!("{e}"))
}

/// The seed's offering, opened, with usable figures and `overrides`, as the client
/// maps it.
fn offering(overrides: Value) -> Opportunity {
    let mut json: Value = serde_json::from_str(SEED_OFFERING).unwrap();
    json["id"] = 101.into();
    json["name"] = "Cascade Solar Inc.".into();
    json["status"] = "opened".into();
    json["archived"] = false.into();
    json["type"] = "reg_cf".into();
    json["unit_price"] = "12.50".into();
    json["min_investment_amount"] = Value::Null;
    json["max_investment_amount"] = "5000.00".into();
    json["investment_increment_amount"] = Value::Null;
    json["maximum_amount_raised"] = "1070000.00".into();
    for (key, value) in overrides.as_object().unwrap() {
        json[key] = value.clone();
    }
    serde_json::from_value::<Offering>(json)
        .unwrap()
        .to_opportunity(&PlatformId::new("ip"))
        .unwrap()
}

fn buy(amount: Decimal, reason: &str) -> StrategyAnswer {
    StrategyAnswer::Buy {
        amount,
        reason: Some(reason.into()),
        slot: None,
    }
}

fn skip(reason: &str) -> StrategyAnswer {
    StrategyAnswer::Skip {
        reason: Some(reason.into()),
    }
}

/// A portfolio already holding `amount` on the "ip" platform.
fn holding(amount: Decimal) -> Portfolio {
    let mut portfolio = Portfolio::new(None);
    let platform = PlatformId::new("ip");
    let now = Utc::now();
    portfolio.record(&OrderIntent {
        key: IdempotencyKey::derive(&platform, "reg-cf", "100", "once"),
        platform,
        strategy: "reg-cf".into(),
        opportunity_id: "100".into(),
        opportunity_kind: OpportunityKind::Offering,
        purchase: PurchaseMode::Fractional,
        amount,
        shares: Some(1),
        grade: None,
        reason: "earlier".into(),
        slot: "once".into(),
        created_at: now,
        updated_at: now,
        state: OrderState::Placed {
            order_id: "1".into(),
            amount,
            platform_status: "started".into(),
        },
        dry_run: false,
    });
    portfolio
}

#[test]
fn buys_a_small_ticket_of_reg_cf_and_reg_a_offerings() {
    let strategy = strategy();
    let p = PortfolioView::default();
    assert_eq!(
        strategy.decide(&offering(json!({})), &p),
        Ok(buy(
            dec!(250.00),
            "reg_cf Cascade Solar Inc.: 250.00 at 12.50 a share"
        ))
    );
    assert_eq!(
        strategy.decide(
            &offering(json!({"type": "reg_a", "min_investment_amount": "400.00"})),
            &p
        ),
        Ok(buy(
            dec!(400.00),
            "reg_a Cascade Solar Inc.: 400.00 at 12.50 a share"
        )),
        "the offering's minimum, when it is not above $500"
    );
}

#[test]
fn skips_other_exemptions_accredited_only_offerings_and_high_minimums() {
    let strategy = strategy();
    let p = PortfolioView::default();
    let cases = [
        (
            json!({"type": "reg_d_506c"}),
            "exemption reg_d_506c is not Reg CF or Reg A",
        ),
        (
            json!({"type": "reg_s"}),
            "exemption reg_s is not Reg CF or Reg A",
        ),
        (
            json!({"non_accredited_investors": false}),
            "open to accredited investors only",
        ),
        (
            json!({"min_investment_amount": "1000.00"}),
            "minimum 1000.00 is above 500.00",
        ),
    ];
    for (overrides, reason) in cases {
        assert_eq!(
            strategy.decide(&offering(overrides.clone()), &p),
            Ok(skip(reason)),
            "{overrides}"
        );
    }
    let loan = Opportunity::new(
        PlatformId::new("fc"),
        PlatformKind::FundingCircle,
        "L1",
        OpportunityKind::Loan,
    );
    assert_eq!(
        strategy.decide(&loan, &p),
        Ok(skip("not an issuer-portal offering"))
    );
}

#[test]
fn stops_at_the_platform_cap() {
    let strategy = strategy();
    assert_eq!(
        strategy.decide(&offering(json!({})), holding(dec!(4800)).view()),
        Ok(skip("platform cap of 5000.00 reached"))
    );
    assert_eq!(
        strategy.decide(
            &offering(json!({"min_investment_amount": "450.00"})),
            holding(dec!(4600)).view()
        ),
        Ok(skip(
            "minimum 450.00 is above the 400.00 left under the cap"
        ))
    );
    assert_eq!(
        strategy.decide(&offering(json!({})), holding(dec!(4750)).view()),
        Ok(buy(
            dec!(250.00),
            "reg_cf Cascade Solar Inc.: 250.00 at 12.50 a share"
        ))
    );
}
