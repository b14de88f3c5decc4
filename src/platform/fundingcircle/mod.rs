//! Funding Circle investor API v2 client: login with a cached bearer token, live
//! listings (HAL paging + per-listing details), whole and fractional orders,
//! reconciliation by listing id, and available cash.
//!
//! Wire types and their mapping to the domain live in [`wire`]. Every request goes
//! through the shared [`PlatformHttp`] layer (pacing, metrics, error classification).

pub mod wire;

use crate::money;
use crate::opportunity::{Opportunity, PlatformId, PlatformKind, PurchaseMode};
use crate::order::{OrderIntent, PlatformOrder};
use crate::pacing::Pacer;
use crate::platform::http::{parse_base_url, Auth, CallError, PlatformHttp, Request, Timeouts};
pub use crate::platform::session::RENEW_BEFORE_EXPIRY;
use crate::platform::session::{login_failed, SessionToken, TokenCache};
use crate::platform::{ApprovedOrder, PlatformClient, PlatformError};
use crate::secret::Secret;
use crate::telemetry::Metrics;
use futures::{StreamExt, TryStreamExt};
use reqwest::{Method, Url};
use rust_decimal::Decimal;
use serde::de::DeserializeOwned;
use std::collections::HashSet;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

/// Listings (and orders) asked for per page.
pub const PAGE_SIZE: u64 = 100;

/// Paging stops after this many pages even if `total_count` claims more: a broken or
/// hostile answer must not keep a poll going forever.
pub const MAX_PAGES: usize = 100;

/// Listing details fetched at the same time.
pub const DETAIL_CONCURRENCY: usize = 8;

/// Token life when the login answer does not say (Funding Circle documents two hours).
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(2 * 60 * 60);

/// One Funding Circle account.
#[derive(Debug, Clone)]
pub struct FundingCircleSettings {
    pub id: PlatformId,
    /// e.g. `https://investor-api.fundingcircle.us` (the client appends `/api/v2/...`).
    pub base_url: String,
    pub username: Secret,
    pub password: Secret,
    /// Funding Circle allows 40 POSTs per second, spread across the second.
    pub max_posts_per_second: NonZeroU32,
    pub max_gets_per_second: NonZeroU32,
    pub request_timeout: Duration,
}

/// The session a login answer opens.
fn token_from_login(answer: wire::LoginResponse) -> SessionToken {
    let lifetime = answer
        .expires_in
        .map_or(DEFAULT_TOKEN_LIFETIME, Duration::from_secs);
    SessionToken::new(Secret::new(answer.token), lifetime)
}

/// The Funding Circle client of one account.
pub struct FundingCircleClient {
    id: PlatformId,
    base: Url,
    username: Secret,
    password: Secret,
    http: PlatformHttp,
    metrics: Arc<Metrics>,
    /// Held across a login so concurrent requests wait for one login, not start several.
    token: TokenCache,
}

impl std::fmt::Debug for FundingCircleClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FundingCircleClient")
            .field("id", &self.id)
            .field("base", &self.base.as_str())
            .finish()
    }
}

impl FundingCircleClient {
    pub fn new(
        settings: FundingCircleSettings,
        metrics: Arc<Metrics>,
    ) -> Result<Self, PlatformError> {
        let base = parse_base_url(&settings.id, &settings.base_url)?;
        let pacer = Arc::new(Pacer::new(
            settings.max_posts_per_second,
            settings.max_gets_per_second,
        ));
        let timeouts = Timeouts {
            request: settings.request_timeout,
            ..Timeouts::default()
        };
        let http = PlatformHttp::new(settings.id.clone(), timeouts, pacer, metrics.clone())?;
        Ok(FundingCircleClient {
            id: settings.id,
            base,
            username: settings.username,
            password: settings.password,
            http,
            metrics,
            token: TokenCache::default(),
        })
    }

    /// The account's pacer (the executor and tests can see the 429 hold).
    pub fn pacer(&self) -> &Arc<Pacer> {
        self.http.pacer()
    }

