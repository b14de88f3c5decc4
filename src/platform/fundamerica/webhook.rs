//! FundAmerica webhooks: the platform POSTs a form with one parameter, `data`, holding
//! a JSON message about an object that changed (`object`, `id`, `url`, `webhook_id`,
//! `signature`, `action`, `changes`). The changes themselves are not sent: a webhook
//! only says what to fetch.
//!
//! Handling, in order (each step refuses what the previous let through):
//!
//! 1. parse `data` — unusable: 400, outcome `malformed`;
//! 2. signature = MD5 hex of `webhook_id` + the account's verification key, compared
//!    in constant time against every configured account — no match: 401, `forged`;
//! 3. room to hand the event to the daemon — none: 503, `unavailable` (the platform
//!    retries every minute, ten times);
//! 4. `webhook_id` recorded durably in the store, once — seen before: 409, `replayed`;
//! 5. the event ([`WebhookEvent`], naming what to [`Fetch`]) goes to the daemon: 200.
//!
//! Every outcome is counted in `autoinvest_webhooks_total{platform,outcome}` (the
//! account id, or `unknown` before the signature identified one). Nothing a webhook
//! says is trusted beyond "look at this object": the daemon fetches its state with
//! [`super::FundAmericaClient::investment_status`].

use super::wire::{last_segment, WebhookMessage};
use crate::config::{Config, ConfigError, Credentials};
use crate::opportunity::PlatformId;
use crate::secret::Secret;
use crate::store::Store;
use crate::telemetry::Metrics;
use axum::extract::rejection::FormRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Form, Json, Router};
use chrono::Utc;
use md5::{Digest, Md5};
use serde::Deserialize;
use std::sync::Arc;
use subtle::ConstantTimeEq;
use tokio::sync::mpsc;

/// Where the daemon's HTTP endpoint serves FundAmerica webhooks.
pub const WEBHOOK_PATH: &str = "/webhooks/fundamerica";

/// Largest webhook body accepted: real messages are a few hundred bytes.
pub const MAX_WEBHOOK_BYTES: usize = 64 * 1024;

/// The `platform` label of a webhook no account's key signed.
pub const UNKNOWN_PLATFORM: &str = "unknown";

/// An account whose webhooks are accepted, with its verification key (from the
/// Webhook Configuration settings; the config names its environment variable in
/// `webhook_key_env`).
#[derive(Debug, Clone)]
pub struct WebhookAccount {
    pub platform: PlatformId,
    pub verification_key: Secret,
}

impl WebhookAccount {
    /// Every FundAmerica account of `config` with a `webhook_key_env`, its key read
    /// from the environment (the placeholder "sandbox" for a sandboxed account whose
    /// variable is not set, as for every other secret).
    pub fn from_config(config: &Config) -> Result<Vec<WebhookAccount>, ConfigError> {
        let mut accounts = Vec::new();
        for settings in config.platforms.values() {
            let Credentials::FundAmerica {
                webhook_key_env: Some(env_var),
                ..
            } = &settings.credentials
            else {
                continue;
            };
            accounts.push(WebhookAccount {
                platform: settings.id.clone(),
                verification_key: config.secret(settings, env_var, "webhook_key_env")?,
            });
        }
        Ok(accounts)
    }
}

/// What a verified webhook asks the daemon to look at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetch {
    /// An investment changed: fetch it with `investment_status(id)`.
    Investment { id: String },
    /// An offering changed (e.g. it stopped accepting investments): the next poll
    /// sees its state.
    Offering { id: String },
    /// An object the daemon does not track (entity, escrow, …).
    Other { object: String, id: String },
}

impl Fetch {
    /// The id of the object to look at.
    pub fn id(&self) -> &str {
        match self {
            Fetch::Investment { id } | Fetch::Offering { id } | Fetch::Other { id, .. } => id,
        }
    }

    /// From the message's `object` and `id` (or, lacking an id, its `url`).
    pub fn of(message: &WebhookMessage) -> Fetch {
        let id = if message.id.is_empty() {
            message
                .url
                .as_deref()
                .and_then(last_segment)
                .unwrap_or_default()
        } else {
            message.id.clone()
        };
        match message.object.as_str() {
            "investment" => Fetch::Investment { id },
            "offering" => Fetch::Offering { id },
            other => Fetch::Other {
                object: other.to_string(),
                id,
            },
        }
    }
}

