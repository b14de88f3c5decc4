//! `autoinvest status`: the running daemon's `/status`, printed for people (or as
//! JSON); when no daemon answers, a summary of what the store holds.

use crate::app;
use crate::config::{Config, Mode};
use crate::order::OrderState;
use crate::status::Status;
use crate::store::Store;
use chrono::Utc;
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::time::Duration;

/// Prints the status of the daemon configured by `config`.
pub async fn print(config: &Config, json: bool) -> anyhow::Result<()> {
    if let Some(status) = fetch(config).await {
        if json {
            println!("{}", serde_json::to_string_pretty(&status)?);
        } else {
            print_live(&status);
        }
        return Ok(());
    }
    let dir = app::store_dir(config, config.mode == Mode::DryRun);
    let summary = from_store(&Store::open(&dir)?)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        println!(
            "no daemon answered on {}; from the store at {}:",
            listen_text(config),
            dir.display()
        );
        for (state, count) in &summary.intents_by_state {
            println!("  {state:<11} {count}");
        }
        println!(
            "  orders today: {} (${})",
            summary.orders_today, summary.amount_today
        );
        println!("  unresolved intents: {}", summary.unresolved);
    }
    Ok(())
}

fn listen_text(config: &Config) -> String {
    config
        .http_listen
        .map(|a| a.to_string())
        .unwrap_or_else(|| "(http_listen disabled)".into())
}

async fn fetch(config: &Config) -> Option<Status> {
    let addr = config.http_listen?;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(3))
        .build()
        .ok()?;
    let response = client
        .get(format!("http://{addr}/status"))
        .send()
        .await
        .ok()?;
    response.json::<Status>().await.ok()
}

fn print_live(status: &Status) {
    println!(
        "autoinvest ({}), running since {}",
        status.mode,
        status
            .started_at
            .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
            .unwrap_or_default()
    );
    for (scope, left) in &status.budget_remaining {
        println!("  {scope} budget left: ${left}");
    }
    for (id, p) in &status.platforms {
        println!("platform {id}:");
        let last = p
            .last_success
            .map(|t| format!("{}s ago", (Utc::now() - t).num_seconds()))
            .unwrap_or_else(|| "never".into());
        println!(
            "  last successful poll: {last}; consecutive failures: {}",
            p.consecutive_failures
        );
        if let Some(error) = &p.last_error {
            println!("  last error: {error}");
        }
        println!("  open opportunities: {}", p.open_opportunities);
        println!("  orders today: {} (${})", p.orders_today, p.amount_today);
        println!("  unresolved intents: {}", p.unresolved_intents);
        for (scope, left) in &p.budget_remaining {
            println!("  {scope} budget left here: ${left}");
        }
        println!(
            "  pacing: held {} ms, {} consecutive 429s",
            p.pacing.held_for_ms, p.pacing.consecutive_rate_limits
        );
    }
    for (name, s) in &status.strategies {
        let decisions: Vec<String> = s
            .decisions
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        println!("strategy {name}: {}", decisions.join(", "));
        if let Some(error) = &s.last_error {
            println!("  last error: {error}");
        }
    }
}

/// What the store says when no daemon is running.
#[derive(Debug, serde::Serialize)]
pub struct StoreSummary {
    pub intents_by_state: BTreeMap<&'static str, usize>,
    pub orders_today: usize,
    pub amount_today: Decimal,
    pub unresolved: usize,
}

pub fn from_store(store: &Store) -> anyhow::Result<StoreSummary> {
    let today = Utc::now().date_naive();
    let mut summary = StoreSummary {
        intents_by_state: BTreeMap::new(),
        orders_today: 0,
        amount_today: Decimal::ZERO,
        unresolved: 0,
    };
    for intent in store.intents()? {
        *summary
            .intents_by_state
            .entry(intent.state.name())
            .or_default() += 1;
        if !intent.state.is_final() {
            summary.unresolved += 1;
        }
        if let OrderState::Placed { amount, .. } = intent.state {
            if intent.created_at.date_naive() == today {
                summary.orders_today += 1;
                summary.amount_today += amount;
            }
        }
    }
    Ok(summary)
}
