//! What a backtest found: bounded aggregates built row by row ([`Aggregator`]) and the
//! finished [`Report`] rendered as a text summary, `report.json`, `decisions.csv`
//! (streamed while the backtest runs) and a self-contained `report.html`.
//!
//! Memory does not grow with the number of rows: every table is keyed by something
//! small (grade, term, outcome, skip reason, day) and the open-ended ones (grades,
//! terms, reasons from scripts) are capped, with the rest counted under "other".

pub mod csv;
pub mod html;
pub mod json;
pub mod summary;

use super::import::{DataFormat, Imported, Outcome, RowError};
use crate::decision::{Decision, Verdict};
use crate::opportunity::PlatformId;
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::Serialize;
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

/// Version of `report.json`'s layout; bumped when a field changes meaning.
pub const REPORT_VERSION: u32 = 1;
/// Distinct grades, terms or platforms kept apart; more are counted as "other".
const MAX_GROUPS: usize = 64;
/// Distinct skip reasons kept apart per strategy; more are counted as "other".
const MAX_REASONS: usize = 256;
/// Malformed rows and script errors kept as examples.
const MAX_EXAMPLES: usize = 20;
/// Where overflowing keys are counted.
pub const OTHER: &str = "(other)";

/// The sizing limits whose refusal is a "budget hit". The texts are the labels
/// `sizing` puts in its skip reasons (a test pins them against it).
pub const BUDGET_LIMITS: [&str; 8] = [
    "the daily budget",
    "the total budget",
    "the platform's daily_limit",
    "the platform's total_limit",
    "the strategy's daily_limit",
    "the strategy's total_limit",
    "the strategy's max_per_opportunity",
    "cash above the reserve",
];

/// Every label in [`BUDGET_LIMITS`] contains this (a test checks it): a reason without
/// it names no limit, found with one search instead of one per label.
const BUDGET_LIMIT_MARK: &str = "the ";

/// The budget limit a skip reason names, if any.
pub fn budget_limit_in(reason: &str) -> Option<&'static str> {
    if !reason.contains(BUDGET_LIMIT_MARK) {
        return None;
    }
    BUDGET_LIMITS.iter().copied().find(|l| reason.contains(l))
}

/// A skip reason with its dollar figures blanked ("$x"), so "leaves $10.00" and
/// "leaves $5.00" count as one reason.
pub fn reason_key(reason: &str) -> String {
    let mut key = String::with_capacity(reason.len());
    let mut chars = reason.chars().peekable();
    while let Some(c) = chars.next() {
        key.push(c);
        if c == '$' && chars.peek().is_some_and(|d| d.is_ascii_digit()) {
            let mut figure = String::new();
            while let Some(d) = chars.next_if(|d| d.is_ascii_digit() || *d == '.' || *d == ',') {
                figure.push(d);
            }
            key.push('x');
            // Punctuation after the figure ("$10.00, below") belongs to the sentence.
            let figure_end = figure.trim_end_matches(['.', ',']).len();
            key.push_str(&figure[figure_end..]);
        }
    }
    key
}

/// Counts, amounts, rates and outcomes of a set of loans.
#[derive(Debug, Clone, Default)]
struct Tally {
    count: u64,
    amount: Decimal,
    rated: u64,
    rate_sum: Decimal,
    /// Σ rate × amount and Σ amount over the rows that have a rate.
    weighted_rate_sum: Decimal,
    weighted_amount: Decimal,
    outcomes: [u64; 5],
}

fn outcome_index(outcome: Outcome) -> usize {
    match outcome {
        Outcome::FullyPaid => 0,
        Outcome::ChargedOff => 1,
        Outcome::Late => 2,
        Outcome::Current => 3,
        Outcome::Unknown => 4,
    }
}

impl Tally {
    /// Amounts and rates are bounded by the importers' checks ($1e12, rate ≤ 1), so
    /// these sums stay far inside `Decimal`'s range.
    fn add(&mut self, amount: Decimal, rate: Option<Decimal>, outcome: Outcome) {
        self.count += 1;
        self.amount += amount;
        if let Some(rate) = rate {
            self.rated += 1;
            self.rate_sum += rate;
            self.weighted_rate_sum += rate * amount;
            self.weighted_amount += amount;
        }
        self.outcomes[outcome_index(outcome)] += 1;
    }

