//! Differential tests of the compiled evaluator of `decide`: for every script and
//! input here, `Strategy::decide_prepared` (compiled when possible, Rhai otherwise)
//! must give exactly what `Strategy::decide_interpreted` (Rhai only, the reference)
//! gives — the same answer (amount, reason, slot) or the same error.
//!
//! Written without looking at the evaluator: the scripts are what strategies write
//! and the inputs are what platforms send, plus the values that break naive code
//! (`()` everywhere, huge and tiny decimals, `u32::MAX` terms, strings over the
//! sandbox's 64 KiB limit, unicode, `extra` of every JSON type).
//!
//! - the shipped `strategies/*.rhai` on generated opportunities and portfolios;
//! - a corpus of small scripts, one construct each, on generated inputs;
//! - every operator, method and return shape on every pair of value types, fed
//!   through `o.extra` and through literals.
//!
//! Which scripts run compiled is pinned by `SHIPPED_COMPILED` and
//! `CORPUS_INTERPRETED`, so that agreement is not reached by everything falling back
//! to Rhai; within a compiled script, a call that falls back is still a correct
//! answer, and agreement is all that is checked.
//!
//! Cases: `PROPTEST_CASES` overrides the generated-input counts (`scripts/fuzz`).

mod common;

use autoinvest::opportunity::{
    Opportunity, OpportunityKind, PlatformId, PlatformKind, PurchaseMode,
};
use autoinvest::order::{IdempotencyKey, OrderIntent, OrderState};
use autoinvest::portfolio::{Portfolio, PortfolioView};
use autoinvest::strategy::{
    ScriptOpportunity, Strategy as Script, StrategyAnswer, StrategyError, StrategyLimits,
};
use chrono::{NaiveDate, TimeZone, Utc};
use proptest::prelude::*;
use proptest::test_runner::{Config as RunnerConfig, TestCaseError, TestError, TestRunner};
use rust_decimal::Decimal;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::str::FromStr;

// ── Which scripts must run compiled ─────────────────────────────────────────

/// Shipped strategies (file stems) whose `decide` must be lowered: a comparison on
/// one that fell back to Rhai would prove nothing.
const SHIPPED_COMPILED: &[&str] = &[
    "fundamerica_equity",
    "fundrise_dca",
    "prime_loans",
    "reg_cf_filter",
    "whole_loan_sniper",
    "yield_ladder",
];

/// Corpus scripts (names as in `corpus()`) that stay in Rhai's interpreter: every
/// other corpus, operator and literal script must run compiled, and these must not
/// (so the list says exactly what the evaluator leaves to Rhai). Besides these, any
/// script with a character literal (`'c'`) stays in Rhai.
const CORPUS_INTERPRETED: &[&str] = &[
    "switch-range",              // switch cases with ranges
    "switch-condition",          // switch cases with conditions
    "ret-char",                  // a character literal
    "array-out-of-range",        // an index that is itself a property chain
    "map-assign",                // assignment to a property
    "literal-forms",             // unary plus
    "string-index",              // a character literal
    "map-compound",              // compound assignment to a property
    "array-index-assign",        // assignment to an index
    "loop",                      // loops
    "print",                     // print()
    "type-of",                   // type_of()
    "helper-function",           // a call to a function of the script's own
    "value-block-assigns-outer", // a block used as a value assigns an outer variable
    "nested-value-blocks",       // the same, one block deeper
];

// ── Comparing the two evaluators ────────────────────────────────────────────

/// A compiled script with what is needed to report a disagreement.
struct Subject {
    name: String,
    source: String,
    script: Script,
}

impl Subject {
    fn new(name: impl Into<String>, source: impl Into<String>) -> Subject {
        let (name, source) = (name.into(), source.into());
        Subject::with_limits(&name, &source, &StrategyLimits::default())
            .unwrap_or_else(|err| panic!("{name} does not compile: {err}\n{source}"))
    }

    /// Fails when the script does not compile under `limits` (a literal longer than
    /// `max_string_size` is refused when compiling).
    fn with_limits(
        name: &str,
        source: &str,
        limits: &StrategyLimits,
    ) -> Result<Subject, StrategyError> {
        let script =
            Script::compile_source_with_limits(name, &format!("{name}.rhai"), source, limits)?;
        Ok(Subject {
            name: name.to_string(),
            source: source.to_string(),
            script,
        })
    }

    fn decide(name: impl Into<String>, body: &str) -> Subject {
        Subject::new(name, decide_source(body))
    }

    /// Both evaluators on one input: `Err` describes a disagreement.
    fn check(&self, o: &ScriptOpportunity, p: &PortfolioView) -> Result<(), String> {
        let compiled = self.script.decide_prepared(o, p);
        let interpreted = self.script.decide_interpreted(o, p);
        if compiled == interpreted {
            return Ok(());
        }
        Err(format!(
            "compiled and interpreted decide() disagree\n\
             ── script {} (compiled: {}) ──\n{}\n\
             ── opportunity ──\n{}\n\
             ── portfolio ──\n{}\n\
             ── decide_prepared ──\n{}\n\
             ── decide_interpreted ──\n{}\n",
            self.name,
            self.script.is_compiled(),
            self.source,
            readable(&format!("{:#?}", o.opportunity())),
            readable(&format!("{p:?}")),
            readable(&format!("{compiled:?}")),
            readable(&format!("{interpreted:?}")),
        ))
    }
}

/// Debug text with long runs of one character collapsed (`⟨'x' × 70000⟩`), so that
/// a failure on a 64 KiB name stays readable. Runs in numbers (28 decimal places at
/// most) are left alone.
fn readable(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let mut run = 1;
        while chars.peek() == Some(&c) {
            chars.next();
            run += 1;
        }
        if run > 64 {
            out.push_str(&format!("⟨{c:?} × {run}⟩"));
        } else {
            out.extend(std::iter::repeat_n(c, run));
        }
    }
    out
}

/// Runs `subjects` on generated inputs; fails on the first disagreement (shrunk).
fn agree_on_generated_inputs(subjects: &[Subject], cases: u32) {
    let mut runner = TestRunner::new(RunnerConfig {
        cases: common::proptest_cases(cases),
        // Outside the proptest! macro there is no source file to keep failures next
        // to; the failure message is the record.
        failure_persistence: None,
        ..RunnerConfig::default()
    });
    let result = runner.run(&(arb_opportunity(), arb_portfolio()), |(o, p)| {
        let o = ScriptOpportunity::new(o);
        for subject in subjects {
            subject.check(&o, &p).map_err(TestCaseError::fail)?;
        }
        Ok(())
    });
    match result {
        Ok(()) => {}
        // The reason is the report: it shows the shrunk input readably, which
        // proptest's own Debug of it would not (a 64 KiB name in full).
        Err(TestError::Fail(reason, _)) => panic!("{reason}"),
        Err(err @ TestError::Abort(_)) => panic!("{err}"),
    }
}

