//! The configuration file (DESIGN.md "Configuration"): its schema, a validation that
//! reports every problem at once (key path and line), and secrets read from the
//! environment variables the file names.
//!
//! The file is parsed into a span-keeping TOML document and then walked table by table,
//! each key read by a small typed reader that records a problem instead of stopping.
//! Keys never read are reported as unknown (with a "did you mean"), and keys that look
//! like secrets are refused outright: the file names environment variables, it never
//! holds a password, token or API key. Error messages never show a secret's value.
//!
//! Files: this one holds the public types and entry points; `reader` walks a TOML
//! document and collects problems; `schema` says which keys exist and what they mean.

mod reader;
mod schema;

use crate::event::EventKind;
use crate::opportunity::{PlatformId, PlatformKind};
use crate::secret::Secret;
use crate::telemetry::LogFormat;
use reader::Checker;
use rust_decimal::Decimal;
use schema::{DEFAULT_SANDBOX_LISTEN, DEFAULT_SANDBOX_SEED};
use std::collections::{BTreeMap, BTreeSet};
use std::env::VarError;
use std::fmt;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::time::Duration;
use toml_edit::ImDocument;

/// Whether orders are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Orders are sent (key value `"live"`).
    #[default]
    Live,
    /// Everything but the order POST (key value `"dry-run"`).
    DryRun,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Live => "live",
            Mode::DryRun => "dry-run",
        }
    }
}

/// `[sandbox]`: the embedded platform emulators.
#[derive(Debug, Clone, PartialEq)]
pub struct SandboxSettings {
    /// Start the emulators; platforms without `base_url` use them.
    pub enabled: bool,
    pub listen: SocketAddr,
    /// Seed of the emulators' generated listings, so runs are reproducible.
    pub seed: u64,
}

impl Default for SandboxSettings {
    fn default() -> Self {
        SandboxSettings {
            enabled: false,
            listen: DEFAULT_SANDBOX_LISTEN,
            seed: DEFAULT_SANDBOX_SEED,
        }
    }
}

/// `[store]`: how long the store keeps history, and how often it is pruned.
///
/// sled does not reclaim space by itself: pruning on a schedule is what keeps the
/// database's size flat under a long run (BENCHMARKS.md, "Soak").
#[derive(Debug, Clone, PartialEq)]
pub struct StoreSettings {
    /// Key `keep_history`: decisions, seen opportunities, processed webhook ids and
    /// finished *loan* intents older than this are removed (offering intents and
    /// unfinished ones are kept whatever their age). It must be longer than any loan
    /// listing stays open: a forgotten intent's listing could be bought again after a
    /// restart.
    pub keep_history: Duration,
    /// Key `prune_every`: how often the store is pruned.
    pub prune_every: Duration,
}

impl Default for StoreSettings {
    fn default() -> Self {
        StoreSettings {
            keep_history: Duration::from_secs(90 * 24 * 60 * 60),
            prune_every: Duration::from_secs(60 * 60),
        }
    }
}

/// `[budget]`: limits over every platform and strategy. `None` = no limit.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BudgetSettings {
    /// Per UTC day.
    pub daily_limit: Option<Decimal>,
    pub total_limit: Option<Decimal>,
    /// Cash left untouched on each platform account.
    pub cash_reserve: Decimal,
}

/// `[platforms.<id>]`: one platform account.
#[derive(Debug, Clone, PartialEq)]
pub struct PlatformSettings {
    pub id: PlatformId,
    pub kind: PlatformKind,
    /// Where the API is; `None` = the embedded sandbox. No trailing `/`.
    pub base_url: Option<String>,
    pub max_posts_per_second: NonZeroU32,
    pub max_gets_per_second: NonZeroU32,
    pub request_timeout: Duration,
    /// The user's own per-transaction limits (on top of the platform's).
    pub min_per_order: Option<Decimal>,
    pub max_per_order: Option<Decimal>,
    pub daily_limit: Option<Decimal>,
    pub total_limit: Option<Decimal>,
    pub credentials: Credentials,
}

