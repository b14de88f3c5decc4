//! `report.html`: one self-contained page (inline CSS and SVG, no scripts, no external
//! assets) with the summary table and charts — cumulative amount invested over time,
//! allocation by grade and by term, outcome rates selected vs all, skip reasons — every
//! strategy side by side. The markup is well-formed XML (every element closed, every
//! attribute quoted), so it can be checked by any XML parser.
//!
//! Chart geometry is computed in `f64` pixels; the figures shown in labels and
//! tooltips are the report's exact decimals.

use super::summary::{overview_rows, usd};
use super::{GroupReport, Report, StrategyReport, TallyReport};
use chrono::NaiveDate;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::fs;
use std::io;
use std::path::Path;

/// The baseline's colour, then one per strategy (cycled).
const BASELINE_COLOUR: &str = "#9aa0a6";
const COLOURS: [&str; 8] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf",
];
const WIDTH: f64 = 960.0;
const HEIGHT: f64 = 320.0;
/// Plot margins: left (axis labels), right, top, bottom (category labels).
const LEFT: f64 = 90.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 20.0;
const BOTTOM: f64 = 50.0;
/// Most points drawn per line; longer series are thinned (the last point is kept).
const MAX_POINTS: usize = 1500;
/// Bar charts with at most this many bars print each bar's value above it.
const MAX_LABELLED_BARS: usize = 24;
/// Skip reasons charted per strategy.
const TOP_REASONS: usize = 8;

const STYLE: &str = "body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:24px;color:#202124;max-width:1000px}\
h1{font-size:22px;margin-bottom:4px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #dadce0;padding-bottom:4px}\
p.meta{color:#5f6368;margin:2px 0}table{border-collapse:collapse;font-size:13px}\
td,th{padding:3px 10px;border-bottom:1px solid #eee;text-align:right}td:first-child,th:first-child{text-align:left}\
svg{display:block;margin-top:8px}svg text{font-size:11px;fill:#3c4043}.axis{stroke:#9aa0a6;stroke-width:1}\
.grid{stroke:#eee;stroke-width:1}.legend text{font-size:12px}.reasons{display:flex;flex-wrap:wrap;gap:16px}\
.warning{color:#b3261e}";

/// Writes the page for `report` to `path`.
pub fn write(report: &Report, path: &Path) -> io::Result<()> {
    fs::write(path, render(report))
}

/// The whole page.
pub fn render(report: &Report) -> String {
    let mut page = String::with_capacity(64 * 1024);
    let title = format!("Backtest: {}", report.input.path.display());
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{}</h1>\n",
        escape(&title),
        escape(&title)
    );
    meta(&mut page, report);
    section(&mut page, "Summary", &summary_table(report));
    section(
        &mut page,
        "Cumulative amount invested",
        &cumulative_chart(&report.strategies),
    );
    section(
        &mut page,
        "Allocation by grade (share of amount)",
        &allocation_chart("chart-grade", report, |g| &g.by_grade),
    );
    section(
        &mut page,
        "Allocation by term in months (share of amount)",
        &allocation_chart("chart-term", report, |g| &g.by_term),
    );
    section(
        &mut page,
        "Outcomes: selected loans vs all rows",
        &outcome_chart(report),
    );
    section(&mut page, "Skip reasons", &skip_reason_charts(report));
    if !report.warnings.is_empty() {
        let items: String = report
            .warnings
            .iter()
            .map(|w| format!("<li class=\"warning\">{}</li>", escape(w)))
            .collect();
        section(&mut page, "Warnings", &format!("<ul>{items}</ul>"));
    }
    page.push_str("</body>\n</html>\n");
    page
}

fn meta(page: &mut String, report: &Report) {
    let input = &report.input;
    let mut line = format!(
        "{} format, {} rows replayed, {} malformed rows skipped",
        input.format.as_str(),
        input.rows,
        input.malformed_rows
    );
    if let (Some(first), Some(last)) = (input.first_listed_at, input.last_listed_at) {
        let _ = write!(
            line,
            ", listed {} to {}",
            first.format("%Y-%m-%d"),
            last.format("%Y-%m-%d")
        );
    }
    let budget = &report.settings.budget;
    let limit = |l: Option<Decimal>| l.map_or_else(|| "none".to_string(), usd);
    let budget_line = format!(
        "Budget: daily {}, total {}, cash reserve {}; starting cash {}",
        limit(budget.daily_limit),
        limit(budget.total_limit),
        usd(budget.cash_reserve),
        report
            .settings
            .start_cash
            .map_or_else(|| "unlimited".to_string(), usd)
    );
    let _ = writeln!(
        page,
        "<p class=\"meta\">{}</p>\n<p class=\"meta\">{}</p>",
        escape(&line),
        escape(&budget_line)
    );
}

