//! Order sizing: turns a strategy's requested amount into an amount that is within
//! every per-transaction limit and budget — or a skip with the reason.
//!
//! Each rule is a small check. [`size`] clamps a request down through them;
//! [`verify`] re-checks an already sized amount right before it is sent (with the
//! portfolio that already includes its own reservation). An amount below the
//! minimum after sizing is a skip, never a rejected POST, and a whole loan is bought
//! whole or not at all.

use crate::money::{floor_cents, floor_to_increment, is_multiple_of};
use crate::opportunity::{Opportunity, PurchaseMode};
use crate::portfolio::PortfolioView;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use std::fmt;

/// Account-wide budgets from `[budget]`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BudgetRules {
    pub daily_limit: Option<Decimal>,
    pub total_limit: Option<Decimal>,
    /// Cash that must stay uninvested on each platform account.
    pub cash_reserve: Decimal,
}

/// One platform account's limits from `[platforms.<id>]`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PlatformRules {
    pub min_per_order: Option<Decimal>,
    pub max_per_order: Option<Decimal>,
    pub daily_limit: Option<Decimal>,
    pub total_limit: Option<Decimal>,
}

/// One strategy's limits from `[[strategies]]`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StrategyRules {
    pub name: String,
    /// Most this strategy puts into one opportunity, over all its slots.
    pub max_per_opportunity: Option<Decimal>,
    pub daily_limit: Option<Decimal>,
    pub total_limit: Option<Decimal>,
}

/// The rules that apply to one (strategy, opportunity) pair.
#[derive(Debug, Clone, Copy)]
pub struct Rules<'a> {
    pub budget: &'a BudgetRules,
    pub platform: &'a PlatformRules,
    pub strategy: &'a StrategyRules,
}

/// An approved size.
#[derive(Debug, Clone, PartialEq)]
pub struct Sized {
    /// Dollars, whole cents, a multiple of the increment (and of the unit price).
    pub amount: Decimal,
    /// Whole shares, when the opportunity has a unit price.
    pub shares: Option<u64>,
}

/// Why no order can be made.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    /// A fixed word naming the rule (for counting): "minimum", "whole_loan", "budget", …
    pub rule: &'static str,
    pub reason: String,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

fn refuse(rule: &'static str, reason: String) -> Refusal {
    Refusal { rule, reason }
}

/// One upper bound on the amount, with the name users see when it binds. Budget
/// headroom can be negative (already over), so values are not clamped.
struct Cap {
    label: &'static str,
    value: Decimal,
}

/// Every upper bound that applies, given what the portfolio already holds.
fn caps(opp: &Opportunity, rules: Rules<'_>, p: &PortfolioView) -> Vec<Cap> {
    let mut caps = Vec::with_capacity(12);
    let mut push = |label: &'static str, value: Option<Decimal>| {
        if let Some(value) = value {
            caps.push(Cap { label, value });
        }
    };
    let platform = opp.platform.as_str();
    let strategy = rules.strategy.name.as_str();
    push("the opportunity's maximum per order", opp.max_investment);
    push("the amount remaining", opp.remaining);
    push("the platform's max_per_order", rules.platform.max_per_order);
    push(
        "the strategy's max_per_opportunity",
        rules
            .strategy
            .max_per_opportunity
            .map(|m| m - p.strategy_in(strategy, &opp.id)),
    );
    push(
        "the daily budget",
        rules.budget.daily_limit.map(|l| l - p.invested_today()),
    );
    push(
        "the total budget",
        rules.budget.total_limit.map(|l| l - p.invested_total()),
    );
    push(
        "the platform's daily_limit",
        rules
            .platform
            .daily_limit
            .map(|l| l - p.platform_today(platform)),
    );
    push(
        "the platform's total_limit",
        rules
            .platform
            .total_limit
            .map(|l| l - p.exposure_by_platform(platform)),
    );
    push(
        "the strategy's daily_limit",
        rules
            .strategy
            .daily_limit
            .map(|l| l - p.strategy_today(strategy)),
    );
    push(
        "the strategy's total_limit",
        rules
            .strategy
            .total_limit
            .map(|l| l - p.invested_by_strategy(strategy)),
    );
    push(
        "cash above the reserve",
        p.cash().map(|c| c - rules.budget.cash_reserve),
    );
    caps
}

