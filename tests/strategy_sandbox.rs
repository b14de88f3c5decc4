//! The strategy engine seen from outside: the shipped strategies, the script API,
//! the return shapes, the sandbox's limits and the errors' script/line/column.

use autoinvest::opportunity::{
    Opportunity, OpportunityKind, PlatformId, PlatformKind, PurchaseMode,
};
use autoinvest::order::{IdempotencyKey, OrderIntent, OrderState};
use autoinvest::portfolio::{Portfolio, PortfolioView};
use autoinvest::strategy::{Strategy, StrategyAnswer, StrategyError, StrategyLimits};
use chrono::{NaiveDate, TimeZone, Utc};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use std::path::PathBuf;

// ── helpers ─────────────────────────────────────────────────────────────────

fn shipped(file: &str) -> Strategy {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("strategies")
        .join(file);
    Strategy::compile_file(file, &path).unwrap_or_else(|e| panic!("{file}: {e}"))
}

/// A live fractional Funding Circle loan: A+, 36 months at 8.99 %, $12,500 left.
fn fc_loan(id: &str) -> Opportunity {
    let mut o = Opportunity::new(
        PlatformId::new("fc"),
        PlatformKind::FundingCircle,
        id,
        OpportunityKind::Loan,
    );
    o.name = Some("Acme Builders".into());
    o.grade = Some("A+".into());
    o.rate = Some(dec!(0.0899));
    o.term_months = Some(36);
    o.amount = Some(dec!(50000.00));
    o.remaining = Some(dec!(12500.00));
    o.min_investment = Some(dec!(25.00));
    o.max_investment = Some(dec!(25000.00));
    o.status = "live".into();
    o.listed_at = Some(Utc.with_ymd_and_hms(2026, 11, 20, 21, 0, 0).unwrap());
    o
}

fn whole_loan(remaining: Decimal, grade: &str, rate: Decimal) -> Opportunity {
    let mut o = fc_loan("W1");
    o.purchase = PurchaseMode::Whole;
    o.grade = Some(grade.into());
    o.rate = Some(rate);
    o.amount = Some(remaining);
    o.remaining = Some(remaining);
    o
}

fn bare_opportunity() -> Opportunity {
    Opportunity::new(
        PlatformId::new("fc"),
        PlatformKind::FundingCircle,
        "L0",
        OpportunityKind::Loan,
    )
}

fn empty_portfolio() -> PortfolioView {
    PortfolioView::default()
}

/// A portfolio on 2026-11-20 holding `amount` of `grade` in opportunity "OLD", bought
/// that day or the day before.
fn portfolio_holding(
    grade: &str,
    amount: Decimal,
    cash: Option<Decimal>,
    bought_today: bool,
) -> Portfolio {
    let mut portfolio = Portfolio::new(cash);
    let bought_on = if bought_today { 20 } else { 19 };
    let now = Utc.with_ymd_and_hms(2026, 11, bought_on, 15, 0, 0).unwrap();
    portfolio.set_today(NaiveDate::from_ymd_opt(2026, 11, 20).unwrap());
    let platform = PlatformId::new("fc");
    portfolio.record(&OrderIntent {
        key: IdempotencyKey::derive(&platform, "s", "OLD", "once"),
        platform,
        strategy: "s".into(),
        opportunity_id: "OLD".into(),
        opportunity_kind: OpportunityKind::Loan,
        purchase: PurchaseMode::Fractional,
        amount,
        shares: None,
        grade: Some(grade.into()),
        reason: "earlier".into(),
        slot: "once".into(),
        created_at: now,
        updated_at: now,
        state: OrderState::Claimed,
        dry_run: false,
    });
    portfolio
}

fn compile(source: &str) -> Strategy {
    Strategy::compile_source("test", "test.rhai", source).unwrap_or_else(|e| panic!("{e}"))
}

fn compile_err(source: &str) -> StrategyError {
    match Strategy::compile_source("test", "test.rhai", source) {
        Ok(_) => panic!("expected a compile error for:\n{source}"),
        Err(err) => err,
    }
}

