//! Issuer portal client: open offerings from the issuer API (`Authorization: Api-Key`),
//! investments through the third-party API with a login token (`Authorization:
//! Token`), reconciliation by offering and investor, and logout on shutdown.
//!
//! Both APIs page the DRF way (`count`, `next`, `previous`, `results`). The client
//! follows `next` but only takes its query string: the request always goes to the
//! configured base URL, so a `next` naming another host (or `http` behind a TLS
//! proxy) can never receive the credentials.
//!
//! Wire types and their mapping to the domain live in [`wire`]. Every request goes
//! through the shared [`PlatformHttp`] layer (pacing, metrics, error classification).

pub mod wire;

use crate::opportunity::{Opportunity, PlatformId, PlatformKind};
use crate::order::{OrderIntent, PlatformOrder};
use crate::pacing::Pacer;
use crate::platform::http::{parse_base_url, Auth, CallError, PlatformHttp, Request, Timeouts};
pub use crate::platform::session::RENEW_BEFORE_EXPIRY;
use crate::platform::session::{login_failed, SessionToken, TokenCache};
use crate::platform::{ApprovedOrder, PlatformClient, PlatformError};
use crate::secret::Secret;
use crate::telemetry::Metrics;
use chrono::{DateTime, Utc};
use reqwest::{Method, Url};
use rust_decimal::Decimal;
use serde::de::DeserializeOwned;
use std::collections::HashSet;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

/// Entries asked for per page (DRF's `page_size`; a server without it pages its way).
pub const PAGE_SIZE: u64 = 100;

/// Paging stops after this many pages: a broken or hostile `next` chain must not keep
/// a poll going forever.
pub const MAX_PAGES: usize = 100;

/// Token life when the login answer gives no usable `expiry` (ten hours, the usual
/// default of DRF token libraries; a 401 renews it earlier anyway).
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(10 * 60 * 60);

/// Investments created this long before their intent still count as candidates in
/// reconciliation: the platform's clock may run behind ours.
pub const CLOCK_SKEW_ALLOWANCE: Duration = Duration::from_secs(10 * 60);

/// One issuer portal account.
#[derive(Debug, Clone)]
pub struct IssuerPortalSettings {
    pub id: PlatformId,
    /// e.g. `https://portal.example.com` (the client appends `/api/...`).
    pub base_url: String,
    /// The offering's API key (issuer API).
    pub api_key: Secret,
    /// The third-party user's login.
    pub email: Secret,
    pub password: Secret,
    /// The investor every investment is made for.
    pub investor_id: u64,
    /// `requested_payment_method` of every investment ("wire", "card", …).
    pub payment_method: String,
    pub max_posts_per_second: NonZeroU32,
    pub max_gets_per_second: NonZeroU32,
    pub request_timeout: Duration,
}

/// The session a login answer opens; `now` is the wall-clock time of the answer, to
/// turn `expiry` into a lifetime.
fn token_from_login(answer: &wire::LoginResponse, now: DateTime<Utc>) -> SessionToken {
    let lifetime = match answer.expires_at() {
        Some(expiry) => (expiry - now).to_std().unwrap_or(Duration::ZERO),
        None => DEFAULT_TOKEN_LIFETIME,
    };
    SessionToken::new(Secret::new(answer.token.clone()), lifetime)
}

/// The issuer portal client of one account.
pub struct IssuerPortalClient {
    id: PlatformId,
    base: Url,
    api_key: Secret,
    email: Secret,
    password: Secret,
    investor_id: u64,
    payment_method: String,
    http: PlatformHttp,
    metrics: Arc<Metrics>,
    /// Held across a login so concurrent requests wait for one login, not start several.
    token: TokenCache,
}

impl std::fmt::Debug for IssuerPortalClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuerPortalClient")
            .field("id", &self.id)
            .field("base", &self.base.as_str())
            .field("investor_id", &self.investor_id)
            .finish()
    }
}

impl IssuerPortalClient {
    pub fn new(
        settings: IssuerPortalSettings,
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
        Ok(IssuerPortalClient {
            id: settings.id,
            base,
            api_key: settings.api_key,
            email: settings.email,
            password: settings.password,
            investor_id: settings.investor_id,
            payment_method: settings.payment_method,
            http,
            metrics,
            token: TokenCache::default(),
        })
    }

    /// The account's pacer (the executor and tests can see the 429 hold).
    pub fn pacer(&self) -> &Arc<Pacer> {
        self.http.pacer()
    }