/// The smallest amount one order may have.
fn minimum(opp: &Opportunity, rules: Rules<'_>) -> Decimal {
    let mut min = Decimal::ZERO;
    for m in [opp.min_investment, rules.platform.min_per_order]
        .into_iter()
        .flatten()
    {
        min = min.max(m);
    }
    // Never less than a cent (or one share).
    min.max(opp.unit_price.unwrap_or(crate::money::CENT))
}

/// Clamps a strategy's `requested` amount to every limit and budget.
pub fn size(
    requested: Decimal,
    opp: &Opportunity,
    rules: Rules<'_>,
    p: &PortfolioView,
) -> Result<Sized, Refusal> {
    let requested = floor_cents(requested);
    if requested <= Decimal::ZERO {
        return Err(refuse("zero", "the strategy asked for $0".into()));
    }
    check_opportunity_limits(opp)?;
    match opp.purchase {
        PurchaseMode::Whole => size_whole(requested, opp, rules, p),
        PurchaseMode::Fractional => size_fractional(requested, opp, rules, p),
    }
}

fn check_opportunity_limits(opp: &Opportunity) -> Result<(), Refusal> {
    if let (Some(min), Some(max)) = (opp.min_investment, opp.max_investment) {
        if min > max {
            return Err(refuse(
                "limits",
                format!("the opportunity's minimum ${min} is above its maximum ${max}"),
            ));
        }
    }
    if let Some(price) = opp.unit_price {
        if price <= Decimal::ZERO {
            return Err(refuse(
                "limits",
                format!("unit price ${price} is not positive"),
            ));
        }
    }
    Ok(())
}

fn size_whole(
    requested: Decimal,
    opp: &Opportunity,
    rules: Rules<'_>,
    p: &PortfolioView,
) -> Result<Sized, Refusal> {
    let Some(whole) = opp.remaining.filter(|r| *r > Decimal::ZERO) else {
        return Err(refuse(
            "whole_loan",
            "whole loan with no remaining amount".into(),
        ));
    };
    if floor_cents(whole) != whole {
        return Err(refuse(
            "whole_loan",
            format!("whole loan amount ${whole} is not whole cents"),
        ));
    }
    if requested < whole {
        return Err(refuse(
            "whole_loan",
            format!("whole loan needs ${whole}; the strategy offered ${requested}"),
        ));
    }
    for cap in caps(opp, rules, p) {
        // The remaining amount is the whole loan itself, not a cap on it.
        if cap.label != "the amount remaining" && cap.value < whole {
            return Err(refuse(
                "whole_loan",
                format!(
                    "whole loan needs ${whole}; {} allows only ${}",
                    cap.label,
                    floor_cents(cap.value.max(Decimal::ZERO))
                ),
            ));
        }
    }
    let min = minimum(opp, rules);
    if whole < min {
        return Err(refuse(
            "minimum",
            format!("whole loan ${whole} is below the minimum ${min}"),
        ));
    }
    Ok(Sized {
        amount: in_cents(whole),
        shares: None,
    })
}

fn size_fractional(
    requested: Decimal,
    opp: &Opportunity,
    rules: Rules<'_>,
    p: &PortfolioView,
) -> Result<Sized, Refusal> {
    let mut amount = requested;
    let mut binding = "the strategy's amount";
    for cap in caps(opp, rules, p) {
        if cap.value < amount {
            amount = cap.value;
            binding = cap.label;
        }
    }
    let increment = opp.increment.unwrap_or(Decimal::ZERO);
    amount = floor_to_increment(amount, increment);
    let mut shares = None;
    if let Some(price) = opp.unit_price {
        let count = (amount / price).trunc();
        let Some(count_u64) = count.to_u64() else {
            return Err(refuse(
                "limits",
                format!("share count {count} is out of range"),
            ));
        };
        amount = count * price;
        shares = Some(count_u64);
        if !is_multiple_of(amount, increment) || floor_cents(amount) != amount {
            return Err(refuse(
                "increment",
                format!(
                    "{count} shares at ${price} make ${amount}, not a multiple of the increment"
                ),
            ));
        }
    }
    let min = minimum(opp, rules);
    if amount < min || amount <= Decimal::ZERO {
        return Err(refuse(
            "minimum",
            format!(
                "{binding} leaves ${}, below the minimum ${min}",
                floor_cents(amount.max(Decimal::ZERO))
            ),
        ));
    }
    Ok(Sized {
        amount: in_cents(amount),
        shares,
    })
}