/// Compiles `fn decide(o, p) { <body> }` and runs it on `fc_loan("L1")`.
fn run_body(body: &str) -> Result<StrategyAnswer, StrategyError> {
    compile(&format!("fn decide(o, p) {{\n{body}\n}}")).decide(&fc_loan("L1"), &empty_portfolio())
}

fn buy(amount: Decimal, reason: Option<&str>, slot: Option<&str>) -> StrategyAnswer {
    StrategyAnswer::Buy {
        amount,
        reason: reason.map(String::from),
        slot: slot.map(String::from),
    }
}

fn skip(reason: Option<&str>) -> StrategyAnswer {
    StrategyAnswer::Skip {
        reason: reason.map(String::from),
    }
}

fn reason_of(answer: StrategyAnswer) -> String {
    match answer {
        StrategyAnswer::Skip { reason } | StrategyAnswer::Buy { reason, .. } => {
            reason.unwrap_or_default()
        }
    }
}

// ── shipped strategies ──────────────────────────────────────────────────────

#[test]
fn every_shipped_strategy_compiles() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("strategies");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".rhai"))
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "fundamerica_equity.rhai",
            "fundrise_dca.rhai",
            "prime_loans.rhai",
            "reg_cf_filter.rhai",
            "whole_loan_sniper.rhai",
            "yield_ladder.rhai"
        ]
    );
    for name in &names {
        let strategy = shipped(name);
        assert_eq!(strategy.name(), name);
        assert!(strategy.label().ends_with(&format!("strategies/{name}")));
    }
}

#[test]
fn prime_loans_buys_prime_short_fractional_loans() {
    let strategy = shipped("prime_loans.rhai");
    let p = empty_portfolio();

    assert_eq!(
        strategy.decide(&fc_loan("L1"), &p),
        Ok(buy(dec!(100.00), Some("band A+, 36 months at 8.99%"), None))
    );

    let mut a_band = fc_loan("L2");
    a_band.grade = Some("A".into());
    a_band.rate = Some(dec!(0.0825));
    a_band.term_months = Some(24);
    assert_eq!(
        strategy.decide(&a_band, &p),
        Ok(buy(dec!(50.00), Some("band A, 24 months at 8.25%"), None))
    );
}

#[test]
fn prime_loans_skips_everything_else_with_a_reason() {
    let strategy = shipped("prime_loans.rhai");
    let p = empty_portfolio();
    let decide = |o: Opportunity| strategy.decide(&o, &p);

    let mut b_band = fc_loan("L1");
    b_band.grade = Some("B".into());
    assert_eq!(decide(b_band), Ok(skip(Some("risk band B is below A"))));

    let mut long = fc_loan("L1");
    long.term_months = Some(48);
    assert_eq!(decide(long), Ok(skip(Some("term 48 months is over 36"))));

    let mut cheap = fc_loan("L1");
    cheap.rate = Some(dec!(0.0799));
    assert_eq!(decide(cheap), Ok(skip(Some("rate 0.0799 is under 0.08"))));

    // A missing rate compares false: a skip, not an error.
    let mut no_rate = fc_loan("L1");
    no_rate.rate = None;
    assert_eq!(decide(no_rate), Ok(skip(Some("rate  is under 0.08"))));

    assert_eq!(
        decide(whole_loan(dec!(3000), "A+", dec!(0.09))),
        Ok(skip(Some("whole loan (prime_loans buys fractions)")))
    );

    // Backtest rows from LendingClub are judged by the same rule.
    let mut lending_club = fc_loan("L1");
    lending_club.platform_kind = PlatformKind::LendingClub;
    lending_club.grade = Some("A".into());
    assert!(matches!(
        decide(lending_club),
        Ok(StrategyAnswer::Buy { .. })
    ));

    let mut offering = fc_loan("O1");
    offering.kind = OpportunityKind::Offering;
    assert_eq!(decide(offering), Ok(skip(Some("not a loan"))));
}

