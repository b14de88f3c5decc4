//! Hot reload: on SIGHUP, or when the config file or a strategy script changes,
//! re-read the reloadable parts of the config (strategies, budgets, per-platform
//! limits), recompile, and swap the engine in. A broken new version is refused with
//! its error (script, line, column) and the running engine stays.
//!
//! Platform accounts, `state_dir`, `http_listen`, `mode` and the sandbox are not
//! reloadable: a change there is logged as needing a restart.

use crate::app;
use crate::config::Config;
use crate::engine::Engine;
use crate::telemetry::Metrics;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// How often files are checked for changes.
pub const WATCH_EVERY: Duration = Duration::from_secs(2);

/// What one reload attempt did.
#[derive(Debug, PartialEq)]
pub enum ReloadOutcome {
    /// Nothing changed on disk.
    Unchanged,
    /// A new engine was built and published.
    Reloaded,
    /// The new version was refused; the message names the file, key or script line.
    Refused(String),
}

/// Watches the config and its scripts and rebuilds the engine.
pub struct Reloader {
    config_path: PathBuf,
    /// The config the daemon started with: what may not change without a restart.
    started: Config,
    /// Modification times of the config file and every script, as last seen.
    seen: BTreeMap<PathBuf, Option<SystemTime>>,
    engine: watch::Sender<Arc<Engine>>,
    metrics: Arc<Metrics>,
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

fn watched_files(config: &Config) -> BTreeMap<PathBuf, Option<SystemTime>> {
    std::iter::once(config.path.clone())
        .chain(config.strategies.iter().map(|s| s.script.clone()))
        .map(|path| {
            let time = modified(&path);
            (path, time)
        })
        .collect()
}

impl Reloader {
    pub fn new(config: Config, engine: watch::Sender<Arc<Engine>>, metrics: Arc<Metrics>) -> Self {
        Reloader {
            config_path: config.path.clone(),
            seen: watched_files(&config),
            started: config,
            engine,
            metrics,
        }
    }

    fn changed(&self) -> bool {
        self.seen.iter().any(|(path, time)| modified(path) != *time)
    }

    /// Reloads when a watched file changed (or always, when `force`d by SIGHUP).
    pub fn check(&mut self, force: bool) -> ReloadOutcome {
        if !force && !self.changed() {
            return ReloadOutcome::Unchanged;
        }
        let outcome = self.reload();
        let label = match &outcome {
            ReloadOutcome::Reloaded => "ok",
            _ => "error",
        };
        self.metrics.reloads_total.with_label_values(&[label]).inc();
        outcome
    }

    fn reload(&mut self) -> ReloadOutcome {
        let config = match Config::load(&self.config_path) {
            Ok(config) => config,
            Err(errors) => {
                // Remember what was seen, so a broken file is reported once, not every tick.
                self.seen = self.seen.keys().map(|p| (p.clone(), modified(p))).collect();
                return ReloadOutcome::Refused(errors.to_string().trim_end().to_string());
            }
        };
        self.seen = watched_files(&config);
        let slots = match app::compile_strategies(&config) {
            Ok(slots) => slots,
            Err(errors) => return ReloadOutcome::Refused(errors.to_string()),
        };
        self.warn_about_restart_only_changes(&config);
        let engine = app::build_engine(&config, slots, Some(self.metrics.clone()));
        let names: Vec<&str> = engine
            .strategies()
            .iter()
            .map(|s| s.rules.name.as_str())
            .collect();
        self.metrics.init_labels(&[], &names);
        self.engine.send_replace(Arc::new(engine));
        ReloadOutcome::Reloaded
    }

    fn warn_about_restart_only_changes(&self, config: &Config) {
        let before = &self.started;
        let differs = [
            (
                "platforms",
                format!("{:?}", before.platforms) != format!("{:?}", config.platforms),
            ),
            ("state_dir", before.state_dir != config.state_dir),
            ("http_listen", before.http_listen != config.http_listen),
            ("mode", before.mode != config.mode),
            (
                "poll_interval",
                before.poll_interval != config.poll_interval,
            ),
            (
                "sandbox",
                format!("{:?}", before.sandbox) != format!("{:?}", config.sandbox),
            ),
        ];
        for (key, changed) in differs {
            if changed {
                tracing::warn!(
                    key,
                    "changed in the config file; takes effect after a restart"
                );
            }
        }
    }

