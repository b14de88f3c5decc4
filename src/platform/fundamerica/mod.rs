//! FundAmerica client: open offerings (`resource_list` paging, `accept_investments`),
//! investments posted as forms, reconciliation through an offering's investments,
//! investment status and cancellation, and the pure parts of its webhooks
//! ([`webhook`]).
//!
//! Authentication is HTTP basic with the API key as the user and an empty password,
//! on every request. Wire types and their mapping to the domain live in [`wire`].
//! Every request goes through the shared [`PlatformHttp`] layer (pacing, metrics,
//! error classification).
//!
//! Equity offerings sell whole shares: the share price (from the offering's security,
//! expanded with `_expand[security]=1` or else looked up by id) becomes the
//! opportunity's `unit_price`, so sizing produces whole shares and the investment
//! carries `equity_share_count = intent.shares`. FundAmerica keeps no cash balance
//! for investors (they pay by ACH, check or wire), so [`PlatformClient::available_cash`]
//! answers `None`.

pub mod webhook;
pub mod wire;

use crate::opportunity::{Opportunity, PlatformId, PlatformKind};
use crate::order::{OrderIntent, PlatformOrder};
use crate::pacing::Pacer;
use crate::platform::http::{parse_base_url, Auth, PlatformHttp, Request, Timeouts};
use crate::platform::{ApprovedOrder, PlatformClient, PlatformError};
use crate::secret::Secret;
use crate::telemetry::Metrics;
use reqwest::{Method, Url};
use rust_decimal::Decimal;
use serde::de::DeserializeOwned;
use std::collections::HashSet;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;
use wire::{Investment, Offering, OfferingType, PaymentMethod, ResourceList};

/// Resources asked for per page.
pub const PAGE_SIZE: u64 = 100;

/// Paging stops after this many pages even if `more` stays true: a broken or hostile
/// answer must not keep a poll going forever.
pub const MAX_PAGES: u64 = 100;

/// One FundAmerica account.
#[derive(Debug, Clone)]
pub struct FundAmericaSettings {
    pub id: PlatformId,
    /// e.g. `https://sandbox.fundamerica.com` (the client appends `/api/...`).
    pub base_url: String,
    pub api_key: Secret,
    /// The investor every investment is made for.
    pub investor_id: String,
    pub payment_method: PaymentMethod,
    pub max_posts_per_second: NonZeroU32,
    pub max_gets_per_second: NonZeroU32,
    pub request_timeout: Duration,
}

/// The FundAmerica client of one account.
pub struct FundAmericaClient {
    id: PlatformId,
    base: Url,
    api_key: Secret,
    investor_id: String,
    payment_method: PaymentMethod,
    http: PlatformHttp,
    metrics: Arc<Metrics>,
}

impl std::fmt::Debug for FundAmericaClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FundAmericaClient")
            .field("id", &self.id)
            .field("base", &self.base.as_str())
            .field("investor_id", &self.investor_id)
            .finish()
    }
}

impl FundAmericaClient {
    pub fn new(
        settings: FundAmericaSettings,
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
        Ok(FundAmericaClient {
            id: settings.id,
            base,
            api_key: settings.api_key,
            investor_id: settings.investor_id,
            payment_method: settings.payment_method,
            http,
            metrics,
        })
    }

    /// The account's pacer.
    pub fn pacer(&self) -> &Arc<Pacer> {
        self.http.pacer()
    }

    /// `GET /api/investments/:id`: an investment's current state (what a webhook
    /// about it asks the daemon to fetch). The status word is one of
    /// [`wire::InvestmentStatus`].
    pub async fn investment_status(&self, id: &str) -> Result<PlatformOrder, PlatformError> {
        let request = Request::get(self.endpoint(&["investments", id]));
        let investment: Investment = self.call(request).await?;
        investment_order(id, &investment).map_err(|why| self.bad_response(why))
    }

    /// `DELETE /api/investments/:id`: cancels an investment (it becomes `voided`, or
    /// `cancelled` then `refunded` when funds were received). The platform refuses
    /// (403) once the investment is `invested`. A failure without an answer is
    /// `Ambiguous`: look the investment up before trying again.
    pub async fn cancel_investment(&self, id: &str) -> Result<PlatformOrder, PlatformError> {
        let request = Request::state_changing(Method::DELETE, self.endpoint(&["investments", id]));
        let investment: Investment = self.call(request).await?;
        investment_order(id, &investment).map_err(|why| self.ambiguous(why))
    }

