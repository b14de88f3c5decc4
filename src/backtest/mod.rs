//! `autoinvest backtest`: replays historical listings (JSONL or LendingClub CSV)
//! through the daemon's own decision core with a simulated clock and portfolio, and
//! reports what would have been bought against everything that was on offer.
//!
//! Layout: [`import`] reads rows (streaming, one at a time), [`simulate`] feeds them
//! to the [`Engine`](crate::engine::Engine) built from the config exactly as the daemon
//! builds it, [`report`] aggregates into bounded tables and renders the summary,
//! `report.json`, `decisions.csv` (streamed) and `report.html`; [`generate`] makes
//! synthetic input for benchmarks; [`record`] appends polled opportunities to a JSONL
//! file (`run --record-opportunities`) so live data can be replayed later;
//! [`pipeline`] hands rows between the reading, deciding and recording threads.
//!
//! A backtest never opens the store and never makes a network request.

pub mod generate;
pub mod import;
pub mod pipeline;
pub mod record;
pub mod report;
pub mod simulate;

use crate::app;
use crate::config::Config;
use crate::decision::Decision;
use import::{Format, ImportError, Imported, RowError};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use pipeline::BatchSender;
use report::csv::DecisionsWriter;
use report::{Aggregator, BudgetReport, EndState, InputSource, Report, Settings};
use rust_decimal::Decimal;
use simulate::Simulation;
use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::thread;

/// Malformed rows printed as they are met; the rest are only counted.
const MALFORMED_PRINTED: u64 = 20;

/// What `backtest` was asked to do.
#[derive(Debug, Clone, Default)]
pub struct BacktestOptions {
    pub data: PathBuf,
    pub format: Format,
    /// Strategies to run (config names); empty = every enabled strategy. A strategy
    /// named here runs even when the config disables it.
    pub strategies: Vec<String>,
    /// Cash each platform account starts with; `None` = unlimited.
    pub start_cash: Option<Decimal>,
    /// Where `report.json`, `decisions.csv` and `report.html` go.
    pub report_dir: Option<PathBuf>,
    /// A malformed row stops the backtest instead of being skipped.
    pub strict: bool,
    /// Show a progress bar on stderr (only drawn when stderr is a terminal).
    pub progress: bool,
}