/// Collects every disagreement of a deterministic sweep, to report them together.
#[derive(Default)]
struct Disagreements {
    found: Vec<String>,
    checked: usize,
}

impl Disagreements {
    fn check(&mut self, subject: &Subject, o: &ScriptOpportunity, p: &PortfolioView) {
        self.checked += 1;
        if let Err(report) = subject.check(o, p) {
            self.found.push(report);
        }
    }

    fn assert_none(self) {
        let count = self.found.len();
        let shown: Vec<String> = self.found.into_iter().take(5).collect();
        assert!(
            count == 0,
            "{count} of {} comparisons disagree; the first {}:\n\n{}",
            self.checked,
            shown.len(),
            shown.join("\n\n")
        );
    }
}

// ── Generated inputs ────────────────────────────────────────────────────────

/// Decimals that sit on the shipped strategies' thresholds, on rounding midpoints and
/// at Decimal's limits.
fn special_decimals() -> Vec<Decimal> {
    [
        "0",
        "0.00",
        "-0.01",
        "0.01",
        "0.005",
        "0.009",
        "2.345",
        "2.355",
        "-2.345",
        "-2.355",
        "0.0899",
        "0.08",
        "0.0799",
        "0.0800001",
        "0.07",
        "0.0699999",
        "0.05",
        "0.15",
        "5000.00",
        "5000.01",
        "4999.99",
        "500",
        "500.00",
        "500.01",
        "250",
        "250.00",
        "100.00",
        "2300",
        "2300.01",
        "2400",
        "25.00",
        "24.99",
        "150",
        "300.00",
        "275.01",
        "1000000000000.00",
        "1000000000000.01",
        "100000000000000000000",
        "0.0000000000000000000000000001",
        "-0.0000000000000000000000000001",
        "79228162514264337593543950335",
        "-79228162514264337593543950335",
        "7.9228162514264337593543950335",
        "1.10",
        "1.1",
    ]
    .iter()
    .map(|text| Decimal::from_str(text).unwrap())
    .collect()
}

fn arb_decimal() -> impl Strategy<Value = Decimal> {
    prop_oneof![
        // Dollars and cents.
        3 => (0i64..100_000_000).prop_map(|cents| Decimal::new(cents, 2)),
        2 => prop::sample::select(special_decimals()),
        1 => (any::<i64>(), 0u32..=28).prop_map(|(mantissa, scale)| Decimal::new(mantissa, scale)),
        // Anywhere in Decimal's range, at any scale.
        1 => (any::<u32>(), any::<u32>(), any::<u32>(), any::<bool>(), 0u32..=28).prop_map(
            |(lo, mid, hi, negative, scale)| Decimal::from_parts(lo, mid, hi, negative, scale)
        ),
    ]
}

fn arb_rate() -> impl Strategy<Value = Decimal> {
    prop_oneof![
        // 0 % to 30 % in basis points, the usual form.
        3 => (0i64..3000).prop_map(|bp| Decimal::new(bp, 4)),
        1 => (0i64..300_000_000).prop_map(|n| Decimal::new(n, 9)),
        2 => arb_decimal(),
    ]
}

fn arb_term() -> impl Strategy<Value = u32> {
    prop_oneof![
        3 => prop::sample::select(vec![0u32, 1, 12, 24, 35, 36, 37, 48, 60]),
        1 => any::<u32>(),
        1 => Just(u32::MAX),
    ]
}

const GRADES: &[&str] = &[
    "A+", "A", "B", "C", "D", "E", "F", "G", "", "a", "A ", "B3", "Ä", "AAA",
];

/// Long strings exceed the sandbox's 64 KiB string limit when a script copies them.
fn arb_text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[A-Za-z0-9 _-]{0,12}",
        2 => "\\PC{0,16}",
        1 => Just(String::new()),
        1 => prop::sample::select(vec!["${o.id}", "`", "\"", "\\", "\u{0}", "é€😀", "Ⅻ"])
            .prop_map(String::from),
        1 => prop::sample::select(vec![70_000usize, 65_536, 65_535, 40_000])
            .prop_map(|n| "x".repeat(n)),
        1 => Just("é".repeat(40_000)),
    ]
}

fn arb_grade() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(GRADES[..8].to_vec()).prop_map(String::from),
        1 => prop::sample::select(GRADES.to_vec()).prop_map(String::from),
        1 => arb_text(),
    ]
}

/// Money as platforms show it (mostly under the shipped strategies' thresholds),
/// and sometimes anything at all.
fn arb_money() -> impl Strategy<Value = Decimal> {
    prop_oneof![
        3 => (0i64..1_000_000).prop_map(|cents| Decimal::new(cents, 2)),
        2 => arb_decimal(),
    ]
}

/// Ids and platforms come from small pools shared with the portfolio's intents, so
/// that `p.invested_in(o.id)` and the exposures are often not zero.
const IDS: &[&str] = &["L1", "2", "101", "", "é"];
const PLATFORMS: &[&str] = &["fc", "fr", "fa", "ip", "lendingclub", ""];

fn arb_platform_kind() -> impl Strategy<Value = PlatformKind> {
    prop::sample::select(vec![
        PlatformKind::FundingCircle,
        PlatformKind::Fundrise,
        PlatformKind::FundAmerica,
        PlatformKind::IssuerPortal,
        PlatformKind::LendingClub,
    ])
}

fn arb_asset_class() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(vec![
            "equity", "debt", "real_estate", "private_credit", "venture", "reg_cf", "reg_a",
            "reg_d_506b", "reg_s",
        ])
        .prop_map(String::from),
        1 => arb_text(),
    ]
}

/// JSON as platforms send it in `extra`: every type, nested, numbers beyond i64 and
/// beyond Decimal.
fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        prop::sample::select(vec![0i64, 1, 7, -1, 50_000, i64::MAX, i64::MIN])
            .prop_map(Value::from),
        arb_decimal().prop_map(|d| json_number(&d.to_string())),
        prop::sample::select(vec!["1e400", "1.5e2", "18446744073709551615", "0.0"])
            .prop_map(json_number),
        arb_text().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z]{1,3}", inner, 0..4)
                .prop_map(|entries| Value::Object(entries.into_iter().collect())),
        ]
    })
}

