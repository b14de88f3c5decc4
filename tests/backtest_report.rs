//! The backtest end to end on the OpenIntro sample: `report.json` figures checked
//! against the input file read independently, `decisions.csv` against the report,
//! `report.html` parsed as XML with its charts; `--strict`; `--generate`.

mod backtest_support;

use autoinvest::backtest::{self, BacktestError, BacktestOptions};
use autoinvest::config::BudgetSettings;
use backtest_support::*;
use quick_xml::events::Event;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

const GRADE_A: &str = r#"
fn decide(o, p) {
    if o.grade != "A" { return #{ amount: 0, reason: `grade ${o.grade}` }; }
    if o.whole { return #{ amount: 0, reason: "whole loan" }; }
    #{ amount: 50, reason: "grade A" }
}"#;

fn run_sample(dir: &Path) -> (PathBuf, Value) {
    let ladder = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("strategies/yield_ladder.rhai"),
    )
    .unwrap();
    let fc_only = Spec {
        platforms: Some(&["fc"]),
        ..Spec::new("fc-only", GRADE_A)
    };
    let config = config(
        dir,
        BudgetSettings {
            daily_limit: Some(dec!(500)),
            total_limit: Some(dec!(5000)),
            cash_reserve: Decimal::ZERO,
        },
        &[
            Spec::new("ladder", &ladder),
            Spec::new("grade-a", GRADE_A),
            fc_only,
        ],
    );
    let out = dir.join("out");
    let options = BacktestOptions {
        data: fixture("lendingclub-sample.csv"),
        report_dir: Some(out.clone()),
        ..BacktestOptions::default()
    };
    backtest::run(&config, &options, &mut std::io::sink()).unwrap();
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    (out, json)
}

fn decimal(value: &Value) -> Decimal {
    Decimal::from_str(
        value
            .as_str()
            .unwrap_or_else(|| panic!("{value} is not a string")),
    )
    .unwrap()
}

/// (count, amount) per group key.
type Groups = BTreeMap<String, (u64, Decimal)>;

/// (count, amount) per grade and per term, straight from the CSV.
fn expected_groups() -> (Groups, Groups) {
    let mut reader = csv::Reader::from_path(fixture("lendingclub-sample.csv")).unwrap();
    let headers = reader.headers().unwrap().clone();
    let column = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (grade, term, amount) = (column("grade"), column("term"), column("loan_amount"));
    let mut by_grade = Groups::new();
    let mut by_term = Groups::new();
    for record in reader.records() {
        let record = record.unwrap();
        let value = Decimal::from_str(&record[amount]).unwrap();
        for (map, key) in [
            (&mut by_grade, &record[grade]),
            (&mut by_term, &record[term]),
        ] {
            let entry = map.entry(key.to_string()).or_default();
            entry.0 += 1;
            entry.1 += value;
        }
    }
    (by_grade, by_term)
}

#[test]
fn report_json_matches_the_input_and_the_decisions() {
    let dir = tempfile::tempdir().unwrap();
    let (out, report) = run_sample(dir.path());

    assert_eq!(report["version"], 1);
    assert_eq!(report["input"]["rows"], 500);
    assert_eq!(report["input"]["malformed_rows"], 0);
    assert_eq!(report["input"]["format"], "lendingclub");
    assert_eq!(report["input"]["rows_by_platform"]["lendingclub"], 500);
    assert_eq!(report["input"]["first_listed_at"], "2018-01-01T00:00:00Z");
    let baseline = &report["baseline"];
    assert_eq!(baseline["total"]["count"], 500);
    assert_eq!(decimal(&baseline["total"]["amount"]), dec!(7883975));
    assert_eq!(baseline["total"]["outcomes"]["fully_paid"], 15);
    assert_eq!(baseline["total"]["outcomes"]["charged_off"], 1);
    assert_eq!(baseline["total"]["resolved"], 16);
    assert_eq!(baseline["total"]["bad_rate"], "0.0625");
    let (by_grade, by_term) = expected_groups();
    for (key, (count, amount)) in &by_grade {
        assert_eq!(baseline["by_grade"][key]["count"], *count, "grade {key}");
        assert_eq!(decimal(&baseline["by_grade"][key]["amount"]), *amount);
    }
    for (key, (count, amount)) in &by_term {
        assert_eq!(baseline["by_term"][key]["count"], *count, "term {key}");
        assert_eq!(decimal(&baseline["by_term"][key]["amount"]), *amount);
    }

    let lines = read_decisions(&out);
    // Two strategies apply to every row; fc-only applies to none.
    assert_eq!(lines.len(), 1000);
    let strategies = report["strategies"].as_array().unwrap();
    assert_eq!(strategies.len(), 3);
    for strategy in strategies {
        let name = strategy["name"].as_str().unwrap();
        let buys: Vec<&Line> = lines
            .iter()
            .filter(|l| l.strategy == name && l.decision == "buy")
            .collect();
        let invested: Decimal = buys
            .iter()
            .map(|l| Decimal::from_str(&l.amount).unwrap())
            .sum();
        assert_eq!(strategy["buys"], buys.len() as u64, "{name}");
        assert_eq!(decimal(&strategy["invested"]), invested, "{name}");
        let by_grade: Decimal = strategy["selected"]["by_grade"]
            .as_object()
            .unwrap()
            .values()
            .map(|g| decimal(&g["amount"]))
            .sum();
        assert_eq!(by_grade, invested, "{name}");
        let last_day = strategy["daily"].as_array().unwrap().last();
        assert_eq!(
            last_day.map_or(Decimal::ZERO, |d| decimal(&d["cumulative"])),
            invested
        );
    }
    let ladder = &strategies[0];
    assert!(
        ladder["buys"].as_u64().unwrap() > 0,
        "the ladder bought nothing"
    );
    assert!(decimal(&ladder["invested"]) <= dec!(5000));
    let grade_a = &strategies[1];
    assert_eq!(grade_a["rows_applied"], 500);
    assert!(grade_a["selected"]["by_grade"]
        .as_object()
        .unwrap()
        .keys()
        .all(|g| g == "A"));
    assert_eq!(strategies[2]["rows_applied"], 0);
    let warnings = report["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1);
    assert!(warnings[0].as_str().unwrap().contains("fc-only"));
    // Every budget the two strategies share: never more than $500 on a simulated day.
    let mut per_day: BTreeMap<String, Decimal> = BTreeMap::new();
    for strategy in &strategies[..2] {
        for day in strategy["daily"].as_array().unwrap() {
            *per_day
                .entry(day["date"].as_str().unwrap().to_string())
                .or_default() += decimal(&day["amount"]);
        }
    }
    assert!(per_day.values().all(|v| *v <= dec!(500)), "{per_day:?}");
}

#[test]
fn report_html_is_well_formed_and_has_the_charts() {
    let dir = tempfile::tempdir().unwrap();
    let (out, _) = run_sample(dir.path());
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();

    let mut reader = quick_xml::Reader::from_str(&html);
    reader.config_mut().check_end_names = true;
    let mut stack: Vec<String> = Vec::new();
    let mut svg_ids: Vec<String> = Vec::new();
    let mut polylines = 0;
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => {
                let name = String::from_utf8(e.name().as_ref().to_vec()).unwrap();
                if name == "svg" {
                    let id = e.try_get_attribute("id").unwrap().expect("svg has an id");
                    svg_ids.push(String::from_utf8(id.value.to_vec()).unwrap());
                }
                if name == "polyline" {
                    polylines += 1;
                }
                stack.push(name);
            }
            Ok(Event::End(e)) => {
                let name = String::from_utf8(e.name().as_ref().to_vec()).unwrap();
                assert_eq!(stack.pop().as_deref(), Some(name.as_str()));
            }
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(error) => panic!(
                "report.html is not well-formed at byte {}: {error}",
                reader.buffer_position()
            ),
        }
    }
    assert!(stack.is_empty(), "unclosed: {stack:?}");
    for id in [
        "chart-cumulative",
        "chart-grade",
        "chart-term",
        "chart-outcomes",
        "chart-skips-0",
        "chart-skips-1",
        "chart-skips-2",
    ] {
        assert!(
            svg_ids.iter().any(|s| s == id),
            "{id} missing from {svg_ids:?}"
        );
    }
    // One cumulative line per strategy.
    assert_eq!(polylines, 3);
    assert!(html.contains("<title>Backtest: "));
    assert!(html.contains("ladder") && html.contains("grade-a"));
}

