//! The summary printed on stdout: the baseline and each strategy side by side —
//! counts, amounts, rates, outcomes, by grade and term, budget hits, skip reasons.

use super::{GroupReport, Report, StrategyReport, TallyReport};
use rust_decimal::{Decimal, RoundingStrategy};
use std::collections::BTreeSet;
use std::fmt::Write as _;

/// Skip reasons listed per strategy.
const TOP_REASONS: usize = 5;

/// Renders the whole summary.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    header(&mut out, report);
    out.push('\n');
    out.push_str(&table(&overview_rows(report)));
    for (title, pick) in [
        ("By grade", by_grade as fn(&GroupReport) -> &_),
        ("By term (months)", by_term),
    ] {
        let _ = writeln!(out, "\n{title} (loans, amount; bad rate where resolved)");
        out.push_str(&table(&breakdown_rows(report, pick)));
    }
    for strategy in &report.strategies {
        skip_reasons(&mut out, strategy);
    }
    for warning in &report.warnings {
        let _ = writeln!(out, "\nwarning: {warning}");
    }
    out
}

fn by_grade(g: &GroupReport) -> &std::collections::BTreeMap<String, TallyReport> {
    &g.by_grade
}

fn by_term(g: &GroupReport) -> &std::collections::BTreeMap<String, TallyReport> {
    &g.by_term
}

fn header(out: &mut String, report: &Report) {
    let input = &report.input;
    let _ = write!(
        out,
        "Backtest of {} ({}): {} rows replayed, {} malformed rows skipped",
        input.path.display(),
        input.format.as_str(),
        input.rows,
        input.malformed_rows
    );
    if let (Some(first), Some(last)) = (input.first_listed_at, input.last_listed_at) {
        let _ = write!(
            out,
            ", listed {} to {}",
            first.format("%Y-%m-%d"),
            last.format("%Y-%m-%d")
        );
    }
    out.push('\n');
    if input.out_of_order_rows > 0 {
        let _ = writeln!(
            out,
            "Rows are replayed in file order; {} rows are listed before the row above them.",
            input.out_of_order_rows
        );
    }
    let budget = &report.settings.budget;
    let limit = |l: Option<Decimal>| l.map_or_else(|| "none".to_string(), usd);
    let _ = writeln!(
        out,
        "Budget: daily {}, total {}, cash reserve {}; starting cash {}",
        limit(budget.daily_limit),
        limit(budget.total_limit),
        usd(budget.cash_reserve),
        report
            .settings
            .start_cash
            .map_or_else(|| "unlimited".to_string(), usd)
    );
    for example in input.malformed_examples.iter().take(5) {
        let _ = writeln!(
            out,
            "  malformed line {}: {}",
            example.line, example.message
        );
    }
}

pub(super) fn overview_rows(report: &Report) -> Vec<Vec<String>> {
    let base = &report.baseline.total;
    let mut rows = vec![
        column_titles(report),
        row("loans", base.count.to_string(), report, |s| {
            s.selected.total.count.to_string()
        }),
        row("evaluated on", "-".into(), report, |s| {
            s.rows_applied.to_string()
        }),
        row("amount (all: loan size)", usd(base.amount), report, |s| {
            usd(s.invested)
        }),
        row("average rate", percent(base.average_rate), report, |s| {
            percent(s.selected.total.average_rate)
        }),
        row(
            "amount-weighted rate",
            percent(base.weighted_average_rate),
            report,
            |s| percent(s.selected.total.weighted_average_rate),
        ),
        row("resolved loans", base.resolved.to_string(), report, |s| {
            s.selected.total.resolved.to_string()
        }),
        row(
            "bad rate (of resolved)",
            percent(base.bad_rate),
            report,
            |s| percent(s.selected.total.bad_rate),
        ),
        row(
            "late rate (of known)",
            percent(base.late_rate),
            report,
            |s| percent(s.selected.total.late_rate),
        ),
        row("skips", "-".into(), report, |s| s.skips.to_string()),
        row("budget hits", "-".into(), report, |s| {
            s.budget_hits.to_string()
        }),
        row("script errors", "-".into(), report, |s| {
            s.errors.to_string()
        }),
    ];
    if !report.end.cash_left.is_empty() {
        let cash: Vec<String> = report
            .end
            .cash_left
            .iter()
            .map(|(p, c)| format!("{p} {}", usd(*c)))
            .collect();
        rows.push(vec!["cash left".into(), cash.join(", ")]);
    }
    rows
}

fn column_titles(report: &Report) -> Vec<String> {
    let mut titles = vec![String::new(), "all rows".to_string()];
    titles.extend(report.strategies.iter().map(|s| s.name.clone()));
    titles
}

fn row(
    label: &str,
    baseline: String,
    report: &Report,
    cell: impl Fn(&StrategyReport) -> String,
) -> Vec<String> {
    let mut cells = vec![label.to_string(), baseline];
    cells.extend(report.strategies.iter().map(cell));
    cells
}

