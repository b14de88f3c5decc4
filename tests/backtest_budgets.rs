//! Budgets in simulated time: the backtest's clock is each row's `listed_at`, so the
//! daily budget resets on the simulated UTC day; total caps, the cash reserve and a
//! strategy's own per-grade exposure cap bind exactly as they would live.

mod backtest_support;

use autoinvest::backtest::{self, BacktestOptions};
use autoinvest::config::BudgetSettings;
use backtest_support::*;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use std::path::Path;

const BUY_25: &str = r#"fn decide(o, p) { #{ amount: 25, reason: "every loan" } }"#;

/// Writes `rows` as JSONL, runs the backtest, returns the decision lines.
fn replay(
    dir: &Path,
    budget: BudgetSettings,
    script: &str,
    start_cash: Option<Decimal>,
    rows: &[String],
) -> Vec<Line> {
    let data = dir.join("rows.jsonl");
    std::fs::write(&data, rows.join("\n")).unwrap();
    let config = config(dir, budget, &[Spec::new("s", script)]);
    let report_dir = dir.join("out");
    let options = BacktestOptions {
        data,
        start_cash,
        report_dir: Some(report_dir.clone()),
        ..BacktestOptions::default()
    };
    let report = backtest::run(&config, &options, &mut std::io::sink()).unwrap();
    assert_eq!(report.input.malformed_rows, 0);
    read_decisions(&report_dir)
}

fn bought(lines: &[Line]) -> Vec<&str> {
    lines
        .iter()
        .filter(|l| l.decision == "buy")
        .map(|l| l.opportunity_id.as_str())
        .collect()
}

/// Three rows on each of two simulated days.
fn two_days() -> Vec<String> {
    ["2018-03-01T09:00:00Z", "2018-03-02T09:00:00Z"]
        .iter()
        .flat_map(|day| {
            let date = &day[..10];
            (1..=3).map(move |i| row(&format!("{date}-{i}"), "A", day))
        })
        .collect()
}

#[test]
fn the_daily_budget_resets_on_the_simulated_day() {
    let dir = tempfile::tempdir().unwrap();
    let budget = BudgetSettings {
        daily_limit: Some(dec!(50)),
        ..BudgetSettings::default()
    };
    let lines = replay(dir.path(), budget, BUY_25, None, &two_days());
    assert_eq!(
        bought(&lines),
        [
            "2018-03-01-1",
            "2018-03-01-2",
            "2018-03-02-1",
            "2018-03-02-2"
        ]
    );
    let skipped: Vec<&Line> = lines.iter().filter(|l| l.decision == "skip").collect();
    assert_eq!(skipped.len(), 2);
    for line in skipped {
        assert!(line.reason.contains("the daily budget"), "{line:?}");
    }
}

#[test]
fn the_total_budget_is_a_cap_across_days() {
    let dir = tempfile::tempdir().unwrap();
    let budget = BudgetSettings {
        daily_limit: Some(dec!(1000)),
        total_limit: Some(dec!(75)),
        ..BudgetSettings::default()
    };
    let lines = replay(dir.path(), budget, BUY_25, None, &two_days());
    assert_eq!(
        bought(&lines),
        ["2018-03-01-1", "2018-03-01-2", "2018-03-01-3"]
    );
    assert!(lines[3..]
        .iter()
        .all(|l| l.reason.contains("the total budget")));
}

#[test]
fn starting_cash_and_the_reserve_limit_what_is_spent() {
    let dir = tempfile::tempdir().unwrap();
    let budget = BudgetSettings {
        cash_reserve: dec!(40),
        ..BudgetSettings::default()
    };
    // $100 cash, $40 kept back: $60 to spend, so two $25 notes.
    let lines = replay(dir.path(), budget, BUY_25, Some(dec!(100)), &two_days());
    assert_eq!(bought(&lines), ["2018-03-01-1", "2018-03-01-2"]);
    assert!(
        lines[2..]
            .iter()
            .all(|l| l.reason.contains("cash above the reserve")),
        "{lines:?}"
    );
    assert!(lines
        .iter()
        .all(|l| l.amount.is_empty() || l.amount == "25.00"));
}

#[test]
fn a_strategy_can_cap_its_exposure_per_grade() {
    let dir = tempfile::tempdir().unwrap();
    let script = r#"
fn decide(o, p) {
    if p.exposure_by_grade(o.grade) >= 50 { return #{ amount: 0, reason: `grade ${o.grade} full` }; }
    #{ amount: 25, reason: "room in grade" }
}"#;
    let rows: Vec<String> = (1..=4)
        .flat_map(|i| {
            [
                row(&format!("a{i}"), "A", "2018-03-01T09:00:00Z"),
                row(&format!("b{i}"), "B", "2018-03-01T09:00:00Z"),
            ]
        })
        .collect();
    let lines = replay(dir.path(), BudgetSettings::default(), script, None, &rows);
    assert_eq!(bought(&lines), ["a1", "b1", "a2", "b2"]);
    let full: Vec<&str> = lines
        .iter()
        .filter(|l| l.decision == "skip")
        .map(|l| l.reason.as_str())
        .collect();
    assert_eq!(
        full,
        [
            "grade A full",
            "grade B full",
            "grade A full",
            "grade B full"
        ]
    );
}

#[test]
fn the_portfolio_day_seen_by_scripts_is_the_simulated_day() {
    let dir = tempfile::tempdir().unwrap();
    let script = r#"fn decide(o, p) { #{ amount: 25, reason: p.today + " " + p.invested_today } }"#;
    let lines = replay(
        dir.path(),
        BudgetSettings::default(),
        script,
        None,
        &two_days(),
    );
    let reasons: Vec<&str> = lines.iter().map(|l| l.reason.as_str()).collect();
    assert_eq!(
        reasons,
        [
            "2018-03-01 0",
            "2018-03-01 25.00",
            "2018-03-01 50.00",
            "2018-03-02 0",
            "2018-03-02 25.00",
            "2018-03-02 50.00"
        ]
    );
}
