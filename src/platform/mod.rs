//! Platform clients: one module per platform API behind [`PlatformClient`].
//!
//! Each module keeps its wire types (serde structs named after the platform's JSON)
//! next to the mapping into the domain model. Pacing, 429 handling and HTTP metrics
//! live in the shared [`http`] layer every client sends through.

pub mod fundamerica;
pub mod fundingcircle;
pub mod fundrise;
pub mod http;
pub mod issuer_portal;
pub mod session;

use crate::opportunity::{Opportunity, PlatformId, PlatformKind};
use crate::order::{OrderIntent, PlatformOrder};
use rust_decimal::Decimal;
use std::time::Duration;

/// What went wrong talking to a platform, and so what is safe to do next.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PlatformError {
    /// The request certainly did not reach the platform (DNS, connect refused, TLS).
    /// Safe to retry, even for an order.
    #[error("cannot reach {platform}: {message}")]
    Connectivity { platform: String, message: String },
    /// 429: nothing was done; wait `retry_after` (or back off) before the next request.
    #[error("{platform} rate-limited the request (retry after {retry_after:?})")]
    RateLimited {
        platform: String,
        retry_after: Option<Duration>,
    },
    /// The platform refused the request (4xx with a reason): nothing was done, and
    /// sending the same request again will be refused again.
    #[error("{platform} rejected the request ({status}): {message}")]
    Rejected {
        platform: String,
        status: u16,
        message: String,
    },
    /// Credentials refused (401/403 on login).
    #[error("{platform} refused the credentials: {message}")]
    Auth { platform: String, message: String },
    /// The request may have been acted on but no usable answer came back (timeout after
    /// sending, connection dropped, 5xx, unparseable body). For an order: reconcile
    /// before doing anything else.
    #[error("{platform}: outcome unknown: {message}")]
    Ambiguous { platform: String, message: String },
    /// A response arrived but its content is unusable (malformed JSON, missing fields,
    /// absurd numbers). For a GET this is a failed poll; for an order it is ambiguous.
    #[error("{platform} sent a malformed response: {message}")]
    BadResponse { platform: String, message: String },
}

impl PlatformError {
    /// Short label for metrics and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            PlatformError::Connectivity { .. } => "connectivity",
            PlatformError::RateLimited { .. } => "rate_limited",
            PlatformError::Rejected { .. } => "rejected",
            PlatformError::Auth { .. } => "auth",
            PlatformError::Ambiguous { .. } => "ambiguous",
            PlatformError::BadResponse { .. } => "bad_response",
        }
    }

    /// True when an order request that failed this way may have been acted on.
    pub fn order_outcome_unknown(&self) -> bool {
        matches!(
            self,
            PlatformError::Ambiguous { .. } | PlatformError::BadResponse { .. }
        )
    }
}

/// The order a client is asked to send: built only by the executor from an intent
/// whose amount has just been re-checked against every limit and budget.
#[derive(Debug, Clone)]
pub struct ApprovedOrder {
    pub intent: OrderIntent,
}

/// One platform account's API.
#[async_trait::async_trait]
pub trait PlatformClient: Send + Sync {
    /// The account id from the config.
    fn id(&self) -> &PlatformId;
    fn kind(&self) -> PlatformKind;

    /// All currently open opportunities, normalised. Entries that fail to parse are
    /// logged, counted and left out; a response that is unusable as a whole is an error.
    async fn poll(&self) -> Result<Vec<Opportunity>, PlatformError>;

    /// Sends one order. Never retried by the client on an ambiguous failure.
    async fn place_order(&self, order: &ApprovedOrder) -> Result<PlatformOrder, PlatformError>;

    /// The orders the platform holds that could belong to this intent (for
    /// reconciliation after a crash, timeout or ambiguous answer).
    async fn find_orders(&self, intent: &OrderIntent) -> Result<Vec<PlatformOrder>, PlatformError>;

    /// Cash available to invest, when the platform reports it.
    async fn available_cash(&self) -> Result<Option<Decimal>, PlatformError>;

    /// The current state of one order the platform holds (`None`: the platform offers
    /// no lookup by order id). Used to track placed orders after a webhook.
    async fn order_status(&self, order_id: &str) -> Result<Option<PlatformOrder>, PlatformError> {
        let _ = order_id;
        Ok(None)
    }

    /// Whether a placed order's platform status is final, so tracking can stop.
    /// Platforms without a lookup by order id report every status as final.
    fn status_is_final(&self, status: &str) -> bool {
        let _ = status;
        true
    }

    /// Cancels a placed order where the platform allows it.
    async fn cancel_order(&self, order_id: &str) -> Result<PlatformOrder, PlatformError> {
        let _ = order_id;
        Err(PlatformError::Rejected {
            platform: self.id().to_string(),
            status: 0,
            message: format!("{} orders cannot be cancelled through its API", self.kind()),
        })
    }

    /// Ends the session at shutdown (a logout where the platform has one).
    async fn close(&self) -> Result<(), PlatformError> {
        Ok(())
    }

    /// The account's request pacer, for status reports.
    fn pacer(&self) -> Option<&crate::pacing::Pacer> {
        None
    }
}
