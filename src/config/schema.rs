//! The configuration schema (DESIGN.md "Configuration"): which tables and keys exist,
//! their types, defaults and rules, read with the [`Checker`] into a [`Config`].

use super::reader::{closest, quoted_list, Checker, Field, Section};
use super::{
    BudgetSettings, Config, Credentials, Mode, NotifySettings, PlatformSettings, SandboxSettings,
    StoreSettings, StrategySettings,
};
use crate::event::EventKind;
use crate::opportunity::{PlatformId, PlatformKind};
use crate::telemetry::LogFormat;
use rust_decimal::Decimal;
use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::time::Duration;
use toml_edit::TableLike;

const DEFAULT_STATE_DIR: &str = "state";
const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(5);
/// Consecutive failed polls after which `/healthz` turns unhealthy.
const DEFAULT_UNHEALTHY_AFTER: u32 = 3;
const POLL_INTERVAL_BOUNDS: (Duration, Duration) =
    (Duration::from_secs(1), Duration::from_secs(3600));
const DEFAULT_HTTP_LISTEN: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 9464);
pub(super) const DEFAULT_SANDBOX_LISTEN: SocketAddr =
    SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0);
pub(super) const DEFAULT_SANDBOX_SEED: u64 = 42;
/// Funding Circle allows 40 POSTs per second; the other platforms publish no figure,
/// so they get a cautious default.
const FUNDING_CIRCLE_POSTS_PER_SECOND: u32 = 40;
const OTHER_POSTS_PER_SECOND: u32 = 10;
const DEFAULT_GETS_PER_SECOND: u32 = 20;
/// `[store] keep_history`: from a second (soaks and tests prune on a short schedule;
/// the daemon warns at start when it is under a week) to ten years.
const KEEP_HISTORY_BOUNDS: (Duration, Duration) = (
    Duration::from_secs(1),
    Duration::from_secs(3650 * 24 * 60 * 60),
);
/// `[store] prune_every`: from a second to a day.
const PRUNE_EVERY_BOUNDS: (Duration, Duration) =
    (Duration::from_secs(1), Duration::from_secs(24 * 60 * 60));
const MAX_REQUESTS_PER_SECOND: i64 = 1000;
const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
/// Tests use very short timeouts against local fakes, so only zero is refused below.
const REQUEST_TIMEOUT_BOUNDS: (Duration, Duration) =
    (Duration::from_millis(1), Duration::from_secs(600));
const DEFAULT_NOTIFY_TIMEOUT: Duration = Duration::from_secs(10);
const NOTIFY_TIMEOUT_BOUNDS: (Duration, Duration) =
    (Duration::from_millis(1), Duration::from_secs(300));
/// In a `[[notify]]` `events` list: every event.
const ALL_EVENTS: &str = "*";
const FUNDAMERICA_PAYMENT_METHODS: [&str; 3] = ["ach", "check", "wire"];
/// The issuer portal's `requested_payment_method` values (seed document).
const ISSUER_PORTAL_PAYMENT_METHODS: [&str; 5] = ["card", "wire", "ira", "other", "crypto"];
/// Wire transfer: the one method an unattended investment can use without a card or
/// wallet step in a browser.
const ISSUER_PORTAL_DEFAULT_PAYMENT_METHOD: &str = "wire";
const CONFIG_KINDS: [&str; 4] = ["fundingcircle", "fundrise", "fundamerica", "issuer_portal"];