    /// Ends the third-party session (`POST /api_third_party/auth/logout/`), so the
    /// token stops working; call it on shutdown. Without a session it does nothing; a
    /// token the platform already refuses counts as logged out.
    pub async fn logout(&self) -> Result<(), PlatformError> {
        let Some(token) = self.token.take().await else {
            return Ok(());
        };
        let request = Request::session(
            Method::POST,
            self.endpoint(&["api_third_party", "auth", "logout"]),
        )
        .auth(token_auth(token.value));
        match self.http.send_ignoring_body(request).await {
            Ok(()) | Err(CallError::Unauthorized { .. }) => {
                tracing::debug!(platform = %self.id, "logged out");
                Ok(())
            }
            Err(CallError::Failed(error)) => Err(error),
        }
    }

    /// `{base}/{segments…}/`, each segment percent-encoded, with the trailing slash
    /// DRF routes end in.
    fn endpoint(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        // `parse_base_url` refused bases that cannot hold a path, so this always applies.
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments).push("");
        }
        url
    }

    fn api_key_auth(&self) -> Auth {
        Auth::Scheme {
            scheme: "Api-Key",
            credential: self.api_key.clone(),
        }
    }

    /// An issuer API call. The key cannot be renewed: 401 and 403 mean it is refused.
    async fn call_with_api_key<T: DeserializeOwned>(
        &self,
        request: Request,
    ) -> Result<T, PlatformError> {
        match self.http.send_json(request.auth(self.api_key_auth())).await {
            Ok(answer) => Ok(answer),
            Err(CallError::Failed(PlatformError::Rejected {
                platform,
                status: 403,
                message,
            })) => Err(PlatformError::Auth {
                platform,
                message: format!("API key refused (403): {message}"),
            }),
            Err(other) => Err(other.into()),
        }
    }

    /// A third-party API call with the login token; on a 401, logs in again and sends
    /// it once more. Safe for orders too: a 401 means the investment was not made.
    async fn call_with_token<T: DeserializeOwned>(
        &self,
        request: Request,
    ) -> Result<T, PlatformError> {
        let token = self.token(None).await?;
        let first = request.clone().auth(token_auth(token.clone()));
        match self.http.send_json(first).await {
            Err(CallError::Unauthorized { message, .. }) => {
                tracing::info!(platform = %self.id, %message, "token refused, logging in again");
                let renewed = self.token(Some(&token)).await?;
                Ok(self
                    .http
                    .send_json(request.auth(token_auth(renewed)))
                    .await?)
            }
            other => Ok(other?),
        }
    }

    /// A fresh token: the cached one unless it is stale or is `refused`.
    async fn token(&self, refused: Option<&Secret>) -> Result<Secret, PlatformError> {
        self.token.get(refused, || self.login()).await
    }

    /// `POST /api_third_party/auth/login/` with the email and password, sent with the
    /// API key (the only credential there is before a session). Every failure to get
    /// a token is an error the caller can retry later; refused credentials are `Auth`.
    async fn login(&self) -> Result<SessionToken, PlatformError> {
        let request = Request::session(
            Method::POST,
            self.endpoint(&["api_third_party", "auth", "login"]),
        )
        .auth(self.api_key_auth())
        .json(wire::login_body(&self.email, &self.password))
        .redact(self.email.clone())
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
        Ok(token_from_login(&answer, Utc::now()))
    }

    /// The URL of the page `next` names: this endpoint with `next`'s query string.
    /// `None` when there is no next page.
    fn next_page(&self, current: &Url, next: Option<&str>) -> Result<Option<Url>, PlatformError> {
        let Some(next) = next.map(str::trim).filter(|next| !next.is_empty()) else {
            return Ok(None);
        };
        let named = self
            .base
            .join(next)
            .map_err(|_| self.bad_response(format!("next page link {next:?} is not a URL")))?;
        let mut url = current.clone();
        url.set_query(named.query());
        if url == *current {
            return Err(
                self.bad_response(format!("next page link {next:?} names the page just read"))
            );
        }
        Ok(Some(url))
    }

    /// Every open offering's raw entry, following the pages.
    async fn opened_offerings(&self) -> Result<Vec<serde_json::Value>, PlatformError> {
        let mut url = self.endpoint(&["api", "offerings"]);
        url.query_pairs_mut()
            .append_pair("status", wire::OPENED)
            .append_pair("page_size", &PAGE_SIZE.to_string());
        let mut entries = Vec::new();
        for _ in 0..MAX_PAGES {
            let page: wire::Page = self.call_with_api_key(Request::get(url.clone())).await?;
            entries.extend(page.results);
            match self.next_page(&url, page.next.as_deref())? {
                Some(next) => url = next,
                None => return Ok(entries),
            }
        }
        tracing::warn!(platform = %self.id, pages = MAX_PAGES, "offering pages capped; the rest is left for the next poll");
        Ok(entries)
    }

    /// One entry as an opportunity; `None` when it is not buyable or unusable.
    fn offering(&self, entry: serde_json::Value) -> Option<Opportunity> {
        let offering: wire::Offering = match serde_json::from_value(entry) {
            Ok(offering) => offering,
            Err(error) => {
                self.skipped(&format!("offerings page entry: {error}"));
                return None;
            }
        };
        // The status filter is the server's; it is checked here too.
        if !offering.is_buyable() {
            return None;
        }
        match offering.to_opportunity(&self.id) {
            Ok(opportunity) => Some(opportunity),
            Err(invalid) => {
                self.skipped(&invalid.to_string());
                None
            }
        }
    }

    /// Every investment the platform lists for this offering and investor, following
    /// the pages. Reconciliation decides whether money moved, so a page that cannot be
    /// read completely fails the lookup instead of hiding an investment.
    async fn investments_of(
        &self,
        offering_id: &str,
    ) -> Result<Vec<wire::Investment>, PlatformError> {
        let mut url = self.endpoint(&["api_third_party", "investments"]);
        url.query_pairs_mut()
            .append_pair("offering", offering_id)
            .append_pair("investor", &self.investor_id.to_string())
            .append_pair("page_size", &PAGE_SIZE.to_string());
        let mut investments = Vec::new();
        for _ in 0..MAX_PAGES {
            let page: wire::Page = self.call_with_token(Request::get(url.clone())).await?;
            for entry in page.results {
                let investment =
                    serde_json::from_value::<wire::Investment>(entry).map_err(|error| {
                        self.bad_response(format!("investments page entry: {error}"))
                    })?;
                investments.push(investment);
            }
            match self.next_page(&url, page.next.as_deref())? {
                Some(next) => url = next,
                None => return Ok(investments),
            }
        }
        Err(self.bad_response(format!(
            "investments in offering {offering_id} span more than {MAX_PAGES} pages"
        )))
    }

    /// Whether a listed investment could be the one `intent` made: same offering, this
    /// account's investor (the filter is the server's; it is checked here too), and not
    /// created before the intent existed.
    fn could_belong_to(
        &self,
        investment: &wire::Investment,
        intent: &OrderIntent,
    ) -> Result<bool, PlatformError> {
        let investor = investment.investor.as_deref().ok_or_else(|| {
            self.bad_response(format!("investment {} names no investor", investment.id))
        })?;
        let earliest = intent.created_at
            - chrono::Duration::from_std(CLOCK_SKEW_ALLOWANCE).unwrap_or(chrono::Duration::zero());
        Ok(investment.offering == intent.opportunity_id
            && investor == self.investor_id.to_string()
            && investment
                .created()
                .is_none_or(|created| created >= earliest))
    }

    /// Counts and logs one entry left out because its content is unusable.
    fn skipped(&self, why: &str) {
        self.metrics
            .parse_errors_total
            .with_label_values(&[self.id.as_str()])
            .inc();
        tracing::warn!(platform = %self.id, reason = why, "offering skipped");
    }

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

    /// An answer that cannot be trusted after an investment POST: the investment may
    /// exist, so the executor must reconcile.
    fn unusable_order_answer(&self, why: String) -> PlatformError {
        self.metrics
            .parse_errors_total
            .with_label_values(&[self.id.as_str()])
            .inc();
        PlatformError::Ambiguous {
            platform: self.id.to_string(),
            message: format!("investment answer unusable: {why}"),
        }
    }

    /// Refused locally, before anything is sent.
    fn not_sent(&self, why: String) -> PlatformError {
        PlatformError::Rejected {
            platform: self.id.to_string(),
            status: 0,
            message: format!("order not sent: {why}"),
        }
    }
}