    fn finish(&self) -> TallyReport {
        let [fully_paid, charged_off, late, current, unknown] = self.outcomes;
        let resolved = fully_paid + charged_off;
        TallyReport {
            count: self.count,
            amount: self.amount,
            average_rate: ratio(self.rate_sum, Decimal::from(self.rated), 6),
            weighted_average_rate: ratio(self.weighted_rate_sum, self.weighted_amount, 6),
            outcomes: OutcomeCounts {
                fully_paid,
                charged_off,
                late,
                current,
                unknown,
            },
            resolved,
            bad_rate: ratio(Decimal::from(charged_off), Decimal::from(resolved), 4),
            late_rate: ratio(
                Decimal::from(late),
                Decimal::from(resolved + late + current),
                4,
            ),
        }
    }
}

/// `part / whole` rounded half-even to exactly `dp` places; `None` when `whole` is zero.
fn ratio(part: Decimal, whole: Decimal, dp: u32) -> Option<Decimal> {
    if whole.is_zero() {
        return None;
    }
    part.checked_div(whole).map(|r| {
        let mut r = r.round_dp_with_strategy(dp, RoundingStrategy::MidpointNearestEven);
        r.rescale(dp);
        r
    })
}

/// A tally with breakdowns by grade and term.
#[derive(Debug, Clone, Default)]
struct GroupTally {
    total: Tally,
    by_grade: BTreeMap<String, Tally>,
    by_term: BTreeMap<String, Tally>,
}

impl GroupTally {
    fn add(&mut self, row: &Imported, amount: Decimal) {
        let o = &row.opportunity;
        self.total.add(amount, o.rate, row.outcome);
        let grade = o.grade.as_deref().unwrap_or("(none)");
        bounded_entry(&mut self.by_grade, grade).add(amount, o.rate, row.outcome);
        let mut digits = [0u8; 20];
        let term = o.term_months.map_or("(none)", |months| {
            decimal_digits(months.into(), &mut digits)
        });
        bounded_entry(&mut self.by_term, term).add(amount, o.rate, row.outcome);
    }

    fn finish(&self) -> GroupReport {
        let finish_all = |map: &BTreeMap<String, Tally>| {
            map.iter()
                .map(|(k, t)| (k.clone(), t.finish()))
                .collect::<BTreeMap<_, _>>()
        };
        GroupReport {
            total: self.total.finish(),
            by_grade: finish_all(&self.by_grade),
            by_term: finish_all(&self.by_term),
        }
    }
}

/// The entry for `key`, or for [`OTHER`] once `MAX_GROUPS` keys exist. Allocates
/// only for a key not seen before (this runs several times per row).
fn bounded_entry<'a, T: Default>(map: &'a mut BTreeMap<String, T>, key: &str) -> &'a mut T {
    let key = if map.contains_key(key) || map.len() < MAX_GROUPS {
        key
    } else {
        OTHER
    };
    if !map.contains_key(key) {
        map.insert(key.to_string(), T::default());
    }
    map.get_mut(key).expect("the key was inserted above")
}

/// `value` in decimal, written at the end of `digits` (no allocation).
pub(super) fn decimal_digits(mut value: u64, digits: &mut [u8; 20]) -> &str {
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    // Only ASCII digits were written.
    std::str::from_utf8(&digits[start..]).unwrap_or_default()
}

/// One strategy's running figures.
#[derive(Debug, Clone)]
struct StrategyTally {
    name: String,
    platforms: Option<Vec<PlatformId>>,
    rows_applied: u64,
    buys: u64,
    skips: u64,
    errors: u64,
    selected: GroupTally,
    budget_hits: BTreeMap<&'static str, u64>,
    skip_reasons: HashMap<String, SkipCount>,
    error_examples: Vec<Example>,
    daily: BTreeMap<NaiveDate, DayTally>,
}