/// A verified, first-time webhook, handed to the daemon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEvent {
    /// The account whose verification key signed it.
    pub platform: PlatformId,
    pub webhook_id: String,
    /// "create" or "update".
    pub action: Option<String>,
    /// The names of the attributes that changed.
    pub changes: Vec<String>,
    pub fetch: Fetch,
}

/// Why a webhook was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    #[error("malformed webhook: {0}")]
    Malformed(String),
    #[error("webhook signature does not match any account's verification key")]
    Forged,
    #[error("webhook {webhook_id} was already processed")]
    Replayed {
        platform: PlatformId,
        webhook_id: String,
    },
    /// Not processed (and not recorded): the platform may send it again.
    #[error("webhook not processed: {message}")]
    Unavailable {
        platform: PlatformId,
        message: String,
    },
}

impl WebhookError {
    /// The `outcome` label.
    pub fn outcome(&self) -> &'static str {
        match self {
            WebhookError::Malformed(_) => "malformed",
            WebhookError::Forged => "forged",
            WebhookError::Replayed { .. } => "replayed",
            WebhookError::Unavailable { .. } => "unavailable",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            WebhookError::Malformed(_) => StatusCode::BAD_REQUEST,
            WebhookError::Forged => StatusCode::UNAUTHORIZED,
            WebhookError::Replayed { .. } => StatusCode::CONFLICT,
            WebhookError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The `platform` label: the account, once the signature named one.
    fn platform(&self) -> &str {
        match self {
            WebhookError::Malformed(_) | WebhookError::Forged => UNKNOWN_PLATFORM,
            WebhookError::Replayed { platform, .. }
            | WebhookError::Unavailable { platform, .. } => platform.as_str(),
        }
    }
}

/// The `data` parameter as a message. Every documented field but `url`, `action` and
/// `changes` is required; `webhook_id` and `signature` must not be empty, and the
/// object must be named (by `id`, or else by `url`).
pub fn parse_data(data: &str) -> Result<WebhookMessage, WebhookError> {
    let message: WebhookMessage = serde_json::from_str(data).map_err(|error| {
        WebhookError::Malformed(format!("data is not a webhook message: {error}"))
    })?;
    if message.webhook_id.trim().is_empty() || message.signature.trim().is_empty() {
        return Err(WebhookError::Malformed(
            "webhook_id and signature must not be empty".to_string(),
        ));
    }
    if Fetch::of(&message).id().trim().is_empty() {
        return Err(WebhookError::Malformed(
            "the message names no object id".to_string(),
        ));
    }
    Ok(message)
}

/// MD5 hex digest of `webhook_id` followed by the verification key.
pub fn expected_signature(webhook_id: &str, verification_key: &Secret) -> String {
    let mut md5 = Md5::new();
    md5.update(webhook_id.as_bytes());
    md5.update(verification_key.expose().as_bytes());
    hex::encode(md5.finalize())
}

/// Whether `signature` is `webhook_id`'s signature under `verification_key`, compared
/// in constant time (hex case ignored). An empty key never matches: anyone could
/// compute its signatures.
pub fn signature_matches(webhook_id: &str, signature: &str, verification_key: &Secret) -> bool {
    if verification_key.expose().is_empty() {
        return false;
    }
    let expected = expected_signature(webhook_id, verification_key);
    let given = signature.trim().to_ascii_lowercase();
    bool::from(expected.as_bytes().ct_eq(given.as_bytes()))
}

/// The account whose key signed `message`. Every account is tried, so how long this
/// takes does not depend on which one matched.
pub fn authenticate<'a>(
    message: &WebhookMessage,
    accounts: &'a [WebhookAccount],
) -> Result<&'a WebhookAccount, WebhookError> {
    let mut signer = None;
    for account in accounts {
        if signature_matches(
            &message.webhook_id,
            &message.signature,
            &account.verification_key,
        ) && signer.is_none()
        {
            signer = Some(account);
        }
    }
    signer.ok_or(WebhookError::Forged)
}

/// Verifies webhooks, records each `webhook_id` once and hands the events to the
/// daemon over a channel.
#[derive(Clone)]
pub struct WebhookReceiver {
    accounts: Arc<[WebhookAccount]>,
    store: Store,
    metrics: Arc<Metrics>,
    events: mpsc::Sender<WebhookEvent>,
}

impl std::fmt::Debug for WebhookReceiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let platforms: Vec<&str> = self.accounts.iter().map(|a| a.platform.as_str()).collect();
        f.debug_struct("WebhookReceiver")
            .field("accounts", &platforms)
            .finish()
    }
}

