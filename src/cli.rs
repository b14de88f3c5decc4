//! Command-line interface (the contract in DESIGN.md "CLI") and the commands that
//! are not the daemon itself: `check`, `orders`, `status`, `strategy eval`, `sandbox`,
//! `backtest`, `notify test`.

use crate::app;
use crate::backtest::{self, generate, import::Format, report::summary, BacktestOptions};
use crate::config::{Config, Mode};
use crate::engine::StrategySlot;
use crate::notify::{self, NotifyTarget};
use crate::opportunity::{Opportunity, PlatformKind};
use crate::portfolio::Portfolio;
use crate::sandbox::{self, SandboxOptions};
use crate::scheduler::{self, RunOptions};
use crate::sizing::{self, BudgetRules, PlatformRules, Rules, StrategyRules};
use crate::store::Store;
use crate::strategy::{Strategy, StrategyAnswer};
use crate::telemetry::{self, LogFormat};
use anyhow::Context;
use clap::{Parser, Subcommand};
use rust_decimal::Decimal;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Parser)]
#[command(
    name = "autoinvest",
    version,
    about = "Buys loans and offering shares according to Rhai strategies"
)]
pub struct Cli {
    /// The configuration file.
    #[arg(long, global = true, default_value = "config.toml")]
    pub config: PathBuf,
    /// Log format (overrides the config's `log_format`).
    #[arg(long, global = true, value_enum)]
    pub log_format: Option<LogFormat>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon.
    Run {
        /// Decide and record, but never send an order.
        #[arg(long)]
        dry_run: bool,
        /// One poll cycle per platform, then exit.
        #[arg(long)]
        once: bool,
        /// Append every polled opportunity to this JSONL file (input for `backtest`).
        #[arg(long, value_name = "FILE")]
        record_opportunities: Option<PathBuf>,
    },
    /// Validate the config and compile the strategies; no network.
    Check,
    /// Show the order history from the store.
    #[command(args_conflicts_with_subcommands = true)]
    Orders {
        #[arg(long)]
        json: bool,
        /// Show the dry-run store instead of the live one.
        #[arg(long)]
        dry_run: bool,
        #[command(subcommand)]
        action: Option<OrdersCommand>,
    },
    /// Show the running daemon's status (or, when none answers, what the store holds).
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Strategy tools.
    #[command(subcommand)]
    Strategy(StrategyCommand),
    /// Replay historical listings through the strategies (no store, no network).
    Backtest(BacktestArgs),
    /// Outbound notification tools.
    #[command(subcommand)]
    Notify(NotifyCommand),
    /// Run the platform emulators alone.
    Sandbox {
        #[arg(long, default_value = "127.0.0.1:8700")]
        listen: SocketAddr,
        /// Seed for generated listings.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        #[command(flatten)]
        market: SandboxMarketArgs,
    },
}

/// How fast the emulators release listings and how much the investor holds; left
/// out, the sandbox's defaults (a listing every 2 s, 500 at most, live 10 minutes,
/// $1,000,000). A soak at pacing saturation releases listings faster than the
/// daemon may order (see `scripts/soak`).
#[derive(Debug, Default, clap::Args)]
pub struct SandboxMarketArgs {
    /// One more Funding Circle listing goes live every INTERVAL (e.g. "20ms").
    #[arg(long, value_name = "INTERVAL", value_parser = humantime::parse_duration)]
    pub listing_interval: Option<std::time::Duration>,
    /// A listing expires this long after it went live (e.g. "5s").
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub listing_lifetime: Option<std::time::Duration>,
    /// No more listings are released past this total.
    #[arg(long, value_name = "COUNT")]
    pub max_listings: Option<usize>,
    /// The investor's cash at the start, in cents.
    #[arg(long, value_name = "CENTS")]
    pub starting_cash_cents: Option<i64>,
}

