//! Property tests: whatever a strategy asks and whatever the limits, an approved
//! amount is within min/max, whole cents, a multiple of the increment and of the unit
//! price, and within every budget — and `verify` agrees once it is reserved.

use autoinvest::opportunity::{
    Opportunity, OpportunityKind, PlatformId, PlatformKind, PurchaseMode,
};
use autoinvest::order::{IdempotencyKey, OrderIntent, OrderState};
use autoinvest::portfolio::Portfolio;
use autoinvest::sizing::{size, verify, BudgetRules, PlatformRules, Rules, StrategyRules};
use chrono::{TimeZone, Utc};
use proptest::prelude::*;
use rust_decimal::Decimal;

fn cents(max: i64) -> impl Strategy<Value = Decimal> {
    (0..=max).prop_map(|c| Decimal::new(c, 2))
}

fn opt_cents(max: i64) -> impl Strategy<Value = Option<Decimal>> {
    proptest::option::of(cents(max))
}

prop_compose! {
    fn opportunity()(
        remaining in opt_cents(5_000_000),
        min in opt_cents(50_000),
        max in opt_cents(5_000_000),
        increment in proptest::option::of(prop_oneof![Just(Decimal::new(1, 2)), Just(Decimal::ONE), Just(Decimal::new(25, 0)), Just(Decimal::new(50, 2))]),
        unit_price in proptest::option::of((1i64..=100_000).prop_map(|c| Decimal::new(c, 2))),
        whole in any::<bool>(),
    ) -> Opportunity {
        let mut o = Opportunity::new(PlatformId::new("fc"), PlatformKind::FundingCircle, "L", OpportunityKind::Loan);
        o.remaining = remaining;
        o.min_investment = min;
        o.max_investment = max;
        o.increment = increment;
        o.unit_price = if whole { None } else { unit_price };
        o.purchase = if whole { PurchaseMode::Whole } else { PurchaseMode::Fractional };
        o
    }
}

prop_compose! {
    fn limits()(
        daily in opt_cents(1_000_000), total in opt_cents(5_000_000), reserve in cents(100_000),
        p_min in opt_cents(10_000), p_max in opt_cents(1_000_000), p_daily in opt_cents(1_000_000),
        s_max_opp in opt_cents(500_000), s_total in opt_cents(5_000_000),
    ) -> (BudgetRules, PlatformRules, StrategyRules) {
        (
            BudgetRules { daily_limit: daily, total_limit: total, cash_reserve: reserve },
            PlatformRules { min_per_order: p_min, max_per_order: p_max, daily_limit: p_daily, total_limit: None },
            StrategyRules { name: "s".into(), max_per_opportunity: s_max_opp, daily_limit: None, total_limit: s_total },
        )
    }
}

fn intent(amount: Decimal) -> OrderIntent {
    let now = Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap();
    OrderIntent {
        key: IdempotencyKey::derive(&PlatformId::new("fc"), "s", "L", "once"),
        platform: PlatformId::new("fc"),
        strategy: "s".into(),
        opportunity_id: "L".into(),
        opportunity_kind: OpportunityKind::Loan,
        purchase: PurchaseMode::Fractional,
        amount,
        shares: None,
        grade: None,
        reason: String::new(),
        slot: "once".into(),
        created_at: now,
        updated_at: now,
        state: OrderState::Claimed,
        dry_run: false,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn approved_amounts_respect_every_limit(
        opp in opportunity(),
        (budget, platform, strategy) in limits(),
        requested in cents(10_000_000),
        already in cents(2_000_000),
        cash in opt_cents(5_000_000),
    ) {
        let rules = Rules { budget: &budget, platform: &platform, strategy: &strategy };
        let mut p = Portfolio::new(cash);
        p.set_today(Utc.with_ymd_and_hms(2026, 11, 23, 0, 0, 0).unwrap().date_naive());
        if !already.is_zero() {
            let mut earlier = intent(already);
            earlier.key = IdempotencyKey::derive(&PlatformId::new("fc"), "s", "earlier", "once");
            earlier.opportunity_id = "earlier".into();
            p.record(&earlier);
        }
        let Ok(sized) = size(requested, &opp, rules, p.view()) else { return Ok(()); };
        let a = sized.amount;
        prop_assert!(a > Decimal::ZERO);
        prop_assert!(a <= requested);
        prop_assert_eq!(a.round_dp(2), a, "whole cents");
        for min in [opp.min_investment, platform.min_per_order].into_iter().flatten() {
            prop_assert!(a >= min, "{} below minimum {}", a, min);
        }
        for max in [opp.max_investment, platform.max_per_order, opp.remaining, strategy.max_per_opportunity].into_iter().flatten() {
            prop_assert!(a <= max, "{} above maximum {}", a, max);
        }
        if let (Some(inc), PurchaseMode::Fractional) = (opp.increment, opp.purchase) {
            prop_assert!((a % inc).is_zero(), "{} not a multiple of {}", a, inc);
        }
        if let Some(price) = opp.unit_price {
            prop_assert!((a % price).is_zero());
            prop_assert_eq!(Decimal::from(sized.shares.unwrap()) * price, a);
        }
        if opp.purchase == PurchaseMode::Whole {
            prop_assert_eq!(Some(a), opp.remaining);
        }
        for limit in [budget.daily_limit, budget.total_limit, platform.daily_limit, strategy.total_limit].into_iter().flatten() {
            prop_assert!(already + a <= limit, "{} + {} over {}", already, a, limit);
        }
        if let Some(cash) = cash {
            prop_assert!(already + a <= cash - budget.cash_reserve);
        }
        // Once reserved, the pre-send check agrees.
        p.record(&intent(a));
        prop_assert!(verify(a, &opp, rules, p.view()).is_ok(), "{:?}", verify(a, &opp, rules, p.view()));
    }
}