/// How often a reason was given, and the budget limit it names (computed once).
#[derive(Debug, Clone, Copy)]
struct SkipCount {
    count: u64,
    limit: Option<&'static str>,
}

/// What one strategy bought on one simulated day.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct DayTally {
    pub amount: Decimal,
    pub buys: u64,
}

impl StrategyTally {
    fn observe(&mut self, row: &Imported, decision: &Decision) {
        self.rows_applied += 1;
        match &decision.verdict {
            Verdict::Buy { amount, .. } => {
                self.buys += 1;
                self.selected.add(row, *amount);
                if let Some(at) = row.opportunity.listed_at {
                    let day = self.daily.entry(at.date_naive()).or_default();
                    day.amount += *amount;
                    day.buys += 1;
                }
            }
            Verdict::Skip { reason } => {
                self.skips += 1;
                let limit = self.count_skip(reason);
                if let Some(limit) = limit {
                    *self.budget_hits.entry(limit).or_default() += 1;
                }
            }
            Verdict::Error { message } => {
                self.errors += 1;
                if self.error_examples.len() < MAX_EXAMPLES {
                    self.error_examples.push(Example {
                        line: row.line,
                        opportunity_id: Some(row.opportunity.id.clone()),
                        message: message.clone(),
                    });
                }
            }
        }
    }

    /// Counts a skip under its reason key and returns the budget limit it names.
    /// Most skips repeat a reason already seen, or (once the table is full) go to
    /// [`OTHER`]: neither path allocates.
    fn count_skip(&mut self, reason: &str) -> Option<&'static str> {
        let key = if reason.contains('$') {
            Cow::Owned(reason_key(reason))
        } else {
            Cow::Borrowed(reason)
        };
        if let Some(seen) = self.skip_reasons.get_mut(key.as_ref()) {
            seen.count += 1;
            return seen.limit;
        }
        let limit = budget_limit_in(reason);
        if self.skip_reasons.len() < MAX_REASONS {
            self.skip_reasons
                .insert(key.into_owned(), SkipCount { count: 1, limit });
        } else if let Some(other) = self.skip_reasons.get_mut(OTHER) {
            other.count += 1;
        } else {
            // The first reason that overflows makes the entry (and gives it its limit).
            self.skip_reasons
                .insert(OTHER.to_string(), SkipCount { count: 1, limit });
        }
        limit
    }

    fn finish(&self) -> StrategyReport {
        let mut skip_reasons: Vec<ReasonCount> = self
            .skip_reasons
            .iter()
            .map(|(reason, seen)| ReasonCount {
                reason: reason.clone(),
                count: seen.count,
            })
            .collect();
        skip_reasons.sort_by(|a, b| b.count.cmp(&a.count).then(a.reason.cmp(&b.reason)));
        let mut cumulative = Decimal::ZERO;
        let daily = self
            .daily
            .iter()
            .map(|(date, day)| {
                cumulative += day.amount;
                DayReport {
                    date: *date,
                    amount: day.amount,
                    buys: day.buys,
                    cumulative,
                }
            })
            .collect();
        StrategyReport {
            name: self.name.clone(),
            platforms: self
                .platforms
                .as_ref()
                .map(|p| p.iter().map(|id| id.to_string()).collect()),
            rows_applied: self.rows_applied,
            buys: self.buys,
            skips: self.skips,
            errors: self.errors,
            invested: self.selected.total.amount,
            selected: self.selected.finish(),
            budget_hits: self.budget_hits.values().sum(),
            budget_hits_by_limit: self
                .budget_hits
                .iter()
                .map(|(k, v)| (k.to_string(), *v))
                .collect(),
            skip_reasons,
            error_examples: self.error_examples.clone(),
            daily,
        }
    }
}

/// Builds a [`Report`] one row at a time.
#[derive(Debug)]
pub struct Aggregator {
    rows: u64,
    malformed: u64,
    malformed_examples: Vec<Example>,
    first_listed_at: Option<DateTime<Utc>>,
    last_listed_at: Option<DateTime<Utc>>,
    previous_listed_at: Option<DateTime<Utc>>,
    out_of_order: u64,
    platforms: BTreeMap<String, u64>,
    baseline: GroupTally,
    strategies: Vec<StrategyTally>,
    by_name: HashMap<String, usize>,
}