/// A JSON number written as `text` (kept as written: serde_json's arbitrary_precision).
fn json_number(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

fn arb_extra() -> impl Strategy<Value = BTreeMap<String, Value>> {
    let key = prop_oneof![
        3 => prop::sample::select(vec![
            "industry", "annual_income", "non_accredited_investors", "accredited_investors",
            "regulatory_exemption", "share_price", "a", "b",
        ])
        .prop_map(String::from),
        1 => "\\PC{0,6}",
    ];
    prop::collection::btree_map(key, arb_json(), 0..5)
}

fn arb_listed_at() -> impl Strategy<Value = chrono::DateTime<Utc>> {
    prop_oneof![
        Just(Utc.with_ymd_and_hms(2026, 11, 20, 21, 0, 0).unwrap()),
        (0i64..4_102_444_800, 0u32..1_000_000_000)
            .prop_map(|(secs, nanos)| Utc.timestamp_opt(secs, nanos).unwrap()),
    ]
}

fn maybe<T: std::fmt::Debug>(value: impl Strategy<Value = T>) -> impl Strategy<Value = Option<T>> {
    prop::option::weighted(0.8, value)
}

/// The asset classes a platform really uses, so that generated opportunities get
/// past the strategies' first checks.
fn coherent_class(kind: PlatformKind, pick: usize) -> Option<String> {
    let classes: &[&str] = match kind {
        PlatformKind::Fundrise => &["real_estate", "private_credit", "venture"],
        PlatformKind::FundAmerica => &["equity", "equity", "debt"],
        PlatformKind::IssuerPortal => &["reg_cf", "reg_a", "reg_d_506b"],
        PlatformKind::FundingCircle | PlatformKind::LendingClub => return None,
    };
    Some(classes[pick % classes.len()].to_string())
}

/// Most generated opportunities are coherent (a loan on a loan platform, an offering
/// with one of its platform's asset classes); the rest mix anything with anything.
fn arb_opportunity() -> impl Strategy<Value = Opportunity> {
    (
        prop::bool::weighted(0.7),
        any::<usize>(),
        arb_any_opportunity(),
    )
        .prop_map(|(coherent, pick, mut o)| {
            if coherent {
                let loans = matches!(
                    o.platform_kind,
                    PlatformKind::FundingCircle | PlatformKind::LendingClub
                );
                o.kind = if loans {
                    OpportunityKind::Loan
                } else {
                    OpportunityKind::Offering
                };
                o.asset_class = coherent_class(o.platform_kind, pick);
            }
            o
        })
}

fn arb_any_opportunity() -> impl Strategy<Value = Opportunity> {
    let identity = (
        prop::sample::select(PLATFORMS.to_vec()),
        arb_platform_kind(),
        prop_oneof![4 => prop::sample::select(IDS.to_vec()).prop_map(String::from), 1 => arb_text()],
        prop::sample::select(vec![OpportunityKind::Loan, OpportunityKind::Offering]),
        prop::sample::select(vec![
            PurchaseMode::Fractional,
            PurchaseMode::Fractional,
            PurchaseMode::Whole,
        ]),
    );
    let texts = (
        maybe(arb_text()),
        maybe(arb_asset_class()),
        maybe(arb_grade()),
        maybe(arb_grade()),
        prop_oneof![
            prop::sample::select(vec!["live", "OPEN", "opened", ""]).prop_map(String::from),
            arb_text()
        ],
    );
    let numbers = (
        maybe(arb_rate()),
        maybe(arb_term()),
        maybe(arb_money()),
        maybe(arb_money()),
        maybe(arb_money()),
        maybe(arb_money()),
        maybe(arb_money()),
        maybe(arb_money()),
    );
    let rest = (maybe(arb_listed_at()), arb_extra());
    (identity, texts, numbers, rest).prop_map(
        |(
            (platform, platform_kind, id, kind, purchase),
            (name, asset_class, grade, sub_grade, status),
            (
                rate,
                term_months,
                amount,
                remaining,
                min_investment,
                max_investment,
                increment,
                unit_price,
            ),
            (listed_at, extra),
        )| {
            let mut o = Opportunity::new(PlatformId::new(platform), platform_kind, id, kind);
            o.purchase = purchase;
            o.name = name;
            o.asset_class = asset_class;
            o.grade = grade;
            o.sub_grade = sub_grade;
            o.status = status;
            o.rate = rate;
            o.term_months = term_months;
            o.amount = amount;
            o.remaining = remaining;
            o.min_investment = min_investment;
            o.max_investment = max_investment;
            o.increment = increment;
            o.unit_price = unit_price;
            o.listed_at = listed_at;
            o.extra = extra;
            o
        },
    )
}

/// One committed purchase in a generated portfolio.
#[derive(Debug, Clone)]
struct Purchase {
    platform: &'static str,
    opportunity_id: &'static str,
    grade: Option<&'static str>,
    amount: Decimal,
    /// On the portfolio's `today` (when set) rather than another day.
    today: bool,
    /// Placed (for `amount`), claimed, or rejected (no money held).
    state: u8,
}

fn arb_purchase() -> impl Strategy<Value = Purchase> {
    (
        prop::sample::select(PLATFORMS.to_vec()),
        prop::sample::select(IDS.to_vec()),
        maybe(prop::sample::select(GRADES.to_vec())),
        prop_oneof![
            3 => (1i64..1_000_000).prop_map(|cents| Decimal::new(cents, 2)),
            // Large, but far enough from Decimal's limits that sums cannot overflow.
            1 => (1i64..i64::MAX).prop_map(|n| Decimal::new(n, 4)),
        ],
        any::<bool>(),
        0u8..3,
    )
        .prop_map(
            |(platform, opportunity_id, grade, amount, today, state)| Purchase {
                platform,
                opportunity_id,
                grade,
                amount,
                today,
                state,
            },
        )
}

fn arb_day() -> impl Strategy<Value = NaiveDate> {
    prop_oneof![
        3 => (0i32..3650).prop_map(|d| NaiveDate::from_ymd_opt(2020, 1, 1).unwrap() + chrono::Days::new(d as u64)),
        // Years 1 to 9999, and beyond (chrono writes those as "+10000-01-01").
        1 => (1i32..3_652_059).prop_map(|d| NaiveDate::from_num_days_from_ce_opt(d).unwrap()),
        1 => Just(NaiveDate::MAX),
        1 => Just(NaiveDate::MIN),
    ]
}

fn arb_portfolio() -> impl Strategy<Value = PortfolioView> {
    (
        prop_oneof![
            Just(None),
            Just(Some(Decimal::ZERO)),
            Just(Some(Decimal::MAX)),
            arb_decimal().prop_map(Some),
        ],
        maybe(arb_day()),
        prop::collection::vec(arb_purchase(), 0..8),
    )
        .prop_map(|(cash, today, purchases)| portfolio(cash, today, &purchases))
}

fn portfolio(
    cash: Option<Decimal>,
    today: Option<NaiveDate>,
    purchases: &[Purchase],
) -> PortfolioView {
    let mut portfolio = Portfolio::new(None);
    let other_day = NaiveDate::from_ymd_opt(2024, 2, 29).unwrap();
    for (n, purchase) in purchases.iter().enumerate() {
        let day = match today {
            Some(today) if purchase.today => today,
            _ => other_day,
        };
        portfolio.record(&intent(n, purchase, day));
    }
    // Cash last: recording takes amounts from it, which could overflow at its limits.
    portfolio.set_cash(cash);
    if let Some(today) = today {
        portfolio.set_today(today);
    }
    portfolio.view().clone()
}

fn intent(n: usize, purchase: &Purchase, day: NaiveDate) -> OrderIntent {
    let platform = PlatformId::new(purchase.platform);
    let slot = n.to_string();
    let at = day.and_hms_opt(12, 0, 0).unwrap().and_utc();
    let state = match purchase.state {
        0 => OrderState::Placed {
            order_id: format!("o{n}"),
            amount: purchase.amount,
            platform_status: "pending".into(),
        },
        1 => OrderState::Claimed,
        _ => OrderState::Rejected {
            reason: "test".into(),
        },
    };
    OrderIntent {
        key: IdempotencyKey::derive(&platform, "s", purchase.opportunity_id, &slot),
        platform,
        strategy: "s".into(),
        opportunity_id: purchase.opportunity_id.into(),
        opportunity_kind: OpportunityKind::Loan,
        purchase: PurchaseMode::Fractional,
        amount: purchase.amount,
        shares: None,
        grade: purchase.grade.map(String::from),
        reason: "test".into(),
        slot,
        created_at: at,
        updated_at: at,
        state,
        dry_run: false,
    }
}

// ── 1. The shipped strategies ───────────────────────────────────────────────

/// (file stem, text) of every `strategies/*.rhai`.
fn shipped_sources() -> Vec<(String, String)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("strategies");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "rhai"))
        .collect();
    paths.sort();
    assert!(paths.len() >= 6, "strategies/*.rhai: {paths:?}");
    paths
        .iter()
        .map(|path| {
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(path).unwrap())
        })
        .collect()
}