fn section(page: &mut String, title: &str, body: &str) {
    let _ = writeln!(
        page,
        "<section>\n<h2>{}</h2>\n{body}\n</section>",
        escape(title)
    );
}

fn summary_table(report: &Report) -> String {
    let rows = overview_rows(report);
    let mut html = String::from("<table>\n");
    for (i, row) in rows.iter().enumerate() {
        let tag = if i == 0 { "th" } else { "td" };
        html.push_str("<tr>");
        for cell in row {
            let _ = write!(html, "<{tag}>{}</{tag}>", escape(cell));
        }
        html.push_str("</tr>\n");
    }
    html.push_str("</table>");
    html
}

/// One named, coloured series of a chart.
struct Series<'a> {
    name: &'a str,
    colour: &'static str,
}

fn strategy_colour(index: usize) -> &'static str {
    COLOURS[index % COLOURS.len()]
}

fn with_baseline(report: &Report) -> Vec<Series<'_>> {
    let mut series = vec![Series {
        name: "all rows",
        colour: BASELINE_COLOUR,
    }];
    series.extend(report.strategies.iter().enumerate().map(|(i, s)| Series {
        name: &s.name,
        colour: strategy_colour(i),
    }));
    series
}

fn svg_open(id: &str, height: f64) -> String {
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"{id}\" class=\"chart\" width=\"{WIDTH}\" height=\"{height}\" viewBox=\"0 0 {WIDTH} {height}\" role=\"img\">"
    )
}

fn legend(svg: &mut String, series: &[Series<'_>]) {
    svg.push_str("<g class=\"legend\">");
    let mut x = LEFT;
    for s in series {
        let _ = write!(
            svg,
            "<rect x=\"{x:.1}\" y=\"4\" width=\"10\" height=\"10\" fill=\"{}\"/><text x=\"{:.1}\" y=\"13\">{}</text>",
            s.colour,
            x + 14.0,
            escape(s.name)
        );
        x += 24.0 + 7.0 * s.name.chars().count() as f64;
    }
    svg.push_str("</g>");
}

fn no_data(id: &str, message: &str) -> String {
    format!(
        "{}<text x=\"{LEFT}\" y=\"40\">{}</text></svg>",
        svg_open(id, 60.0),
        escape(message)
    )
}

fn to_f64(value: Decimal) -> f64 {
    value.to_f64().unwrap_or(0.0)
}

/// Vertical axis with `ticks` gridlines from 0 to `max`, labelled by `label`.
fn y_axis(svg: &mut String, max: f64, label: impl Fn(f64) -> String) {
    let plot_height = HEIGHT - TOP - BOTTOM;
    for i in 0..=4 {
        let value = max * f64::from(i) / 4.0;
        let y = TOP + plot_height - plot_height * f64::from(i) / 4.0;
        let _ = write!(
            svg,
            "<line class=\"grid\" x1=\"{LEFT}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            WIDTH - RIGHT,
            LEFT - 6.0,
            y + 4.0,
            escape(&label(value))
        );
    }
    let _ = write!(
        svg,
        "<line class=\"axis\" x1=\"{LEFT}\" y1=\"{TOP}\" x2=\"{LEFT}\" y2=\"{:.1}\"/><line class=\"axis\" x1=\"{LEFT}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\"/>",
        HEIGHT - BOTTOM,
        HEIGHT - BOTTOM,
        WIDTH - RIGHT,
        HEIGHT - BOTTOM
    );
}

/// Rounds an axis maximum up to 1, 2 or 5 × a power of ten.
fn nice_max(max: f64) -> f64 {
    if max <= 0.0 || !max.is_finite() {
        return 1.0;
    }
    let magnitude = 10f64.powf(max.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|m| *m >= max)
        .unwrap_or(10.0 * magnitude)
}

/// "12.5%", "25%": one decimal only when the tick needs it.
fn percent_label(value: f64) -> String {
    let text = format!("{value:.1}");
    format!("{}%", text.trim_end_matches(".0"))
}

fn short_usd(value: f64) -> String {
    match value {
        v if v >= 1e6 => format!("${:.1}M", v / 1e6),
        v if v >= 1e3 => format!("${:.1}k", v / 1e3),
        v => format!("${v:.0}"),
    }
}

fn cumulative_chart(strategies: &[StrategyReport]) -> String {
    let id = "chart-cumulative";
    let days: BTreeSet<NaiveDate> = strategies
        .iter()
        .flat_map(|s| s.daily.iter().map(|d| d.date))
        .collect();
    let (Some(&first), Some(&last)) = (days.first(), days.last()) else {
        return no_data(id, "No strategy bought anything.");
    };
    let span = (last - first).num_days().max(1) as f64;
    let max = strategies
        .iter()
        .filter_map(|s| s.daily.last())
        .map(|d| to_f64(d.cumulative))
        .fold(0.0, f64::max);
    let max = nice_max(max);
    let plot_width = WIDTH - LEFT - RIGHT;
    let plot_height = HEIGHT - TOP - BOTTOM;
    let x = |d: NaiveDate| LEFT + plot_width * (d - first).num_days() as f64 / span;
    let y = |v: f64| TOP + plot_height - plot_height * v / max;
    let mut svg = svg_open(id, HEIGHT);
    y_axis(&mut svg, max, short_usd);
    date_ticks(&mut svg, first, last, &x);
    for (i, strategy) in strategies.iter().enumerate() {
        let step = strategy.daily.len().div_ceil(MAX_POINTS).max(1);
        let mut points = format!("{:.1},{:.1}", x(first), y(0.0));
        let last_index = strategy.daily.len().saturating_sub(1);
        for (j, day) in strategy.daily.iter().enumerate() {
            if j % step == 0 || j == last_index {
                let _ = write!(
                    points,
                    " {:.1},{:.1}",
                    x(day.date),
                    y(to_f64(day.cumulative))
                );
            }
        }
        let total = strategy
            .daily
            .last()
            .map_or(Decimal::ZERO, |d| d.cumulative);
        let _ = write!(
            svg,
            "<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"2\" points=\"{points}\"><title>{}: {} invested</title></polyline>",
            strategy_colour(i),
            escape(&strategy.name),
            usd(total)
        );
    }
    let series: Vec<Series<'_>> = strategies
        .iter()
        .enumerate()
        .map(|(i, s)| Series {
            name: &s.name,
            colour: strategy_colour(i),
        })
        .collect();
    legend(&mut svg, &series);
    svg.push_str("</svg>");
    svg
}

fn date_ticks(svg: &mut String, first: NaiveDate, last: NaiveDate, x: &impl Fn(NaiveDate) -> f64) {
    let span = (last - first).num_days().max(0);
    let ticks = span.min(6);
    for i in 0..=ticks {
        let offset = if ticks == 0 { 0 } else { span * i / ticks };
        let day = first + chrono::TimeDelta::days(offset);
        // The end labels stay inside the plot.
        let anchor = match i {
            0 => "start",
            i if i == ticks => "end",
            _ => "middle",
        };
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"{anchor}\">{}</text>",
            x(day),
            HEIGHT - BOTTOM + 18.0,
            day.format("%Y-%m-%d")
        );
    }
}

