//! Helpers for the backtest tests: a `Config` built in code (scripts written to a temp
//! dir), JSONL rows, and reading `decisions.csv` back.
#![allow(dead_code)]

use autoinvest::config::{BudgetSettings, Config, Mode, SandboxSettings, StrategySettings};
use autoinvest::opportunity::PlatformId;
use autoinvest::telemetry::LogFormat;
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

/// One `[[strategies]]` entry.
pub struct Spec<'a> {
    pub name: &'a str,
    pub script: &'a str,
    pub platforms: Option<&'a [&'a str]>,
    pub max_per_opportunity: Option<Decimal>,
}

impl<'a> Spec<'a> {
    pub fn new(name: &'a str, script: &'a str) -> Self {
        Spec {
            name,
            script,
            platforms: None,
            max_per_opportunity: None,
        }
    }
}

/// A config with no platforms (what a backtest needs) and the given budget.
pub fn config(dir: &Path, budget: BudgetSettings, specs: &[Spec<'_>]) -> Config {
    let strategies = specs
        .iter()
        .map(|spec| {
            let script = dir.join(format!("{}.rhai", spec.name));
            std::fs::write(&script, spec.script).unwrap();
            StrategySettings {
                name: spec.name.to_string(),
                script,
                platforms: spec
                    .platforms
                    .map(|p| p.iter().map(|id| PlatformId::new(*id)).collect()),
                max_per_opportunity: spec.max_per_opportunity,
                daily_limit: None,
                total_limit: None,
                enabled: true,
            }
        })
        .collect();
    Config {
        path: dir.join("config.toml"),
        mode: Mode::DryRun,
        state_dir: dir.join("state"),
        poll_interval: Duration::from_secs(5),
        unhealthy_after: 3,
        http_listen: None,
        log_format: LogFormat::Text,
        sandbox: SandboxSettings {
            enabled: false,
            listen: "127.0.0.1:0".parse().unwrap(),
            seed: 1,
        },
        store: Default::default(),
        budget,
        platforms: BTreeMap::new(),
        strategies,
        notify: Vec::new(),
    }
}

/// A LendingClub-like JSONL row listed at `listed_at` ("2018-03-01T10:00:00Z").
pub fn row(id: &str, grade: &str, listed_at: &str) -> String {
    format!(
        r#"{{"platform":"lendingclub","platform_kind":"lendingclub","id":"{id}","kind":"loan","purchase":"fractional","grade":"{grade}","rate":"0.12","term_months":36,"amount":"10000","remaining":"10000","min_investment":"25","increment":"25","status":"listed","listed_at":"{listed_at}"}}"#
    )
}

/// One line of decisions.csv.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub strategy: String,
    pub opportunity_id: String,
    pub decision: String,
    pub amount: String,
    pub reason: String,
}

pub fn read_decisions(dir: &Path) -> Vec<Line> {
    let mut reader = csv::Reader::from_path(dir.join("decisions.csv")).unwrap();
    let headers = reader.headers().unwrap().clone();
    let index = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (s, o, d, a, r) = (
        index("strategy"),
        index("opportunity_id"),
        index("decision"),
        index("amount"),
        index("reason"),
    );
    reader
        .records()
        .map(|record| {
            let record = record.unwrap();
            Line {
                strategy: record[s].to_string(),
                opportunity_id: record[o].to_string(),
                decision: record[d].to_string(),
                amount: record[a].to_string(),
                reason: record[r].to_string(),
            }
        })
        .collect()
}
