//! The configuration contract (DESIGN.md "Configuration"): the shipped file and the
//! design's example are accepted with the documented defaults, and a bad file gets every
//! problem reported at once, by key path and line, without showing secrets.

use autoinvest::config::{Config, ConfigErrors, Credentials, Mode, PlatformSettings};
use autoinvest::opportunity::{PlatformId, PlatformKind};
use autoinvest::telemetry::LogFormat;
use rust_decimal_macros::dec;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tempfile::TempDir;

/// DESIGN.md's example, verbatim.
const DESIGN_EXAMPLE: &str = r#"
mode = "live"                 # "live" | "dry-run"; `run --dry-run` overrides to dry-run
state_dir = "state"           # sled database lives here
poll_interval = "5s"          # humantime
http_listen = "127.0.0.1:9464"  # /metrics /healthz /status /webhooks/...; "" disables

[sandbox]
enabled = true                # start the embedded emulators; platforms without base_url use them

[budget]                      # all money as strings, parsed to Decimal
daily_limit = "500.00"
total_limit = "10000.00"
cash_reserve = "0.00"

[platforms.fc]                # the table name is the platform account's id
kind = "fundingcircle"
base_url = "https://investor-api.fundingcircle.us"
username_env = "FUNDINGCIRCLE_USERNAME"
password_env = "FUNDINGCIRCLE_PASSWORD"
max_posts_per_second = 40

[platforms.fr]
kind = "fundrise"
base_url = "https://api.fundrise.com"
partner_user_env = "FUNDRISE_PARTNER_USER"
partner_password_env = "FUNDRISE_PARTNER_PASSWORD"
refresh_token_env = "FUNDRISE_REFRESH_TOKEN"
account_id = "123"
acknowledge_documents = true    # the account holder accepted the offering documents

[platforms.fa]
kind = "fundamerica"
base_url = "https://sandbox.fundamerica.com"
api_key_env = "FUNDAMERICA_API_KEY"
webhook_key_env = "FUNDAMERICA_WEBHOOK_KEY"
investor_id = "AcDqHluSTJy1nPjo7om1Ww"
payment_method = "ach"
ach_authorization_id = "c1iNJPrgToCWwLOD3pAhgg"

[platforms.ip]
kind = "issuer_portal"
base_url = "https://portal.example.com"
api_key_env = "ISSUER_PORTAL_API_KEY"
email_env = "ISSUER_PORTAL_EMAIL"
password_env = "ISSUER_PORTAL_PASSWORD"
investor_id = 1

[[strategies]]
name = "prime-loans"
script = "strategies/prime_loans.rhai"
platforms = ["fc"]            # platform ids from above; left out = every platform (and every backtest row)
max_per_opportunity = "100.00"
"#;

const SHIPPED_SCRIPTS: [&str; 6] = [
    "strategies/prime_loans.rhai",
    "strategies/yield_ladder.rhai",
    "strategies/whole_loan_sniper.rhai",
    "strategies/fundrise_dca.rhai",
    "strategies/fundamerica_equity.rhai",
    "strategies/reg_cf_filter.rhai",
];

/// A directory holding empty stand-ins for `scripts`, and the config path inside it.
fn dir_with_scripts(scripts: &[&str]) -> (TempDir, PathBuf) {
    let dir = TempDir::new().unwrap();
    for script in scripts {
        let path = dir.path().join(script);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, "fn decide(o, p) { () }\n").unwrap();
    }
    let config = dir.path().join("config.toml");
    (dir, config)
}

fn errors_of(text: &str, path: &Path) -> ConfigErrors {
    match Config::from_toml_str(text, path) {
        Ok(config) => panic!("expected errors, got {config:#?}"),
        Err(errors) => errors,
    }
}

fn keys(errors: &ConfigErrors) -> Vec<&str> {
    let mut keys: Vec<&str> = errors.errors.iter().map(|e| e.key.as_str()).collect();
    keys.sort();
    keys
}

