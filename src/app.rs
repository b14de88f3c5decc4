//! Assembly: turns a validated [`Config`] into the running pieces — compiled
//! strategies and the engine, platform clients, the store and the portfolio.
//! No decisions are made here.

use crate::config::{Config, Credentials, PlatformSettings};
use crate::engine::{Engine, StrategySlot};
use crate::opportunity::{PlatformId, PlatformKind};
use crate::platform::fundamerica::wire::PaymentMethod;
use crate::platform::fundamerica::{FundAmericaClient, FundAmericaSettings};
use crate::platform::fundingcircle::{FundingCircleClient, FundingCircleSettings};
use crate::platform::fundrise::{FundriseClient, FundriseSettings};
use crate::platform::issuer_portal::{IssuerPortalClient, IssuerPortalSettings};
use crate::platform::PlatformClient;
use crate::portfolio::Portfolio;
use crate::sizing::{BudgetRules, PlatformRules, StrategyRules};
use crate::store::{Store, StoreError};
use crate::strategy::{Strategy, StrategyError};
use crate::telemetry::Metrics;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

/// Every strategy that failed to compile, shown one per line.
#[derive(Debug)]
pub struct StrategyErrors(pub Vec<StrategyError>);

impl std::fmt::Display for StrategyErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, error) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for StrategyErrors {}

/// Compiles every enabled strategy; returns all compile errors at once.
pub fn compile_strategies(config: &Config) -> Result<Vec<StrategySlot>, StrategyErrors> {
    let mut slots = Vec::new();
    let mut errors = Vec::new();
    for settings in config.strategies.iter().filter(|s| s.enabled) {
        match Strategy::compile_file(&settings.name, &settings.script) {
            Ok(strategy) => slots.push(StrategySlot {
                strategy: Arc::new(strategy),
                rules: StrategyRules {
                    name: settings.name.clone(),
                    max_per_opportunity: settings.max_per_opportunity,
                    daily_limit: settings.daily_limit,
                    total_limit: settings.total_limit,
                },
                platforms: settings.platforms.clone(),
            }),
            Err(error) => errors.push(error),
        }
    }
    if errors.is_empty() {
        Ok(slots)
    } else {
        Err(StrategyErrors(errors))
    }
}

/// The engine for a config's budgets and platforms, over compiled strategies.
pub fn build_engine(
    config: &Config,
    slots: Vec<StrategySlot>,
    metrics: Option<Arc<Metrics>>,
) -> Engine {
    let budget = BudgetRules {
        daily_limit: config.budget.daily_limit,
        total_limit: config.budget.total_limit,
        cash_reserve: config.budget.cash_reserve,
    };
    let platforms: HashMap<PlatformId, PlatformRules> = config
        .platforms
        .values()
        .map(|p| {
            (
                p.id.clone(),
                PlatformRules {
                    min_per_order: p.min_per_order,
                    max_per_order: p.max_per_order,
                    daily_limit: p.daily_limit,
                    total_limit: p.total_limit,
                },
            )
        })
        .collect();
    Engine::new(slots, budget, platforms, metrics)
}

/// Where the store lives: dry runs keep their own database so that what they
/// "bought" never blocks a live order, and live intents are never touched by them.
pub fn store_dir(config: &Config, dry_run: bool) -> PathBuf {
    if dry_run {
        config.state_dir.join("dry-run")
    } else {
        config.state_dir.clone()
    }
}

/// Rebuilds the portfolio (budgets used, known intent keys) from the store.
pub fn portfolio_from_store(store: &Store) -> Result<Portfolio, StoreError> {
    let mut portfolio = Portfolio::new(None);
    for intent in store.intents()? {
        portfolio.record(&intent);
    }
    Ok(portfolio)
}

/// Why a platform client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("platforms.{id}: {message}")]
    Platform { id: String, message: String },
}