/// Compiles each (name, source).
fn subjects(sources: Vec<(String, String)>) -> Vec<Subject> {
    sources
        .into_iter()
        .map(|(name, source)| Subject::new(name, source))
        .collect()
}

fn shipped_strategies() -> Vec<Subject> {
    subjects(shipped_sources())
}

/// Every shipped strategy on generated opportunities and portfolios. Cases: 1024.
#[test]
fn shipped_strategies_agree_with_rhai() {
    agree_on_generated_inputs(&shipped_strategies(), 1024);
}

/// The shipped strategies are what the backtest runs: they must not fall back.
#[test]
fn shipped_strategies_are_compiled() {
    let strategies = shipped_strategies();
    for name in SHIPPED_COMPILED {
        let subject = strategies
            .iter()
            .find(|s| s.name == *name)
            .unwrap_or_else(|| panic!("no strategies/{name}.rhai"));
        assert!(subject.script.is_compiled(), "{name} is not compiled");
    }
}

/// Inputs built by hand that reach each shipped strategy's buying branch, which
/// random inputs reach rarely: the comparison must also hold where money is spent.
#[test]
fn shipped_strategies_agree_where_they_buy() {
    let strategies = shipped_strategies();
    let mut checks = Disagreements::default();
    let day = NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
    let portfolios = [
        portfolio(None, Some(day), &[]),
        portfolio(Some(Decimal::new(100_000, 2)), Some(day), &[]),
        portfolio(Some(Decimal::new(100_000_000, 2)), None, &[]),
    ];
    let mut bought = std::collections::BTreeSet::new();
    for o in buying_opportunities() {
        let o = ScriptOpportunity::new(o);
        for p in &portfolios {
            for subject in &strategies {
                checks.check(subject, &o, p);
                if let Ok(StrategyAnswer::Buy { .. }) = subject.script.decide_interpreted(&o, p) {
                    bought.insert(subject.name.as_str());
                }
            }
        }
    }
    checks.assert_none();
    // Otherwise these inputs no longer reach the branches they are here for.
    let all: Vec<&str> = strategies.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        bought.into_iter().collect::<Vec<_>>(),
        all,
        "strategies that bought"
    );
}

fn buying_opportunities() -> Vec<Opportunity> {
    let dec = |text: &str| Decimal::from_str(text).unwrap();
    let mut all = Vec::new();
    for (kind, platform) in [
        (PlatformKind::FundingCircle, "fc"),
        (PlatformKind::LendingClub, "lendingclub"),
    ] {
        for grade in ["A+", "A", "B", "E", "G"] {
            for whole in [false, true] {
                for rate in ["0.0899", "0.08", "0.0712", "0.2", "1.10"] {
                    let mut o = Opportunity::new(
                        PlatformId::new(platform),
                        kind,
                        "L1",
                        OpportunityKind::Loan,
                    );
                    o.grade = Some(grade.into());
                    o.rate = Some(dec(rate));
                    o.term_months = Some(36);
                    o.remaining = Some(dec("4999.99"));
                    o.purchase = if whole {
                        PurchaseMode::Whole
                    } else {
                        PurchaseMode::Fractional
                    };
                    all.push(o);
                }
            }
        }
    }
    for (kind, platform, class) in [
        (PlatformKind::Fundrise, "fr", "real_estate"),
        (PlatformKind::FundAmerica, "fa", "equity"),
        (PlatformKind::IssuerPortal, "ip", "reg_cf"),
        (PlatformKind::IssuerPortal, "ip", "reg_a"),
    ] {
        for minimum in [None, Some("10"), Some("300.00"), Some("600")] {
            let mut o = Opportunity::new(
                PlatformId::new(platform),
                kind,
                "101",
                OpportunityKind::Offering,
            );
            o.asset_class = Some(class.into());
            o.name = Some("Fund é".into());
            o.unit_price = Some(dec("25.0"));
            o.min_investment = minimum.map(dec);
            o.extra
                .insert("non_accredited_investors".into(), Value::Bool(true));
            all.push(o);
        }
    }
    all
}

// ── 2. A corpus of small scripts on generated inputs ────────────────────────

