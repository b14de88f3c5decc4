//! Session tokens for the platforms that log in (Funding Circle, Fundrise, the issuer
//! portal): when a token is renewed, and one cache per client so that concurrent
//! requests wait for a single login instead of starting several.

use super::http::CallError;
use super::PlatformError;
use crate::secret::Secret;
use std::future::Future;
use std::time::Duration;
use tokio::time::Instant;

/// A token is renewed when less than this is left of its life.
pub const RENEW_BEFORE_EXPIRY: Duration = Duration::from_secs(5 * 60);

/// A token and when to stop using it.
#[derive(Debug)]
pub struct SessionToken {
    pub value: Secret,
    pub renew_at: Instant,
}

impl SessionToken {
    /// A token valid for `lifetime` from now: renewed [`RENEW_BEFORE_EXPIRY`] before it
    /// expires, or at half its life when it is short (rather than a login per request).
    pub fn new(value: Secret, lifetime: Duration) -> SessionToken {
        let margin = RENEW_BEFORE_EXPIRY.min(lifetime / 2);
        SessionToken {
            value,
            renew_at: Instant::now() + (lifetime - margin),
        }
    }

    pub fn is_fresh(&self) -> bool {
        Instant::now() < self.renew_at
    }
}

/// The current token of one client.
#[derive(Debug, Default)]
pub struct TokenCache(tokio::sync::Mutex<Option<SessionToken>>);

impl TokenCache {
    /// A fresh token: the cached one unless it is stale or is the `refused` one (a 401
    /// answered it), else a new one from `fetch`. The lock is held across `fetch`.
    pub async fn get<F, Fut>(
        &self,
        refused: Option<&Secret>,
        fetch: F,
    ) -> Result<Secret, PlatformError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<SessionToken, PlatformError>>,
    {
        let mut cached = self.0.lock().await;
        if let Some(token) = cached.as_ref() {
            if token.is_fresh() && Some(&token.value) != refused {
                return Ok(token.value.clone());
            }
        }
        *cached = None;
        let token = fetch().await?;
        let value = token.value.clone();
        *cached = Some(token);
        Ok(value)
    }

    /// Forgets the token and hands it over (to log it out), if there is one.
    pub async fn take(&self) -> Option<SessionToken> {
        self.0.lock().await.take()
    }
}

/// Login failures, in terms the executor acts on: refused credentials (or a token answer
/// that cannot be read) are `Auth`; a 401 is already `Auth`; transport trouble stays as
/// it is, so the login is retried later.
pub fn login_failed(error: CallError) -> PlatformError {
    match PlatformError::from(error) {
        PlatformError::Rejected {
            platform,
            status,
            message,
        } => PlatformError::Auth {
            platform,
            message: format!("login refused ({status}): {message}"),
        },
        PlatformError::BadResponse { platform, message } => PlatformError::Auth {
            platform,
            message: format!("login answer unusable: {message}"),
        },
        other => other,
    }
}