impl WebhookReceiver {
    pub fn new(
        accounts: Vec<WebhookAccount>,
        store: Store,
        metrics: Arc<Metrics>,
        events: mpsc::Sender<WebhookEvent>,
    ) -> WebhookReceiver {
        WebhookReceiver {
            accounts: accounts.into(),
            store,
            metrics,
            events,
        }
    }

    /// Handles the `data` of one webhook POST, counts the outcome, and returns the
    /// event that was handed to the daemon.
    pub fn receive(&self, data: &str) -> Result<WebhookEvent, WebhookError> {
        let outcome = self.process(data);
        let (platform, label) = match &outcome {
            Ok(event) => (event.platform.as_str(), "accepted"),
            Err(error) => (error.platform(), error.outcome()),
        };
        self.metrics
            .webhooks_total
            .with_label_values(&[platform, label])
            .inc();
        match &outcome {
            Ok(event) => {
                tracing::info!(platform, webhook_id = %event.webhook_id, fetch = ?event.fetch, "webhook accepted")
            }
            Err(error) => tracing::warn!(platform, outcome = label, %error, "webhook refused"),
        }
        outcome
    }

    fn process(&self, data: &str) -> Result<WebhookEvent, WebhookError> {
        let message = parse_data(data)?;
        let account = authenticate(&message, &self.accounts)?;
        let unavailable = |message: String| WebhookError::Unavailable {
            platform: account.platform.clone(),
            message,
        };
        // Room first: a webhook recorded as processed must never be dropped after.
        let permit = self.events.try_reserve().map_err(|error| match error {
            mpsc::error::TrySendError::Full(()) => unavailable("the daemon is busy".into()),
            mpsc::error::TrySendError::Closed(()) => {
                unavailable("the daemon is not taking webhooks".into())
            }
        })?;
        let first_time = self
            .store
            .mark_webhook_processed(&message.webhook_id, Utc::now())
            .map_err(|error| unavailable(format!("cannot record it: {error}")))?;
        if !first_time {
            return Err(WebhookError::Replayed {
                platform: account.platform.clone(),
                webhook_id: message.webhook_id,
            });
        }
        let event = WebhookEvent {
            platform: account.platform.clone(),
            fetch: Fetch::of(&message),
            webhook_id: message.webhook_id,
            action: message.action,
            changes: message.changes,
        };
        permit.send(event.clone());
        Ok(event)
    }
}

/// The form FundAmerica posts.
#[derive(Debug, Deserialize)]
struct WebhookForm {
    data: String,
}

/// `POST /webhooks/fundamerica`, to be merged into the daemon's router.
pub fn webhook_router(receiver: WebhookReceiver) -> Router {
    Router::new()
        .route(WEBHOOK_PATH, post(handle_webhook))
        .layer(DefaultBodyLimit::max(MAX_WEBHOOK_BYTES))
        .with_state(receiver)
}