    /// `{base}/api/{segments…}`, each segment percent-encoded (ids are opaque).
    fn endpoint(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        // `parse_base_url` refused bases that cannot hold a path, so this always applies.
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().push("api").extend(segments);
        }
        url
    }

    /// Sends `request` with the API key as the basic-auth user and no password. A 401
    /// means the key was refused: there is nothing to renew.
    async fn call<T: DeserializeOwned>(&self, request: Request) -> Result<T, PlatformError> {
        let request = request.auth(Auth::Basic {
            user: self.api_key.clone(),
            password: None,
        });
        self.http
            .send_json(request)
            .await
            .map_err(|error| explain_validation_errors(PlatformError::from(error)))
    }

    /// One page of offerings, with their securities expanded (for share prices).
    async fn offerings_page(
        &self,
        page: u64,
    ) -> Result<ResourceList<serde_json::Value>, PlatformError> {
        let request = Request::get(self.endpoint(&["offerings"]))
            .query("page", page)
            .query("per", PAGE_SIZE)
            .query("_expand[security]", 1);
        self.call(request).await
    }

    /// Every offering accepting investments, as opportunities. Entries that cannot be
    /// used are logged, counted and left out.
    async fn open_offerings(&self) -> Result<Vec<Opportunity>, PlatformError> {
        let mut opportunities = Vec::new();
        let mut seen = HashSet::new();
        for page in 1..=MAX_PAGES {
            let list = self.offerings_page(page).await?;
            let received = list.resources.len();
            for entry in list.resources {
                let offering = match serde_json::from_value::<Offering>(entry) {
                    Ok(offering) => offering,
                    Err(error) => {
                        self.skipped(&format!("offerings page entry: {error}"));
                        continue;
                    }
                };
                if !offering.accept_investments || !seen.insert(offering.id.clone()) {
                    continue;
                }
                if let Some(opportunity) = self.opportunity(&offering).await? {
                    opportunities.push(opportunity);
                }
            }
            if !list.more || received == 0 {
                return Ok(opportunities);
            }
        }
        tracing::warn!(platform = %self.id, pages = MAX_PAGES, "offering pages capped; the rest is left for the next poll");
        Ok(opportunities)
    }

    /// One offering as an opportunity; `None` when it is skipped (unbelievable, or an
    /// equity offering whose share price cannot be found).
    async fn opportunity(&self, offering: &Offering) -> Result<Option<Opportunity>, PlatformError> {
        let share_price = match offering.kind() {
            Ok(OfferingType::Equity) => self.share_price(offering).await?,
            _ => None,
        };
        match offering.to_opportunity(&self.id, share_price) {
            Ok(opportunity) => Ok(Some(opportunity)),
            Err(invalid) => {
                self.skipped(&invalid.to_string());
                Ok(None)
            }
        }
    }

    /// An equity offering's share price: from the expanded security, else from
    /// `GET /api/securities/:id` (the id taken from `security_url`; the URL itself is
    /// never followed, so the API key only ever goes to the configured base URL).
    async fn share_price(&self, offering: &Offering) -> Result<Option<Decimal>, PlatformError> {
        if let Some(price) = offering.expanded_share_price() {
            return Ok(Some(price));
        }
        let Some(security_id) = offering.security_id() else {
            return Ok(None);
        };
        let request = Request::get(self.endpoint(&["securities", &security_id]));
        match self.call::<wire::Security>(request).await {
            Ok(security) => Ok(security.equity_share_price),
            // Already logged and counted by the HTTP layer; the offering is skipped.
            Err(PlatformError::BadResponse { .. }) => Ok(None),
            Err(PlatformError::Rejected {
                status, message, ..
            }) => {
                tracing::info!(platform = %self.id, offering = %offering.id, status, %message, "security refused; offering skipped");
                Ok(None)
            }
            Err(other) => Err(other),
        }
    }

    /// Counts and logs one entry left out because its content is unusable.
    fn skipped(&self, why: &str) {
        self.count_parse_error();
        tracing::warn!(platform = %self.id, reason = why, "offering skipped");
    }

    fn count_parse_error(&self) {
        self.metrics
            .parse_errors_total
            .with_label_values(&[self.id.as_str()])
            .inc();
    }

    fn bad_response(&self, why: String) -> PlatformError {
        self.count_parse_error();
        PlatformError::BadResponse {
            platform: self.id.to_string(),
            message: why,
        }
    }

    /// An answer that cannot be trusted after a state-changing request: the platform
    /// may have acted, so the caller must look before doing anything else.
    fn ambiguous(&self, why: String) -> PlatformError {
        self.count_parse_error();
        PlatformError::Ambiguous {
            platform: self.id.to_string(),
            message: format!("answer unusable: {why}"),
        }
    }

    /// Refused locally, before anything is sent.
    fn refused(&self, why: String) -> PlatformError {
        PlatformError::Rejected {
            platform: self.id.to_string(),
            status: 0,
            message: format!("order not sent: {why}"),
        }
    }

    /// The investment answering an order POST, as the order it placed.
    fn placed_order(
        &self,
        intent: &OrderIntent,
        answer: &Investment,
    ) -> Result<PlatformOrder, PlatformError> {
        if let Some(offering) = answer.offering_id() {
            if offering != intent.opportunity_id {
                return Err(self.ambiguous(format!(
                    "investment {} is in offering {offering}, not {}",
                    answer.id, intent.opportunity_id
                )));
            }
        }
        answer
            .to_platform_order(&intent.opportunity_id)
            .map_err(|why| self.ambiguous(why))
    }

    /// Whether a listed investment is this account's investor's (an account may hold
    /// investments of several investors). One that names no investor is kept: it
    /// cannot be ruled out.
    fn is_ours(&self, investment: &Investment) -> bool {
        investment
            .investor_id()
            .is_none_or(|investor| investor == self.investor_id)
    }
}