/// Builds the client for one platform account. `sandbox_url` is the embedded
/// sandbox's base URL for this kind, used when the config gives no `base_url`.
pub fn build_client(
    config: &Config,
    settings: &PlatformSettings,
    sandbox_url: Option<String>,
    metrics: Arc<Metrics>,
) -> Result<Arc<dyn PlatformClient>, BuildError> {
    let fail = |message: String| BuildError::Platform {
        id: settings.id.to_string(),
        message,
    };
    let base_url = settings
        .base_url
        .clone()
        .or(sandbox_url)
        .ok_or_else(|| fail("no base_url and the sandbox is not enabled".into()))?;
    match (&settings.kind, &settings.credentials) {
        (
            PlatformKind::FundingCircle,
            Credentials::FundingCircle {
                username_env,
                password_env,
            },
        ) => {
            let username = config
                .secret(settings, username_env, "username_env")
                .map_err(|e| fail(e.to_string()))?;
            let password = config
                .secret(settings, password_env, "password_env")
                .map_err(|e| fail(e.to_string()))?;
            let client = FundingCircleClient::new(
                FundingCircleSettings {
                    id: settings.id.clone(),
                    base_url,
                    username,
                    password,
                    max_posts_per_second: settings.max_posts_per_second,
                    max_gets_per_second: settings.max_gets_per_second,
                    request_timeout: settings.request_timeout,
                },
                metrics,
            )
            .map_err(|e| fail(e.to_string()))?;
            Ok(Arc::new(client))
        }
        (
            PlatformKind::IssuerPortal,
            Credentials::IssuerPortal {
                api_key_env,
                email_env,
                password_env,
                investor_id,
                payment_method,
            },
        ) => {
            let secret = |env_var: &str, key: &str| {
                config
                    .secret(settings, env_var, key)
                    .map_err(|e| fail(e.to_string()))
            };
            let client = IssuerPortalClient::new(
                IssuerPortalSettings {
                    id: settings.id.clone(),
                    base_url,
                    api_key: secret(api_key_env, "api_key_env")?,
                    email: secret(email_env, "email_env")?,
                    password: secret(password_env, "password_env")?,
                    investor_id: *investor_id,
                    payment_method: payment_method.clone(),
                    max_posts_per_second: settings.max_posts_per_second,
                    max_gets_per_second: settings.max_gets_per_second,
                    request_timeout: settings.request_timeout,
                },
                metrics,
            )
            .map_err(|e| fail(e.to_string()))?;
            Ok(Arc::new(client))
        }
        (
            PlatformKind::FundAmerica,
            Credentials::FundAmerica {
                api_key_env,
                investor_id,
                payment_method,
                ach_authorization_id,
                ..
            },
        ) => {
            let api_key = config
                .secret(settings, api_key_env, "api_key_env")
                .map_err(|e| fail(e.to_string()))?;
            let payment_method =
                PaymentMethod::from_config(payment_method, ach_authorization_id.as_deref())
                    .map_err(fail)?;
            let client = FundAmericaClient::new(
                FundAmericaSettings {
                    id: settings.id.clone(),
                    base_url,
                    api_key,
                    investor_id: investor_id.clone(),
                    payment_method,
                    max_posts_per_second: settings.max_posts_per_second,
                    max_gets_per_second: settings.max_gets_per_second,
                    request_timeout: settings.request_timeout,
                },
                metrics,
            )
            .map_err(|e| fail(e.to_string()))?;
            Ok(Arc::new(client))
        }
        (
            PlatformKind::Fundrise,
            Credentials::Fundrise {
                partner_user_env,
                partner_password_env,
                refresh_token_env,
                account_id,
                acknowledge_documents,
            },
        ) => {
            let secret = |env_var: &str, key: &str| {
                config
                    .secret(settings, env_var, key)
                    .map_err(|e| fail(e.to_string()))
            };
            let client = FundriseClient::new(
                FundriseSettings {
                    id: settings.id.clone(),
                    base_url,
                    partner_user: secret(partner_user_env, "partner_user_env")?,
                    partner_password: secret(partner_password_env, "partner_password_env")?,
                    refresh_token: secret(refresh_token_env, "refresh_token_env")?,
                    account_id: account_id.clone(),
                    acknowledge_documents: *acknowledge_documents,
                    max_posts_per_second: settings.max_posts_per_second,
                    max_gets_per_second: settings.max_gets_per_second,
                    request_timeout: settings.request_timeout,
                },
                metrics,
            )
            .map_err(|e| fail(e.to_string()))?;
            Ok(Arc::new(client))
        }
        (kind, _) => Err(fail(format!(
            "platform kind {kind} is not supported by this version yet"
        ))),
    }
}