/// One category's bar values, one per series (`None`: no figure).
type Categories = Vec<(String, Vec<Option<f64>>)>;

fn allocation_chart(
    id: &str,
    report: &Report,
    pick: fn(&GroupReport) -> &BTreeMap<String, TallyReport>,
) -> String {
    let groups: Vec<&GroupReport> = std::iter::once(&report.baseline)
        .chain(report.strategies.iter().map(|s| &s.selected))
        .collect();
    let keys: BTreeSet<&String> = groups.iter().flat_map(|g| pick(g).keys()).collect();
    if keys.is_empty() {
        return no_data(id, "No rows.");
    }
    let categories: Categories = keys
        .into_iter()
        .map(|key| {
            let values = groups
                .iter()
                .map(|g| {
                    let total = g.total.amount;
                    let amount = pick(g).get(key).map_or(Decimal::ZERO, |t| t.amount);
                    (!total.is_zero()).then(|| to_f64(amount / total * Decimal::ONE_HUNDRED))
                })
                .collect();
            (key.clone(), values)
        })
        .collect();
    bar_chart(id, &with_baseline(report), &categories)
}

fn outcome_chart(report: &Report) -> String {
    let tallies: Vec<&TallyReport> = std::iter::once(&report.baseline.total)
        .chain(report.strategies.iter().map(|s| &s.selected.total))
        .collect();
    let as_percent = |r: Option<Decimal>| r.map(|r| to_f64(r * Decimal::ONE_HUNDRED));
    let categories: Categories = vec![
        (
            "bad rate (charged off / resolved)".to_string(),
            tallies.iter().map(|t| as_percent(t.bad_rate)).collect(),
        ),
        (
            "late rate (late / known status)".to_string(),
            tallies.iter().map(|t| as_percent(t.late_rate)).collect(),
        ),
    ];
    if categories
        .iter()
        .all(|(_, v)| v.iter().all(Option::is_none))
    {
        return no_data("chart-outcomes", "The data has no loan outcomes.");
    }
    bar_chart("chart-outcomes", &with_baseline(report), &categories)
}