    /// `{base}/api/v2/{segments…}`, each segment percent-encoded (ids are opaque).
    fn endpoint(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        // `parse_base_url` refused bases that cannot hold a path, so this always applies.
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(["api", "v2"]).extend(segments);
        }
        url
    }

    /// Sends `request` with the bearer token; on a 401, logs in again and sends it
    /// once more. Safe for orders too: a 401 means the order was not accepted.
    async fn call<T: DeserializeOwned>(&self, request: Request) -> Result<T, PlatformError> {
        let token = self.token(None).await?;
        let first = request.clone().auth(Auth::bearer(token.clone()));
        match self.http.send_json(first).await {
            Err(CallError::Unauthorized { message, .. }) => {
                tracing::info!(platform = %self.id, %message, "token refused, logging in again");
                let renewed = self.token(Some(&token)).await?;
                Ok(self
                    .http
                    .send_json(request.auth(Auth::bearer(renewed)))
                    .await?)
            }
            other => Ok(other?),
        }
    }

    /// A fresh token: the cached one unless it is stale or is `refused`.
    async fn token(&self, refused: Option<&Secret>) -> Result<Secret, PlatformError> {
        self.token.get(refused, || self.login()).await
    }

    /// `POST /api/v2/login`. Every failure to get a token is an error the caller can
    /// retry later; a refusal of the credentials is `Auth`.
    async fn login(&self) -> Result<SessionToken, PlatformError> {
        let request = Request::session(Method::POST, self.endpoint(&["login"]))
            .json(wire::login_body(&self.username, &self.password))
            .redact(self.username.clone())
            .redact(self.password.clone());
        let answer: wire::LoginResponse =
            self.http.send_json(request).await.map_err(login_failed)?;
        if answer.token.trim().is_empty() {
            return Err(PlatformError::Auth {
                platform: self.id.to_string(),
                message: "login answered an empty token".to_string(),
            });
        }
        tracing::debug!(platform = %self.id, "logged in");
        Ok(token_from_login(answer))
    }

    /// Ids of every live listing, following the HAL paging.
    async fn live_listing_ids(&self) -> Result<Vec<String>, PlatformError> {
        let mut ids = Vec::new();
        let mut seen = HashSet::new();
        let mut offset = 0u64;
        for _ in 0..MAX_PAGES {
            let request = Request::get(self.endpoint(&["listings"]))
                .query("status", "live")
                .query("size", PAGE_SIZE)
                .query("offset", offset);
            let page: wire::ListingsPage = self.call(request).await?;
            let received = page.embedded.listings.len() as u64;
            for entry in page.embedded.listings {
                match serde_json::from_value::<wire::ListingSummary>(entry) {
                    Ok(summary) if summary.status == "live" => {
                        if seen.insert(summary.id.clone()) {
                            ids.push(summary.id);
                        }
                    }
                    Ok(_) => {}
                    Err(error) => self.skipped(&format!("listings page entry: {error}")),
                }
            }
            offset += received;
            if is_last_page(received, offset, page.total_count) {
                return Ok(ids);
            }
        }
        tracing::warn!(platform = %self.id, pages = MAX_PAGES, "listing pages capped; the rest is left for the next poll");
        Ok(ids)
    }

    /// One listing's details as an opportunity; `None` when it is skipped (closed in
    /// the meantime, gone, or unbelievable). Platform-wide trouble fails the poll.
    async fn listing(&self, id: String) -> Result<Option<Opportunity>, PlatformError> {
        let details: wire::ListingDetails = match self
            .call(Request::get(self.endpoint(&["listings", &id])))
            .await
        {
            Ok(details) => details,
            // Already logged and counted by the HTTP layer.
            Err(PlatformError::BadResponse { .. }) => return Ok(None),
            Err(PlatformError::Rejected {
                status, message, ..
            }) => {
                tracing::info!(platform = %self.id, listing = %id, status, %message, "listing details refused; skipped");
                return Ok(None);
            }
            Err(other) => return Err(other),
        };
        if details.id != id {
            self.skipped(&format!("asked for listing {id}, got {}", details.id));
            return Ok(None);
        }
        if details.status != "live" {
            return Ok(None);
        }
        match details.to_opportunity(&self.id) {
            Ok(opportunity) => Ok(Some(opportunity)),
            Err(invalid) => {
                self.skipped(&invalid.to_string());
                Ok(None)
            }
        }
    }

    /// Counts and logs one entry left out because its content is unusable.
    fn skipped(&self, why: &str) {
        self.metrics
            .parse_errors_total
            .with_label_values(&[self.id.as_str()])
            .inc();
        tracing::warn!(platform = %self.id, reason = why, "listing skipped");
    }

    /// `amount_cents` for a fractional order; refused locally, before anything is
    /// sent, when the amount is not a positive whole number of cents.
    fn order_cents(&self, intent: &OrderIntent) -> Result<i64, PlatformError> {
        let refused = |why: String| PlatformError::Rejected {
            platform: self.id.to_string(),
            status: 0,
            message: format!("order not sent: {why}"),
        };
        let cents = money::to_cents(intent.amount).map_err(|error| refused(error.to_string()))?;
        if cents <= 0 {
            return Err(refused(format!("amount {} is not positive", intent.amount)));
        }
        Ok(cents)
    }

    /// An answer that cannot be trusted after a state-changing request: the order may
    /// exist, so the executor must reconcile.
    fn unusable_order_answer(&self, why: String) -> PlatformError {
        self.metrics
            .parse_errors_total
            .with_label_values(&[self.id.as_str()])
            .inc();
        PlatformError::Ambiguous {
            platform: self.id.to_string(),
            message: format!("order answer unusable: {why}"),
        }
    }
}