/// The same amount written with exactly two decimals ($500.0 → $500.00); the value is
/// already whole cents, so nothing is rounded.
fn in_cents(mut amount: Decimal) -> Decimal {
    amount.rescale(2);
    amount
}

/// Re-checks an amount right before it is sent. `p` must already include this
/// order's own reservation: every budget is checked as "committed ≤ limit".
pub fn verify(
    amount: Decimal,
    opp: &Opportunity,
    rules: Rules<'_>,
    p: &PortfolioView,
) -> Result<(), Refusal> {
    check_opportunity_limits(opp)?;
    if amount <= Decimal::ZERO || floor_cents(amount) != amount {
        return Err(refuse(
            "amount",
            format!("${amount} is not a positive whole-cent amount"),
        ));
    }
    let min = minimum(opp, rules);
    if amount < min {
        return Err(refuse(
            "minimum",
            format!("${amount} is below the minimum ${min}"),
        ));
    }
    // A whole loan is bought at its exact remaining amount; increments apply to fractions.
    let fractional = opp.purchase == PurchaseMode::Fractional;
    if fractional && !is_multiple_of(amount, opp.increment.unwrap_or(Decimal::ZERO)) {
        return Err(refuse(
            "increment",
            format!("${amount} is not a multiple of the increment"),
        ));
    }
    if let Some(price) = opp.unit_price {
        if !(amount % price).is_zero() {
            return Err(refuse(
                "increment",
                format!("${amount} is not whole shares of ${price}"),
            ));
        }
    }
    if opp.purchase == PurchaseMode::Whole && opp.remaining != Some(amount) {
        return Err(refuse(
            "whole_loan",
            format!(
                "whole loan now needs {:?}, the order is for ${amount}",
                opp.remaining
            ),
        ));
    }
    for cap in caps(opp, rules, p) {
        // Budgets already include this order: "over" means the cap went negative.
        let over = match cap.label {
            "the opportunity's maximum per order"
            | "the amount remaining"
            | "the platform's max_per_order" => amount > cap.value,
            _ => cap.value < Decimal::ZERO,
        };
        if over {
            return Err(refuse(
                "budget",
                format!("${amount} would exceed {}", cap.label),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::opportunity::{OpportunityKind, PlatformId, PlatformKind};
    use crate::order::OrderIntent;
    use crate::portfolio::Portfolio;
    use chrono::{TimeZone, Utc};
    use rust_decimal_macros::dec;

    fn loan(remaining: Decimal, whole: bool) -> Opportunity {
        let mut o = Opportunity::new(
            PlatformId::new("fc"),
            PlatformKind::FundingCircle,
            "L1",
            OpportunityKind::Loan,
        );
        o.remaining = Some(remaining);
        o.min_investment = Some(dec!(25));
        o.max_investment = Some(dec!(25000));
        o.increment = Some(dec!(0.01));
        if whole {
            o.purchase = PurchaseMode::Whole;
        }
        o
    }

    fn rules_with(budget: BudgetRules) -> (BudgetRules, PlatformRules, StrategyRules) {
        (
            budget,
            PlatformRules::default(),
            StrategyRules {
                name: "s".into(),
                ..StrategyRules::default()
            },
        )
    }

    fn spend(p: &mut Portfolio, amount: Decimal) {
        let now = Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap();
        p.set_today(now.date_naive());
        p.record(&OrderIntent {
            amount,
            grade: None,
            ..OrderIntent::for_test("fc", "other", now)
        });
    }

    #[test]
    fn clamps_and_names_the_binding_rule() {
        let (b, pl, st) = rules_with(BudgetRules {
            daily_limit: Some(dec!(100)),
            ..BudgetRules::default()
        });
        let rules = Rules {
            budget: &b,
            platform: &pl,
            strategy: &st,
        };
        let mut p = Portfolio::new(None);
        spend(&mut p, dec!(80));
        let opp = loan(dec!(1000), false);
        let sized = size(dec!(50), &opp, rules, p.view()).unwrap_err();
        assert_eq!(sized.rule, "minimum");
        assert_eq!(
            sized.reason,
            "the daily budget leaves $20.00, below the minimum $25"
        );
        let p = Portfolio::new(None);
        assert_eq!(
            size(dec!(50.129), &opp, rules, p.view()).unwrap().amount,
            dec!(50.12)
        );
        assert_eq!(
            size(dec!(500), &opp, rules, p.view()).unwrap().amount,
            dec!(100)
        );
    }

    #[test]
    fn whole_loans_are_bought_whole_or_not_at_all() {
        let (b, pl, st) = rules_with(BudgetRules {
            daily_limit: Some(dec!(3000)),
            ..BudgetRules::default()
        });
        let rules = Rules {
            budget: &b,
            platform: &pl,
            strategy: &st,
        };
        let p = Portfolio::new(None);
        let opp = loan(dec!(2500), true);
        assert_eq!(
            size(dec!(2500), &opp, rules, p.view()).unwrap().amount,
            dec!(2500)
        );
        assert_eq!(
            size(dec!(9000), &opp, rules, p.view()).unwrap().amount,
            dec!(2500)
        );
        assert_eq!(
            size(dec!(2499.99), &opp, rules, p.view()).unwrap_err().rule,
            "whole_loan"
        );
        let big = loan(dec!(3500), true);
        let refusal = size(dec!(5000), &big, rules, p.view()).unwrap_err();
        assert_eq!(
            refusal.reason,
            "whole loan needs $3500; the daily budget allows only $3000"
        );
    }

    #[test]
    fn shares_and_increments_round_down() {
        let (b, pl, st) = rules_with(BudgetRules::default());
        let rules = Rules {
            budget: &b,
            platform: &pl,
            strategy: &st,
        };
        let p = Portfolio::new(None);
        let mut offering = loan(dec!(1000000), false);
        offering.unit_price = Some(dec!(10.50));
        offering.increment = None;
        offering.min_investment = Some(dec!(100));
        let sized = size(dec!(1000), &offering, rules, p.view()).unwrap();
        assert_eq!((sized.amount, sized.shares), (dec!(997.50), Some(95)));
        offering.increment = Some(dec!(25));
        offering.unit_price = None;
        assert_eq!(
            size(dec!(1049.99), &offering, rules, p.view())
                .unwrap()
                .amount,
            dec!(1025)
        );
    }

    #[test]
    fn cash_reserve_and_bad_limits_refuse() {
        let (b, pl, st) = rules_with(BudgetRules {
            cash_reserve: dec!(990),
            ..BudgetRules::default()
        });
        let rules = Rules {
            budget: &b,
            platform: &pl,
            strategy: &st,
        };
        let p = Portfolio::new(Some(dec!(1000)));
        let opp = loan(dec!(1000), false);
        assert_eq!(
            size(dec!(100), &opp, rules, p.view()).unwrap_err().rule,
            "minimum"
        );
        let mut bad = loan(dec!(1000), false);
        bad.min_investment = Some(dec!(500));
        bad.max_investment = Some(dec!(100));
        assert_eq!(
            size(dec!(100), &bad, rules, p.view()).unwrap_err().rule,
            "limits"
        );
    }

    #[test]
    fn verify_catches_an_over_budget_order() {
        let (b, pl, st) = rules_with(BudgetRules {
            total_limit: Some(dec!(100)),
            ..BudgetRules::default()
        });
        let rules = Rules {
            budget: &b,
            platform: &pl,
            strategy: &st,
        };
        let mut p = Portfolio::new(None);
        spend(&mut p, dec!(60));
        let opp = loan(dec!(1000), false);
        assert!(verify(dec!(40), &opp, rules, p.view()).is_ok());
        spend(&mut p, dec!(60));
        assert_eq!(
            verify(dec!(60), &opp, rules, p.view()).unwrap_err().rule,
            "budget"
        );
        assert_eq!(
            verify(dec!(10), &opp, rules, p.view()).unwrap_err().rule,
            "minimum"
        );
        assert_eq!(
            verify(dec!(30.001), &opp, rules, p.view())
                .unwrap_err()
                .rule,
            "amount"
        );
    }
}
