//! Backtest throughput end to end, from file to report: generates N synthetic
//! LendingClub-like rows (default 1,000,000; `BACKTEST_BENCH_ROWS` to change) into a
//! JSONL file, then
//!
//! 1. reads and imports every row without evaluating anything (the parsing floor),
//! 2. runs the full backtest through the shipped `config.toml` and its strategies,
//!    writing `report.json`, `decisions.csv` and `report.html`,
//!
//! and prints wall time, rows per second and peak RSS (`VmHWM` from
//! `/proc/self/status`, the process's high-water mark over all of the above).
//! Not a timed test: it never fails on a figure.
//!
//! Run: `cargo bench --bench backtest`. `BACKTEST_BENCH_CONFIG=FILE` uses another
//! config (e.g. one trivial strategy, to see the harness without the scripts' cost).

use autoinvest::backtest::import::{self, Format};
use autoinvest::backtest::{self, generate, BacktestOptions};
use autoinvest::config::Config;
use std::io::{BufWriter, Read};
use std::path::{Path, PathBuf};
use std::time::Instant;

const DEFAULT_ROWS: u64 = 1_000_000;

fn main() {
    // `cargo bench` passes `--bench`; this binary has no options of its own.
    let rows = std::env::var("BACKTEST_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_ROWS);
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("generated.jsonl");

    let started = Instant::now();
    let file = std::fs::File::create(&data).expect("create data file");
    generate::generate(rows, 42, &mut BufWriter::new(file)).expect("generate");
    let size = std::fs::metadata(&data).map(|m| m.len()).unwrap_or(0);
    report("generate", rows, started.elapsed().as_secs_f64());
    println!("  file: {:.1} MB", size as f64 / 1e6);

    let started = Instant::now();
    let (_, parsed) = import::open(&data, Format::Auto, |f| Box::new(f) as Box<dyn Read>)
        .expect("open generated file");
    let imported = parsed.filter(Result::is_ok).count() as u64;
    report(
        "import only (read + parse + checks)",
        imported,
        started.elapsed().as_secs_f64(),
    );
    println!("  peak RSS so far: {} kB", peak_rss_kb());

    let config_path = std::env::var_os("BACKTEST_BENCH_CONFIG")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("config.toml"));
    let config = Config::load(&config_path).expect("the config is valid");
    println!("config: {}", config_path.display());
    let options = BacktestOptions {
        data: data.clone(),
        report_dir: Some(dir.path().join("report")),
        ..BacktestOptions::default()
    };
    let started = Instant::now();
    let result = backtest::run(&config, &options, &mut std::io::stderr()).expect("backtest");
    let seconds = started.elapsed().as_secs_f64();
    report(
        &format!(
            "full backtest, {} strategies, file to report",
            result.strategies.len()
        ),
        result.input.rows,
        seconds,
    );
    for strategy in &result.strategies {
        println!(
            "  {}: {} buys, {} skips, {} errors, invested ${}",
            strategy.name, strategy.buys, strategy.skips, strategy.errors, strategy.invested
        );
    }
    println!("  peak RSS (VmHWM): {} kB", peak_rss_kb());
}

fn report(what: &str, rows: u64, seconds: f64) {
    println!(
        "{what}: {rows} rows in {seconds:.2} s = {:.0} rows/s",
        rows as f64 / seconds.max(1e-9)
    );
}

/// The process's peak resident set size, from `/proc/self/status` (Linux).
fn peak_rss_kb() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).map(str::to_string))
        })
        .unwrap_or_else(|| "unknown".into())
}