impl Checker<'_> {
    fn mode(&mut self, field: &Field<'_>) -> Option<Mode> {
        self.one_of(field, &[("live", Mode::Live), ("dry-run", Mode::DryRun)])
    }

    fn log_format(&mut self, field: &Field<'_>) -> Option<LogFormat> {
        self.one_of(
            field,
            &[("text", LogFormat::Text), ("json", LogFormat::Json)],
        )
    }

    fn platform_kind(&mut self, field: &Field<'_>) -> Option<PlatformKind> {
        let text = self.string(field)?;
        let kind = match text {
            "fundingcircle" => PlatformKind::FundingCircle,
            "fundrise" => PlatformKind::Fundrise,
            "fundamerica" => PlatformKind::FundAmerica,
            "issuer_portal" => PlatformKind::IssuerPortal,
            "lendingclub" => {
                self.report_at(
                    field,
                    "lendingclub is only for backtest data; it cannot be traded",
                );
                return None;
            }
            _ => {
                let hint = closest(text, &CONFIG_KINDS)
                    .map(|kind| format!(" (did you mean {kind}?)"))
                    .unwrap_or_default();
                self.report_at(
                    field,
                    format!(
                        "unknown kind {text:?}{hint}; expected one of {}",
                        quoted_list(&CONFIG_KINDS)
                    ),
                );
                return None;
            }
        };
        Some(kind)
    }

    fn requests_per_second(&mut self, field: &Field<'_>) -> Option<NonZeroU32> {
        let value = self.integer(field)?;
        let rate = (1..=MAX_REQUESTS_PER_SECOND)
            .contains(&value)
            .then(|| u32::try_from(value).ok().and_then(NonZeroU32::new))
            .flatten();
        if rate.is_none() {
            self.report_at(
                field,
                format!("{value} is out of range: must be between 1 and {MAX_REQUESTS_PER_SECOND}"),
            );
        }
        rate
    }

    /// The name of an environment variable. The value is never echoed: a user may
    /// have pasted the secret itself here.
    fn env_var_name(&mut self, field: &Field<'_>) -> Option<String> {
        let name = self.string(field)?;
        if is_env_var_name(name) {
            return Some(name.to_string());
        }
        self.report_at(
            field,
            "is not an environment variable name (letters, digits and _, not starting with a \
             digit); the value is not shown in case it is a secret",
        );
        None
    }

    fn base_url(&mut self, field: &Field<'_>) -> Option<String> {
        let text = self.string(field)?;
        let trimmed = text.trim_end_matches('/');
        // A URL with user:password@ holds a secret: never show it.
        let shown = if text.contains('@') {
            "the URL".to_string()
        } else {
            format!("{text:?}")
        };
        let problem = match reqwest::Url::parse(trimmed) {
            Ok(url) if !url.username().is_empty() || url.password().is_some() => {
                "must not contain credentials: put secrets in environment variables".to_string()
            }
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.host_str().is_some() => {
                return Some(trimmed.to_string());
            }
            Ok(_) => format!("{shown} is not an http:// or https:// URL"),
            Err(error) => format!("{shown} is not a URL ({error})"),
        };
        self.report_at(field, problem);
        None
    }

    /// A receiver URL. Messages never show it: webhook URLs often hold a token.
    fn notify_url(&mut self, field: &Field<'_>) -> Option<String> {
        let text = self.string(field)?;
        let problem = match reqwest::Url::parse(text) {
            Ok(url) if !url.username().is_empty() || url.password().is_some() => {
                "must not contain credentials: use secret_env for signing".to_string()
            }
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.host_str().is_some() => {
                return Some(text.to_string());
            }
            Ok(url) => format!(
                "is not an http:// or https:// URL (scheme {:?}); the URL is not shown",
                url.scheme()
            ),
            Err(error) => format!("is not a URL ({error}); the URL is not shown"),
        };
        self.report_at(field, problem);
        None
    }

    /// Event names, or `["*"]` for every event.
    fn event_list(&mut self, field: &Field<'_>) -> Option<BTreeSet<EventKind>> {
        let Some(values) = field.item.as_array() else {
            self.wrong_type(
                field,
                "an array of event names, e.g. [\"order_placed\"] or [\"*\"]",
            );
            return None;
        };
        if values.is_empty() {
            self.report_at(
                field,
                "is empty: list event names, or [\"*\"] for every event",
            );
            return None;
        }
        let names: Vec<&str> = EventKind::ALL.iter().map(|kind| kind.name()).collect();
        let mut events = BTreeSet::new();
        let mut valid = true;
        for value in values.iter() {
            match value.as_str() {
                Some(ALL_EVENTS) => events.extend(EventKind::ALL),
                Some(name) => match EventKind::from_name(name) {
                    Some(kind) => {
                        events.insert(kind);
                    }
                    None => {
                        let hint = closest(name, &names)
                            .map(|known| format!(" (did you mean {known}?)"))
                            .unwrap_or_default();
                        self.report_at(
                            field,
                            format!(
                                "unknown event {name:?}{hint}; expected \"*\" or one of {}",
                                quoted_list(&names)
                            ),
                        );
                        valid = false;
                    }
                },
                None => {
                    self.report_at(field, "expected event names as strings");
                    valid = false;
                }
            }
        }
        valid.then_some(events)
    }

    fn name(&mut self, field: &Field<'_>) -> Option<String> {
        let name = self.string(field)?;
        if is_name(name) {
            return Some(name.to_string());
        }
        self.report_at(
            field,
            format!("{name:?} is not a valid name: use letters, digits, '-' and '_'"),
        );
        None
    }

    fn script_path(&mut self, field: &Field<'_>) -> Option<PathBuf> {
        let text = self.non_empty_string(field)?;
        let path = self.resolve(&text);
        if path.is_file() {
            return Some(path);
        }
        let problem = if path.exists() {
            "is not a file"
        } else {
            "does not exist"
        };
        self.report_at(field, format!("script {} {problem}", path.display()));
        None
    }

    fn platform_list(
        &mut self,
        field: &Field<'_>,
        declared_ids: &BTreeSet<PlatformId>,
    ) -> Option<Vec<PlatformId>> {
        let Some(values) = field.item.as_array() else {
            self.wrong_type(field, "an array of platform ids, e.g. [\"fc\"]");
            return None;
        };
        if values.is_empty() {
            self.report_at(field, "is empty: leave the key out to use every platform");
            return None;
        }
        let mut ids = Vec::new();
        let mut valid = true;
        for value in values.iter() {
            let id = match value.as_str() {
                // Without [platforms] (a backtest-only file) any id is accepted:
                // backtest rows come from "lendingclub".
                Some(id)
                    if declared_ids.is_empty() || declared_ids.contains(&PlatformId::new(id)) =>
                {
                    id
                }
                Some(id) => {
                    let known: Vec<&str> = declared_ids.iter().map(PlatformId::as_str).collect();
                    self.report_at(
                        field,
                        format!(
                            "unknown platform {id:?}; configured: {}",
                            quoted_list(&known)
                        ),
                    );
                    valid = false;
                    continue;
                }
                None => {
                    self.report_at(field, "expected platform ids as strings");
                    valid = false;
                    continue;
                }
            };
            ids.push(PlatformId::new(id));
        }
        valid.then_some(ids)
    }

    /// Reports `daily_limit` above `total_limit` (a daily limit that can never be reached
    /// is a typo more often than not).
    fn check_limits(
        &mut self,
        section: &Section<'_>,
        daily_limit: Option<Decimal>,
        total_limit: Option<Decimal>,
    ) {
        if let (Some(daily), Some(total)) = (daily_limit, total_limit) {
            if daily > total {
                let line = self.key_line(section, "daily_limit");
                self.report(
                    section.key_path("daily_limit"),
                    line,
                    format!("{daily} is more than total_limit {total}"),
                );
            }
        }
    }

    pub(super) fn read_document(&mut self, root_table: &dyn TableLike, path: &Path) -> Config {
        let mut root = Section {
            path: String::new(),
            line: None,
            table: root_table,
            read: Vec::new(),
        };
        let mode = self.optional(&mut root, "mode", Self::mode);
        let state_dir = self.optional(&mut root, "state_dir", Self::non_empty_string);
        let poll_interval = self.optional(&mut root, "poll_interval", |c, f| {
            c.duration(f, POLL_INTERVAL_BOUNDS)
        });
        let http_listen = self.optional(&mut root, "http_listen", Self::optional_socket_addr);
        let log_format = self.optional(&mut root, "log_format", Self::log_format);
        let unhealthy_after = self.optional(&mut root, "unhealthy_after", |c, f| {
            let count = c.integer(f)?;
            let count = u32::try_from(count)
                .ok()
                .filter(|n| (1..=10_000).contains(n));
            if count.is_none() {
                c.report_at(f, "must be a whole number of polls from 1 to 10000");
            }
            count
        });
        let sandbox = self.read_sandbox(&mut root);
        let store = self.read_store(&mut root);
        let budget = self.read_budget(&mut root);
        let (platforms, declared_ids) = self.read_platforms(&mut root, sandbox.enabled);
        let strategies = self.read_strategies(&mut root, &declared_ids);
        let notify = self.read_notify_targets(&mut root);
        self.finish(root, true);

        Config {
            path: path.to_path_buf(),
            mode: mode.unwrap_or_default(),
            state_dir: self.resolve(state_dir.as_deref().unwrap_or(DEFAULT_STATE_DIR)),
            poll_interval: poll_interval.unwrap_or(DEFAULT_POLL_INTERVAL),
            http_listen: http_listen.unwrap_or(Some(DEFAULT_HTTP_LISTEN)),
            log_format: log_format.unwrap_or_default(),
            unhealthy_after: unhealthy_after.unwrap_or(DEFAULT_UNHEALTHY_AFTER),
            sandbox,
            store,
            budget,
            platforms,
            strategies,
            notify,
        }
    }

    fn read_sandbox(&mut self, root: &mut Section<'_>) -> SandboxSettings {
        let defaults = SandboxSettings::default();
        let Some(mut section) = self.section(root, "sandbox") else {
            return defaults;
        };
        let enabled = self.optional(&mut section, "enabled", Self::boolean);
        let listen = self.optional(&mut section, "listen", Self::socket_addr);
        let seed = self.optional(&mut section, "seed", |c, f| {
            let seed = c.integer(f)?;
            let seed = u64::try_from(seed).ok();
            if seed.is_none() {
                c.report_at(f, "must not be negative");
            }
            seed
        });
        self.finish(section, true);
        SandboxSettings {
            enabled: enabled.unwrap_or(defaults.enabled),
            listen: listen.unwrap_or(defaults.listen),
            seed: seed.unwrap_or(defaults.seed),
        }
    }

    fn read_store(&mut self, root: &mut Section<'_>) -> StoreSettings {
        let defaults = StoreSettings::default();
        let Some(mut section) = self.section(root, "store") else {
            return defaults;
        };
        let keep_history = self.optional(&mut section, "keep_history", |c, f| {
            c.duration(f, KEEP_HISTORY_BOUNDS)
        });
        let prune_every = self.optional(&mut section, "prune_every", |c, f| {
            c.duration(f, PRUNE_EVERY_BOUNDS)
        });
        self.finish(section, true);
        StoreSettings {
            keep_history: keep_history.unwrap_or(defaults.keep_history),
            prune_every: prune_every.unwrap_or(defaults.prune_every),
        }
    }

    fn read_budget(&mut self, root: &mut Section<'_>) -> BudgetSettings {
        let Some(mut section) = self.section(root, "budget") else {
            return BudgetSettings::default();
        };
        let daily_limit = self.optional(&mut section, "daily_limit", Self::money);
        let total_limit = self.optional(&mut section, "total_limit", Self::money);
        let cash_reserve = self.optional(&mut section, "cash_reserve", Self::money);
        self.check_limits(&section, daily_limit, total_limit);
        self.finish(section, true);
        BudgetSettings {
            daily_limit,
            total_limit,
            cash_reserve: cash_reserve.unwrap_or_default(),
        }
    }

    /// The platform accounts, and every id declared under `[platforms]` (also those
    /// with invalid settings, so a strategy naming one gets no second, misleading error).
    fn read_platforms(
        &mut self,
        root: &mut Section<'_>,
        sandbox_enabled: bool,
    ) -> (BTreeMap<PlatformId, PlatformSettings>, BTreeSet<PlatformId>) {
        let mut platforms = BTreeMap::new();
        let mut declared_ids = BTreeSet::new();
        let Some(section) = self.section(root, "platforms") else {
            return (platforms, declared_ids);
        };
        for (id, field) in self.entries(&section) {
            declared_ids.insert(PlatformId::new(id));
            let Some(table) = self.as_section(&field) else {
                continue;
            };
            if !is_name(id) {
                self.report_at(
                    &field,
                    format!("{id:?} is not a valid platform id: use letters, digits, '-' and '_'"),
                );
            }
            if let Some(platform) = self.read_platform(PlatformId::new(id), table, sandbox_enabled)
            {
                platforms.insert(platform.id.clone(), platform);
            }
        }
        (platforms, declared_ids)
    }

    fn read_platform(
        &mut self,
        id: PlatformId,
        mut section: Section<'_>,
        sandbox_enabled: bool,
    ) -> Option<PlatformSettings> {
        let kind = self.required(&mut section, "kind", Self::platform_kind);
        let base_url_field = self.field(&mut section, "base_url");
        let base_url = base_url_field.as_ref().and_then(|f| self.base_url(f));
        if base_url_field.is_none() && !sandbox_enabled {
            self.report(
                section.key_path("base_url"),
                section.line,
                "missing: required unless [sandbox] enabled = true",
            );
        }
        let max_posts = self.optional(
            &mut section,
            "max_posts_per_second",
            Self::requests_per_second,
        );
        let max_gets = self.optional(
            &mut section,
            "max_gets_per_second",
            Self::requests_per_second,
        );
        let request_timeout = self.optional(&mut section, "request_timeout", |c, f| {
            c.duration(f, REQUEST_TIMEOUT_BOUNDS)
        });
        let min_per_order = self.optional(&mut section, "min_per_order", Self::money);
        let max_per_order = self.optional(&mut section, "max_per_order", Self::money);
        if let (Some(min), Some(max)) = (min_per_order, max_per_order) {
            if min > max {
                let line = self.key_line(&section, "min_per_order");
                self.report(
                    section.key_path("min_per_order"),
                    line,
                    format!("{min} is more than max_per_order {max}"),
                );
            }
        }
        let daily_limit = self.optional(&mut section, "daily_limit", Self::money);
        let total_limit = self.optional(&mut section, "total_limit", Self::money);
        self.check_limits(&section, daily_limit, total_limit);
        let credentials = kind.and_then(|kind| self.read_credentials(&mut section, kind));
        // With an unknown kind we cannot tell which keys belong; secrets are still refused.
        self.finish(section, kind.is_some());

        let kind = kind?;
        let default_posts = match kind {
            PlatformKind::FundingCircle => FUNDING_CIRCLE_POSTS_PER_SECOND,
            _ => OTHER_POSTS_PER_SECOND,
        };
        Some(PlatformSettings {
            id,
            kind,
            base_url,
            max_posts_per_second: max_posts.unwrap_or(non_zero(default_posts)),
            max_gets_per_second: max_gets.unwrap_or(non_zero(DEFAULT_GETS_PER_SECOND)),
            request_timeout: request_timeout.unwrap_or(DEFAULT_REQUEST_TIMEOUT),
            min_per_order,
            max_per_order,
            daily_limit,
            total_limit,
            credentials: credentials?,
        })
    }

    /// Every key is read before anything is combined, so one missing key does not make
    /// its neighbours look unknown.
    fn read_credentials(
        &mut self,
        section: &mut Section<'_>,
        kind: PlatformKind,
    ) -> Option<Credentials> {
        match kind {
            PlatformKind::FundingCircle => {
                let username_env = self.required(section, "username_env", Self::env_var_name);
                let password_env = self.required(section, "password_env", Self::env_var_name);
                Some(Credentials::FundingCircle {
                    username_env: username_env?,
                    password_env: password_env?,
                })
            }
            PlatformKind::Fundrise => {
                let partner_user_env =
                    self.required(section, "partner_user_env", Self::env_var_name);
                let partner_password_env =
                    self.required(section, "partner_password_env", Self::env_var_name);
                let refresh_token_env =
                    self.required(section, "refresh_token_env", Self::env_var_name);
                let account_id = self.required(section, "account_id", Self::non_empty_string);
                let acknowledge_documents =
                    self.optional(section, "acknowledge_documents", Self::boolean);
                Some(Credentials::Fundrise {
                    partner_user_env: partner_user_env?,
                    partner_password_env: partner_password_env?,
                    refresh_token_env: refresh_token_env?,
                    account_id: account_id?,
                    acknowledge_documents: acknowledge_documents.unwrap_or(false),
                })
            }
            PlatformKind::FundAmerica => self.read_fundamerica(section),
            PlatformKind::IssuerPortal => self.read_issuer_portal(section),
            // Refused by `platform_kind`.
            PlatformKind::LendingClub => None,
        }
    }

    fn read_fundamerica(&mut self, section: &mut Section<'_>) -> Option<Credentials> {
        let api_key_env = self.required(section, "api_key_env", Self::env_var_name);
        let webhook_key_env = self.optional(section, "webhook_key_env", Self::env_var_name);
        let investor_id = self.required(section, "investor_id", Self::non_empty_string);
        let payment_method = self.required(section, "payment_method", |c, f| {
            let choices = FUNDAMERICA_PAYMENT_METHODS.map(|method| (method, method));
            c.one_of(f, &choices).map(str::to_string)
        });
        let ach_authorization_id =
            self.optional(section, "ach_authorization_id", Self::non_empty_string);
        if payment_method.as_deref() == Some("ach") && ach_authorization_id.is_none() {
            let line = self.key_line(section, "payment_method");
            self.report(
                section.key_path("ach_authorization_id"),
                line,
                "missing: required when payment_method = \"ach\"",
            );
        }
        Some(Credentials::FundAmerica {
            api_key_env: api_key_env?,
            webhook_key_env,
            investor_id: investor_id?,
            payment_method: payment_method?,
            ach_authorization_id,
        })
    }

    fn read_issuer_portal(&mut self, section: &mut Section<'_>) -> Option<Credentials> {
        let api_key_env = self.required(section, "api_key_env", Self::env_var_name);
        let email_env = self.required(section, "email_env", Self::env_var_name);
        let password_env = self.required(section, "password_env", Self::env_var_name);
        let investor_id = self.required(section, "investor_id", |c, f| {
            let id = c.integer(f)?;
            let id = u64::try_from(id).ok().filter(|id| *id > 0);
            if id.is_none() {
                c.report_at(f, "must be a positive integer");
            }
            id
        });
        let payment_method = self.optional(section, "payment_method", |c, f| {
            let choices = ISSUER_PORTAL_PAYMENT_METHODS.map(|method| (method, method));
            c.one_of(f, &choices).map(str::to_string)
        });
        Some(Credentials::IssuerPortal {
            api_key_env: api_key_env?,
            email_env: email_env?,
            password_env: password_env?,
            investor_id: investor_id?,
            payment_method: payment_method
                .unwrap_or_else(|| ISSUER_PORTAL_DEFAULT_PAYMENT_METHOD.to_string()),
        })
    }

    fn read_strategies(
        &mut self,
        root: &mut Section<'_>,
        declared_ids: &BTreeSet<PlatformId>,
    ) -> Vec<StrategySettings> {
        let mut strategies = Vec::new();
        let mut names: BTreeMap<String, String> = BTreeMap::new();
        for mut section in self.table_array(root, "strategies") {
            let name_field = self.field(&mut section, "name");
            let name = match &name_field {
                Some(field) => self.name(field),
                None => {
                    self.report(section.key_path("name"), section.line, "missing (required)");
                    None
                }
            };
            if let (Some(name), Some(field)) = (&name, &name_field) {
                if let Some(first) = names.insert(name.clone(), section.path.clone()) {
                    self.report_at(
                        field,
                        format!("duplicate strategy name {name:?} (also {first})"),
                    );
                }
            }
            let strategy = self.read_strategy(section, name, declared_ids);
            strategies.extend(strategy);
        }
        strategies
    }

    fn read_strategy(
        &mut self,
        mut section: Section<'_>,
        name: Option<String>,
        declared_ids: &BTreeSet<PlatformId>,
    ) -> Option<StrategySettings> {
        let script = self.required(&mut section, "script", Self::script_path);
        let platform_ids = self.optional(&mut section, "platforms", |c, f| {
            c.platform_list(f, declared_ids)
        });
        let max_per_opportunity = self.optional(&mut section, "max_per_opportunity", Self::money);
        let daily_limit = self.optional(&mut section, "daily_limit", Self::money);
        let total_limit = self.optional(&mut section, "total_limit", Self::money);
        let enabled = self.optional(&mut section, "enabled", Self::boolean);
        self.check_limits(&section, daily_limit, total_limit);
        self.finish(section, true);
        Some(StrategySettings {
            name: name?,
            script: script?,
            platforms: platform_ids,
            max_per_opportunity,
            daily_limit,
            total_limit,
            enabled: enabled.unwrap_or(true),
        })
    }
}