fn message_for<'e>(errors: &'e ConfigErrors, key: &str) -> &'e str {
    errors
        .errors
        .iter()
        .find(|e| e.key == key)
        .map(|e| e.message.as_str())
        .unwrap_or_else(|| panic!("no error for {key} in:\n{errors}"))
}

fn shipped_config_text() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("config.toml")).unwrap()
}

fn addr(text: &str) -> SocketAddr {
    text.parse().unwrap()
}

fn rate(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap()
}

#[test]
fn the_shipped_config_runs_the_sandbox_with_no_credentials() {
    let (dir, path) = dir_with_scripts(&SHIPPED_SCRIPTS);
    let config = Config::from_toml_str(&shipped_config_text(), &path).unwrap();

    assert_eq!(config.path, path);
    assert_eq!(config.mode, Mode::Live);
    assert_eq!(config.state_dir, dir.path().join("state"));
    assert_eq!(config.poll_interval, Duration::from_secs(5));
    assert_eq!(config.http_listen, Some(addr("127.0.0.1:9464")));
    assert_eq!(config.log_format, LogFormat::Text);
    assert!(config.sandbox.enabled);
    assert_eq!(
        (config.sandbox.listen, config.sandbox.seed),
        (addr("127.0.0.1:0"), 42)
    );
    assert_eq!(config.budget.daily_limit, Some(dec!(2000.00)));
    assert_eq!(config.budget.total_limit, Some(dec!(10000.00)));
    assert_eq!(config.budget.cash_reserve, dec!(0.00));

    // All four platforms, none with a base_url: the sandbox serves them all.
    assert_eq!(
        config
            .platforms
            .keys()
            .map(|p| p.as_str())
            .collect::<Vec<_>>(),
        ["fa", "fc", "fr", "ip"]
    );
    for platform in config.platforms.values() {
        assert_eq!(platform.base_url, None, "{}", platform.id);
        for (key, var) in platform.credentials.env_vars() {
            assert!(config.secret(platform, var, key).is_ok(), "{key}");
        }
    }
    let fc = &config.platforms[&PlatformId::new("fc")];
    assert_eq!(
        fc,
        &PlatformSettings {
            id: PlatformId::new("fc"),
            kind: PlatformKind::FundingCircle,
            base_url: None,
            max_posts_per_second: rate(40),
            max_gets_per_second: rate(20),
            request_timeout: Duration::from_secs(15),
            min_per_order: None,
            max_per_order: None,
            daily_limit: None,
            total_limit: None,
            credentials: Credentials::FundingCircle {
                username_env: "FUNDINGCIRCLE_USERNAME".into(),
                password_env: "FUNDINGCIRCLE_PASSWORD".into(),
            },
        }
    );
    // No base_url: the sandbox stands in, so no credentials are needed.
    for (key, var) in fc.credentials.env_vars() {
        assert!(config.secret(fc, var, key).is_ok(), "{key}");
    }

    let strategies: Vec<(&str, PathBuf)> = config
        .strategies
        .iter()
        .map(|s| (s.name.as_str(), s.script.clone()))
        .collect();
    assert_eq!(
        strategies,
        [
            ("prime-loans", dir.path().join(SHIPPED_SCRIPTS[0])),
            ("yield-ladder", dir.path().join(SHIPPED_SCRIPTS[1])),
            ("whole-loan-sniper", dir.path().join(SHIPPED_SCRIPTS[2])),
            ("fundrise-dca", dir.path().join(SHIPPED_SCRIPTS[3])),
            ("fundamerica-equity", dir.path().join(SHIPPED_SCRIPTS[4])),
            ("reg-cf-filter", dir.path().join(SHIPPED_SCRIPTS[5])),
        ]
    );
    for strategy in &config.strategies {
        assert!(strategy.enabled);
        assert!(strategy.max_per_opportunity.is_some(), "{}", strategy.name);
    }
    // The loan strategies leave `platforms` out: every account, and every backtest row.
    for strategy in &config.strategies[..3] {
        assert_eq!(strategy.platforms, None);
    }
    for (strategy, platform) in config.strategies[3..].iter().zip(["fr", "fa", "ip"]) {
        assert_eq!(strategy.platforms, Some(vec![PlatformId::new(platform)]));
    }
}