#[test]
fn yield_ladder_scales_with_rate() {
    let strategy = shipped("yield_ladder.rhai");
    let p = empty_portfolio();
    let at_rate = |rate: Decimal| {
        let mut o = fc_loan("L1");
        o.grade = Some("B".into());
        o.rate = Some(rate);
        strategy.decide(&o, &p)
    };
    // 8.99 % is 3 whole points above 5 %: $75.
    assert_eq!(
        at_rate(dec!(0.0899)),
        Ok(buy(dec!(75.00), Some("grade B at 0.0899: 3 points"), None))
    );
    // Under the base rate still gets the minimum; far above it is capped at $150.
    assert_eq!(
        at_rate(dec!(0.04)),
        Ok(buy(dec!(25.00), Some("grade B at 0.04: -1 points"), None))
    );
    assert_eq!(
        at_rate(dec!(0.2499)),
        Ok(buy(
            dec!(150.00),
            Some("grade B at 0.2499: 19 points"),
            None
        ))
    );
}

#[test]
fn yield_ladder_respects_grade_caps_daily_pace_and_remaining() {
    let strategy = shipped("yield_ladder.rhai");
    let mut loan = fc_loan("L1");
    loan.grade = Some("C".into());
    loan.rate = Some(dec!(0.1250)); // 7 points: $150 before limits

    // C is capped at $1,200: $1,150 held leaves room for $50.
    let near_cap = portfolio_holding("C", dec!(1150.00), None, false);
    let answer = strategy.decide(&loan, near_cap.view()).unwrap();
    assert!(
        matches!(answer, StrategyAnswer::Buy { amount, .. } if amount == dec!(50.00)),
        "{answer:?}"
    );

    let at_cap = portfolio_holding("C", dec!(1190.00), None, false);
    assert_eq!(
        strategy.decide(&loan, at_cap.view()),
        Ok(skip(Some("grade C cap of 1200.00 reached")))
    );

    // $290 already bought today (in another grade): $10 of pace left, under $25.
    let paced = portfolio_holding("A", dec!(290.00), None, true);
    assert_eq!(
        strategy.decide(&loan, paced.view()),
        Ok(skip(Some("daily pace reached")))
    );

    let mut nearly_full = loan.clone();
    nearly_full.remaining = Some(dec!(40.00));
    let answer = strategy.decide(&nearly_full, &empty_portfolio()).unwrap();
    assert!(
        matches!(answer, StrategyAnswer::Buy { amount, .. } if amount == dec!(40.00)),
        "{answer:?}"
    );

    let mut g_grade = loan.clone();
    g_grade.grade = Some("G".into());
    assert_eq!(
        strategy.decide(&g_grade, &empty_portfolio()),
        Ok(skip(Some("grade G is not on the ladder")))
    );
}

#[test]
fn whole_loan_sniper_buys_small_good_whole_loans_entirely() {
    let strategy = shipped("whole_loan_sniper.rhai");
    let p = empty_portfolio();

    assert_eq!(
        strategy.decide(&whole_loan(dec!(4800.00), "B", dec!(0.0950)), &p),
        Ok(buy(
            dec!(4800.00),
            Some("whole B loan of 4800.00 at 0.0950"),
            None
        ))
    );
    assert_eq!(
        strategy.decide(&whole_loan(dec!(5000.01), "A", dec!(0.09)), &p),
        Ok(skip(Some("whole loan of 5000.01 is over 5000.00")))
    );
    assert_eq!(
        strategy.decide(&whole_loan(dec!(3000), "C", dec!(0.12)), &p),
        Ok(skip(Some("risk band C is below B")))
    );
    assert_eq!(
        strategy.decide(&whole_loan(dec!(3000), "A", dec!(0.0699)), &p),
        Ok(skip(Some("rate 0.0699 is under 0.07")))
    );
    // Fractional listings are left to the other strategies.
    assert_eq!(
        strategy.decide(&fc_loan("L1"), &p),
        Ok(skip(Some("fractional listing")))
    );

    let short_of_cash = Portfolio::new(Some(dec!(2999.99)));
    assert_eq!(
        strategy.decide(
            &whole_loan(dec!(3000), "A", dec!(0.09)),
            short_of_cash.view()
        ),
        Ok(skip(Some("cash 2999.99 cannot cover 3000")))
    );
}

// ── return shapes ───────────────────────────────────────────────────────────