impl Aggregator {
    /// One column per strategy, in the given order, with the platforms each is
    /// limited to (`None`: every platform).
    pub fn new(strategies: Vec<(String, Option<Vec<PlatformId>>)>) -> Self {
        let by_name = strategies
            .iter()
            .enumerate()
            .map(|(i, (name, _))| (name.clone(), i))
            .collect();
        let strategies = strategies
            .into_iter()
            .map(|(name, platforms)| StrategyTally {
                name,
                platforms,
                rows_applied: 0,
                buys: 0,
                skips: 0,
                errors: 0,
                selected: GroupTally::default(),
                budget_hits: BTreeMap::new(),
                skip_reasons: HashMap::new(),
                error_examples: Vec::new(),
                daily: BTreeMap::new(),
            })
            .collect();
        Aggregator {
            rows: 0,
            malformed: 0,
            malformed_examples: Vec::new(),
            first_listed_at: None,
            last_listed_at: None,
            previous_listed_at: None,
            out_of_order: 0,
            platforms: BTreeMap::new(),
            baseline: GroupTally::default(),
            strategies,
            by_name,
        }
    }

    /// Counts a row that could not be used.
    pub fn malformed(&mut self, error: &RowError) {
        self.malformed += 1;
        if self.malformed_examples.len() < MAX_EXAMPLES {
            self.malformed_examples.push(Example {
                line: error.line,
                opportunity_id: None,
                message: error.message.clone(),
            });
        }
    }

    /// Adds one row to the baseline and its decisions to their strategies.
    pub fn observe(&mut self, row: &Imported, decisions: &[Decision]) {
        self.rows += 1;
        let o = &row.opportunity;
        *bounded_entry(&mut self.platforms, o.platform.as_str()) += 1;
        if let Some(at) = o.listed_at {
            self.first_listed_at = Some(self.first_listed_at.map_or(at, |f| f.min(at)));
            self.last_listed_at = Some(self.last_listed_at.map_or(at, |l| l.max(at)));
            if self.previous_listed_at.is_some_and(|p| at < p) {
                self.out_of_order += 1;
            }
            self.previous_listed_at = Some(at);
        }
        self.baseline
            .add(row, o.amount.or(o.remaining).unwrap_or_default());
        let mut next = 0;
        for decision in decisions {
            if let Some(i) = self.strategy_index(&decision.strategy, next) {
                self.strategies[i].observe(row, decision);
                next = i + 1;
            }
        }
    }

    /// The column of the strategy named `name`. Decisions come in config order, so
    /// the column after the previous decision's is tried before hashing the name.
    fn strategy_index(&self, name: &str, expected: usize) -> Option<usize> {
        match self.strategies.get(expected) {
            Some(tally) if tally.name == name => Some(expected),
            _ => self.by_name.get(name).copied(),
        }
    }

    /// The finished report.
    pub fn finish(&self, input: InputSource, settings: Settings, end: EndState) -> Report {
        let strategies: Vec<StrategyReport> =
            self.strategies.iter().map(StrategyTally::finish).collect();
        let data_platforms: Vec<&str> = self.platforms.keys().map(String::as_str).collect();
        let warnings = strategies
            .iter()
            .filter(|s| s.rows_applied == 0 && self.rows > 0)
            .filter_map(|s| {
                s.platforms.as_ref().map(|p| {
                    format!(
                        "strategy {} is limited to platforms [{}] and applies to none of the {} rows (platforms in the data: {})",
                        s.name,
                        p.join(", "),
                        self.rows,
                        data_platforms.join(", ")
                    )
                })
            })
            .collect();
        Report {
            version: REPORT_VERSION,
            input: InputReport {
                path: input.path,
                format: input.format,
                rows: self.rows,
                malformed_rows: self.malformed,
                malformed_examples: self.malformed_examples.clone(),
                first_listed_at: self.first_listed_at,
                last_listed_at: self.last_listed_at,
                out_of_order_rows: self.out_of_order,
                rows_by_platform: self.platforms.clone(),
            },
            settings,
            baseline: self.baseline.finish(),
            strategies,
            end,
            warnings,
        }
    }
}

