//! (Temporary type-only stand-in; the real loader lands from the store/config branch.)
#![allow(missing_docs)]
use crate::opportunity::{PlatformId, PlatformKind};
use crate::secret::Secret;
use crate::telemetry::LogFormat;
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Live,
    DryRun,
}
#[derive(Debug, Clone)]
pub struct SandboxSettings {
    pub enabled: bool,
    pub listen: SocketAddr,
    pub seed: u64,
}
#[derive(Debug, Clone, Default)]
pub struct BudgetSettings {
    pub daily_limit: Option<Decimal>,
    pub total_limit: Option<Decimal>,
    pub cash_reserve: Decimal,
}
#[derive(Debug, Clone)]
pub struct Config {
    pub path: PathBuf,
    pub mode: Mode,
    pub state_dir: PathBuf,
    pub poll_interval: Duration,
    pub http_listen: Option<SocketAddr>,
    pub log_format: LogFormat,
    pub sandbox: SandboxSettings,
    pub budget: BudgetSettings,
    pub platforms: BTreeMap<PlatformId, PlatformSettings>,
    pub strategies: Vec<StrategySettings>,
}
#[derive(Debug, Clone)]
pub struct PlatformSettings {
    pub id: PlatformId,
    pub kind: PlatformKind,
    pub base_url: Option<String>,
    pub max_posts_per_second: NonZeroU32,
    pub max_gets_per_second: NonZeroU32,
    pub request_timeout: Duration,
    pub min_per_order: Option<Decimal>,
    pub max_per_order: Option<Decimal>,
    pub daily_limit: Option<Decimal>,
    pub total_limit: Option<Decimal>,
    pub credentials: Credentials,
}
#[derive(Debug, Clone)]
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
        acknowledge_documents: bool,
    },
    FundAmerica {
        api_key_env: String,
        webhook_key_env: Option<String>,
        investor_id: String,
        payment_method: String,
        ach_authorization_id: Option<String>,
    },
    IssuerPortal {
        api_key_env: String,
        email_env: String,
        password_env: String,
        investor_id: u64,
    },
}
#[derive(Debug, Clone)]
pub struct StrategySettings {
    pub name: String,
    pub script: PathBuf,
    pub platforms: Option<Vec<PlatformId>>,
    pub max_per_opportunity: Option<Decimal>,
    pub daily_limit: Option<Decimal>,
    pub total_limit: Option<Decimal>,
    pub enabled: bool,
}
#[derive(Debug, Clone)]
pub struct ConfigError {
    pub key: String,
    pub message: String,
    pub line: Option<usize>,
}
impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}
#[derive(Debug, Clone)]
pub struct ConfigErrors {
    pub path: PathBuf,
    pub errors: Vec<ConfigError>,
}
impl std::fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for e in &self.errors {
            writeln!(f, "{}: {}", self.path.display(), e)?;
        }
        Ok(())
    }
}
impl std::error::Error for ConfigErrors {}
impl Config {
    pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
        let _ = path;
        todo!()
    }
    pub fn secret(
        &self,
        platform: &PlatformSettings,
        env_var: &str,
        key: &str,
    ) -> Result<Secret, ConfigError> {
        let _ = (platform, env_var, key);
        todo!()
    }
}
