//! Evaluations per second of each shipped strategy over 1,000 varied opportunities
//! (fractional and whole Funding Circle loans, LendingClub backtest rows), through
//! `decide` (copies the opportunity) and `decide_prepared` (wraps it once).
//!
//! Run: `cargo bench --bench strategy_eval`.

use autoinvest::opportunity::{
    Opportunity, OpportunityKind, PlatformId, PlatformKind, PurchaseMode,
};
use autoinvest::order::{IdempotencyKey, OrderIntent, OrderState};
use autoinvest::portfolio::{Portfolio, PortfolioView};
use autoinvest::strategy::{ScriptOpportunity, Strategy, StrategyAnswer};
use chrono::{NaiveDate, TimeZone, Utc};
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rust_decimal::Decimal;
use std::path::PathBuf;

const OPPORTUNITIES: usize = 1_000;
const FC_GRADES: [&str; 5] = ["A+", "A", "B", "C", "D"];
const LC_GRADES: [&str; 7] = ["A", "B", "C", "D", "E", "F", "G"];
const TERMS: [u32; 5] = [12, 24, 36, 48, 60];

fn cents(rng: &mut ChaCha8Rng, low_dollars: i64, high_dollars: i64) -> Decimal {
    Decimal::new(rng.random_range(low_dollars * 100..=high_dollars * 100), 2)
}

fn funding_circle_loan(rng: &mut ChaCha8Rng, index: usize) -> Opportunity {
    let mut o = Opportunity::new(
        PlatformId::new("fc"),
        PlatformKind::FundingCircle,
        format!("fc-{index:05}"),
        OpportunityKind::Loan,
    );
    let whole = rng.random_bool(0.2);
    // Whole loans are the small ones: sold entire to one buyer.
    let amount = if whole {
        cents(rng, 1_000, 10_000)
    } else {
        cents(rng, 10_000, 250_000)
    };
    o.purchase = if whole {
        PurchaseMode::Whole
    } else {
        PurchaseMode::Fractional
    };
    o.name = Some(format!("Business {index}"));
    o.grade = Some(FC_GRADES[rng.random_range(0..FC_GRADES.len())].to_string());
    o.rate = Some(Decimal::new(rng.random_range(450..=2_500), 4));
    o.term_months = Some(TERMS[rng.random_range(0..TERMS.len())]);
    o.amount = Some(amount);
    o.remaining = Some(if whole {
        amount
    } else {
        (amount * Decimal::new(rng.random_range(1..=100), 2)).round_dp(2)
    });
    o.min_investment = Some(Decimal::new(2_500, 2));
    o.max_investment = Some(amount);
    o.status = "live".into();
    o.listed_at = Some(Utc.with_ymd_and_hms(2026, 11, 20, 21, 0, 0).unwrap());
    o.extra.insert("industry".into(), "Construction".into());
    o.extra.insert("state".into(), "CA".into());
    o.extra
        .insert("years_in_business".into(), rng.random_range(1..40).into());
    o
}

fn lending_club_row(rng: &mut ChaCha8Rng, index: usize) -> Opportunity {
    let mut o = Opportunity::new(
        PlatformId::new("lendingclub"),
        PlatformKind::LendingClub,
        format!("lc-{index:05}"),
        OpportunityKind::Loan,
    );
    let grade = LC_GRADES[rng.random_range(0..LC_GRADES.len())];
    o.grade = Some(grade.to_string());
    o.sub_grade = Some(format!("{grade}{}", rng.random_range(1..=5)));
    o.rate = Some(Decimal::new(rng.random_range(531..=3_099), 4));
    o.term_months = Some(if rng.random_bool(0.7) { 36 } else { 60 });
    let amount = cents(rng, 1_000, 40_000);
    o.amount = Some(amount);
    o.remaining = Some(amount);
    o.status = "Current".into();
    o.extra
        .insert("purpose".into(), "debt_consolidation".into());
    o.extra.insert(
        "annual_income".into(),
        rng.random_range(20_000..300_000).into(),
    );
    o
}