#[test]
fn the_shipped_config_in_place_fails_at_most_on_missing_scripts() {
    // The scripts are written separately; until they exist, the only acceptable
    // problems are "script ... does not exist".
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config.toml");
    if let Err(errors) = Config::load(&path) {
        for error in &errors.errors {
            assert!(
                error.key.ends_with(".script") && error.message.ends_with("does not exist"),
                "{error}"
            );
        }
    }
}

#[test]
fn the_design_example_with_all_four_platforms_is_accepted() {
    let (_dir, path) = dir_with_scripts(&["strategies/prime_loans.rhai"]);
    let config = Config::from_toml_str(DESIGN_EXAMPLE, &path).unwrap();
    let platform = |id: &str| &config.platforms[&PlatformId::new(id)];

    assert_eq!(config.platforms.len(), 4);
    assert_eq!(
        platform("fc").base_url.as_deref(),
        Some("https://investor-api.fundingcircle.us")
    );
    assert_eq!(platform("fc").max_posts_per_second, rate(40));
    assert_eq!(
        platform("fr").credentials,
        Credentials::Fundrise {
            partner_user_env: "FUNDRISE_PARTNER_USER".into(),
            partner_password_env: "FUNDRISE_PARTNER_PASSWORD".into(),
            refresh_token_env: "FUNDRISE_REFRESH_TOKEN".into(),
            account_id: "123".into(),
            acknowledge_documents: true,
        }
    );
    // Platforms other than Funding Circle publish no POST rate: a cautious default.
    assert_eq!(platform("fr").max_posts_per_second, rate(10));
    assert_eq!(
        platform("fa").credentials,
        Credentials::FundAmerica {
            api_key_env: "FUNDAMERICA_API_KEY".into(),
            webhook_key_env: Some("FUNDAMERICA_WEBHOOK_KEY".into()),
            investor_id: "AcDqHluSTJy1nPjo7om1Ww".into(),
            payment_method: "ach".into(),
            ach_authorization_id: Some("c1iNJPrgToCWwLOD3pAhgg".into()),
        }
    );
    assert_eq!(
        platform("ip").credentials,
        Credentials::IssuerPortal {
            api_key_env: "ISSUER_PORTAL_API_KEY".into(),
            email_env: "ISSUER_PORTAL_EMAIL".into(),
            password_env: "ISSUER_PORTAL_PASSWORD".into(),
            investor_id: 1,
            payment_method: "wire".into(),
        }
    );
    assert_eq!(platform("ip").kind, PlatformKind::IssuerPortal);
    assert_eq!(config.strategies.len(), 1);
    assert_eq!(config.strategies[0].max_per_opportunity, Some(dec!(100.00)));
}