impl SandboxMarketArgs {
    /// `defaults` with the options given on the command line.
    fn apply(&self, defaults: SandboxOptions) -> SandboxOptions {
        SandboxOptions {
            listing_interval: self.listing_interval.unwrap_or(defaults.listing_interval),
            listing_lifetime: self.listing_lifetime.unwrap_or(defaults.listing_lifetime),
            max_listings: self.max_listings.unwrap_or(defaults.max_listings),
            starting_cash_cents: self
                .starting_cash_cents
                .unwrap_or(defaults.starting_cash_cents),
            ..defaults
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct BacktestArgs {
    /// Historical listings: JSONL of opportunities, or LendingClub CSV.
    #[arg(long, value_name = "FILE", required_unless_present = "generate")]
    pub data: Option<PathBuf>,
    /// Input format; `auto` detects it from the file name, then its first bytes.
    #[arg(long, value_enum, default_value_t = Format::Auto)]
    pub format: Format,
    /// Run only this configured strategy (repeatable; also runs a disabled one).
    #[arg(long = "strategy", value_name = "NAME")]
    pub strategies: Vec<String>,
    /// Cash each platform account starts with, in dollars (default: unlimited).
    #[arg(long, value_name = "USD", value_parser = parse_dollars)]
    pub start_cash: Option<Decimal>,
    /// Write report.json, decisions.csv and report.html into this directory.
    #[arg(long, value_name = "DIR")]
    pub report: Option<PathBuf>,
    /// Stop at the first malformed row (exit 2) instead of skipping it.
    #[arg(long)]
    pub strict: bool,
    /// Instead: write N synthetic LendingClub-like opportunities as JSONL to stdout.
    #[arg(long, value_name = "N", conflicts_with_all = ["data", "report", "strict", "strategies", "start_cash"])]
    pub generate: Option<u64>,
    /// Seed for --generate (same seed, same rows).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

fn parse_dollars(text: &str) -> Result<Decimal, String> {
    crate::money::parse_usd(text).map_err(|e| e.to_string())
}

#[derive(Debug, Subcommand)]
pub enum OrdersCommand {
    /// Cancel a placed order (Fundrise, FundAmerica) by the platform's order id. Run it
    /// while the daemon is stopped: the store is locked by a running daemon.
    Cancel { order_id: String },
}

#[derive(Debug, Subcommand)]
pub enum StrategyCommand {
    /// Try one strategy on one opportunity (JSON in the `Opportunity` shape).
    Eval {
        script: PathBuf,
        #[arg(long)]
        opportunity: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum NotifyCommand {
    /// Send a `test` event to every `[[notify]]` receiver now and show each result;
    /// exits 1 if any delivery failed.
    Test,
}

/// Exit code for bad usage or an invalid config or strategy.
pub const EXIT_INVALID: u8 = 2;
/// Exit code for a runtime failure.
pub const EXIT_FAILURE: u8 = 1;

/// An error carrying the exit code it maps to.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub error: anyhow::Error,
}

impl Failure {
    fn invalid(error: impl Into<anyhow::Error>) -> Self {
        Failure {
            code: EXIT_INVALID,
            error: error.into(),
        }
    }
}

impl<E: Into<anyhow::Error>> From<E> for Failure {
    fn from(error: E) -> Self {
        Failure {
            code: EXIT_FAILURE,
            error: error.into(),
        }
    }
}

/// Runs the parsed command.
pub fn execute(cli: Cli) -> Result<ExitCode, Failure> {
    match cli.command {
        Command::Run {
            dry_run,
            once,
            record_opportunities,
        } => {
            let config = load_valid(&cli.config)?;
            telemetry::init_tracing(cli.log_format.unwrap_or(config.log_format));
            let options = RunOptions {
                dry_run,
                once,
                record_opportunities,
            };
            runtime()?.block_on(run_daemon(config, options))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Check => {
            let (config, strategies) = load_valid_with_strategies(&cli.config)?;
            println!(
                "{}: OK — {} platform account(s), {} strategy(ies) compiled",
                cli.config.display(),
                config.platforms.len(),
                strategies.len()
            );
            for slot in &strategies {
                let strategy = &slot.strategy;
                match strategy.interpreted_because() {
                    None => println!("  {}: fast evaluator", strategy.name()),
                    Some(reason) => println!(
                        "  {}: Rhai's interpreter, slower ({}: {reason})",
                        strategy.name(),
                        strategy.label()
                    ),
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Orders {
            action: Some(OrdersCommand::Cancel { order_id }),
            ..
        } => {
            let config = Config::load(&cli.config).map_err(Failure::invalid)?;
            runtime()?.block_on(cancel_order(&config, &order_id))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Orders { json, dry_run, .. } => {
            let config = Config::load(&cli.config).map_err(Failure::invalid)?;
            show_orders(&app::store_dir(&config, dry_run), json)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Status { json } => {
            let config = Config::load(&cli.config).map_err(Failure::invalid)?;
            runtime()?.block_on(crate::status_report::print(&config, json))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Strategy(StrategyCommand::Eval {
            script,
            opportunity,
        }) => {
            eval_strategy(&script, &opportunity)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Backtest(args) => run_backtest(&cli.config, args),
        Command::Notify(NotifyCommand::Test) => {
            let config = Config::load(&cli.config).map_err(Failure::invalid)?;
            runtime()?.block_on(test_notifications(&config))
        }
        Command::Sandbox {
            listen,
            seed,
            market,
        } => {
            telemetry::init_tracing(cli.log_format.unwrap_or_default());
            let options = market.apply(SandboxOptions {
                seed,
                ..SandboxOptions::default()
            });
            runtime()?.block_on(run_sandbox(listen, options))?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `backtest`: replays a file (summary on stdout, files with `--report`), or with
/// `--generate` writes synthetic input to stdout. No store, no network.
fn run_backtest(config_path: &Path, args: BacktestArgs) -> Result<ExitCode, Failure> {
    if let Some(count) = args.generate {
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        generate::generate(count, args.seed, &mut out).context("writing generated rows")?;
        return Ok(ExitCode::SUCCESS);
    }
    let Some(data) = args.data else {
        return Err(Failure::invalid(anyhow::anyhow!(
            "backtest needs --data FILE"
        )));
    };
    let config = Config::load(config_path).map_err(Failure::invalid)?;
    let options = BacktestOptions {
        data,
        format: args.format,
        strategies: args.strategies,
        start_cash: args.start_cash,
        report_dir: args.report,
        strict: args.strict,
        progress: true,
    };
    let report = backtest::run(&config, &options, &mut std::io::stderr()).map_err(|error| {
        if error.is_invalid_input() {
            Failure::invalid(error)
        } else {
            Failure::from(error)
        }
    })?;
    let mut out = std::io::stdout().lock();
    out.write_all(summary::render(&report).as_bytes())?;
    if let Some(dir) = &options.report_dir {
        let files: Vec<String> = ["report.json", "decisions.csv", "report.html"]
            .iter()
            .map(|f| dir.join(f).display().to_string())
            .collect();
        writeln!(out, "\nReport: {}", files.join(", "))?;
    }
    for warning in &report.warnings {
        eprintln!("warning: {warning}");
    }
    Ok(ExitCode::SUCCESS)
}

fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
}

/// Loads the config and compiles its strategies; any problem is an exit-2 failure
/// listing every error.
fn load_valid(path: &Path) -> Result<Config, Failure> {
    load_valid_with_strategies(path).map(|(config, _)| config)
}

/// Loads the config and compiles its enabled strategies; every problem is reported.
fn load_valid_with_strategies(path: &Path) -> Result<(Config, Vec<StrategySlot>), Failure> {
    let config = Config::load(path).map_err(Failure::invalid)?;
    let strategies = app::compile_strategies(&config)
        .map_err(|errors| Failure::invalid(anyhow::anyhow!(errors)))?;
    Ok((config, strategies))
}

/// Cancels the token on SIGINT or SIGTERM.
fn cancel_on_signals(token: CancellationToken) {
    tokio::spawn(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term =
                match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    Ok(term) => term,
                    Err(error) => {
                        tracing::warn!(%error, "cannot listen for SIGTERM");
                        let _ = ctrl_c.await;
                        token.cancel();
                        return;
                    }
                };
            tokio::select! {
                _ = ctrl_c => {}
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        let _ = ctrl_c.await;
        tracing::info!("shutdown requested; finishing in-flight orders");
        token.cancel();
    });
}

async fn run_daemon(config: Config, options: RunOptions) -> anyhow::Result<()> {
    let shutdown = CancellationToken::new();
    cancel_on_signals(shutdown.clone());
    scheduler::run(config, options, shutdown).await
}

async fn run_sandbox(listen: SocketAddr, options: SandboxOptions) -> anyhow::Result<()> {
    let shutdown = CancellationToken::new();
    cancel_on_signals(shutdown.clone());
    let handle = sandbox::spawn(listen, options, shutdown.clone())
        .await
        .with_context(|| format!("binding {listen}"))?;
    println!("sandbox listening on http://{}", handle.addr);
    for kind in [
        PlatformKind::FundingCircle,
        PlatformKind::Fundrise,
        PlatformKind::FundAmerica,
        PlatformKind::IssuerPortal,
    ] {
        println!(
            "  {:<13} base_url = \"{}\"",
            kind.as_str(),
            handle.base_url(kind)
        );
    }
    shutdown.cancelled().await;
    Ok(())
}

/// `notify test`: one line per receiver, delivered (status) or the error.
async fn test_notifications(config: &Config) -> Result<ExitCode, Failure> {
    let targets = NotifyTarget::all_from_config(config).map_err(|errors| {
        let text = errors
            .iter()
            .map(|e| format!("{}: {e}", config.path.display()))
            .collect::<Vec<_>>()
            .join("\n");
        Failure::invalid(anyhow::anyhow!(text))
    })?;
    if targets.is_empty() {
        return Err(Failure::from(anyhow::anyhow!(
            "{}: no [[notify]] receivers configured",
            config.path.display()
        )));
    }
    let outcomes = notify::send_test(&targets, config.mode == Mode::DryRun).await;
    let mut all_delivered = true;
    for (index, outcome) in outcomes.iter().enumerate() {
        match &outcome.result {
            Ok(status) => println!("notify[{index}] {}: delivered ({status})", outcome.target),
            Err(error) => {
                all_delivered = false;
                println!("notify[{index}] {}: failed: {error}", outcome.target);
            }
        }
    }
    Ok(if all_delivered {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FAILURE)
    })
}

/// Cancels one placed order on its platform and records the platform's answer.
async fn cancel_order(config: &Config, order_id: &str) -> anyhow::Result<()> {
    let store = Store::open(&config.state_dir)?;
    let intent = store
        .intents()?
        .into_iter()
        .find(|i| matches!(&i.state, crate::order::OrderState::Placed { order_id: id, .. } if id == order_id))
        .ok_or_else(|| anyhow::anyhow!("no placed order {order_id} in {}", config.state_dir.display()))?;
    let settings = config
        .platforms
        .get(&intent.platform)
        .ok_or_else(|| anyhow::anyhow!("platform {} is no longer configured", intent.platform))?;
    if settings.base_url.is_none() {
        anyhow::bail!(
            "platforms.{}: no base_url (it trades against the embedded sandbox, which runs only inside the daemon)",
            intent.platform
        );
    }
    let metrics = crate::telemetry::Metrics::new();
    let client = app::build_client(config, settings, None, metrics)?;
    let order = client.cancel_order(order_id).await?;
    println!(
        "{}: order {} is now {}",
        intent.platform, order.order_id, order.status
    );
    crate::executor::record_order_status(&store, &intent.platform, order);
    store.flush()?;
    Ok(())
}

fn show_orders(dir: &Path, json: bool) -> anyhow::Result<()> {
    if !dir.exists() {
        if json {
            println!("[]");
        } else {
            println!("no orders yet ({} does not exist)", dir.display());
        }
        return Ok(());
    }
    let store = Store::open(dir)?;
    let intents = store.intents()?;
    if json {
        println!("{}", serde_json::to_string_pretty(&intents)?);
        return Ok(());
    }
    if intents.is_empty() {
        println!("no orders yet");
        return Ok(());
    }
    println!(
        "{:<20} {:<8} {:<20} {:<38} {:>12} {:<11} detail",
        "created (UTC)", "platform", "strategy", "opportunity", "amount", "state"
    );
    for intent in intents {
        let detail = match &intent.state {
            crate::order::OrderState::Placed {
                order_id,
                amount,
                platform_status,
            } => {
                format!("order {order_id} ${amount} {platform_status}")
            }
            crate::order::OrderState::Rejected { reason }
            | crate::order::OrderState::NotPlaced { reason } => reason.clone(),
            crate::order::OrderState::Unknown { error } => error.clone(),
            _ => String::new(),
        };
        println!(
            "{:<20} {:<8} {:<20} {:<38} {:>12} {:<11} {}",
            intent.created_at.format("%Y-%m-%d %H:%M:%S"),
            intent.platform,
            intent.strategy,
            intent.opportunity_id,
            format!("${}", intent.amount),
            intent.state.name(),
            detail
        );
    }
    Ok(())
}

fn eval_strategy(script: &Path, opportunity: &Path) -> Result<(), Failure> {
    let name = script
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "strategy".into());
    let strategy = Strategy::compile_file(&name, script).map_err(Failure::invalid)?;
    let text = std::fs::read_to_string(opportunity)
        .with_context(|| format!("reading {}", opportunity.display()))
        .map_err(Failure::invalid)?;
    let opp: Opportunity = serde_json::from_str(&text)
        .with_context(|| format!("{}: not an opportunity", opportunity.display()))
        .map_err(Failure::invalid)?;
    let portfolio = Portfolio::new(None);
    let answer = strategy
        .decide(&opp, portfolio.view())
        .map_err(|e| Failure {
            code: EXIT_FAILURE,
            error: e.into(),
        })?;
    match answer {
        StrategyAnswer::Skip { reason } => {
            println!(
                "skip: {}",
                reason.unwrap_or_else(|| "(no reason given)".into())
            );
        }
        StrategyAnswer::Buy {
            amount,
            reason,
            slot,
        } => {
            println!(
                "buy ${amount}: {} (slot {})",
                reason.unwrap_or_else(|| "(no reason given)".into()),
                slot.unwrap_or_else(|| crate::order::DEFAULT_SLOT.into())
            );
            let strategy_rules = StrategyRules {
                name,
                ..StrategyRules::default()
            };
            let rules = Rules {
                budget: &BudgetRules::default(),
                platform: &PlatformRules::default(),
                strategy: &strategy_rules,
            };
            match sizing::size(amount, &opp, rules, portfolio.view()) {
                Ok(sized) => println!("sized to the opportunity's limits: ${}", sized.amount),
                Err(refusal) => println!("refused by the opportunity's limits: {refusal}"),
            }
        }
    }
    Ok(())
}