async fn handle_webhook(
    State(receiver): State<WebhookReceiver>,
    form: Result<Form<WebhookForm>, FormRejection>,
) -> Response {
    let outcome = match form {
        Ok(Form(form)) => receiver.receive(&form.data),
        Err(rejection) => {
            let error = WebhookError::Malformed(rejection.body_text());
            receiver
                .metrics
                .webhooks_total
                .with_label_values(&[UNKNOWN_PLATFORM, error.outcome()])
                .inc();
            tracing::warn!(%error, "webhook refused");
            Err(error)
        }
    };
    match outcome {
        Ok(event) => Json(serde_json::json!({"status": "ok", "webhook_id": event.webhook_id}))
            .into_response(),
        Err(error) => (
            error.status(),
            Json(serde_json::json!({"error": error.to_string()})),
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(text: &str) -> Secret {
        Secret::new(text)
    }

    fn message(webhook_id: &str, signature: &str) -> WebhookMessage {
        parse_data(
            &serde_json::json!({
                "object": "investment", "id": "LckF85F4R8Soe3Why-NZzw",
                "url": "https://apps.fundamerica.com/api/investments/LckF85F4R8Soe3Why-NZzw",
                "webhook_id": webhook_id, "signature": signature,
                "action": "update", "changes": ["status"]
            })
            .to_string(),
        )
        .unwrap()
    }

    #[test]
    fn the_signature_is_md5_hex_of_the_id_then_the_key() {
        // md5("abc") is the RFC 1321 test vector: the id and key are concatenated.
        assert_eq!(
            expected_signature("a", &key("bc")),
            "900150983cd24fb0d6963f7d28e17f72"
        );
        let signature = expected_signature("R38DyKhFS_Ke6OhtzjMvcQ", &key("verify-me"));
        assert!(signature_matches(
            "R38DyKhFS_Ke6OhtzjMvcQ",
            &signature,
            &key("verify-me")
        ));
        assert!(signature_matches(
            "R38DyKhFS_Ke6OhtzjMvcQ",
            &signature.to_uppercase(),
            &key("verify-me")
        ));
        assert!(!signature_matches(
            "R38DyKhFS_Ke6OhtzjMvcQ",
            &signature,
            &key("other")
        ));
        assert!(!signature_matches(
            "another-id",
            &signature,
            &key("verify-me")
        ));
        assert!(!signature_matches(
            "R38DyKhFS_Ke6OhtzjMvcQ",
            "",
            &key("verify-me")
        ));
        assert!(!signature_matches(
            "",
            &expected_signature("", &key("")),
            &key("")
        ));
    }

    #[test]
    fn the_signing_account_is_found_among_several() {
        let accounts = vec![
            WebhookAccount {
                platform: PlatformId::new("fa1"),
                verification_key: key("k1"),
            },
            WebhookAccount {
                platform: PlatformId::new("fa2"),
                verification_key: key("k2"),
            },
        ];
        let signed = message("w1", &expected_signature("w1", &key("k2")));
        assert_eq!(
            authenticate(&signed, &accounts).unwrap().platform.as_str(),
            "fa2"
        );
        let forged = message("w1", &expected_signature("w1", &key("k3")));
        assert_eq!(
            authenticate(&forged, &accounts).unwrap_err(),
            WebhookError::Forged
        );
        assert_eq!(
            authenticate(&signed, &[]).unwrap_err(),
            WebhookError::Forged
        );
    }

    #[test]
    fn the_seed_example_parses_and_names_what_to_fetch() {
        let seed = r#"{
          "object":"investment",
          "id":"LckF85F4R8Soe3Why-NZzw",
          "url":"https://apps.fundamerica.com/api/investments/LckF85F4R8Soe3Why-NZzw",
          "webhook_id":"R38DyKhFS_Ke6OhtzjMvcQ",
          "signature":"b8a2f282649eebbfac85be3a959942b9",
          "action":"update",
          "changes":["status"]
        }"#;
        let message = parse_data(seed).unwrap();
        assert_eq!(message.webhook_id, "R38DyKhFS_Ke6OhtzjMvcQ");
        assert_eq!(message.signature, "b8a2f282649eebbfac85be3a959942b9");
        assert_eq!(message.action.as_deref(), Some("update"));
        assert_eq!(message.changes, ["status"]);
        assert_eq!(
            Fetch::of(&message),
            Fetch::Investment {
                id: "LckF85F4R8Soe3Why-NZzw".into()
            }
        );
    }

    #[test]
    fn fetch_follows_the_object_kind() {
        let of = |object: &str, id: &str| {
            Fetch::of(&WebhookMessage {
                object: object.into(),
                id: id.into(),
                url: Some(format!(
                    "https://apps.fundamerica.com/api/x/{object}-from-url"
                )),
                webhook_id: "w".into(),
                signature: "s".into(),
                action: None,
                changes: vec![],
            })
        };
        assert_eq!(of("offering", "o1"), Fetch::Offering { id: "o1".into() });
        assert_eq!(
            of("entity", "e1"),
            Fetch::Other {
                object: "entity".into(),
                id: "e1".into()
            }
        );
        assert_eq!(
            of("investment", ""),
            Fetch::Investment {
                id: "investment-from-url".into()
            }
        );
    }

    #[test]
    fn malformed_data_is_refused() {
        for data in [
            "",
            "not json",
            "[]",
            r#"{"object":"investment","id":"i","signature":"s"}"#,
            r#"{"object":"investment","id":"i","webhook_id":" ","signature":"s"}"#,
            r#"{"object":"investment","id":"i","webhook_id":"w","signature":""}"#,
            r#"{"object":"investment","id":"","webhook_id":"w","signature":"s"}"#,
        ] {
            let error = parse_data(data).unwrap_err();
            assert_eq!(error.outcome(), "malformed", "{data}");
            assert_eq!(error.status(), StatusCode::BAD_REQUEST);
        }
    }
}