#[async_trait::async_trait]
impl PlatformClient for FundingCircleClient {
    fn pacer(&self) -> Option<&Pacer> {
        Some(self.http.pacer())
    }

    fn id(&self) -> &PlatformId {
        &self.id
    }

    fn kind(&self) -> PlatformKind {
        PlatformKind::FundingCircle
    }

    async fn poll(&self) -> Result<Vec<Opportunity>, PlatformError> {
        let ids = self.live_listing_ids().await?;
        let listings: Vec<Option<Opportunity>> = futures::stream::iter(ids)
            .map(|id| self.listing(id))
            .buffered(DETAIL_CONCURRENCY)
            .try_collect()
            .await?;
        Ok(listings.into_iter().flatten().collect())
    }

    async fn place_order(&self, order: &ApprovedOrder) -> Result<PlatformOrder, PlatformError> {
        let intent = &order.intent;
        let mut request = Request::state_changing(Method::POST, self.endpoint(&["orders"]))
            .query("listing_id", &intent.opportunity_id);
        // A whole loan is bought whole: sending an amount would make it fractional.
        if intent.purchase == PurchaseMode::Fractional {
            request = request.query("amount_cents", self.order_cents(intent)?);
        }
        let answer: wire::OrderResponse = self.call(request).await?;
        if answer.listing_id != intent.opportunity_id {
            return Err(self.unusable_order_answer(format!(
                "order {} is for listing {}, not {}",
                answer.id, answer.listing_id, intent.opportunity_id
            )));
        }
        answer
            .to_platform_order()
            .map_err(|why| self.unusable_order_answer(why))
    }

    async fn find_orders(&self, intent: &OrderIntent) -> Result<Vec<PlatformOrder>, PlatformError> {
        let mut orders = Vec::new();
        let mut offset = 0u64;
        for _ in 0..MAX_PAGES {
            let request = Request::get(self.endpoint(&["orders"]))
                .query("listing_id", &intent.opportunity_id)
                .query("size", PAGE_SIZE)
                .query("offset", offset);
            let page: wire::OrdersPage = self.call(request).await?;
            let received = page.embedded.orders.len() as u64;
            for order in page.embedded.orders {
                // Reconciliation decides whether money moved: a bad row fails the
                // lookup rather than being skipped.
                let order = order
                    .to_platform_order()
                    .map_err(|why| self.bad_response(why))?;
                if order.opportunity_id == intent.opportunity_id {
                    orders.push(order);
                }
            }
            offset += received;
            if is_last_page(received, offset, page.total_count) {
                return Ok(orders);
            }
        }
        Err(self.bad_response(format!(
            "orders of listing {} span more than {MAX_PAGES} pages",
            intent.opportunity_id
        )))
    }

    async fn available_cash(&self) -> Result<Option<Decimal>, PlatformError> {
        let portfolio: wire::Portfolio = self
            .call(Request::get(self.endpoint(&["portfolio"])))
            .await?;
        portfolio
            .available_cash()
            .map(Some)
            .map_err(|why| self.bad_response(why))
    }
}

impl FundingCircleClient {
    fn bad_response(&self, why: String) -> PlatformError {
        self.metrics
            .parse_errors_total
            .with_label_values(&[self.id.as_str()])
            .inc();
        PlatformError::BadResponse {
            platform: self.id.to_string(),
            message: why,
        }
    }
}

/// True when paging is done: an empty page (no progress), everything the platform
/// counted has been read, or — without a count — a short page.
fn is_last_page(received: u64, offset: u64, total_count: Option<u64>) -> bool {
    received == 0 || total_count.map_or(received < PAGE_SIZE, |total| offset >= total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::time::Instant;

    #[test]
    fn paging_stops_on_count_short_page_or_no_progress() {
        assert!(!is_last_page(100, 100, Some(250)));
        assert!(is_last_page(50, 250, Some(250)));
        assert!(is_last_page(0, 100, Some(1_000_000)));
        assert!(!is_last_page(100, 100, None));
        assert!(is_last_page(99, 199, None));
    }

    #[tokio::test(start_paused = true)]
    async fn tokens_are_renewed_five_minutes_early_and_short_ones_at_half_life() {
        let renew_in = |expires_in| {
            let token = token_from_login(wire::LoginResponse {
                token: "t".into(),
                expires_in,
            });
            token.renew_at - Instant::now()
        };
        assert_eq!(renew_in(Some(7200)), Duration::from_secs(7200 - 300));
        assert_eq!(renew_in(None), Duration::from_secs(7200 - 300));
        assert_eq!(renew_in(Some(60)), Duration::from_secs(30));
        let expired = token_from_login(wire::LoginResponse {
            token: "t".into(),
            expires_in: Some(0),
        });
        assert!(!expired.is_fresh());
    }
}