/// Where the rows came from.
#[derive(Debug, Clone)]
pub struct InputSource {
    pub path: PathBuf,
    pub format: DataFormat,
}

/// How the backtest was set up.
#[derive(Debug, Clone, Serialize)]
pub struct Settings {
    /// Cash each platform account started with; `None` = unlimited.
    pub start_cash: Option<Decimal>,
    pub strategies: Vec<String>,
    pub budget: BudgetReport,
}

/// The config's `[budget]`.
#[derive(Debug, Clone, Serialize)]
pub struct BudgetReport {
    pub daily_limit: Option<Decimal>,
    pub total_limit: Option<Decimal>,
    pub cash_reserve: Decimal,
}

/// The simulated portfolio at the end.
#[derive(Debug, Clone, Serialize)]
pub struct EndState {
    pub invested_total: Decimal,
    /// Cash left per platform account (only with `--start-cash`).
    pub cash_left: BTreeMap<String, Decimal>,
}

// ---- report.json (field names are a contract: see REPORT_VERSION) ----

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub version: u32,
    pub input: InputReport,
    pub settings: Settings,
    /// Every row read: what the strategies chose from.
    pub baseline: GroupReport,
    /// One per strategy, in config order.
    pub strategies: Vec<StrategyReport>,
    pub end: EndState,
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct InputReport {
    pub path: PathBuf,
    pub format: DataFormat,
    /// Rows replayed (malformed ones excluded).
    pub rows: u64,
    pub malformed_rows: u64,
    pub malformed_examples: Vec<Example>,
    pub first_listed_at: Option<DateTime<Utc>>,
    pub last_listed_at: Option<DateTime<Utc>>,
    /// Rows listed earlier than the row before them (the replay follows file order).
    pub out_of_order_rows: u64,
    pub rows_by_platform: BTreeMap<String, u64>,
}

/// A malformed row or a script error.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Example {
    pub line: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opportunity_id: Option<String>,
    pub message: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct GroupReport {
    pub total: TallyReport,
    pub by_grade: BTreeMap<String, TallyReport>,
    pub by_term: BTreeMap<String, TallyReport>,
}