#[test]
fn return_shapes_map_to_answers() {
    let cases: &[(&str, StrategyAnswer)] = &[
        ("()", skip(None)),
        ("0", skip(None)),
        ("0.00", skip(None)),
        ("25", buy(dec!(25), None, None)),
        ("25.999", buy(dec!(25.99), None, None)),
        ("0.009", skip(None)),
        (
            r#"#{ amount: 25.00, reason: "A-band, 36 months", slot: "2026-11" }"#,
            buy(dec!(25.00), Some("A-band, 36 months"), Some("2026-11")),
        ),
        (r#"#{ amount: 40 }"#, buy(dec!(40), None, None)),
        (
            r#"#{ amount: 0, reason: "too risky" }"#,
            skip(Some("too risky")),
        ),
        (r#"#{ reason: "no amount" }"#, skip(Some("no amount"))),
        (r#"#{ amount: (), reason: "unit" }"#, skip(Some("unit"))),
        (r#"#{}"#, skip(None)),
    ];
    for (returned, expected) in cases {
        assert_eq!(
            &run_body(returned).unwrap(),
            expected,
            "returning {returned}"
        );
    }
}

#[test]
fn bad_return_values_are_errors_naming_the_script() {
    let cases: &[(&str, &str)] = &[
        ("-5", "decide() returned a negative amount -5"),
        ("-0.01", "decide() returned a negative amount -0.01"),
        (
            r#""25""#,
            "decide() returned a string; expected (), an amount or a map #{ amount, reason, slot }",
        ),
        (
            "[25]",
            "decide() returned a array; expected (), an amount or a map #{ amount, reason, slot }",
        ),
        (
            "true",
            "decide() returned a bool; expected (), an amount or a map #{ amount, reason, slot }",
        ),
        (
            "o",
            "decide() returned a Opportunity; expected (), an amount or a map #{ amount, reason, slot }",
        ),
        (
            "#{ amount: -1 }",
            "decide() returned a negative amount -1",
        ),
        (
            r#"#{ amount: "25" }"#,
            "decide() returned a map whose amount is a string; expected a number",
        ),
        (
            "#{ amout: 25 }",
            "decide() returned a map with unknown key `amout` (expected amount, reason, slot)",
        ),
        (
            "#{ amount: 25, reason: 7 }",
            "decide() returned a map whose reason is a i64; expected a string",
        ),
        (
            r#"#{ amount: 25, slot: "" }"#,
            "decide() returned an empty slot; leave it out for \"once\"",
        ),
        (
            "2000000000000",
            "decide() returned an unusable amount: amount 2000000000000 is too large",
        ),
    ];
    for (returned, message) in cases {
        let err = run_body(returned).expect_err(returned);
        assert_eq!(
            err,
            StrategyError {
                script: "test.rhai".into(),
                line: None,
                column: None,
                message: message.to_string(),
            },
            "returning {returned}"
        );
        assert_eq!(err.to_string(), format!("test.rhai: {message}"));
    }
}

// ── the script API ──────────────────────────────────────────────────────────

/// Runs `#{ reason: <expr> }` on `o` and returns the reason text.
fn show(o: &Opportunity, p: &PortfolioView, expr: &str) -> String {
    let strategy = compile(&format!(
        "fn decide(o, p) {{ #{{ amount: 0, reason: `${{{expr}}}|${{type_of({expr})}}` }} }}"
    ));
    reason_of(
        strategy
            .decide(o, p)
            .unwrap_or_else(|e| panic!("{expr}: {e}")),
    )
}

#[test]
fn opportunity_fields_have_script_types() {
    let mut o = fc_loan("9f8c36b9");
    o.sub_grade = Some("A2".into());
    o.increment = Some(dec!(0.01));
    o.unit_price = Some(dec!(10.00));
    o.asset_class = Some("small_business".into());
    let p = empty_portfolio();
    let cases = [
        ("o.platform", "fc|string"),
        ("o.platform_kind", "fundingcircle|string"),
        ("o.id", "9f8c36b9|string"),
        ("o.kind", "loan|string"),
        ("o.name", "Acme Builders|string"),
        ("o.asset_class", "small_business|string"),
        ("o.grade", "A+|string"),
        ("o.sub_grade", "A2|string"),
        ("o.rate", "0.0899|decimal"),
        ("o.term_months", "36|i64"),
        ("o.amount", "50000.00|decimal"),
        ("o.remaining", "12500.00|decimal"),
        ("o.min_investment", "25.00|decimal"),
        ("o.max_investment", "25000.00|decimal"),
        ("o.increment", "0.01|decimal"),
        ("o.unit_price", "10.00|decimal"),
        ("o.status", "live|string"),
        ("o.listed_at", "2026-11-20T21:00:00Z|string"),
        ("o.whole", "false|bool"),
        ("o.extra", "#{}|map"),
    ];
    for (expr, expected) in cases {
        assert_eq!(show(&o, &p, expr), expected, "{expr}");
    }
    let whole = whole_loan(dec!(1000), "A", dec!(0.08));
    assert_eq!(show(&whole, &p, "o.whole"), "true|bool");
}

#[test]
fn missing_fields_are_unit() {
    let o = bare_opportunity();
    let p = empty_portfolio();
    for field in [
        "name",
        "asset_class",
        "grade",
        "sub_grade",
        "rate",
        "term_months",
        "amount",
        "remaining",
        "min_investment",
        "max_investment",
        "increment",
        "unit_price",
        "listed_at",
    ] {
        let expr = format!("o.{field}");
        assert_eq!(show(&o, &p, &expr), "|()", "{expr}");
    }
    assert_eq!(show(&o, &p, "o.status"), "|string");
    assert_eq!(show(&o, &p, "o.whole"), "false|bool");
}

#[test]
fn comparisons_with_missing_values_are_false_and_arithmetic_fails() {
    let strategy = compile(
        "fn decide(o, p) {\n\
         let n = 0;\n\
         if o.rate >= 0.08 { n += 1 }\n\
         if o.rate < 0.08 { n += 2 }\n\
         if o.remaining > 100 { n += 4 }\n\
         if o.grade == \"A\" { n += 8 }\n\
         if o.grade != \"A\" { n += 16 }\n\
         if o.rate == () { n += 32 }\n\
         n\n\
         }",
    );
    assert_eq!(
        strategy.decide(&bare_opportunity(), &empty_portfolio()),
        Ok(buy(dec!(48), None, None))
    );

    let arithmetic = compile("fn decide(o, p) {\n    o.remaining * 2\n}");
    let err = arithmetic
        .decide(&bare_opportunity(), &empty_portfolio())
        .unwrap_err();
    assert_eq!((err.line, err.column), (Some(2), Some(17)));
    assert!(err.message.starts_with("Function not found: *"), "{err}");
}

#[test]
fn decimals_and_integers_mix_exactly() {
    let cases = [
        ("o.rate >= 0.0899", "true|bool"),
        ("o.rate > 0.0899", "false|bool"),
        ("o.term_months <= 36", "true|bool"),
        ("o.remaining > 100", "true|bool"),
        ("o.remaining == 12500", "true|bool"),
        ("100 < o.remaining", "true|bool"),
        ("o.remaining * 2", "25000.00|decimal"),
        ("o.rate * 100", "8.9900|decimal"),
        ("0.1 + 0.2 == 0.3", "true|bool"),
        ("min(o.remaining, 100)", "100|decimal"),
    ];
    let o = fc_loan("L1");
    for (expr, expected) in cases {
        assert_eq!(show(&o, &empty_portfolio(), expr), expected, "{expr}");
    }
}

#[test]
fn extra_fields_reach_the_script() {
    let mut o = fc_loan("L1");
    let extra: serde_json::Value = serde_json::from_str(
        r#"{"annual_income": 85000.50, "years_in_business": 7, "industry": "Construction",
            "verified": true, "note": null, "scores": [700, 1.5e2], "owner": {"age": 44}}"#,
    )
    .unwrap();
    o.extra = serde_json::from_value(extra).unwrap();
    let p = empty_portfolio();
    let cases = [
        ("o.extra.annual_income", "85000.50|decimal"),
        ("o.extra.years_in_business", "7|i64"),
        ("o.extra.industry", "Construction|string"),
        ("o.extra.verified", "true|bool"),
        ("o.extra.note", "|()"),
        ("o.extra.scores[0]", "700|i64"),
        ("o.extra.scores[1]", "150|decimal"),
        ("o.extra.owner.age", "44|i64"),
        ("o.extra.not_there", "|()"),
    ];
    for (expr, expected) in cases {
        assert_eq!(show(&o, &p, expr), expected, "{expr}");
    }

    let income_based =
        compile("fn decide(o, p) { if o.extra.annual_income > 80000 { 30 } else { 0 } }");
    assert_eq!(income_based.decide(&o, &p), Ok(buy(dec!(30), None, None)));
}

#[test]
fn portfolio_view_reaches_the_script() {
    let portfolio = portfolio_holding("B", dec!(125.50), Some(dec!(1000.00)), true);
    let p = portfolio.view();
    let o = fc_loan("L1");
    let cases = [
        ("p.cash", "874.50|decimal"),
        ("p.invested_total", "125.50|decimal"),
        ("p.invested_today", "125.50|decimal"),
        ("p.invested_in(\"OLD\")", "125.50|decimal"),
        ("p.invested_in(o.id)", "0|decimal"),
        ("p.exposure_by_grade(\"B\")", "125.50|decimal"),
        ("p.exposure_by_grade(o.grade)", "0|decimal"),
        ("p.exposure_by_platform(o.platform)", "125.50|decimal"),
        ("p.today", "2026-11-20|string"),
        ("p.today.sub_string(0, 7)", "2026-11|string"),
    ];
    for (expr, expected) in cases {
        assert_eq!(show(&o, p, expr), expected, "{expr}");
    }
    let unknown = empty_portfolio();
    assert_eq!(show(&o, &unknown, "p.cash"), "|()");
    assert_eq!(show(&o, &unknown, "p.today"), "|string");
}

#[test]
fn monthly_slot_from_today() {
    let portfolio = portfolio_holding("B", dec!(1), None, false);
    let strategy = compile("fn decide(o, p) { #{ amount: 100, slot: p.today.sub_string(0, 7) } }");
    assert_eq!(
        strategy.decide(&fc_loan("L1"), portfolio.view()),
        Ok(buy(dec!(100), None, Some("2026-11")))
    );
}

#[test]
fn helper_functions_and_function_constants_work() {
    let strategy = compile(
        "fn decide(o, p) {\n\
           const FLOOR = 0.08;\n\
           if o.rate >= FLOOR { stake(o.grade) } else { 0 }\n\
         }\n\
         fn stake(grade) { if grade == \"A+\" { 60 } else { 30 } }",
    );
    assert_eq!(
        strategy.decide(&fc_loan("L1"), &empty_portfolio()),
        Ok(buy(dec!(60), None, None))
    );
}

#[test]
fn evaluation_does_not_leak_state_between_calls() {
    let strategy = compile(
        "fn decide(o, p) {\n\
           let seen = if is_def_var(\"carried\") { 1 } else { 0 };\n\
           let carried = 5;\n\
           seen\n\
         }",
    );
    for _ in 0..3 {
        assert_eq!(
            strategy.decide(&fc_loan("L1"), &empty_portfolio()),
            Ok(skip(None))
        );
    }
}

#[test]
fn the_top_level_never_runs() {
    let strategy = compile("throw \"top level ran\";\nfn decide(o, p) { 1 }");
    assert_eq!(
        strategy.decide(&fc_loan("L1"), &empty_portfolio()),
        Ok(buy(dec!(1), None, None))
    );
    // Strict variables: decide cannot read top-level variables, and says so at compile time.
    let err = compile_err("const MIN = 0.08;\nfn decide(o, p) { o.rate >= MIN }");
    assert_eq!((err.line, err.column), (Some(2), Some(29)));
    assert_eq!(err.message, "Undefined variable: MIN");
}

// ── sandbox ─────────────────────────────────────────────────────────────────

fn runtime_message(body: &str) -> String {
    run_body(body).expect_err(body).message
}

#[test]
fn infinite_loop_stops_at_the_operation_limit() {
    assert_eq!(runtime_message("loop {}"), "Too many operations");
    assert_eq!(
        runtime_message("let n = 0; while true { n += 1; }"),
        "Too many operations"
    );
}

#[test]
fn deep_recursion_is_stopped() {
    let strategy = compile("fn down(n) { down(n + 1) }\nfn decide(o, p) { down(0) }");
    let err = strategy
        .decide(&fc_loan("L1"), &empty_portfolio())
        .unwrap_err();
    assert_eq!(err.message, "Stack overflow");
    assert_eq!(err.script, "test.rhai");
}

#[test]
fn huge_values_are_refused() {
    assert_eq!(
        runtime_message("let s = \"x\"; loop { s += s; }"),
        "Length of string too large"
    );
    assert_eq!(
        runtime_message("let s = \"x\"; s.pad(10000000, 'x'); 1"),
        "Length of string too large"
    );
    assert_eq!(
        runtime_message("let a = []; a.pad(10000000, 1); 1"),
        "Size of array/BLOB too large"
    );
    assert_eq!(
        runtime_message("let b = blob(100000000); 1"),
        "Size of array/BLOB too large"
    );
}

#[test]
fn limits_can_be_tightened() {
    let compile_limited = |body: &str, limits: &StrategyLimits| {
        Strategy::compile_source_with_limits(
            "tight",
            "tight.rhai",
            &format!("fn decide(o, p) {{\n{body}\n}}"),
            limits,
        )
        .unwrap()
    };
    let o = fc_loan("L1");
    let p = empty_portfolio();
    let small_maps = StrategyLimits {
        max_map_size: 2,
        ..StrategyLimits::default()
    };
    let merger = compile_limited("let m = #{ a: 1, b: 2 }; m += #{ c: 3 }; 1", &small_maps);
    assert_eq!(
        merger.decide(&o, &p).unwrap_err().message,
        "Size of object map too large"
    );
    // 60 iterations fit the default 100,000 operations but not 100.
    let few_operations = StrategyLimits {
        max_operations: 100,
        ..StrategyLimits::default()
    };
    let counter = compile_limited("let i = 0; while i < 60 { i += 1; } i", &few_operations);
    assert_eq!(
        counter.decide(&o, &p).unwrap_err().message,
        "Too many operations"
    );
    assert_eq!(
        compile("fn decide(o, p) { let i = 0; while i < 60 { i += 1; } i }").decide(&o, &p),
        Ok(buy(dec!(60), None, None))
    );
}

#[test]
fn slow_operations_stop_at_the_time_limit() {
    // Rhai does not apply max_map_size to `m[key] = value` inserts, so each counted
    // operation here copies a 9,999-element array into a growing map; only the
    // wall-clock budget stops it before the memory does.
    let limits = StrategyLimits {
        max_duration: std::time::Duration::from_millis(20),
        ..StrategyLimits::default()
    };
    let strategy = Strategy::compile_source_with_limits(
        "hog",
        "hog.rhai",
        "fn decide(o, p) {\n\
           let a = []; a.pad(9999, 0);\n\
           let m = #{}; let i = 0;\n\
           loop { m[`${i}`] = a; i += 1; }\n\
         }",
        &limits,
    )
    .unwrap();
    let err = strategy
        .decide(&fc_loan("L1"), &empty_portfolio())
        .unwrap_err();
    assert_eq!(err.message, "Script terminated: ran longer than 20 ms");
    assert_eq!(err.script, "hog.rhai");
}

#[test]
fn host_functions_are_unavailable() {
    // sleep() would block the daemon's thread for as long as asked; one second here
    // keeps a regression from hanging the test run.
    let err = run_body("sleep(1)").unwrap_err();
    assert_eq!(
        err.message,
        "Runtime error: sleep() is not available to strategies"
    );
    assert_eq!((err.line, err.column), (Some(2), Some(1)));
    assert_eq!(
        runtime_message("Fn(\"sleep\").call(1)"),
        "Runtime error: sleep() is not available to strategies"
    );
    assert_eq!(
        runtime_message("timestamp()"),
        "Runtime error: timestamp() is not available to strategies; use p.today"
    );
}

#[test]
fn eval_is_a_compile_error() {
    let err = compile_err("fn decide(o, p) {\n    eval(\"1\")\n}");
    assert_eq!(err.script, "test.rhai");
    assert_eq!((err.line, err.column), (Some(2), Some(5)));
    assert_eq!(err.message, "reserved keyword 'eval' is disabled");
}

#[test]
fn import_is_a_compile_error() {
    let err = compile_err("import \"x\" as y;\nfn decide(o, p) { 1 }");
    assert_eq!((err.line, err.column), (Some(1), Some(1)));
    assert_eq!(err.message, "'import' is a reserved keyword");
}

#[test]
fn print_and_debug_do_not_fail_the_script() {
    // Their output goes to tracing (see the unit test in engine.rs), never stdout.
    assert_eq!(
        run_body("print(\"hello\"); debug(o.id); 25"),
        Ok(buy(dec!(25), None, None))
    );
}

// ── errors name the script, line and column ─────────────────────────────────

#[test]
fn throw_is_a_runtime_error_at_its_line() {
    let strategy = compile(
        "fn decide(o, p) {\n\
         \x20   let a = 1;\n\
         \x20   if o.id == \"L1\" {\n\
         \x20       throw \"boom\";\n\
         \x20   }\n\
         \x20   a\n\
         }",
    );
    let err = strategy
        .decide(&fc_loan("L1"), &empty_portfolio())
        .unwrap_err();
    assert_eq!(
        err,
        StrategyError {
            script: "test.rhai".into(),
            line: Some(4),
            column: Some(9),
            message: "Runtime error: boom".into(),
        }
    );
    assert_eq!(err.to_string(), "test.rhai:4:9: Runtime error: boom");
    // The same script on another opportunity is fine: one failure skips one opportunity.
    assert_eq!(
        strategy.decide(&fc_loan("L2"), &empty_portfolio()),
        Ok(buy(dec!(1), None, None))
    );
}

#[test]
fn runtime_error_in_a_helper_points_at_the_helper_line() {
    let strategy = compile(
        "fn decide(o, p) {\n\
         \x20   stake(o)\n\
         }\n\
         \n\
         fn stake(o) {\n\
         \x20   o.grde\n\
         }",
    );
    let err = strategy
        .decide(&fc_loan("L1"), &empty_portfolio())
        .unwrap_err();
    assert_eq!((err.line, err.column), (Some(6), Some(7)));
    assert_eq!(
        err.message,
        "Unknown property 'grde' - a getter is not registered for type 'Opportunity'"
    );
}

#[test]
fn syntax_error_names_line_and_column() {
    let err = compile_err("fn decide(o, p) {\n    let x = 1\n    x\n}");
    assert_eq!(
        err,
        StrategyError {
            script: "test.rhai".into(),
            line: Some(3),
            column: Some(5),
            message: "Expecting ';' to terminate this statement".into(),
        }
    );
    assert_eq!(
        err.to_string(),
        "test.rhai:3:5: Expecting ';' to terminate this statement"
    );
}

#[test]
fn a_script_without_decide_is_a_compile_error() {
    assert_eq!(
        compile_err("fn choose(o, p) { 1 }").to_string(),
        "test.rhai: no fn decide(o, p) in the script"
    );
    assert_eq!(
        compile_err("fn decide(o) { 1 }").to_string(),
        "test.rhai: fn decide takes 1 parameter(s); it must be fn decide(o, p)"
    );
    assert_eq!(
        compile_err("").to_string(),
        "test.rhai: no fn decide(o, p) in the script"
    );
}

#[test]
fn compile_file_names_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.rhai");
    std::fs::write(&path, "fn decide(o, p) {\n  1 +\n}\n").unwrap();
    let err = Strategy::compile_file("broken", &path).unwrap_err();
    assert_eq!(err.script, path.display().to_string());
    assert_eq!(err.line, Some(3));

    let missing = dir.path().join("missing.rhai");
    let err = Strategy::compile_file("missing", &missing).unwrap_err();
    assert_eq!(err.script, missing.display().to_string());
    assert_eq!(err.line, None);
    assert!(err.message.starts_with("cannot read: "), "{err}");
}

#[test]
fn strategies_are_shared_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Strategy>();

    let strategy = std::sync::Arc::new(shipped("prime_loans.rhai"));
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let strategy = strategy.clone();
            std::thread::spawn(move || {
                strategy.decide(&fc_loan(&format!("L{i}")), &empty_portfolio())
            })
        })
        .collect();
    for handle in handles {
        assert_eq!(
            handle.join().unwrap(),
            Ok(buy(dec!(100.00), Some("band A+, 36 months at 8.99%"), None))
        );
    }
}