impl Checker<'_> {
    fn read_notify_targets(&mut self, root: &mut Section<'_>) -> Vec<NotifySettings> {
        let mut targets = Vec::new();
        // Records in the queue name their receiver by URL: two entries with one URL
        // could not be told apart.
        let mut urls: BTreeMap<String, String> = BTreeMap::new();
        for mut section in self.table_array(root, "notify") {
            let url_field = self.field(&mut section, "url");
            let url = match &url_field {
                Some(field) => self.notify_url(field),
                None => {
                    self.report(section.key_path("url"), section.line, "missing (required)");
                    None
                }
            };
            if let (Some(url), Some(field)) = (&url, &url_field) {
                if let Some(first) = urls.insert(url.clone(), section.path.clone()) {
                    self.report_at(field, format!("the same URL as {first}"));
                }
            }
            let events = self.required(&mut section, "events", Self::event_list);
            let secret_env = self.optional(&mut section, "secret_env", Self::env_var_name);
            let timeout = self.optional(&mut section, "timeout", |c, f| {
                c.duration(f, NOTIFY_TIMEOUT_BOUNDS)
            });
            self.finish(section, true);
            if let (Some(url), Some(events)) = (url, events) {
                targets.push(NotifySettings {
                    url,
                    events,
                    secret_env,
                    timeout: timeout.unwrap_or(DEFAULT_NOTIFY_TIMEOUT),
                });
            }
        }
        targets
    }
}

fn non_zero(value: u32) -> NonZeroU32 {
    NonZeroU32::new(value).unwrap_or(NonZeroU32::MIN)
}

/// Platform ids and strategy names: used in metric labels and idempotency keys.
fn is_name(text: &str) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn is_env_var_name(text: &str) -> bool {
    let mut chars = text.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_env_var_names_are_checked() {
        assert!(is_name("prime-loans_2"));
        assert!(!is_name("") && !is_name("a b") && !is_name("a.b"));
        assert!(is_env_var_name("FUNDINGCIRCLE_PASSWORD") && is_env_var_name("_X1"));
        assert!(!is_env_var_name("1X") && !is_env_var_name("hunter2!") && !is_env_var_name(""));
    }
}