/// (name, body of `decide(o, p)`): one construct each.
const CORPUS: &[(&str, &str)] = &[
    // let, shadowing, blocks, assignment, compound assignment, const
    ("let-shadow", "let x = 1; let x = x + 1; { let x = 10; x += 1; } x"),
    ("let-again-after-const", "const c = 1; let c = c + o.term_months; c += 1; c"),
    ("const-again-after-let", "let x = o.rate; const x = x + 1; x"),
    ("let-again-param", "let o = o.term_months; let o = o + 1; o"),
    ("let-again-in-block", "let x = o.rate; let y = { let x = 1; let x = x + o.term_months; x }; y + x"),
    ("block-assigns-outer", "let a = o.term_months; { a = 5; } a"),
    // A block used as a value that assigns a variable the expression also reads: Rhai
    // reads `x` before the block runs.
    ("value-block-assigns-outer", "let x = o.term_months; let y = x + if o.whole { x = 5; 1 } else { 2 }; y + x"),
    ("nested-value-blocks", "let y = if o.whole { let t = 1; let z = t + if o.term_months > 12 { t = 2; 3 } else { 4 }; z } else { 0 }; y"),
    ("switch-statement-assigns", r#"let cap = 0; switch o.grade { "A" => { cap = 3000; }, "B" => { cap = 2000; }, _ => {} } cap"#),
    ("block-value", "let v = { let t = o.term_months; t }; v"),
    ("compound-int", "let x = 100; x += o.term_months; x -= 2; x *= 3; x /= 2; x %= 1000; x"),
    ("compound-decimal", "let x = 1.50; x += o.rate; x -= 0.25; x *= 2; x /= 3; x"),
    ("compound-string", r#"let s = "a"; s += o.grade; s += 1; #{ amount: 0, reason: s }"#),
    ("const-decimal", "const C = 2.50; let y = C * o.term_months; y"),
    ("const-array", r#"const G = ["A+", "A"]; if G.contains(o.grade) { 1 } else { 0 }"#),
    ("assign-type-change", r#"let x = 1; x = "s"; x = o.rate; x"#),
    // if / else
    ("if-chain", r#"if o.grade == "A+" { 100 } else if o.grade == "A" { 50.00 } else { () }"#),
    ("if-expression", "let x = if o.whole { 1 } else { 2.5 }; x"),
    ("if-without-else-value", "let x = if o.whole { 7 }; x"),
    ("if-without-else-last", "if o.whole { 7 }"),
    ("if-on-decimal", "if o.rate { 1 } else { 2 }"),
    ("if-on-unit-compare", "if o.rate > 0.1 { return 5; } 3"),
    ("if-not-le", "let t = o.term_months; if !(t <= 36) { return 0; } 1"),
    ("if-nested", r#"if o.kind == "loan" { if o.whole { 1 } else { 2 } } else { 3 }"#),
    // switch
    (
        "switch-grade",
        r#"let cap = switch o.grade { "A+" | "A" => 3000.00, "B" => 2000.00, "C" => 1200, _ => 0 }; cap"#,
    ),
    ("switch-no-default", r#"switch o.grade { "A" => 1, "B" => 2 }"#),
    ("switch-int", "switch o.term_months { 12 | 24 => 1, 36 => 2.5, _ => 3 }"),
    ("switch-range", "switch o.term_months { 0..12 => 1, 12..=36 => 2, _ => 3 }"),
    ("switch-condition", r#"switch o.grade { "A" if o.whole => 1, "A" => 2, _ => 3 }"#),
    ("switch-on-bool", "switch o.whole { true => 1, false => 2 }"),
    ("switch-on-decimal", "switch o.rate { _ => 4 }"),
    ("switch-statement", r#"let x = 0; switch o.kind { "loan" => { x = 1; } _ => { x = 2; } } x"#),
    // return
    ("return-unit", "return;"),
    ("return-early", "if o.whole { return; } 1"),
    ("return-value-early", r#"if o.kind == "loan" { return 25; } 50"#),
    ("last-statement-semicolon", "let x = 5; x;"),
    ("empty-body", ""),
    // returns of every shape
    ("ret-int", "25"),
    ("ret-zero", "0"),
    ("ret-decimal", "2.555"),
    ("ret-negative", "-1"),
    ("ret-negative-decimal", "-0.001"),
    ("ret-absurd", "1000000000000.01"),
    ("ret-map-full", r#"#{ amount: 1.005, reason: "r", slot: "s" }"#),
    ("ret-map-unit-amount", r#"#{ amount: (), reason: "r" }"#),
    ("ret-map-no-amount", r#"#{ reason: "r" }"#),
    ("ret-map-negative", "#{ amount: -1 }"),
    ("ret-map-unknown-key", "#{ amout: 1 }"),
    ("ret-map-reason-int", "#{ amount: 1, reason: 5 }"),
    ("ret-map-empty-slot", r#"#{ amount: 1, slot: "" }"#),
    ("ret-map-unit-slot", "#{ amount: 1, slot: () }"),
    ("ret-map-empty", "#{}"),
    ("ret-map-string-amount", r#"#{ amount: "25" }"#),
    ("ret-string", r#""buy""#),
    ("ret-array", "[1, 2]"),
    ("ret-bool", "true"),
    ("ret-char", "'x'"),
    ("ret-remaining", "o.remaining"),
    ("ret-map-fields", "#{ amount: o.remaining, reason: o.name, slot: o.grade }"),
    ("ret-map-computed", "#{ amount: o.rate * 1000, reason: `${o.id}`, slot: p.today }"),
    // getters of o and p, as values
    ("o-term", "o.term_months"),
    ("o-whole", "if o.whole { 1 } else { 2 }"),
    ("p-cash", "p.cash"),
    ("p-invested-total", "p.invested_total"),
    ("p-invested-today", "p.invested_today"),
    ("p-invested-in-id", "p.invested_in(o.id)"),
    ("p-invested-in-literal", r#"p.invested_in("L1") + 1"#),
    ("p-invested-in-unit", "p.invested_in(o.grade)"),
    ("p-exposure-grade", "p.exposure_by_grade(o.grade)"),
    ("p-exposure-grade-literal", r#"p.exposure_by_grade("A")"#),
    ("p-exposure-platform", "p.exposure_by_platform(o.platform)"),
    ("p-exposure-platform-unit", "p.exposure_by_platform(())"),
    ("p-exposure-platform-int", "p.exposure_by_platform(1)"),
    ("p-today-month", "#{ amount: 1, slot: p.today.sub_string(0, 7) }"),
    ("p-room", "let room = 5000.00 - p.exposure_by_platform(o.platform); if room < 250.00 { 0 } else { room }"),
    // interpolation
    (
        "interp-o-all",
        "#{ amount: 0, reason: `${o.platform}|${o.platform_kind}|${o.id}|${o.kind}|${o.name}|${o.asset_class}|${o.grade}|${o.sub_grade}|${o.rate}|${o.term_months}|${o.amount}|${o.remaining}|${o.min_investment}|${o.max_investment}|${o.increment}|${o.unit_price}|${o.status}|${o.listed_at}|${o.whole}` }",
    ),
    (
        "interp-p-all",
        "#{ amount: 0, reason: `${p.cash}|${p.invested_total}|${p.invested_today}|${p.today}|${p.invested_in(o.id)}` }",
    ),
    ("interp-expr", "#{ amount: 0, reason: `${o.rate * 100}% ${o.term_months + 1}` }"),
    ("interp-literals", r#"#{ amount: 0, reason: `${()} ${true} ${1} ${1.10} ${0.0899} ${-5.5} ${"s"} ${[1, "a", ()]} ${#{ a: 1 }}` }"#),
    ("interp-extra", "#{ amount: 0, reason: `${o.extra}` }"),
    ("interp-nested", "#{ amount: 0, reason: `a ${`b ${o.grade}`} c` }"),
    ("interp-empty", "#{ amount: 0, reason: `` }"),
    ("interp-plain", "#{ amount: 0, reason: `no holes` }"),
    // methods strategies use
    ("round-percent", "(o.rate * 100).round(2)"),
    ("round-0", "o.rate.round(0)"),
    ("round-none", "#{ amount: 0, reason: `${o.rate.round()}` }"),
    ("round-negative-places", "o.rate.round(-1)"),
    ("round-by-term", "#{ amount: 0, reason: `${o.rate.round(o.term_months)}` }"),
    ("floor", "((o.rate - 0.05) * 100).floor()"),
    ("ceiling", "#{ amount: 0, reason: `${o.rate.ceiling()}` }"),
    ("abs", "#{ amount: 0, reason: `${(0 - o.rate).abs()}` }"),
    ("to-string", "#{ amount: 0, reason: o.rate.to_string() + o.term_months.to_string() }"),
    ("len", "o.grade.len()"),
    ("to-upper", "#{ amount: 0, reason: o.grade.to_upper() }"),
    ("starts-with", r#"if o.grade.starts_with("A") { 1 } else { 2 }"#),
    ("sub-string", "#{ amount: 0, reason: o.name.sub_string(0, 5) }"),
    ("sub-string-negative", "#{ amount: 0, reason: o.name.sub_string(-3, 2) }"),
    ("sub-string-term", "#{ amount: 0, reason: o.name.sub_string(1, o.term_months) }"),
    ("array-contains", r#"if ["A+", "A"].contains(o.grade) { 1 } else { 2 }"#),
    ("string-contains", r#"if o.name.contains("é") { 1 } else { 2 }"#),
    ("in-array", r#"if o.grade in ["A+", "A", ()] { 1 } else { 2 }"#),
    ("in-string", r#"if "A" in o.grade { 1 } else { 2 }"#),
    ("in-map", r#"if "industry" in o.extra { 1 } else { 2 }"#),
    // arrays and maps
    ("array-index", r#"let a = [1, 2.5, "x", ()]; #{ amount: 0, reason: `${a[1]} ${a[-1]} ${a.len()}` }"#),
    ("array-out-of-range", "let a = [1]; a[o.term_months]"),
    ("map-literal", r#"let m = #{ a: 1, "b c": o.rate }; m.a + m["b c"]"#),
    ("map-missing", "let m = #{ a: 1 }; m.b"),
    ("map-assign", "let m = #{ a: 1 }; m.a = o.term_months; m.b = 2; m.a"),
    // o.extra
    ("extra-dot", "#{ amount: 0, reason: `${o.extra.industry}` }"),
    ("extra-bound", "let e = o.extra; if e.annual_income > 50000 { 1 } else { 2 }"),
    ("extra-index", r#"if o.extra["non_accredited_investors"] == false { 0 } else { 1 }"#),
    ("extra-missing", "if o.extra.nothing_here == () { 1 } else { 2 }"),
    ("extra-nested", "#{ amount: 0, reason: `${o.extra.a.b}` }"),
    ("extra-len", "o.extra.len()"),
    ("extra-as-amount", "o.extra.a"),
    // logic
    ("and", r#"if o.whole && o.grade == "A" { 1 } else { 2 }"#),
    ("or-not", "if !o.whole || o.rate > 0.1 { 1 } else { 2 }"),
    ("and-non-bool", "if o.whole && o.rate { 1 } else { 2 }"),
    ("or-non-bool-left", "if o.rate || true { 1 } else { 2 }"),
    ("not-string", "if !o.grade { 1 } else { 2 }"),
    ("unit-comparisons", "if o.rate > 0.1 && o.term_months <= 36 { 1 } else { 2 }"),
    ("unit-not-equal", "if o.rate != 0.1 { 1 } else { 2 }"),
    ("unit-equal-unit", "if o.rate == () { 1 } else { 2 }"),
    ("coalesce", "o.rate ?? 0"),
    // arithmetic on getters
    ("mul-rate", "o.rate * 100"),
    ("sub-money", "o.remaining - o.amount"),
    ("overflow-int", "o.term_months * 9223372036854775807"),
    ("overflow-decimal", "o.amount * 79228162514264337593543950335.0"),
    ("div-money", "o.amount / o.remaining"),
    ("mod-money", "o.amount % 7"),
    ("div-zero-int", "o.term_months / 0"),
    ("div-int", "#{ amount: 0, reason: `${o.term_months / 7} ${o.term_months % 7}` }"),
    ("neg-rate", "-o.rate"),
    ("neg-term", "#{ amount: 0, reason: `${-o.term_months}` }"),
    ("string-plus-string", "#{ amount: 0, reason: o.name + o.grade }"),
    ("string-plus-int", "#{ amount: 0, reason: o.name + 1 }"),
    ("int-plus-string", "#{ amount: 0, reason: 1 + o.name }"),
    ("decimal-plus-int", "o.rate + o.term_months"),
    ("precedence", "1 + 2 * 3 - 4 / 2 + 0.5 * o.term_months"),
    ("parentheses", "(1 + 2) * (3 - o.term_months)"),
    // literal forms, declarations, characters
    ("literal-forms", "1_000 + 0x10 + 0b11 + 0o17 + 1_000.50 + +o.term_months"),
    ("let-without-value", "let x; x"),
    ("string-index", r#"let g = o.grade; if g[0] == 'A' { 1 } else if g[0] == "A" { 2 } else { 3 }"#),
    ("string-index-text", "#{ amount: 0, reason: `${o.grade[0]}${o.grade[-1]}` }"),
    ("map-equality", "if o.extra == #{} { 1 } else { 2 }"),
    // Rhai reads an integer literal beyond i64 as a Decimal.
    ("big-int-literal", "#{ amount: 0, reason: `${9223372036854775808 + o.term_months}` }"),
    ("string-minus", "#{ amount: 0, reason: o.name - o.grade }"),
    ("switch-duplicate-case", "switch o.term_months { 36 | 12 => 1, 36 => 2, _ => 3 }"),
    // strings that outgrow the sandbox's 64 KiB limit (names of 40,000 and more)
    ("string-doubling", "#{ amount: 0, reason: o.name + o.name }"),
    ("interp-doubling", "#{ amount: 0, reason: `${o.name}${o.name}` }"),
    ("compound-doubling", "let s = o.name; s += s; s += s; #{ amount: 0, reason: s }"),
    // nesting
    ("return-in-switch", r#"switch o.grade { "A" => { if o.whole { return 1; } 2 } _ => { return 3; } }"#),
    ("return-in-block", "{ { if o.term_months > 12 { return 4; } } } 5"),
    ("switch-arm-if", r#"let x = switch o.kind { "loan" => if o.whole { 1 } else { 2 }, _ => 3 }; x"#),
    ("const-in-block", "const C = 1; let y = 0; { const C = 2; y = C; } y + C"),
    ("shadow-in-branches", "let x = 1; if o.whole { let x = 2; x += 1; } else { x = 7; } x"),
    ("map-compound", "let m = #{ a: 1 }; m.a += o.term_months; m.a"),
    ("array-index-assign", "let a = [1, 2]; a[0] = o.rate; a[0]"),
    ("many-locals", "let a = 1; let b = a + 1; let c = b + 1; let d = c + 1; let e = d + 1; e"),
    // errors from the API itself
    ("o-unknown-getter", "o.nope"),
    ("p-wrong-arity", "p.invested_in()"),
    ("o-interpolated", "#{ amount: 0, reason: `${o} ${p}` }"),
    ("o-compared", r#"if o == "o" { 1 } else { 2 }"#),
    // outside the likely subset: these must fall back and still agree
    ("loop", "let n = 0; for i in 0..3 { n += i; } n"),
    ("print", r#"print("x"); 1"#),
    ("type-of", "#{ amount: 0, reason: type_of(o.rate) + type_of(o.term_months) + type_of(o.extra) }"),
];

/// A helper function called from `decide`, which the evaluator may not lower.
const CORPUS_WITH_HELPER: &str = "fn twice(x) { x * 2 }\nfn decide(o, p) { twice(o.term_months) }";

/// (name, full text) of every corpus script.
fn corpus_sources() -> Vec<(String, String)> {
    let mut sources: Vec<(String, String)> = CORPUS
        .iter()
        .map(|(name, body)| (name.to_string(), decide_source(body)))
        .collect();
    sources.extend(getter_sources());
    sources.push(("helper-function".into(), CORPUS_WITH_HELPER.into()));
    sources
}

/// Each getter of `o` and `p` alone, as text and as the returned value (one
/// failing getter cannot hide the others, as in `interp-o-all`).
fn getter_sources() -> Vec<(String, String)> {
    const GETTERS: &[&str] = &[
        "o.platform",
        "o.platform_kind",
        "o.id",
        "o.kind",
        "o.name",
        "o.asset_class",
        "o.grade",
        "o.sub_grade",
        "o.rate",
        "o.term_months",
        "o.amount",
        "o.remaining",
        "o.min_investment",
        "o.max_investment",
        "o.increment",
        "o.unit_price",
        "o.status",
        "o.listed_at",
        "o.whole",
        "o.extra",
        "p.cash",
        "p.invested_total",
        "p.invested_today",
        "p.today",
    ];
    GETTERS
        .iter()
        .flat_map(|getter| {
            [
                (
                    format!("getter: {getter} as text"),
                    decide_source(&format!("#{{ amount: 0, reason: `${{{getter}}}` }}")),
                ),
                (format!("getter: {getter} as value"), decide_source(getter)),
            ]
        })
        .collect()
}

/// `fn decide(o, p) { body }`.
fn decide_source(body: &str) -> String {
    format!("fn decide(o, p) {{\n{body}\n}}")
}

fn corpus() -> Vec<Subject> {
    subjects(corpus_sources())
}

/// Each corpus script on generated opportunities and portfolios. Cases: 256.
#[test]
fn corpus_agrees_with_rhai() {
    agree_on_generated_inputs(&corpus(), 256);
}

/// The sandbox's limits bind the evaluator too: under tight ones, Rhai fails
/// (too many operations, a string, array or map too large) where the defaults
/// pass, and the compiled form must fail the same way or leave the call to Rhai.
/// Shipped strategies and the corpus, 64 cases per set of limits.
#[test]
fn tight_limits_agree_with_rhai() {
    let tight = [
        StrategyLimits {
            max_operations: 8,
            ..StrategyLimits::default()
        },
        StrategyLimits {
            max_operations: 40,
            max_string_size: 12,
            max_array_size: 1,
            max_map_size: 2,
            ..StrategyLimits::default()
        },
        StrategyLimits {
            max_string_size: 40,
            max_variables: 2,
            ..StrategyLimits::default()
        },
    ];
    for limits in &tight {
        let subjects: Vec<Subject> = shipped_sources()
            .into_iter()
            .chain(corpus_sources())
            .filter_map(|(name, source)| Subject::with_limits(&name, &source, limits).ok())
            .collect();
        assert!(subjects.len() > 100, "{} scripts compile", subjects.len());
        agree_on_generated_inputs(&subjects, 64);
    }
}

/// Exactly the scripts in `CORPUS_INTERPRETED` (and those with a character literal)
/// stay in Rhai's interpreter; every other corpus script runs compiled.
#[test]
fn corpus_scripts_run_compiled_except_the_listed_ones() {
    let mut subjects = corpus();
    subjects.extend(operator_subjects());
    subjects.extend(literal_subjects());
    for name in CORPUS_INTERPRETED {
        assert!(
            subjects.iter().any(|s| s.name == *name),
            "CORPUS_INTERPRETED names an unknown script {name}"
        );
    }
    let wrong: Vec<String> = subjects
        .iter()
        .filter(|s| {
            let interpreted =
                CORPUS_INTERPRETED.contains(&s.name.as_str()) || s.source.contains('\'');
            s.script.is_compiled() == interpreted
        })
        .map(|s| {
            format!(
                "{} (compiled: {}, because: {:?})",
                s.name,
                s.script.is_compiled(),
                s.script.interpreted_because()
            )
        })
        .collect();
    assert!(wrong.is_empty(), "not as listed: {wrong:#?}");
}

// ── 3. Every operator on every pair of value types ──────────────────────────

/// Values of every script type as JSON in `o.extra` (numbers beyond i64 become
/// Decimal; `null` is `()`), with those at the edges of overflow and rounding.
const VALUES: &[&str] = &[
    "null",
    "true",
    "false",
    "0",
    "3",
    "7",
    "-7",
    "9223372036854775807",
    "-9223372036854775808",
    "0.0",
    "7.0",
    "7.50",
    "2.345",
    "-2.355",
    "0.0899",
    "1.5e2",
    "100000000000000000000",
    "79228162514264337593543950335",
    "-79228162514264337593543950335",
    "0.0000000000000000000000000001",
    r#""""#,
    r#""A""#,
    r#""A+""#,
    r#""7""#,
    r#""é€😀""#,
    "[1, \"A\"]",
    "{\"k\": 1}",
];

/// Binary operators and compound assignments, applied to `e.a` and `e.b`.
const BINARY: &[&str] = &[
    "==", "!=", "<", "<=", ">", ">=", "&&", "||", "+", "-", "*", "/", "%", "??",
];
const COMPOUND: &[&str] = &["+=", "-=", "*=", "/=", "%="];

/// Scripts over `e.a` and `e.b` (`e` is `o.extra`), by name.
fn operator_subjects() -> Vec<Subject> {
    let mut subjects = Vec::new();
    for op in BINARY {
        subjects.push(Subject::decide(
            format!("extra: e.a {op} e.b as text"),
            &format!("let e = o.extra; let r = e.a {op} e.b; #{{ amount: 0, reason: `${{r}}` }}"),
        ));
        subjects.push(Subject::decide(
            format!("extra: e.a {op} e.b as amount"),
            &format!("o.extra.a {op} o.extra.b"),
        ));
        subjects.push(Subject::decide(
            format!("extra: e.a {op} e.b as condition"),
            &format!(r#"if o.extra["a"] {op} o.extra["b"] {{ 1 }} else {{ 2 }}"#),
        ));
    }
    for op in COMPOUND {
        subjects.push(Subject::decide(
            format!("extra: x {op} e.b"),
            &format!(
                "let e = o.extra; let x = e.a; x {op} e.b; #{{ amount: 0, reason: `${{x}}` }}"
            ),
        ));
    }
    let pair_methods = [
        ("round(b)", "e.a.round(e.b)"),
        ("starts_with(b)", "e.a.starts_with(e.b)"),
        ("contains(b)", "e.a.contains(e.b)"),
        ("a in b", "e.a in e.b"),
        ("sub_string(b, 2)", "e.a.sub_string(e.b, 2)"),
        ("sub_string(1, b)", "e.a.sub_string(1, e.b)"),
        ("p.invested_in(a)", "p.invested_in(e.a)"),
        ("p.exposure_by_grade(a)", "p.exposure_by_grade(e.a)"),
        ("p.exposure_by_platform(a)", "p.exposure_by_platform(e.a)"),
    ];
    let unary = [
        ("-a", "-e.a"),
        ("!a", "!e.a"),
        ("a", "e.a"),
        ("a.to_string()", "e.a.to_string()"),
        ("a.len()", "e.a.len()"),
        ("a.abs()", "e.a.abs()"),
        ("a.floor()", "e.a.floor()"),
        ("a.ceiling()", "e.a.ceiling()"),
        ("a.round()", "e.a.round()"),
        ("a.round(0)", "e.a.round(0)"),
        ("a.round(2)", "e.a.round(2)"),
        ("a.round(-1)", "e.a.round(-1)"),
        ("a.to_upper()", "e.a.to_upper()"),
        ("a.sub_string(0, 7)", "e.a.sub_string(0, 7)"),
        ("a.sub_string(-3, 2)", "e.a.sub_string(-3, 2)"),
        ("a.sub_string(2, -1)", "e.a.sub_string(2, -1)"),
        (
            "a.sub_string(1, 9223372036854775807)",
            "e.a.sub_string(1, 9223372036854775807)",
        ),
        (
            "switch a",
            r#"switch e.a { "A" | "A+" => 1, 7 => 2, true => 3, "" => 4, _ => 5 }"#,
        ),
    ];
    for (name, expression) in pair_methods.iter().chain(unary.iter()) {
        subjects.push(Subject::decide(
            format!("extra: {name} as text"),
            &format!("let e = o.extra; let r = {expression}; #{{ amount: 0, reason: `${{r}}` }}"),
        ));
        subjects.push(Subject::decide(
            format!("extra: {name} as amount"),
            &format!("let e = o.extra; {expression}"),
        ));
    }
    let returns = [
        ("#{ amount: a }", "#{ amount: e.a }"),
        ("#{ amount: 1, reason: a }", "#{ amount: 1, reason: e.a }"),
        ("#{ amount: 1, slot: a }", "#{ amount: 1, slot: e.a }"),
        (
            "#{ amount: a, reason: b, slot: b }",
            "#{ amount: e.a, reason: e.b, slot: e.b }",
        ),
        ("if a", "if e.a { 1 } else { 2 }"),
    ];
    for (name, expression) in returns {
        subjects.push(Subject::decide(
            format!("extra: {name}"),
            &format!("let e = o.extra; {expression}"),
        ));
    }
    subjects
}

/// Every script of `operator_subjects` on every pair (a, b) of `VALUES`.
#[test]
fn operators_agree_on_every_pair_of_value_types() {
    let subjects = operator_subjects();
    // Holdings under keys that are also string values in VALUES, so that the
    // portfolio's queries answer something other than 0 for some of them.
    let held = Purchase {
        platform: "A",
        opportunity_id: "A+",
        grade: Some("A"),
        amount: Decimal::new(1234, 2),
        today: true,
        state: 0,
    };
    let p = portfolio(
        Some(Decimal::new(10_000, 2)),
        NaiveDate::from_ymd_opt(2026, 11, 20),
        &[held],
    );
    let mut checks = Disagreements::default();
    for a in VALUES {
        for b in VALUES {
            let o = ScriptOpportunity::new(with_extra(&[("a", a), ("b", b)]));
            for subject in &subjects {
                checks.check(subject, &o, &p);
            }
        }
    }
    checks.assert_none();
}

fn with_extra(entries: &[(&str, &str)]) -> Opportunity {
    let mut o = Opportunity::new(
        PlatformId::new("fc"),
        PlatformKind::FundingCircle,
        "L1",
        OpportunityKind::Loan,
    );
    for (key, json) in entries {
        o.extra.insert((*key).into(), json_number(json));
    }
    o
}

/// The same operators on literals bound with `let` (constant operands are folded
/// at compile time by Rhai; a `let` keeps them for the evaluator).
const LITERALS: &[&str] = &[
    "()",
    "true",
    "false",
    "0",
    "7",
    "-7",
    "9223372036854775807",
    "0.0",
    "7.0",
    "7.50",
    "2.345",
    "0.0899",
    "79228162514264337593543950335.0",
    r#""""#,
    r#""A""#,
    r#""7""#,
    "'c'",
];

fn literal_subjects() -> Vec<Subject> {
    let mut subjects = Vec::new();
    for a in LITERALS {
        for b in LITERALS {
            for op in BINARY {
                subjects.push(Subject::decide(
                    format!("literal: {a} {op} {b}"),
                    &format!(
                        "let a = {a}; let b = {b}; let r = a {op} b; #{{ amount: 0, reason: `${{r}}` }}"
                    ),
                ));
            }
        }
    }
    subjects
}

#[test]
fn operators_agree_on_literals() {
    let o = ScriptOpportunity::new(with_extra(&[]));
    let p = PortfolioView::default();
    let mut checks = Disagreements::default();
    for subject in literal_subjects() {
        checks.check(&subject, &o, &p);
    }
    checks.assert_none();
}

/// `sub_string` and `round` on the indices and places that break naive code.
#[test]
fn string_and_rounding_methods_agree_at_the_edges() {
    let subjects = [
        Subject::decide(
            "sub_string(n, m)",
            "let e = o.extra; #{ amount: 0, reason: e.s.sub_string(e.n, e.m) }",
        ),
        Subject::decide(
            "round(n)",
            "let e = o.extra; #{ amount: 0, reason: `${e.d.round(e.n)}` }",
        ),
    ];
    let strings = [r#""""#, r#""abc""#, r#""é€😀x""#, r#""2026-11-20""#];
    let decimals = [
        "2.345",
        "2.355",
        "-2.345",
        "-2.355",
        "0.5",
        "1.5",
        "-0.5",
        "0.0899",
        "123.456789",
    ];
    let indices = [
        "-9223372036854775808",
        "-10",
        "-1",
        "0",
        "1",
        "2",
        "3",
        "7",
        "100",
        "9223372036854775807",
    ];
    let p = PortfolioView::default();
    let mut checks = Disagreements::default();
    for (s, d) in strings.iter().zip(decimals.iter().cycle()).chain(
        // every decimal too, with the first string
        decimals.iter().map(|d| (&strings[1], d)),
    ) {
        for n in indices {
            for m in indices {
                let o =
                    ScriptOpportunity::new(with_extra(&[("s", s), ("d", d), ("n", n), ("m", m)]));
                for subject in &subjects {
                    checks.check(subject, &o, &p);
                }
            }
        }
    }
    checks.assert_none();
}