#[async_trait::async_trait]
impl PlatformClient for FundAmericaClient {
    fn status_is_final(&self, status: &str) -> bool {
        wire::InvestmentStatus::parse(status).is_none_or(|s| s.is_final())
    }

    async fn cancel_order(&self, order_id: &str) -> Result<PlatformOrder, PlatformError> {
        self.cancel_investment(order_id).await
    }

    async fn order_status(&self, order_id: &str) -> Result<Option<PlatformOrder>, PlatformError> {
        self.investment_status(order_id).await.map(Some)
    }

    fn id(&self) -> &PlatformId {
        &self.id
    }

    fn kind(&self) -> PlatformKind {
        PlatformKind::FundAmerica
    }

    async fn poll(&self) -> Result<Vec<Opportunity>, PlatformError> {
        self.open_offerings().await
    }

    async fn place_order(&self, order: &ApprovedOrder) -> Result<PlatformOrder, PlatformError> {
        let intent = &order.intent;
        let form = wire::investment_form(intent, &self.investor_id, &self.payment_method)
            .map_err(|why| self.refused(why))?;
        let request =
            Request::state_changing(Method::POST, self.endpoint(&["investments"])).form(form);
        let answer: Investment = self.call(request).await?;
        self.placed_order(intent, &answer)
    }

    async fn find_orders(&self, intent: &OrderIntent) -> Result<Vec<PlatformOrder>, PlatformError> {
        let mut orders = Vec::new();
        for page in 1..=MAX_PAGES {
            let request =
                Request::get(self.endpoint(&["offerings", &intent.opportunity_id, "investments"]))
                    .query("page", page)
                    .query("per", PAGE_SIZE);
            let list: ResourceList<Investment> = self.call(request).await?;
            let received = list.resources.len();
            for investment in list.resources.iter().filter(|i| self.is_ours(i)) {
                // Reconciliation decides whether money moved: a bad row fails the
                // lookup rather than being skipped.
                let order = investment
                    .to_platform_order(&intent.opportunity_id)
                    .map_err(|why| self.bad_response(why))?;
                if order.opportunity_id == intent.opportunity_id {
                    orders.push(order);
                }
            }
            if !list.more || received == 0 {
                return Ok(orders);
            }
        }
        Err(self.bad_response(format!(
            "investments of offering {} span more than {MAX_PAGES} pages",
            intent.opportunity_id
        )))
    }

    async fn available_cash(&self) -> Result<Option<Decimal>, PlatformError> {
        Ok(None)
    }
}

/// An answer about investment `id` as an order, checked to be about that investment.
/// Its offering is named by `offering_url` (empty when the answer has none).
fn investment_order(id: &str, investment: &Investment) -> Result<PlatformOrder, String> {
    if investment.id != id {
        return Err(format!("asked for investment {id}, got {}", investment.id));
    }
    let offering = investment.offering_id().unwrap_or_default();
    investment.to_platform_order(&offering)
}

/// A 422's `{object: {field: [messages]}}` body, shown as "object.field: message".
fn explain_validation_errors(error: PlatformError) -> PlatformError {
    match error {
        PlatformError::Rejected {
            platform,
            status: 422,
            message,
        } => {
            let message = wire::describe_validation_errors(&message).unwrap_or(message);
            PlatformError::Rejected {
                platform,
                status: 422,
                message,
            }
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_errors_become_readable_and_other_errors_stay() {
        let rejected = |status, message: &str| PlatformError::Rejected {
            platform: "fa".into(),
            status,
            message: message.into(),
        };
        let explained = explain_validation_errors(rejected(
            422,
            r#"{"investment":{"amount":["must be at least 1000.0"]}}"#,
        ));
        assert_eq!(
            explained.to_string(),
            "fa rejected the request (422): investment.amount: must be at least 1000.0"
        );
        let truncated = explain_validation_errors(rejected(422, r#"{"investment":{"amo…"#));
        assert!(truncated.to_string().ends_with(r#"{"investment":{"amo…"#));
        let forbidden = explain_validation_errors(rejected(403, r#"{"a":{"b":["c"]}}"#));
        assert!(forbidden.to_string().ends_with(r#"{"a":{"b":["c"]}}"#));
    }

    #[test]
    fn base_urls_must_be_http() {
        let id = PlatformId::new("fa");
        assert!(parse_base_url(&id, "ftp://x").is_err());
        assert!(parse_base_url(&id, "nonsense").is_err());
        let url = parse_base_url(&id, " https://sandbox.fundamerica.com/?x=1 ").unwrap();
        assert_eq!(url.as_str(), "https://sandbox.fundamerica.com/");
    }
}