/// Grouped vertical bars in percent: one group per category, one bar per series.
fn bar_chart(id: &str, series: &[Series<'_>], categories: &Categories) -> String {
    let max = categories
        .iter()
        .flat_map(|(_, v)| v.iter().flatten())
        .fold(0.0, |a: f64, b| a.max(*b));
    let max = nice_max(max).min(100.0);
    let plot_width = WIDTH - LEFT - RIGHT;
    let plot_height = HEIGHT - TOP - BOTTOM;
    let group_width = plot_width / categories.len() as f64;
    let bar_width = (group_width * 0.8 / series.len() as f64).min(40.0);
    let label_bars = categories.len() * series.len() <= MAX_LABELLED_BARS;
    let mut svg = svg_open(id, HEIGHT);
    y_axis(&mut svg, max, percent_label);
    for (c, (label, values)) in categories.iter().enumerate() {
        let group_x = LEFT + group_width * c as f64;
        let bars_x = group_x + (group_width - bar_width * series.len() as f64) / 2.0;
        for (s, value) in values.iter().enumerate() {
            let Some(value) = value else { continue };
            let height = plot_height * value.min(max) / max;
            let _ = write!(
                svg,
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{height:.1}\" fill=\"{}\"><title>{} — {}: {value:.2}%</title></rect>",
                bars_x + bar_width * s as f64,
                TOP + plot_height - height,
                (bar_width - 1.0).max(1.0),
                series[s].colour,
                escape(series[s].name),
                escape(label)
            );
            if label_bars {
                let _ = write!(
                    svg,
                    "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
                    bars_x + bar_width * s as f64 + bar_width / 2.0,
                    TOP + plot_height - height - 3.0,
                    percent_label((value * 10.0).round() / 10.0)
                );
            }
        }
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            group_x + group_width / 2.0,
            HEIGHT - BOTTOM + 18.0,
            escape(label)
        );
    }
    legend(&mut svg, series);
    svg.push_str("</svg>");
    svg
}

fn skip_reason_charts(report: &Report) -> String {
    let mut html = String::from("<div class=\"reasons\">");
    for (i, strategy) in report.strategies.iter().enumerate() {
        let _ = write!(
            html,
            "<div><strong>{}</strong>{}</div>",
            escape(&strategy.name),
            reason_chart(i, strategy)
        );
    }
    html.push_str("</div>");
    html
}

fn reason_chart(index: usize, strategy: &StrategyReport) -> String {
    let id = format!("chart-skips-{index}");
    let reasons = &strategy.skip_reasons[..strategy.skip_reasons.len().min(TOP_REASONS)];
    let Some(most) = reasons.first().map(|r| r.count) else {
        return no_data(&id, "No skips.");
    };
    let row_height = 22.0;
    let label_width = 300.0;
    let bar_space = WIDTH - label_width - 80.0;
    let height = 10.0 + row_height * reasons.len() as f64;
    let mut svg = svg_open(&id, height);
    for (r, reason) in reasons.iter().enumerate() {
        let y = 5.0 + row_height * r as f64;
        let width = bar_space * reason.count as f64 / most.max(1) as f64;
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}<title>{}</title></text><rect x=\"{label_width}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{}\"/><text x=\"{:.1}\" y=\"{:.1}\">{}</text>",
            label_width - 6.0,
            y + 14.0,
            escape(&truncate(&reason.reason, 48)),
            escape(&reason.reason),
            width.max(1.0),
            row_height - 6.0,
            strategy_colour(index),
            label_width + width.max(1.0) + 4.0,
            y + 14.0,
            reason.count
        );
    }
    svg.push_str("</svg>");
    svg
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(max - 1).collect();
    cut.push('…');
    cut
}

/// Escapes text for element content and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backtest::report::tests::sample_report;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape("<a href='x'>&\"</a>"),
            "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;"
        );
    }

    #[test]
    fn axis_maxima_are_round() {
        assert_eq!(nice_max(0.0), 1.0);
        assert_eq!(nice_max(7.0), 10.0);
        assert_eq!(nice_max(1234.0), 2000.0);
        assert_eq!(nice_max(45.0), 50.0);
        assert_eq!(percent_label(12.5), "12.5%");
        assert_eq!(percent_label(25.0), "25%");
    }

    #[test]
    fn page_has_every_chart_and_escapes_names() {
        let mut report = sample_report();
        report.strategies[0].name = "picky <A&B>".into();
        let page = render(&report);
        for id in [
            "chart-cumulative",
            "chart-grade",
            "chart-term",
            "chart-outcomes",
            "chart-skips-0",
            "chart-skips-1",
        ] {
            assert!(page.contains(&format!("id=\"{id}\"")), "{id} missing");
        }
        assert!(page.contains("picky &lt;A&amp;B&gt;"));
        assert!(!page.contains("<A&B>"));
        // Self-contained: nothing is fetched or run.
        for external in [" src=", " href=", "<script", "<link", "url("] {
            assert!(!page.contains(external), "{external} in the page");
        }
    }
}