/// Why a backtest could not run or finish.
#[derive(Debug, thiserror::Error)]
pub enum BacktestError {
    #[error("--strategy {name}: {config} has no strategy of that name (it has: {configured})")]
    UnknownStrategy {
        name: String,
        config: PathBuf,
        configured: String,
    },
    #[error("{config}: no enabled strategy to backtest")]
    NoStrategies { config: PathBuf },
    #[error("{0}")]
    Strategies(String),
    #[error(transparent)]
    Import(#[from] ImportError),
    #[error("{path}:{line}: {message}")]
    Malformed {
        path: PathBuf,
        line: u64,
        message: String,
    },
    #[error("writing {path}: {source}")]
    Output { path: PathBuf, source: io::Error },
    #[error("cannot start a backtest thread: {0}")]
    Thread(io::Error),
}

impl BacktestError {
    /// Bad usage or bad input (exit 2), as opposed to a failure while running or
    /// writing (exit 1).
    pub fn is_invalid_input(&self) -> bool {
        !matches!(
            self,
            BacktestError::Output { .. } | BacktestError::Thread(_)
        )
    }
}

/// Runs a backtest; malformed rows are reported on `notices` as they are met.
pub fn run(
    config: &Config,
    options: &BacktestOptions,
    notices: &mut dyn Write,
) -> Result<Report, BacktestError> {
    let config = select_strategies(config, &options.strategies)?;
    let slots = app::compile_strategies(&config)
        .map_err(|errors| BacktestError::Strategies(errors.to_string()))?;
    if slots.is_empty() {
        return Err(BacktestError::NoStrategies {
            config: config.path.clone(),
        });
    }
    let columns = slots
        .iter()
        .map(|s| (s.rules.name.clone(), s.platforms.clone()))
        .collect();
    let engine = app::build_engine(&config, slots, None);
    let mut simulation = Simulation::new(engine, options.start_cash);
    let mut recorder = Recorder {
        aggregator: Aggregator::new(columns),
        decisions: None,
    };

    let progress = progress_bar(&options.data, options.progress);
    let bar = progress.clone();
    let (format, rows) = import::open(&options.data, options.format, move |file| {
        bar.wrap_read(file)
    })?;
    if let Some(dir) = &options.report_dir {
        recorder.decisions = Some(create_decisions(dir)?);
    }
    let aggregator = thread::scope(|scope| {
        let (mut parsed, parsed_rows) = pipeline::batch_channel();
        // Named threads, so a profile tells parsing, deciding and recording apart.
        thread::Builder::new()
            .name("backtest-read".into())
            .spawn_scoped(scope, move || {
                for row in rows {
                    if parsed.push(row).is_err() {
                        return; // the deciding thread stopped: the rest is not wanted
                    }
                }
            })
            .map_err(BacktestError::Thread)?;
        let (observed, observations) = pipeline::batch_channel();
        let recording = thread::Builder::new()
            .name("backtest-record".into())
            .spawn_scoped(scope, move || recorder.record(observations))
            .map_err(BacktestError::Thread)?;
        let decided = decide(parsed_rows, &mut simulation, observed, options, notices);
        let recorded = recording
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        decided.and(recorded)
    })?;
    progress.finish_and_clear();
    let report = aggregator.finish(
        InputSource {
            path: options.data.clone(),
            format,
        },
        settings(&config, options),
        end_state(&simulation, options),
    );
    if let Some(dir) = &options.report_dir {
        write_report(&report, dir)?;
    }
    Ok(report)
}

/// What the deciding thread hands to the recording thread, in file order.
// Nearly every item is a row: boxing it to shrink the rare `Malformed` would cost an
// allocation per row.
#[allow(clippy::large_enum_variant)]
enum Observed {
    Row {
        row: Imported,
        decisions: Vec<Decision>,
    },
    Malformed(RowError),
}

/// Evaluates every row in file order (the only thread that touches the simulation)
/// and hands rows and decisions on. Stops early on a malformed row under `--strict`,
/// or when the recorder has stopped (its error is the one reported).
fn decide(
    rows: impl Iterator<Item = Result<Imported, RowError>>,
    simulation: &mut Simulation,
    mut observed: BatchSender<Observed>,
    options: &BacktestOptions,
    notices: &mut dyn Write,
) -> Result<(), BacktestError> {
    let mut malformed = 0;
    for row in rows {
        let row = match row {
            Ok(row) => row,
            Err(error) => {
                malformed += 1;
                skip_malformed(&error, malformed, options, notices)?;
                if observed.push(Observed::Malformed(error)).is_err() {
                    break;
                }
                continue;
            }
        };
        let Some(now) = row.opportunity.listed_at else {
            continue; // importers guarantee listed_at; nothing to replay without a clock
        };
        let decisions = simulation.step(&row.opportunity, now).decisions;
        if observed.push(Observed::Row { row, decisions }).is_err() {
            break;
        }
    }
    Ok(())
}

/// The recording thread's state: the report's aggregates and `decisions.csv`.
struct Recorder {
    aggregator: Aggregator,
    decisions: Option<(PathBuf, DecisionsWriter<std::fs::File>)>,
}

impl Recorder {
    /// Records everything observed, then flushes `decisions.csv`. A write error stops
    /// it; dropping `observations` then tells the deciding thread to stop too.
    fn record(
        mut self,
        observations: impl Iterator<Item = Observed>,
    ) -> Result<Aggregator, BacktestError> {
        for observed in observations {
            match observed {
                Observed::Row { row, decisions } => {
                    self.aggregator.observe(&row, &decisions);
                    if let Some((path, writer)) = self.decisions.as_mut() {
                        writer
                            .write(&row, &decisions)
                            .map_err(|source| output_error(path, source))?;
                    }
                }
                Observed::Malformed(error) => self.aggregator.malformed(&error),
            }
        }
        if let Some((path, writer)) = self.decisions {
            writer
                .finish()
                .map_err(|source| output_error(&path, source))?;
        }
        Ok(self.aggregator)
    }
}

/// The config with only the selected strategies (enabled, in config order).
fn select_strategies(config: &Config, names: &[String]) -> Result<Config, BacktestError> {
    let mut config = config.clone();
    if names.is_empty() {
        return Ok(config);
    }
    for name in names {
        if !config.strategies.iter().any(|s| &s.name == name) {
            return Err(BacktestError::UnknownStrategy {
                name: name.clone(),
                config: config.path.clone(),
                configured: config
                    .strategies
                    .iter()
                    .map(|s| s.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
    }
    config.strategies.retain(|s| names.contains(&s.name));
    for strategy in &mut config.strategies {
        strategy.enabled = true;
    }
    Ok(config)
}

/// Stops under `--strict`; otherwise prints the first few malformed rows (`seen`
/// counts them, this one included).
fn skip_malformed(
    error: &RowError,
    seen: u64,
    options: &BacktestOptions,
    notices: &mut dyn Write,
) -> Result<(), BacktestError> {
    if options.strict {
        return Err(BacktestError::Malformed {
            path: options.data.clone(),
            line: error.line,
            message: error.message.clone(),
        });
    }
    // Notices are best effort: a closed stderr must not stop the backtest.
    if seen <= MALFORMED_PRINTED {
        let _ = writeln!(
            notices,
            "{}:{}: skipped: {}",
            options.data.display(),
            error.line,
            error.message
        );
    } else if seen == MALFORMED_PRINTED + 1 {
        let _ = writeln!(
            notices,
            "{}: more malformed rows skipped; the report counts them",
            options.data.display()
        );
    }
    Ok(())
}

fn progress_bar(path: &Path, wanted: bool) -> ProgressBar {
    if !wanted || !io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let length = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let bar = ProgressBar::with_draw_target(Some(length), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(
        "{spinner} {bytes}/{total_bytes} [{bar:40}] {bytes_per_sec}, {eta} left",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

fn create_decisions(
    dir: &Path,
) -> Result<(PathBuf, DecisionsWriter<std::fs::File>), BacktestError> {
    std::fs::create_dir_all(dir).map_err(|source| output_error(dir, source))?;
    let path = dir.join("decisions.csv");
    let writer = DecisionsWriter::create(&path).map_err(|source| output_error(&path, source))?;
    Ok((path, writer))
}

fn write_report(report: &Report, dir: &Path) -> Result<(), BacktestError> {
    let json = dir.join("report.json");
    report::json::write(report, &json).map_err(|source| output_error(&json, source))?;
    let html = dir.join("report.html");
    report::html::write(report, &html).map_err(|source| output_error(&html, source))
}

fn output_error(path: &Path, source: io::Error) -> BacktestError {
    BacktestError::Output {
        path: path.to_path_buf(),
        source,
    }
}

fn settings(config: &Config, options: &BacktestOptions) -> Settings {
    Settings {
        start_cash: options.start_cash,
        strategies: config.strategies.iter().map(|s| s.name.clone()).collect(),
        budget: BudgetReport {
            daily_limit: config.budget.daily_limit,
            total_limit: config.budget.total_limit,
            cash_reserve: config.budget.cash_reserve,
        },
    }
}

fn end_state(simulation: &Simulation, options: &BacktestOptions) -> EndState {
    let state = simulation.portfolio().view().state();
    EndState {
        invested_total: state.invested_total,
        cash_left: if options.start_cash.is_some() {
            state
                .cash_by_platform
                .iter()
                .map(|(p, c)| (p.clone(), *c))
                .collect()
        } else {
            Default::default()
        },
    }
}
