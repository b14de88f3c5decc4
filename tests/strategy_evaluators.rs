//! Which evaluator runs a strategy, from the outside: `autoinvest check` names it for
//! each strategy (and, for Rhai's interpreter, what in the script kept it off the fast
//! one), `AUTOINVEST_STRATEGY_EVALUATOR=rhai` switches the fast one off, and a backtest
//! decides the same on either.

use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_autoinvest");

fn check(config: &Path) -> (bool, String) {
    let output = Command::new(BIN)
        .arg("--config")
        .arg(config)
        .arg("check")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8(output.stdout).unwrap(),
    )
}

#[test]
fn the_shipped_strategies_all_run_on_the_fast_evaluator() {
    let (ok, stdout) = check(Path::new("config.toml"));
    assert!(ok, "{stdout}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines,
        [
            "config.toml: OK — 4 platform account(s), 6 strategy(ies) compiled",
            "  prime-loans: fast evaluator",
            "  yield-ladder: fast evaluator",
            "  whole-loan-sniper: fast evaluator",
            "  fundrise-dca: fast evaluator",
            "  fundamerica-equity: fast evaluator",
            "  reg-cf-filter: fast evaluator",
        ]
    );
}

#[test]
fn a_strategy_outside_the_fast_subset_is_named_with_the_line_that_keeps_it_out() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("loopy.rhai"),
        "fn decide(o, p) {\n    let n = 0;\n    for i in 0..3 { n += i; }\n    n\n}\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("plain.rhai"),
        "fn decide(o, p) {\n    if o.rate >= 0.1 { 25 } else { () }\n}\n",
    )
    .unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[budget]\ndaily_limit = \"500.00\"\ntotal_limit = \"1000.00\"\n\n\
             [[strategies]]\nname = \"loopy\"\nscript = \"{0}/loopy.rhai\"\n\n\
             [[strategies]]\nname = \"plain\"\nscript = \"{0}/plain.rhai\"\n",
            dir.path().display()
        ),
    )
    .unwrap();
    let (ok, stdout) = check(&config);
    assert!(ok, "{stdout}");
    let lines: Vec<&str> = stdout.lines().skip(1).collect();
    assert_eq!(
        lines,
        [
            format!(
                "  loopy: Rhai's interpreter, slower ({}/loopy.rhai: line 3: a loop (while, do, loop or for))",
                dir.path().display()
            )
            .as_str(),
            "  plain: fast evaluator",
        ]
    );
}

#[test]
fn the_environment_can_send_every_strategy_to_rhai() {
    let output = Command::new(BIN)
        .args(["--config", "config.toml", "check"])
        .env("AUTOINVEST_STRATEGY_EVALUATOR", "rhai")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(output.status.success());
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert_eq!(
        stdout.lines().nth(1),
        Some(
            "  prime-loans: Rhai's interpreter, slower \
             (strategies/prime_loans.rhai: AUTOINVEST_STRATEGY_EVALUATOR=rhai)"
        ),
        "{stdout}"
    );
}

/// End to end on real rows: a backtest of the LendingClub sample through the shipped
/// strategies decides the same with the fast evaluator as with Rhai's interpreter
/// alone (`decisions.csv` byte for byte: every decision, amount and reason).
#[test]
fn a_backtest_decides_the_same_on_either_evaluator() {
    let dir = tempfile::tempdir().unwrap();
    let run = |report: &str, evaluator: Option<&str>| {
        let mut command = Command::new(BIN);
        command
            .args(["--config", "config.toml", "backtest", "--data"])
            .arg("tests/fixtures/lendingclub-sample.csv")
            .arg("--report")
            .arg(dir.path().join(report))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env_remove("AUTOINVEST_STRATEGY_EVALUATOR");
        if let Some(evaluator) = evaluator {
            command.env("AUTOINVEST_STRATEGY_EVALUATOR", evaluator);
        }
        let output = command.output().unwrap();
        assert!(output.status.success(), "{output:?}");
        std::fs::read(dir.path().join(report).join("decisions.csv")).unwrap()
    };
    let fast = run("fast", None);
    let rhai = run("rhai", Some("rhai"));
    assert!(fast.len() > 1000, "decisions.csv is nearly empty");
    assert!(fast == rhai, "decisions differ between the evaluators");
}