/// Per-kind account settings. Fields ending in `_env` name environment variables that
/// hold the secrets; read them with [`Config::secret`].
#[derive(Debug, Clone, PartialEq)]
pub enum Credentials {
    FundingCircle {
        username_env: String,
        password_env: String,
    },
    Fundrise {
        partner_user_env: String,
        partner_password_env: String,
        refresh_token_env: String,
        account_id: String,
        /// The account holder accepted the offering documents.
        acknowledge_documents: bool,
    },
    FundAmerica {
        api_key_env: String,
        webhook_key_env: Option<String>,
        investor_id: String,
        /// "ach", "check" or "wire".
        payment_method: String,
        /// Required when `payment_method` is "ach".
        ach_authorization_id: Option<String>,
    },
    IssuerPortal {
        api_key_env: String,
        email_env: String,
        password_env: String,
        investor_id: u64,
        /// `requested_payment_method` of every investment: "wire" (the default),
        /// "card", "ira", "other" or "crypto".
        payment_method: String,
    },
}

impl Credentials {
    /// Every `(key, environment variable)` pair, e.g. `("password_env", "FUNDINGCIRCLE_PASSWORD")`.
    pub fn env_vars(&self) -> Vec<(&'static str, &str)> {
        match self {
            Credentials::FundingCircle {
                username_env,
                password_env,
            } => vec![
                ("username_env", username_env),
                ("password_env", password_env),
            ],
            Credentials::Fundrise {
                partner_user_env,
                partner_password_env,
                refresh_token_env,
                ..
            } => vec![
                ("partner_user_env", partner_user_env),
                ("partner_password_env", partner_password_env),
                ("refresh_token_env", refresh_token_env),
            ],
            Credentials::FundAmerica {
                api_key_env,
                webhook_key_env,
                ..
            } => {
                let mut vars = vec![("api_key_env", api_key_env.as_str())];
                if let Some(webhook_key_env) = webhook_key_env {
                    vars.push(("webhook_key_env", webhook_key_env));
                }
                vars
            }
            Credentials::IssuerPortal {
                api_key_env,
                email_env,
                password_env,
                ..
            } => vec![
                ("api_key_env", api_key_env),
                ("email_env", email_env),
                ("password_env", password_env),
            ],
        }
    }
}

/// `[[strategies]]`: one Rhai strategy.
#[derive(Debug, Clone, PartialEq)]
pub struct StrategySettings {
    /// Unique, `[A-Za-z0-9_-]+` (a metric label and part of idempotency keys).
    pub name: String,
    /// Resolved against the config file's directory.
    pub script: PathBuf,
    /// `None` = every platform (and every backtest row).
    pub platforms: Option<Vec<PlatformId>>,
    pub max_per_opportunity: Option<Decimal>,
    pub daily_limit: Option<Decimal>,
    pub total_limit: Option<Decimal>,
    pub enabled: bool,
}

/// `[[notify]]`: one receiver of outbound notifications (webhook POSTs).
#[derive(Debug, Clone, PartialEq)]
pub struct NotifySettings {
    /// `http://` or `https://`, as written.
    pub url: String,
    /// The events sent to it; `["*"]` in the file = every event.
    pub events: BTreeSet<EventKind>,
    /// The environment variable holding the HMAC key; `None` = unsigned.
    pub secret_env: Option<String>,
    /// For one delivery attempt.
    pub timeout: Duration,
}

/// A validated configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The file it was read from.
    pub path: PathBuf,
    pub mode: Mode,
    /// Resolved against the config file's directory.
    pub state_dir: PathBuf,
    pub poll_interval: Duration,
    /// Key `unhealthy_after`: consecutive failed polls of one platform account after
    /// which `/healthz` reports unhealthy (default 3).
    pub unhealthy_after: u32,
    /// `None` when disabled with `http_listen = ""`.
    pub http_listen: Option<SocketAddr>,
    pub log_format: LogFormat,
    pub sandbox: SandboxSettings,
    /// `[store]`: history kept and the prune schedule.
    pub store: StoreSettings,
    pub budget: BudgetSettings,
    pub platforms: BTreeMap<PlatformId, PlatformSettings>,
    pub strategies: Vec<StrategySettings>,
    /// Outbound notification receivers, in file order.
    pub notify: Vec<NotifySettings>,
}

/// Every problem found in one file.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct ConfigErrors {
    pub path: PathBuf,
    pub errors: Vec<ConfigError>,
}

impl fmt::Display for ConfigErrors {
    /// One line per problem: `config.toml:12: budget.daily_limit: "abc" is not a decimal amount`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.errors.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{}", self.path.display())?;
            if let Some(line) = error.line {
                write!(f, ":{line}")?;
            }
            write!(f, ": {error}")?;
        }
        Ok(())
    }
}