/// Figures of a set of loans. For the baseline `amount` is the loans' size; for a
/// strategy it is what the strategy invested.
#[derive(Debug, Clone, Serialize)]
pub struct TallyReport {
    pub count: u64,
    pub amount: Decimal,
    /// Mean rate over the loans that have one.
    pub average_rate: Option<Decimal>,
    /// Mean rate weighted by `amount`.
    pub weighted_average_rate: Option<Decimal>,
    pub outcomes: OutcomeCounts,
    /// Loans with a final outcome (fully paid or charged off).
    pub resolved: u64,
    /// Charged off (incl. default) / resolved.
    pub bad_rate: Option<Decimal>,
    /// Late / loans with a known status.
    pub late_rate: Option<Decimal>,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct OutcomeCounts {
    pub fully_paid: u64,
    pub charged_off: u64,
    pub late: u64,
    pub current: u64,
    pub unknown: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct StrategyReport {
    pub name: String,
    /// Platform accounts it is limited to; `None` = every platform.
    pub platforms: Option<Vec<String>>,
    /// Rows it was evaluated on.
    pub rows_applied: u64,
    pub buys: u64,
    pub skips: u64,
    pub errors: u64,
    pub invested: Decimal,
    /// The loans it bought (amounts are what it invested).
    pub selected: GroupReport,
    /// Skips because a budget or limit was used up.
    pub budget_hits: u64,
    pub budget_hits_by_limit: BTreeMap<String, u64>,
    /// Most frequent first; dollar figures blanked.
    pub skip_reasons: Vec<ReasonCount>,
    pub error_examples: Vec<Example>,
    /// Per simulated day with a buy.
    pub daily: Vec<DayReport>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReasonCount {
    pub reason: String,
    pub count: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct DayReport {
    pub date: NaiveDate,
    pub amount: Decimal,
    pub buys: u64,
    /// Invested from the first day up to and including this one.
    pub cumulative: Decimal,
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::opportunity::{Opportunity, OpportunityKind, PlatformKind};
    use crate::order::IdempotencyKey;
    use crate::portfolio::Portfolio;
    use crate::sizing::{self, BudgetRules, PlatformRules, Rules, StrategyRules};
    use chrono::TimeZone;
    use rust_decimal_macros::dec;
    use std::sync::Arc;

    pub(crate) fn row(
        id: &str,
        grade: &str,
        term: u32,
        amount: Decimal,
        rate: Decimal,
        outcome: Outcome,
        day: u32,
    ) -> Imported {
        let mut o = Opportunity::new(
            PlatformId::new("lendingclub"),
            PlatformKind::LendingClub,
            id,
            OpportunityKind::Loan,
        );
        o.grade = Some(grade.into());
        o.term_months = Some(term);
        o.amount = Some(amount);
        o.rate = Some(rate);
        o.listed_at = Some(Utc.with_ymd_and_hms(2018, 3, day, 0, 0, 0).unwrap());
        Imported {
            line: u64::from(day) + 1,
            opportunity: Arc::new(o),
            outcome,
        }
    }

    pub(crate) fn decision(row: &Imported, strategy: &str, verdict: Verdict) -> Decision {
        Decision {
            at: row.opportunity.listed_at.unwrap(),
            platform: row.opportunity.platform.clone(),
            strategy: strategy.into(),
            opportunity_id: row.opportunity.id.clone(),
            verdict,
        }
    }

    pub(crate) fn buy(amount: Decimal) -> Verdict {
        Verdict::Buy {
            key: IdempotencyKey::from_stored("k".into()),
            amount,
            reason: "test".into(),
        }
    }

    pub(crate) fn skip(reason: &str) -> Verdict {
        Verdict::Skip {
            reason: reason.into(),
        }
    }

    /// Three loans, two strategies ("picky" buys two, "none" is limited to "fc").
    pub(crate) fn sample_report() -> Report {
        let mut agg = Aggregator::new(vec![
            ("picky".into(), None),
            ("none".into(), Some(vec![PlatformId::new("fc")])),
        ]);
        let a = row("a", "A", 36, dec!(1000), dec!(0.07), Outcome::FullyPaid, 1);
        let b = row("b", "B", 60, dec!(2000), dec!(0.11), Outcome::ChargedOff, 2);
        let c = row("c", "A", 36, dec!(3000), dec!(0.08), Outcome::Current, 2);
        agg.observe(&a, &[decision(&a, "picky", buy(dec!(25)))]);
        agg.observe(
            &b,
            &[decision(
                &b,
                "picky",
                skip("the daily budget leaves $10.00, below the minimum $25"),
            )],
        );
        agg.observe(&c, &[decision(&c, "picky", buy(dec!(50)))]);
        agg.malformed(&RowError {
            line: 9,
            message: "bad".into(),
        });
        agg.finish(
            InputSource {
                path: "loans.csv".into(),
                format: DataFormat::LendingClub,
            },
            Settings {
                start_cash: None,
                strategies: vec!["picky".into(), "none".into()],
                budget: BudgetReport {
                    daily_limit: Some(dec!(500)),
                    total_limit: None,
                    cash_reserve: dec!(0),
                },
            },
            EndState {
                invested_total: dec!(75),
                cash_left: BTreeMap::new(),
            },
        )
    }

    #[test]
    fn aggregates_baseline_and_selection() {
        let report = sample_report();
        assert_eq!(report.input.rows, 3);
        assert_eq!(report.input.malformed_rows, 1);
        assert_eq!(report.baseline.total.count, 3);
        assert_eq!(report.baseline.total.amount, dec!(6000));
        assert_eq!(report.baseline.total.average_rate, Some(dec!(0.086667)));
        // (70 + 220 + 240) / 6000
        assert_eq!(
            report.baseline.total.weighted_average_rate,
            Some(dec!(0.088333))
        );
        assert_eq!(report.baseline.total.resolved, 2);
        assert_eq!(report.baseline.total.bad_rate, Some(dec!(0.5)));
        assert_eq!(report.baseline.by_grade["A"].count, 2);
        assert_eq!(report.baseline.by_term["60"].amount, dec!(2000));
        let picky = &report.strategies[0];
        assert_eq!((picky.buys, picky.skips, picky.errors), (2, 1, 0));
        assert_eq!(picky.invested, dec!(75));
        assert_eq!(picky.selected.total.bad_rate, Some(dec!(0)));
        assert_eq!(picky.selected.by_grade["A"].amount, dec!(75));
        assert_eq!(picky.budget_hits, 1);
        assert_eq!(picky.budget_hits_by_limit["the daily budget"], 1);
        assert_eq!(
            picky.skip_reasons[0].reason,
            "the daily budget leaves $x, below the minimum $x"
        );
        let days: Vec<(String, Decimal)> = picky
            .daily
            .iter()
            .map(|d| (d.date.to_string(), d.cumulative))
            .collect();
        assert_eq!(
            days,
            [
                ("2018-03-01".to_string(), dec!(25)),
                ("2018-03-02".to_string(), dec!(75))
            ]
        );
        assert_eq!(report.warnings.len(), 1);
        assert!(report.warnings[0].contains("strategy none is limited to platforms [fc]"));
        assert!(report.warnings[0].contains("platforms in the data: lendingclub"));
    }

    #[test]
    fn open_ended_keys_are_capped() {
        let mut agg = Aggregator::new(vec![("s".into(), None)]);
        for i in 0..(MAX_REASONS + 10) {
            let r = row(
                &i.to_string(),
                &format!("G{i}"),
                36,
                dec!(100),
                dec!(0.1),
                Outcome::Unknown,
                1,
            );
            agg.observe(&r, &[decision(&r, "s", skip(&format!("reason {i}")))]);
        }
        let s = &agg.strategies[0];
        assert_eq!(s.skip_reasons.len(), MAX_REASONS + 1);
        assert_eq!(s.skip_reasons[OTHER].count, 10);
        assert_eq!(agg.baseline.by_grade.len(), MAX_GROUPS + 1);
    }

    /// Reasons past the cap still count: under OTHER, and as budget hits when they
    /// name a limit; a reason seen before the cap keeps its own entry.
    #[test]
    fn overflowing_skip_reasons_still_count_their_budget_hits() {
        let mut agg = Aggregator::new(vec![("s".into(), None)]);
        let r = row("1", "A", 36, dec!(100), dec!(0.1), Outcome::Unknown, 1);
        let mut skip_with = |reason: &str| agg.observe(&r, &[decision(&r, "s", skip(reason))]);
        for i in 0..MAX_REASONS {
            skip_with(&format!("reason {i}"));
        }
        skip_with("whole loan of 38075 is over 5000.00");
        skip_with("needs $30.00; the daily budget leaves $20.00 (case 1)");
        skip_with("needs $40.00; the total budget leaves $10.00 (case 2)");
        skip_with("reason 7");
        let s = &agg.strategies[0];
        assert_eq!(s.skips, MAX_REASONS as u64 + 4);
        assert_eq!(s.skip_reasons.len(), MAX_REASONS + 1);
        assert_eq!(s.skip_reasons[OTHER].count, 3);
        assert_eq!(s.skip_reasons["reason 7"].count, 2);
        let hits: Vec<_> = s.budget_hits.iter().map(|(k, v)| (*k, *v)).collect();
        assert_eq!(hits, [("the daily budget", 1), ("the total budget", 1)]);
    }

    #[test]
    fn every_budget_label_carries_the_mark_searched_first() {
        for label in BUDGET_LIMITS {
            assert!(label.contains(BUDGET_LIMIT_MARK), "{label}");
            assert_eq!(budget_limit_in(&format!("x {label} y")), Some(label));
        }
    }

    #[test]
    fn decisions_reach_their_own_column_in_any_order() {
        let mut agg = Aggregator::new(vec![
            ("a".into(), None),
            ("b".into(), None),
            ("c".into(), None),
        ]);
        let r = row("x", "A", 36, dec!(100), dec!(0.1), Outcome::Unknown, 1);
        // Strategies limited to other platforms leave gaps; an unknown name is ignored.
        agg.observe(&r, &[decision(&r, "b", buy(dec!(25)))]);
        agg.observe(
            &r,
            &[
                decision(&r, "c", buy(dec!(50))),
                decision(&r, "a", skip("no")),
                decision(&r, "zz", skip("no")),
            ],
        );
        let seen: Vec<(u64, u64)> = agg.strategies.iter().map(|s| (s.buys, s.skips)).collect();
        assert_eq!(seen, [(0, 1), (1, 0), (1, 0)]);
        assert_eq!(agg.strategies[2].selected.total.amount, dec!(50));
    }

    #[test]
    fn terms_are_keyed_by_their_digits() {
        let mut digits = [0u8; 20];
        for value in [0, 7, 36, 60, 1000, u64::from(u32::MAX), u64::MAX] {
            assert_eq!(decimal_digits(value, &mut digits), value.to_string());
        }
    }

    #[test]
    fn reason_keys_blank_dollar_figures_only() {
        assert_eq!(
            reason_key("whole loan needs $28,000.00; the total budget allows only $5.5"),
            "whole loan needs $x; the total budget allows only $x"
        );
        assert_eq!(reason_key("grade C3 at 13.99%"), "grade C3 at 13.99%");
        assert_eq!(reason_key("costs $"), "costs $");
    }

    /// The budget labels are read out of sizing's own skip reasons.
    #[test]
    fn budget_labels_match_what_sizing_says() {
        let mut o = Opportunity::new(
            PlatformId::new("lendingclub"),
            PlatformKind::LendingClub,
            "x",
            OpportunityKind::Loan,
        );
        o.remaining = Some(dec!(1000));
        o.min_investment = Some(dec!(25));
        let strategy = StrategyRules {
            name: "s".into(),
            daily_limit: Some(dec!(0)),
            ..StrategyRules::default()
        };
        let budgets = [
            BudgetRules {
                daily_limit: Some(dec!(10)),
                ..BudgetRules::default()
            },
            BudgetRules {
                total_limit: Some(dec!(10)),
                ..BudgetRules::default()
            },
        ];
        let expected = ["the daily budget", "the total budget"];
        let p = Portfolio::new(None);
        for (budget, label) in budgets.iter().zip(expected) {
            let rules = Rules {
                budget,
                platform: &PlatformRules::default(),
                strategy: &StrategyRules {
                    name: "s".into(),
                    ..StrategyRules::default()
                },
            };
            let refusal = sizing::size(dec!(100), &o, rules, p.view()).unwrap_err();
            assert_eq!(budget_limit_in(&refusal.reason), Some(label), "{refusal}");
        }
        let rules = Rules {
            budget: &BudgetRules::default(),
            platform: &PlatformRules::default(),
            strategy: &strategy,
        };
        let refusal = sizing::size(dec!(100), &o, rules, p.view()).unwrap_err();
        assert_eq!(
            budget_limit_in(&refusal.reason),
            Some("the strategy's daily_limit")
        );
        let mut whole = o.clone();
        whole.purchase = crate::opportunity::PurchaseMode::Whole;
        let cash = Portfolio::new(Some(dec!(500)));
        let rules = Rules {
            budget: &BudgetRules::default(),
            platform: &PlatformRules::default(),
            strategy: &StrategyRules::default(),
        };
        let refusal = sizing::size(dec!(1000), &whole, rules, cash.view()).unwrap_err();
        assert_eq!(
            budget_limit_in(&refusal.reason),
            Some("cash above the reserve"),
            "{refusal}"
        );
        assert_eq!(budget_limit_in("grade C"), None);
    }
}