#[test]
fn strict_mode_stops_at_the_first_malformed_row() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(
        dir.path(),
        BudgetSettings::default(),
        &[Spec::new("grade-a", GRADE_A)],
    );
    let data = fixture("loanstats-small.csv");
    let mut options = BacktestOptions {
        data: data.clone(),
        ..BacktestOptions::default()
    };
    let mut notices = Vec::new();
    let report = backtest::run(&config, &options, &mut notices).unwrap();
    assert_eq!(report.input.rows, 6);
    assert_eq!(report.input.malformed_rows, 3);
    let notices = String::from_utf8(notices).unwrap();
    assert_eq!(notices.lines().count(), 3, "{notices}");
    assert!(notices
        .lines()
        .next()
        .unwrap()
        .contains("loanstats-small.csv:7: skipped"));

    options.strict = true;
    let error = backtest::run(&config, &options, &mut std::io::sink()).unwrap_err();
    assert!(matches!(error, BacktestError::Malformed { line: 7, .. }));
    assert!(error.is_invalid_input());
    assert!(error
        .to_string()
        .starts_with(&format!("{}:7: ", data.display())));
}

#[test]
fn unknown_strategy_names_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(
        dir.path(),
        BudgetSettings::default(),
        &[Spec::new("grade-a", GRADE_A)],
    );
    let options = BacktestOptions {
        data: fixture("loanstats-small.csv"),
        strategies: vec!["nope".into()],
        ..BacktestOptions::default()
    };
    let error = backtest::run(&config, &options, &mut std::io::sink()).unwrap_err();
    assert!(error.is_invalid_input());
    assert!(error.to_string().contains("--strategy nope"), "{error}");
    assert!(error.to_string().contains("grade-a"), "{error}");
}