    /// Checks every [`WATCH_EVERY`] and on SIGHUP until shutdown.
    pub async fn run(mut self, shutdown: CancellationToken) {
        let mut tick = tokio::time::interval(WATCH_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        #[cfg(unix)]
        let mut hangup =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
        loop {
            #[cfg(unix)]
            let force = tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tick.tick() => false,
                Some(_) = async { match hangup.as_mut() { Some(h) => h.recv().await, None => std::future::pending().await } } => true,
            };
            #[cfg(not(unix))]
            let force = tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tick.tick() => false,
            };
            match self.check(force) {
                ReloadOutcome::Unchanged => {}
                ReloadOutcome::Reloaded => {
                    tracing::info!(config = %self.config_path.display(), "strategies and budgets reloaded")
                }
                ReloadOutcome::Refused(error) => {
                    tracing::error!(%error, "reload refused; the running strategies stay")
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::Verdict;
    use crate::opportunity::{Opportunity, OpportunityKind, PlatformId, PlatformKind};
    use crate::portfolio::Portfolio;
    use chrono::Utc;
    use rust_decimal::Decimal;

    const CONFIG: &str = r#"
[budget]
daily_limit = "1000.00"

[[strategies]]
name = "s"
script = "s.rhai"
"#;

    /// Writes a file and moves its modification time on, so that a change within the
    /// file system's timestamp resolution is still seen.
    fn write(path: &Path, text: &str, generation: u64) {
        std::fs::write(path, text).unwrap();
        let time = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000 + generation);
        std::fs::File::options()
            .write(true)
            .open(path)
            .unwrap()
            .set_modified(time)
            .unwrap();
    }

    fn bought(engine: &Engine) -> Option<Decimal> {
        let mut o = Opportunity::new(
            PlatformId::new("fc"),
            PlatformKind::FundingCircle,
            "L",
            OpportunityKind::Loan,
        );
        o.remaining = Some(Decimal::from(1000));
        let evaluation = engine.evaluate(&Arc::new(o), &mut Portfolio::new(None), Utc::now());
        match &evaluation.decisions[0].verdict {
            Verdict::Buy { amount, .. } => Some(*amount),
            _ => None,
        }
    }

    #[test]
    fn a_valid_change_takes_effect_and_a_broken_one_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let config_path = dir.path().join("config.toml");
        let script = dir.path().join("s.rhai");
        write(&config_path, CONFIG, 0);
        write(&script, "fn decide(o, p) { 10 }", 0);
        let config = Config::load(&config_path).unwrap();
        let metrics = Metrics::new();
        let slots = app::compile_strategies(&config).unwrap();
        let (sender, receiver) = watch::channel(Arc::new(app::build_engine(&config, slots, None)));
        let mut reloader = Reloader::new(config, sender, metrics.clone());
        assert_eq!(bought(&receiver.borrow()), Some(Decimal::from(10)));
        assert_eq!(reloader.check(false), ReloadOutcome::Unchanged);

        write(&script, "fn decide(o, p) { 20 }", 1);
        assert_eq!(reloader.check(false), ReloadOutcome::Reloaded);
        assert_eq!(bought(&receiver.borrow()), Some(Decimal::from(20)));

        write(&script, "fn decide(o, p) {\n  let x = ;\n}", 2);
        let ReloadOutcome::Refused(error) = reloader.check(false) else {
            panic!("a broken script was accepted");
        };
        assert!(error.contains("s.rhai:2:"), "{error}");
        assert_eq!(
            bought(&receiver.borrow()),
            Some(Decimal::from(20)),
            "the old strategy keeps deciding"
        );
        // Reported once, not on every tick.
        assert_eq!(reloader.check(false), ReloadOutcome::Unchanged);

        // A broken config is refused too, naming the key.
        write(&script, "fn decide(o, p) { 30 }", 3);
        write(&config_path, &CONFIG.replace("\"1000.00\"", "1000.0"), 3);
        let ReloadOutcome::Refused(error) = reloader.check(false) else {
            panic!("a broken config was accepted");
        };
        assert!(error.contains("budget.daily_limit"), "{error}");
        assert_eq!(bought(&receiver.borrow()), Some(Decimal::from(20)));

        // SIGHUP forces a reload even without a change.
        write(&config_path, CONFIG, 4);
        assert_eq!(reloader.check(true), ReloadOutcome::Reloaded);
        assert_eq!(bought(&receiver.borrow()), Some(Decimal::from(30)));
        assert_eq!(metrics.reloads_total.with_label_values(&["ok"]).get(), 2);
        assert_eq!(metrics.reloads_total.with_label_values(&["error"]).get(), 2);
    }
}
