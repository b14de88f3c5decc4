//! autoinvest: buys fractional loans and offering shares automatically, according to
//! strategies written as Rhai scripts.
//!
//! # Layout
//!
//! Data flows one way: scheduler → platform client (poll) → engine (strategies →
//! sizing) → executor (store → pacer → POST) → reconciler.
//!
//! - [`app`]: assembly: config → engine, clients, store, portfolio.
//! - [`cli`]: the command line and the non-daemon commands.
//! - [`config`]: the TOML schema, validation (every problem at once), secrets from env.
//! - [`secret`]: a string type that never prints its value.
//! - [`money`]: Decimal dollar helpers: cents, rounding down to increments, parsing.
//! - [`opportunity`]: the normalised [`opportunity::Opportunity`] model.
//! - [`order`]: order intents, idempotency keys and the order state machine.
//! - [`decision`]: the record of one evaluation (buy / skip / error).
//! - [`portfolio`]: what is committed, by day, grade, platform, strategy; the view scripts get.
//! - [`strategy`]: the sandboxed Rhai engine, the script API, and the fast evaluator
//!   for the common subset of Rhai (Rhai runs whatever it does not cover).
//! - [`sizing`]: per-transaction limits, increments, whole loans, budgets.
//! - [`engine`]: the pure decision core (strategies → sizing → decisions).
//! - [`pacing`]: governor limiters per platform account, 429 back-off.
//! - [`store`]: sled: intents, decisions, seen opportunities.
//! - [`executor`]: claim → pace → place → record; reconciliation.
//! - [`event`]: the kinds of event notifications report (named in the config).
//! - [`notify`]: outbound webhook notifications: a persisted queue, signed, retried.
//! - [`reload`]: hot reload of strategies and budgets (SIGHUP, file changes).
//! - [`scheduler`]: one poll loop per platform account, shutdown.
//! - [`platform`]: the `PlatformClient` trait, the shared HTTP layer, session tokens, one module per platform.
//! - [`sandbox`]: local emulators of the platforms.
//! - [`telemetry`]: Prometheus metrics and tracing setup.
//! - [`status`]: per-platform live status shared with the HTTP endpoint.
//! - [`status_report`]: `autoinvest status`, from the running daemon or the store.
//! - [`http_server`]: `/metrics`, `/healthz`, `/status`.
//! - [`backtest`]: replays historical listings through the engine; import, simulation, report.

#![forbid(unsafe_code)]

/// mimalloc rather than glibc's allocator, for every binary built on this crate (the
/// daemon, its tests and benches measure the same thing). Backtests free each row on
/// another thread than the one that parsed it, and glibc serialises those frees on the
/// owning arena's lock: mimalloc cut the 1M-row backtest's CPU by about a quarter
/// (BENCHMARKS.md). Built without transparent huge pages (`no_thp`), which otherwise
/// took the idle daemon from 20 to 69 MiB RSS.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub mod app;
pub mod backtest;
pub mod cli;
pub mod config;
pub mod decision;
pub mod engine;
pub mod event;
pub mod executor;
pub mod http_server;
pub mod money;
pub mod notify;
pub mod opportunity;
pub mod order;
pub mod pacing;
pub mod platform;
pub mod portfolio;
pub mod reload;
pub mod sandbox;
pub mod scheduler;
pub mod secret;
pub mod sizing;
pub mod status;
pub mod status_report;
pub mod store;
pub mod strategy;
pub mod telemetry;