fn breakdown_rows(
    report: &Report,
    pick: fn(&GroupReport) -> &std::collections::BTreeMap<String, TallyReport>,
) -> Vec<Vec<String>> {
    let mut keys: BTreeSet<&String> = pick(&report.baseline).keys().collect();
    for s in &report.strategies {
        keys.extend(pick(&s.selected).keys());
    }
    let mut rows = vec![column_titles(report)];
    for key in keys {
        let cell = |group: &GroupReport| {
            pick(group).get(key).map_or_else(
                || "-".to_string(),
                |t| {
                    let bad = t
                        .bad_rate
                        .map(|b| format!(", bad {}", percent(Some(b))))
                        .unwrap_or_default();
                    format!("{}, {}{bad}", t.count, usd(t.amount))
                },
            )
        };
        let mut cells = vec![key.clone(), cell(&report.baseline)];
        cells.extend(report.strategies.iter().map(|s| cell(&s.selected)));
        rows.push(cells);
    }
    rows
}

fn skip_reasons(out: &mut String, strategy: &StrategyReport) {
    if strategy.skip_reasons.is_empty() && strategy.error_examples.is_empty() {
        return;
    }
    let _ = writeln!(out, "\nTop skip reasons: {}", strategy.name);
    for reason in strategy.skip_reasons.iter().take(TOP_REASONS) {
        let _ = writeln!(out, "  {:>9}  {}", reason.count, reason.reason);
    }
    for (limit, count) in &strategy.budget_hits_by_limit {
        let _ = writeln!(out, "  budget hit: {limit} ({count}×)");
    }
    for example in strategy.error_examples.iter().take(3) {
        let _ = writeln!(
            out,
            "  script error at line {}: {}",
            example.line, example.message
        );
    }
}

/// Aligns cells: the first column left, the others right.
fn table(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            let pad = widths[c].saturating_sub(cell.chars().count());
            if c == 0 {
                line.push_str(cell);
                line.push_str(&" ".repeat(pad));
            } else {
                line.push_str("   ");
                line.push_str(&" ".repeat(pad));
                line.push_str(cell);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// "$1,234.56".
pub fn usd(amount: Decimal) -> String {
    let rounded = amount.round_dp_with_strategy(2, RoundingStrategy::ToZero);
    let text = format!("{:.2}", rounded.abs());
    let (whole, cents) = text.split_once('.').unwrap_or((&text, "00"));
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let sign = if rounded.is_sign_negative() && !rounded.is_zero() {
        "-"
    } else {
        ""
    };
    format!("{sign}${grouped}.{cents}")
}

/// A fraction as a percentage with two decimals ("12.34%"), or "-".
pub fn percent(fraction: Option<Decimal>) -> String {
    fraction.map_or_else(
        || "-".to_string(),
        |f| {
            let p = (f * Decimal::ONE_HUNDRED)
                .round_dp_with_strategy(2, RoundingStrategy::MidpointNearestEven);
            format!("{p:.2}%")
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backtest::report::tests::sample_report;
    use rust_decimal_macros::dec;

    #[test]
    fn formats_money_and_percentages() {
        assert_eq!(usd(dec!(1234567.899)), "$1,234,567.89");
        assert_eq!(usd(dec!(25)), "$25.00");
        assert_eq!(usd(dec!(-5.5)), "-$5.50");
        assert_eq!(usd(dec!(0)), "$0.00");
        assert_eq!(percent(Some(dec!(0.1399))), "13.99%");
        assert_eq!(percent(Some(dec!(0.5))), "50.00%");
        assert_eq!(percent(None), "-");
    }

    #[test]
    fn shows_baseline_and_strategies_side_by_side() {
        let text = render(&sample_report());
        assert!(text.starts_with(
            "Backtest of loans.csv (lendingclub): 3 rows replayed, 1 malformed rows skipped, listed 2018-03-01 to 2018-03-02"
        ), "{text}");
        let titles = text.lines().find(|l| l.contains("all rows")).unwrap();
        assert!(titles.contains("picky") && titles.contains("none"));
        let amount = text.lines().find(|l| l.starts_with("amount (all")).unwrap();
        assert!(
            amount.contains("$6,000.00") && amount.contains("$75.00"),
            "{amount}"
        );
        let bad = text.lines().find(|l| l.starts_with("bad rate")).unwrap();
        assert!(bad.contains("50.00%") && bad.contains("0.00%"), "{bad}");
        assert!(text.contains("By grade"));
        let grade_a = text
            .lines()
            .skip_while(|l| !l.starts_with("By grade"))
            .find(|l| l.starts_with('A'))
            .unwrap();
        assert!(
            grade_a.contains("2, $4,000.00") && grade_a.contains("2, $75.00"),
            "{grade_a}"
        );
        assert!(text.contains("budget hit: the daily budget (1×)"));
        assert!(text.contains("warning: strategy none is limited"));
    }
}