fn opportunities() -> Vec<Opportunity> {
    let mut rng = ChaCha8Rng::seed_from_u64(20261120);
    (0..OPPORTUNITIES)
        .map(|i| {
            if rng.random_bool(0.8) {
                funding_circle_loan(&mut rng, i)
            } else {
                lending_club_row(&mut rng, i)
            }
        })
        .collect()
}

/// A portfolio holding $250 to $1,250 in each grade, $100 of it bought today.
fn portfolio() -> Portfolio {
    let mut portfolio = Portfolio::new(Some(Decimal::new(2_500_000, 2)));
    portfolio.set_today(NaiveDate::from_ymd_opt(2026, 11, 20).unwrap());
    let platform = PlatformId::new("fc");
    let mut holdings: Vec<(&str, i64, u32)> = FC_GRADES
        .iter()
        .enumerate()
        .map(|(i, grade)| (*grade, 25_000 * (i as i64 + 1), 19))
        .collect();
    holdings.push(("B", 10_000, 20));
    for (i, (grade, amount_cents, day)) in holdings.into_iter().enumerate() {
        let at = Utc.with_ymd_and_hms(2026, 11, day, 15, 0, 0).unwrap();
        let id = format!("held-{i}");
        portfolio.record(&OrderIntent {
            key: IdempotencyKey::derive(&platform, "bench", &id, "once"),
            platform: platform.clone(),
            strategy: "bench".into(),
            opportunity_id: id,
            opportunity_kind: OpportunityKind::Loan,
            purchase: PurchaseMode::Fractional,
            amount: Decimal::new(amount_cents, 2),
            shares: None,
            grade: Some(grade.to_string()),
            reason: "bench".into(),
            slot: "once".into(),
            created_at: at,
            updated_at: at,
            state: OrderState::Claimed,
            dry_run: false,
        });
    }
    portfolio
}

fn shipped(file: &str) -> Strategy {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("strategies")
        .join(file);
    Strategy::compile_file(file, &path).unwrap()
}

fn bench_strategies(c: &mut Criterion) {
    let opportunities = opportunities();
    let prepared: Vec<ScriptOpportunity> = opportunities
        .iter()
        .cloned()
        .map(ScriptOpportunity::new)
        .collect();
    let portfolio = portfolio();
    let view: &PortfolioView = portfolio.view();

    let mut strategies: Vec<(String, Strategy)> = [
        "prime_loans.rhai",
        "yield_ladder.rhai",
        "whole_loan_sniper.rhai",
    ]
    .into_iter()
    .map(|file| (file.trim_end_matches(".rhai").to_string(), shipped(file)))
    .collect();
    // The floor: what calling a script costs when it does nothing.
    strategies.push((
        "skip_all".into(),
        Strategy::compile_source("skip_all", "skip_all.rhai", "fn decide(o, p) { () }").unwrap(),
    ));

    for (name, strategy) in &strategies {
        report_outcomes(name, strategy, &prepared, view);
    }

    let mut group = c.benchmark_group("strategy_eval");
    group.throughput(Throughput::Elements(OPPORTUNITIES as u64));
    for (name, strategy) in &strategies {
        group.bench_function(format!("{name}/decide"), |b| {
            b.iter(|| {
                for o in &opportunities {
                    let _ = black_box(strategy.decide(black_box(o), view));
                }
            })
        });
        group.bench_function(format!("{name}/decide_prepared"), |b| {
            b.iter(|| {
                for o in &prepared {
                    let _ = black_box(strategy.decide_prepared(black_box(o), view));
                }
            })
        });
    }
    group.finish();
}

/// Prints how the set splits into buys, skips and errors, so the figures can be
/// read against what the strategy actually did.
fn report_outcomes(name: &str, strategy: &Strategy, set: &[ScriptOpportunity], p: &PortfolioView) {
    let (mut buys, mut skips, mut errors) = (0, 0, 0);
    for o in set {
        match strategy.decide_prepared(o, p) {
            Ok(StrategyAnswer::Buy { .. }) => buys += 1,
            Ok(StrategyAnswer::Skip { .. }) => skips += 1,
            Err(_) => errors += 1,
        }
    }
    eprintln!(
        "{name}: {buys} buy, {skips} skip, {errors} error over {} opportunities",
        set.len()
    );
}

criterion_group!(benches, bench_strategies);
criterion_main!(benches);