#[async_trait::async_trait]
impl PlatformClient for IssuerPortalClient {
    async fn close(&self) -> Result<(), PlatformError> {
        self.logout().await
    }

    fn pacer(&self) -> Option<&Pacer> {
        Some(self.http.pacer())
    }

    fn id(&self) -> &PlatformId {
        &self.id
    }

    fn kind(&self) -> PlatformKind {
        PlatformKind::IssuerPortal
    }

    async fn poll(&self) -> Result<Vec<Opportunity>, PlatformError> {
        let entries = self.opened_offerings().await?;
        let mut seen = HashSet::new();
        Ok(entries
            .into_iter()
            .filter_map(|entry| self.offering(entry))
            .filter(|opportunity| seen.insert(opportunity.id.clone()))
            .collect())
    }

    async fn place_order(&self, order: &ApprovedOrder) -> Result<PlatformOrder, PlatformError> {
        let intent = &order.intent;
        let (quantity, unit_price) = shares_and_price(intent).map_err(|why| self.not_sent(why))?;
        let request = Request::state_changing(
            Method::POST,
            self.endpoint(&["api_third_party", "investments"]),
        )
        .json(wire::investment_body(
            quantity,
            &intent.opportunity_id,
            self.investor_id,
            &self.payment_method,
        ));
        let answer: wire::Investment = self.call_with_token(request).await?;
        if answer.offering != intent.opportunity_id {
            return Err(self.unusable_order_answer(format!(
                "investment {} is in offering {}, not {}",
                answer.id, answer.offering, intent.opportunity_id
            )));
        }
        if let Some(investor) = answer.investor.as_deref() {
            if investor != self.investor_id.to_string() {
                return Err(self.unusable_order_answer(format!(
                    "investment {} is for investor {investor}, not {}",
                    answer.id, self.investor_id
                )));
            }
        }
        answer
            .to_platform_order(unit_price)
            .map_err(|why| self.unusable_order_answer(why))
    }