#[test]
fn a_file_with_many_mistakes_reports_all_of_them_at_once() {
    let (_dir, path) = dir_with_scripts(&["ok.rhai"]);
    let text = r#"
mode = "paper"
poll_interval = "500ms"
http_listen = "localhost"
colour = "blue"

[budget]
daily_limit = "abc"
total_limit = "-5.00"
cash_reserve = 10

[platforms.fc]
kind = "fundingcircle"
username_env = "FC_USER"
password_env = "FC_PASS"
max_posts_per_second = 0
max_per_ordr = "100.00"

[platforms.xx]
kind = "lendingklub"

[platforms.fa]
kind = "fundamerica"
base_url = "ftp://example.com"
api_key_env = "FA_KEY"
investor_id = "inv"
payment_method = "ach"

[[strategies]]
name = "prime loans"
script = "missing.rhai"
platforms = ["fc", "xx", "nope"]

[[strategies]]
name = "dup"
script = "ok.rhai"
daily_limit = "200.00"
total_limit = "100.00"

[[strategies]]
name = "dup"
script = "ok.rhai"
"#;
    let errors = errors_of(text, &path);
    assert_eq!(
        keys(&errors),
        [
            "budget.cash_reserve",
            "budget.daily_limit",
            "budget.total_limit",
            "colour",
            "http_listen",
            "mode",
            "platforms.fa.ach_authorization_id",
            "platforms.fa.base_url",
            "platforms.fc.base_url",
            "platforms.fc.max_per_ordr",
            "platforms.fc.max_posts_per_second",
            "platforms.xx.base_url",
            "platforms.xx.kind",
            "poll_interval",
            "strategies[0].name",
            "strategies[0].platforms",
            "strategies[0].script",
            "strategies[1].daily_limit",
            "strategies[2].name",
        ],
        "\n{errors}"
    );

    assert_eq!(
        message_for(&errors, "mode"),
        r#""paper" is not one of "live", "dry-run""#
    );
    assert!(message_for(&errors, "poll_interval").contains("between 1s and 1h"));
    assert_eq!(
        message_for(&errors, "budget.daily_limit"),
        r#""abc" is not a decimal amount (expected e.g. "10.00")"#
    );
    assert_eq!(
        message_for(&errors, "budget.total_limit"),
        "amount -5.00 is negative"
    );
    assert_eq!(
        message_for(&errors, "platforms.fc.max_per_ordr"),
        "unknown key (did you mean max_per_order?)"
    );
    assert_eq!(message_for(&errors, "colour"), "unknown key");
    assert!(message_for(&errors, "platforms.fc.base_url").contains("[sandbox] enabled = true"));
    assert!(message_for(&errors, "platforms.xx.kind").contains(r#"unknown kind "lendingklub""#));
    assert!(
        message_for(&errors, "platforms.fa.base_url").contains("not an http:// or https:// URL")
    );
    assert!(
        message_for(&errors, "platforms.fc.max_posts_per_second").contains("between 1 and 1000")
    );
    assert!(message_for(&errors, "strategies[0].script").ends_with("missing.rhai does not exist"));
    // "xx" is declared (with a bad kind): only "nope" is unknown.
    assert_eq!(
        message_for(&errors, "strategies[0].platforms"),
        r#"unknown platform "nope"; configured: "fa", "fc", "xx""#
    );
    assert_eq!(
        message_for(&errors, "strategies[1].daily_limit"),
        "200.00 is more than total_limit 100.00"
    );
    assert!(message_for(&errors, "strategies[2].name").contains(r#"duplicate strategy name "dup""#));

    // Lines point at the offending key; the display is one line per problem, in file order.
    let line_of = |key: &str| errors.errors.iter().find(|e| e.key == key).unwrap().line;
    assert_eq!(line_of("mode"), Some(2));
    assert_eq!(line_of("budget.daily_limit"), Some(8));
    assert_eq!(line_of("platforms.fc.max_per_ordr"), Some(17));
    assert_eq!(line_of("strategies[2].name"), Some(41));
    let display = errors.to_string();
    let lines: Vec<&str> = display.lines().collect();
    assert_eq!(lines.len(), 19);
    assert_eq!(
        lines[0],
        format!(
            "{}:2: mode: \"paper\" is not one of \"live\", \"dry-run\"",
            path.display()
        )
    );
    assert!(lines.iter().any(|l| l.ends_with(
        ":8: budget.daily_limit: \"abc\" is not a decimal amount (expected e.g. \"10.00\")"
    )));
}

#[test]
fn money_written_as_a_number_is_refused_with_a_hint() {
    let (_dir, path) = dir_with_scripts(&[]);
    let errors = errors_of("[budget]\ndaily_limit = 500.5\ntotal_limit = 1000\n", &path);
    assert_eq!(keys(&errors), ["budget.daily_limit", "budget.total_limit"]);
    assert_eq!(
        message_for(&errors, "budget.daily_limit"),
        "500.5 is a number: write amounts as strings, e.g. \"500.00\" (floats would lose cents)"
    );
    assert!(message_for(&errors, "budget.total_limit").starts_with("1000 is a number"));
}

#[test]
fn secrets_in_the_file_are_refused_without_being_shown() {
    let (_dir, path) = dir_with_scripts(&[]);
    let text = r#"
[platforms.fc]
kind = "fundingcircle"
base_url = "https://investor-api.fundingcircle.us"
username_env = "FC_USER"
password_env = "FC_PASS"
password = "hunter2-distinctive"

[platforms.fr]
kind = "fundrise"
base_url = "https://user:hunter3-distinctive@api.fundrise.com"
partner_user_env = "FR_USER"
partner_password_env = "hunter4-distinctive pasted by mistake"
refresh_token_env = "FR_TOKEN"
token = "hunter5-distinctive"
account_id = "123"

[platforms.fa]
kind = "fundamerica"
base_url = "https://sandbox.fundamerica.com"
api_key = "hunter6-distinctive"
investor_id = "inv"
payment_method = "wire"
"#;
    let errors = errors_of(text, &path);
    assert_eq!(
        keys(&errors),
        [
            "platforms.fa.api_key",
            "platforms.fa.api_key_env",
            "platforms.fc.password",
            "platforms.fr.base_url",
            "platforms.fr.partner_password_env",
            "platforms.fr.token",
        ],
        "\n{errors}"
    );
    assert_eq!(
        message_for(&errors, "platforms.fc.password"),
        "put secrets in environment variables: use password_env"
    );
    assert_eq!(
        message_for(&errors, "platforms.fa.api_key"),
        "put secrets in environment variables: use api_key_env"
    );
    assert_eq!(
        message_for(&errors, "platforms.fr.token"),
        "put secrets in environment variables: use refresh_token_env"
    );
    assert!(message_for(&errors, "platforms.fr.base_url").contains("must not contain credentials"));
    assert!(message_for(&errors, "platforms.fa.api_key_env").starts_with("missing"));
    let shown = format!("{errors}\n{errors:?}");
    assert!(!shown.contains("hunter"), "a secret leaked:\n{shown}");
}

#[test]
fn a_missing_secret_names_the_variable_and_the_key() {
    let (_dir, path) = dir_with_scripts(&[]);
    let text = r#"
[platforms.fc]
kind = "fundingcircle"
base_url = "https://investor-api.fundingcircle.us/"
username_env = "AUTOINVEST_TEST_FC_USER_SET"
password_env = "AUTOINVEST_TEST_FC_PASSWORD_UNSET"
"#;
    let config = Config::from_toml_str(text, &path).unwrap();
    let fc = &config.platforms[&PlatformId::new("fc")];
    assert_eq!(
        fc.base_url.as_deref(),
        Some("https://investor-api.fundingcircle.us")
    );

    std::env::remove_var("AUTOINVEST_TEST_FC_PASSWORD_UNSET");
    let error = config
        .secret(fc, "AUTOINVEST_TEST_FC_PASSWORD_UNSET", "password_env")
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "platforms.fc.password_env: environment variable AUTOINVEST_TEST_FC_PASSWORD_UNSET is not set"
    );
    // A caller may pass the full key path.
    let error = config
        .secret(
            fc,
            "AUTOINVEST_TEST_FC_PASSWORD_UNSET",
            "platforms.fc.password_env",
        )
        .unwrap_err();
    assert_eq!(error.key, "platforms.fc.password_env");

    std::env::set_var("AUTOINVEST_TEST_FC_USER_EMPTY", "");
    let error = config
        .secret(fc, "AUTOINVEST_TEST_FC_USER_EMPTY", "username_env")
        .unwrap_err();
    assert_eq!(
        error.message,
        "environment variable AUTOINVEST_TEST_FC_USER_EMPTY is empty"
    );

    std::env::set_var("AUTOINVEST_TEST_FC_USER_SET", "alice@example.com");
    let secret = config
        .secret(fc, "AUTOINVEST_TEST_FC_USER_SET", "username_env")
        .unwrap();
    assert_eq!(secret.expose(), "alice@example.com");
}

#[test]
fn a_platform_served_by_the_sandbox_falls_back_to_a_placeholder_secret() {
    let (_dir, path) = dir_with_scripts(&[]);
    let text = r#"
[sandbox]
enabled = true

[platforms.fr]
kind = "fundrise"
partner_user_env = "AUTOINVEST_TEST_FR_USER_UNSET"
partner_password_env = "AUTOINVEST_TEST_FR_PASSWORD_UNSET"
refresh_token_env = "AUTOINVEST_TEST_FR_TOKEN_SET"
account_id = "123"
"#;
    let config = Config::from_toml_str(text, &path).unwrap();
    let fr = &config.platforms[&PlatformId::new("fr")];
    assert_eq!(fr.base_url, None);
    assert_eq!(fr.max_gets_per_second, rate(20));
    std::env::remove_var("AUTOINVEST_TEST_FR_USER_UNSET");
    let secret = config
        .secret(fr, "AUTOINVEST_TEST_FR_USER_UNSET", "partner_user_env")
        .unwrap();
    assert_eq!(secret.expose(), "sandbox");
    // A variable that is set is used even with the sandbox.
    std::env::set_var("AUTOINVEST_TEST_FR_TOKEN_SET", "refresh-123");
    let secret = config
        .secret(fr, "AUTOINVEST_TEST_FR_TOKEN_SET", "refresh_token_env")
        .unwrap();
    assert_eq!(secret.expose(), "refresh-123");
    assert_eq!(
        fr.credentials.env_vars(),
        [
            ("partner_user_env", "AUTOINVEST_TEST_FR_USER_UNSET"),
            ("partner_password_env", "AUTOINVEST_TEST_FR_PASSWORD_UNSET"),
            ("refresh_token_env", "AUTOINVEST_TEST_FR_TOKEN_SET"),
        ]
    );
}

#[test]
fn relative_paths_are_resolved_against_the_config_directory() {
    let dir = TempDir::new().unwrap();
    let config_dir = dir.path().join("etc/autoinvest");
    std::fs::create_dir_all(config_dir.join("scripts")).unwrap();
    std::fs::write(config_dir.join("scripts/a.rhai"), "").unwrap();
    let absolute_script = dir.path().join("elsewhere.rhai");
    std::fs::write(&absolute_script, "").unwrap();
    let path = config_dir.join("config.toml");
    let text = format!(
        r#"
state_dir = "data/state"

[[strategies]]
name = "a"
script = "scripts/a.rhai"

[[strategies]]
name = "b"
script = {absolute:?}
"#,
        absolute = absolute_script.display().to_string()
    );
    std::fs::write(&path, text).unwrap();

    let config = Config::load(&path).unwrap();
    assert_eq!(config.path, path);
    assert_eq!(config.state_dir, config_dir.join("data/state"));
    assert_eq!(
        config.strategies[0].script,
        config_dir.join("scripts/a.rhai")
    );
    assert_eq!(config.strategies[1].script, absolute_script);
}

#[test]
fn a_backtest_only_config_without_platforms_is_valid() {
    let (_dir, path) = dir_with_scripts(&["s.rhai"]);
    let text = r#"
[budget]
daily_limit = "1000.00"

[[strategies]]
name = "grade-a"
script = "s.rhai"
platforms = ["lendingclub"]
max_per_opportunity = "25.00"
enabled = false
"#;
    let config = Config::from_toml_str(text, &path).unwrap();
    assert!(config.platforms.is_empty());
    assert!(!config.sandbox.enabled);
    assert_eq!(config.budget.total_limit, None);
    assert_eq!(config.budget.cash_reserve, dec!(0));
    let strategy = &config.strategies[0];
    assert_eq!(
        strategy.platforms,
        Some(vec![PlatformId::new("lendingclub")])
    );
    assert!(!strategy.enabled);
}

#[test]
fn defaults_fill_in_what_is_left_out_and_http_listen_can_be_disabled() {
    let (_dir, path) = dir_with_scripts(&[]);
    let config = Config::from_toml_str("", &path).unwrap();
    assert_eq!(config.mode, Mode::Live);
    assert_eq!(config.http_listen, Some(addr("127.0.0.1:9464")));
    assert_eq!(config.poll_interval, Duration::from_secs(5));
    assert_eq!(config.unhealthy_after, 3);
    assert!(config.strategies.is_empty() && config.platforms.is_empty());

    let text = r#"
mode = "dry-run"
http_listen = ""
log_format = "json"
poll_interval = "1m 30s"
unhealthy_after = 10
"#;
    let config = Config::from_toml_str(text, &path).unwrap();
    assert_eq!(config.unhealthy_after, 10);
    let errors = errors_of("unhealthy_after = 0", &path);
    assert_eq!(keys(&errors), ["unhealthy_after"]);
    assert_eq!(config.mode, Mode::DryRun);
    assert_eq!(config.http_listen, None);
    assert_eq!(config.log_format, LogFormat::Json);
    assert_eq!(config.poll_interval, Duration::from_secs(90));
}

#[test]
fn per_kind_rules_are_checked() {
    let (_dir, path) = dir_with_scripts(&[]);
    let text = r#"
[sandbox]
enabled = true

[platforms.ip]
kind = "issuer_portal"
api_key_env = "IP_KEY"
email_env = "IP_EMAIL"
investor_id = -1
min_per_order = "500.00"
max_per_order = "100.00"
max_gets_per_second = 1001
request_timeout = "0s"

[platforms.fa]
kind = "fundamerica"
api_key_env = "FA_KEY"
investor_id = "inv"
payment_method = "bitcoin"
"#;
    let errors = errors_of(text, &path);
    assert_eq!(
        keys(&errors),
        [
            "platforms.fa.payment_method",
            "platforms.ip.investor_id",
            "platforms.ip.max_gets_per_second",
            "platforms.ip.min_per_order",
            "platforms.ip.password_env",
            "platforms.ip.request_timeout",
        ],
        "\n{errors}"
    );
    assert_eq!(
        message_for(&errors, "platforms.fa.payment_method"),
        r#""bitcoin" is not one of "ach", "check", "wire""#
    );
    assert_eq!(
        message_for(&errors, "platforms.ip.min_per_order"),
        "500.00 is more than max_per_order 100.00"
    );
    assert_eq!(
        message_for(&errors, "platforms.ip.password_env"),
        "missing (required)"
    );
}

#[test]
fn wrong_types_and_inline_tables_are_handled() {
    let (_dir, path) = dir_with_scripts(&["s.rhai"]);
    let text = r#"
sandbox = { enabled = "yes" }
budget = 5
strategies = [{ name = "s", script = "s.rhai", enabled = 1 }, "not a table"]
"#;
    let errors = errors_of(text, &path);
    assert_eq!(
        keys(&errors),
        [
            "budget",
            "sandbox.enabled",
            "strategies[0].enabled",
            "strategies[1]"
        ],
        "\n{errors}"
    );
    assert_eq!(
        message_for(&errors, "sandbox.enabled"),
        "expected true or false, found a string"
    );
    assert_eq!(
        message_for(&errors, "budget"),
        "expected a table, found an integer"
    );
}

#[test]
fn an_unreadable_file_is_an_error_naming_it() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("nope.toml");
    let errors = Config::load(&path).unwrap_err();
    assert_eq!(errors.path, path);
    assert_eq!(errors.errors.len(), 1);
    let display = errors.to_string();
    assert!(
        display.starts_with(&format!("{}: cannot read the file:", path.display())),
        "{display}"
    );
}

#[test]
fn a_syntax_error_stops_with_its_position() {
    let (_dir, path) = dir_with_scripts(&[]);
    let errors = errors_of(
        "[budget]\ndaily_limit = \"1.00\"\ndaily_limit = \"2.00\"\n",
        &path,
    );
    assert_eq!(errors.errors.len(), 1, "{errors}");
    assert_eq!(errors.errors[0].line, Some(3));
    assert!(errors.errors[0]
        .message
        .starts_with("invalid TOML at line 3"));
}
