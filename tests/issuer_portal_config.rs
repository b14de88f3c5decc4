//! The issuer portal's config keys: `payment_method` (optional, "wire" by default,
//! one of the seed's `requested_payment_method` choices), and the assembly of its
//! client from a config — with the sandbox's placeholder secrets when it has no
//! `base_url`.

use autoinvest::app::build_client;
use autoinvest::config::{Config, Credentials};
use autoinvest::opportunity::{PlatformId, PlatformKind};
use autoinvest::telemetry::Metrics;
use std::path::PathBuf;

fn config_text(platform: &str) -> String {
    format!(
        r#"
[sandbox]
enabled = true

[platforms.ip]
kind = "issuer_portal"
api_key_env = "AUTOINVEST_TEST_IP_UNSET_KEY"
email_env = "AUTOINVEST_TEST_IP_UNSET_EMAIL"
password_env = "AUTOINVEST_TEST_IP_UNSET_PASSWORD"
investor_id = 7
{platform}
"#
    )
}

fn load(platform: &str) -> Result<Config, autoinvest::config::ConfigErrors> {
    Config::from_toml_str(&config_text(platform), &PathBuf::from("config.toml"))
}

fn payment_method(config: &Config) -> String {
    match &config.platforms[&PlatformId::new("ip")].credentials {
        Credentials::IssuerPortal { payment_method, .. } => payment_method.clone(),
        other => panic!("not issuer portal credentials: {other:?}"),
    }
}

#[test]
fn payment_method_defaults_to_wire_and_takes_the_seeds_choices() {
    assert_eq!(payment_method(&load("").unwrap()), "wire");
    for method in ["card", "wire", "ira", "other", "crypto"] {
        let config = load(&format!("payment_method = \"{method}\"")).unwrap();
        assert_eq!(payment_method(&config), method);
    }
}

#[test]
fn an_unknown_payment_method_is_reported_with_its_key_line_and_choices() {
    let errors = load("payment_method = \"cash\"").unwrap_err();
    assert_eq!(errors.errors.len(), 1, "{errors}");
    let error = &errors.errors[0];
    assert_eq!(error.key, "platforms.ip.payment_method");
    assert_eq!(error.line, Some(11));
    assert!(error.message.contains("\"cash\""), "{}", error.message);
    for choice in ["card", "wire", "ira", "other", "crypto"] {
        assert!(error.message.contains(choice), "{}", error.message);
    }
}

#[test]
fn the_client_is_built_against_the_sandbox_with_placeholder_secrets() {
    let config = load("").unwrap();
    let settings = &config.platforms[&PlatformId::new("ip")];
    let client = build_client(
        &config,
        settings,
        Some("http://127.0.0.1:9/issuer_portal".into()),
        Metrics::new(),
    )
    .unwrap();
    assert_eq!(client.kind(), PlatformKind::IssuerPortal);
    assert_eq!(client.id().as_str(), "ip");
}

#[test]
fn with_a_base_url_missing_secrets_are_an_error_naming_the_key() {
    let config = load("base_url = \"https://portal.example.com\"").unwrap();
    let settings = &config.platforms[&PlatformId::new("ip")];
    let error = build_client(&config, settings, None, Metrics::new())
        .err()
        .expect("the environment variables are not set");
    let message = error.to_string();
    assert!(message.contains("platforms.ip.api_key_env"), "{message}");
    assert!(
        message.contains("AUTOINVEST_TEST_IP_UNSET_KEY"),
        "{message}"
    );
}