    async fn find_orders(&self, intent: &OrderIntent) -> Result<Vec<PlatformOrder>, PlatformError> {
        // `place_order` sends nothing for an intent without shares: nothing can exist.
        let Ok((_, unit_price)) = shares_and_price(intent) else {
            return Ok(Vec::new());
        };
        let mut orders = Vec::new();
        for investment in self.investments_of(&intent.opportunity_id).await? {
            if self.could_belong_to(&investment, intent)? {
                let order = investment
                    .to_platform_order(unit_price)
                    .map_err(|why| self.bad_response(why))?;
                orders.push(order);
            }
        }
        Ok(orders)
    }

    /// The issuer portal reports no cash balance: investors pay each investment.
    async fn available_cash(&self) -> Result<Option<Decimal>, PlatformError> {
        Ok(None)
    }
}

/// The whole shares of an intent and the unit price it was sized at
/// (`amount = shares × unit price`).
fn shares_and_price(intent: &OrderIntent) -> Result<(u64, Decimal), String> {
    match intent.shares {
        Some(shares) if shares > 0 => Ok((shares, intent.amount / Decimal::from(shares))),
        _ => Err(format!(
            "the offering is sold in whole shares and the intent for ${} holds none",
            intent.amount
        )),
    }
}

fn token_auth(token: Secret) -> Auth {
    Auth::Scheme {
        scheme: "Token",
        credential: token,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use tokio::time::Instant;

    fn login(expiry: Option<&str>) -> wire::LoginResponse {
        wire::LoginResponse {
            token: "t".into(),
            expiry: expiry.map(str::to_string),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn tokens_are_renewed_five_minutes_before_expiry_and_short_ones_at_half_life() {
        let now = Utc.with_ymd_and_hms(2025, 7, 25, 12, 0, 0).unwrap();
        let renew_in = |expiry| token_from_login(&login(expiry), now).renew_at - Instant::now();
        assert_eq!(
            renew_in(Some("2025-07-25T14:00:00Z")),
            Duration::from_secs(7200 - 300)
        );
        assert_eq!(
            renew_in(Some("2025-07-25T12:01:00.000Z")),
            Duration::from_secs(30)
        );
        assert_eq!(renew_in(None), DEFAULT_TOKEN_LIFETIME - RENEW_BEFORE_EXPIRY);
        assert_eq!(
            renew_in(Some("not a date")),
            DEFAULT_TOKEN_LIFETIME - RENEW_BEFORE_EXPIRY
        );
        let expired = token_from_login(&login(Some("2025-07-25T11:00:00Z")), now);
        assert!(!expired.is_fresh());
    }
}
