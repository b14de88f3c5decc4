//! The compiled evaluator against Rhai on the shipped strategies and hand-picked
//! cases; `tests/strategy_compiled.rs` compares them on generated inputs.

use super::super::{ScriptOpportunity, Strategy};
use crate::opportunity::{Opportunity, OpportunityKind, PlatformId, PlatformKind, PurchaseMode};
use crate::portfolio::Portfolio;
use rust_decimal_macros::dec;
use std::path::Path;

fn shipped(name: &str) -> Strategy {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("strategies")
        .join(name);
    Strategy::compile_file(name, &path).unwrap()
}

fn loan(grade: Option<&str>, rate: Option<rust_decimal::Decimal>, whole: bool) -> Opportunity {
    let mut o = Opportunity::new(
        PlatformId::new("fc"),
        PlatformKind::FundingCircle,
        "L1",
        OpportunityKind::Loan,
    );
    o.grade = grade.map(str::to_string);
    o.rate = rate;
    o.term_months = Some(36);
    o.remaining = Some(dec!(2500));
    o.purchase = if whole {
        PurchaseMode::Whole
    } else {
        PurchaseMode::Fractional
    };
    o
}

#[test]
fn the_shipped_strategies_are_compiled_and_answer_as_rhai_does() {
    let names = [
        "prime_loans.rhai",
        "yield_ladder.rhai",
        "whole_loan_sniper.rhai",
        "fundrise_dca.rhai",
        "fundamerica_equity.rhai",
        "reg_cf_filter.rhai",
    ];
    let mut portfolio = Portfolio::new(Some(dec!(1000)));
    portfolio.set_today(chrono::NaiveDate::from_ymd_opt(2026, 11, 20).unwrap());
    let grades = [None, Some("A+"), Some("A"), Some("B"), Some("E"), Some("")];
    let rates = [
        None,
        Some(dec!(0)),
        Some(dec!(0.0899)),
        Some(dec!(0.13)),
        Some(dec!(-1)),
    ];
    for name in names {
        let strategy = shipped(name);
        assert!(strategy.is_compiled(), "{name} is not compiled");
        let program = strategy.compiled.as_ref().unwrap();
        for grade in grades {
            for rate in rates {
                for whole in [false, true] {
                    let o = ScriptOpportunity::new(loan(grade, rate, whole));
                    let expected = strategy.decide_interpreted(&o, portfolio.view());
                    let compiled = program.decide(&o, portfolio.view());
                    // On these ordinary inputs the compiled form answers whenever
                    // Rhai does (it gives up only where Rhai reports an error).
                    match (&compiled, &expected) {
                        (Some(answer), Ok(expected)) => {
                            assert_eq!(answer, expected, "{name} {o:?}")
                        }
                        (None, Err(_)) => {}
                        _ => panic!("{name} on {o:?}: compiled {compiled:?}, Rhai {expected:?}"),
                    }
                }
            }
        }
    }
}