/// One problem: the key path (`platforms.fc.base_url`, `strategies[1].name`; empty for
/// the file as a whole), what is wrong, and the line when known.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    pub key: String,
    pub message: String,
    pub line: Option<usize>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.key, self.message)
        }
    }
}

impl Config {
    /// Reads, parses and validates the file at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigErrors {
            path: path.to_path_buf(),
            errors: vec![ConfigError {
                key: String::new(),
                message: format!("cannot read the file: {e}"),
                line: None,
            }],
        })?;
        Config::from_toml_str(&text, path)
    }

    /// Parses and validates `text`; `path` names the file in messages and anchors
    /// relative paths (its directory).
    pub fn from_toml_str(text: &str, path: &Path) -> Result<Config, ConfigErrors> {
        let mut checker = Checker::new(text, path);
        let config = match ImDocument::parse(text) {
            Ok(document) => Some(checker.read_document(document.as_table(), path)),
            Err(error) => {
                checker.report_syntax_error(&error);
                None
            }
        };
        match config {
            Some(config) if checker.errors.is_empty() => Ok(config),
            _ => Err(checker.into_errors(path)),
        }
    }

    /// The secret in the environment variable `env_var`, named by the credentials key
    /// `key` (`"password_env"`; a full path such as `"platforms.fc.password_env"` is
    /// accepted too). A platform without `base_url` uses the embedded sandbox, which
    /// needs no real credentials: a missing variable then yields `"sandbox"`.
    pub fn secret(
        &self,
        platform: &PlatformSettings,
        env_var: &str,
        key: &str,
    ) -> Result<Secret, ConfigError> {
        let problem = match std::env::var(env_var) {
            Ok(value) if !value.is_empty() => return Ok(Secret::new(value)),
            _ if platform.base_url.is_none() => return Ok(Secret::new("sandbox")),
            Ok(_) => "is empty",
            Err(VarError::NotPresent) => "is not set",
            Err(VarError::NotUnicode(_)) => "is not valid UTF-8",
        };
        let key = if key.starts_with("platforms.") {
            key.to_string()
        } else {
            format!("platforms.{}.{key}", platform.id)
        };
        Err(ConfigError {
            key,
            message: format!("environment variable {env_var} {problem}"),
            line: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_errors_give_line_and_column() {
        let errors = Config::from_toml_str("mode = \"live\"\nstate_dir = \n", Path::new("c.toml"))
            .unwrap_err();
        assert_eq!(errors.errors.len(), 1);
        let error = &errors.errors[0];
        assert_eq!((error.key.as_str(), error.line), ("", Some(2)));
        assert!(
            error
                .message
                .starts_with("invalid TOML at line 2, column 13: invalid string; expected"),
            "{}",
            error.message
        );
    }

    #[test]
    fn store_settings_default_to_90_days_hourly_and_are_read_and_checked() {
        let read = |text: &str| Config::from_toml_str(text, Path::new("c.toml"));
        let defaults = read("").unwrap().store;
        assert_eq!(defaults, StoreSettings::default());
        assert_eq!(defaults.keep_history, Duration::from_secs(90 * 86_400));
        assert_eq!(defaults.prune_every, Duration::from_secs(3_600));

        let set = read("[store]\nkeep_history = \"30d\"\nprune_every = \"10s\"\n").unwrap();
        assert_eq!(set.store.keep_history, Duration::from_secs(30 * 86_400));
        assert_eq!(set.store.prune_every, Duration::from_secs(10));

        let errors =
            read("[store]\nkeep_history = \"forever\"\nprune_every = \"0s\"\nkeep = \"1d\"\n")
                .unwrap_err()
                .errors;
        let keys: Vec<(&str, Option<usize>)> =
            errors.iter().map(|e| (e.key.as_str(), e.line)).collect();
        assert_eq!(
            keys,
            [
                ("store.keep_history", Some(2)),
                ("store.prune_every", Some(3)),
                ("store.keep", Some(4))
            ],
            "{errors:?}"
        );
        assert!(errors[0].message.contains("not a duration"), "{errors:?}");
        assert!(errors[1].message.contains("out of range"), "{errors:?}");
    }
}