#[test]
fn generate_writes_reproducible_jsonl_to_stdout() {
    let run = |seed: &str| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_autoinvest"))
            .args(["backtest", "--generate", "25", "--seed", seed])
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        String::from_utf8(output.stdout).unwrap()
    };
    let text = run("3");
    assert_eq!(text.lines().count(), 25);
    assert_eq!(text, run("3"));
    assert_ne!(text, run("4"));
    for line in text.lines() {
        let value: Value = serde_json::from_str(line).unwrap();
        assert_eq!(value["platform_kind"], "lendingclub");
        assert!(value["listed_at"].is_string());
    }
}

/// A config file with only `[budget]` and `[[strategies]]`, as DESIGN.md allows.
fn write_cli_config(dir: &Path) -> PathBuf {
    std::fs::write(dir.join("grade-a.rhai"), GRADE_A).unwrap();
    let path = dir.join("config.toml");
    std::fs::write(
        &path,
        "state_dir = \"state\"\n\n[budget]\ndaily_limit = \"500.00\"\n\n[[strategies]]\nname = \"grade-a\"\nscript = \"grade-a.rhai\"\n",
    )
    .unwrap();
    path
}

fn cli(config: &Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_autoinvest"))
        .arg("--config")
        .arg(config)
        .arg("backtest")
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn the_command_prints_the_summary_and_maps_errors_to_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_cli_config(dir.path());
    let data = fixture("loanstats-small.csv");
    let data = data.to_str().unwrap();
    let out = dir.path().join("out");

    let output = cli(
        &config,
        &["--data", data, "--report", out.to_str().unwrap()],
    );
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        stdout.contains("6 rows replayed, 3 malformed rows skipped"),
        "{stdout}"
    );
    assert!(stdout.contains("grade-a"));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("loanstats-small.csv:7: skipped"),
        "{stderr}"
    );
    for file in ["report.json", "decisions.csv", "report.html"] {
        assert!(out.join(file).is_file(), "{file} missing");
    }
    // A backtest never opens the store.
    assert!(!dir.path().join("state").exists());

    let strict = cli(&config, &["--data", data, "--strict"]);
    assert_eq!(strict.status.code(), Some(2), "{strict:?}");
    let stderr = String::from_utf8(strict.stderr).unwrap();
    assert!(stderr.contains(&format!("{data}:7: ")), "{stderr}");

    let unknown = cli(&config, &["--data", data, "--strategy", "nope"]);
    assert_eq!(unknown.status.code(), Some(2));
    let missing = cli(&config, &["--data", "/nonexistent/loans.csv"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8(missing.stderr)
        .unwrap()
        .contains("/nonexistent/loans.csv"));
    let usage = cli(&config, &[]);
    assert_eq!(usage.status.code(), Some(2), "--data is required");
}
