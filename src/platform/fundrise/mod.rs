//! Fundrise Connect client: open offerings (partner basic auth), a Client bearer token
//! from the refresh-token flow, investments placed with a deterministic
//! `partnerReferenceId`, reconciliation from the account's investment transactions,
//! and cancellation.
//!
//! Wire types and their mapping to the domain live in [`wire`]. Every request goes
//! through the shared [`PlatformHttp`] layer (pacing, metrics, error classification).
//!
//! Rate limits: Fundrise limits "per Client and per HTTP method" without publishing
//! numbers. One client here is one Fundrise Client (its refresh token is scoped to
//! it), with its own pacer: GETs on the read lane, POSTs and PUTs (investments,
//! cancellations, token requests) sharing the write lane — stricter than per method,
//! never looser. A 429 holds every request of the account (`Retry-After` honoured).
//!
//! Idempotency: Fundrise deduplicates investments on `partnerReferenceId`, so the one
//! blind resend the daemon allows anywhere happens here: when an investment POST ends
//! ambiguously, it is sent once more with the same reference. An answer to that resend
//! is the investment; a 409 says it already exists and it is looked up; anything else
//! stays ambiguous for the executor to reconcile.

pub mod wire;

use crate::money;
use crate::opportunity::{Opportunity, PlatformId, PlatformKind};
use crate::order::{OrderIntent, PlatformOrder};
use crate::pacing::Pacer;
use crate::platform::http::{parse_base_url, Auth, CallError, PlatformHttp, Request, Timeouts};
pub use crate::platform::session::RENEW_BEFORE_EXPIRY;
use crate::platform::session::{SessionToken, TokenCache};
use crate::platform::{ApprovedOrder, PlatformClient, PlatformError};
use crate::secret::Secret;
use crate::telemetry::Metrics;
use reqwest::{Method, Url};
use rust_decimal::Decimal;
use serde::de::DeserializeOwned;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use wire::{InvestmentMatch, TransactionResponse};

/// Token life when the answer does not say (the spec's sample gives 3598 s).
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(60 * 60);

/// Transaction dates are calendar days in US Eastern time (`…T00:00:00.000-05:00`),
/// and an investment placed late or on a holiday may carry the next business day: an
/// investment dated more than this before its intent was created is not the intent's.
pub const RECONCILE_DATE_SLACK: chrono::TimeDelta = chrono::TimeDelta::days(2);

/// What a 409 to an investment POST means (by analogy with the spec's documented 409
/// for a duplicate Client `partnerReferenceId`): this reference was already used.
const DUPLICATE_REFERENCE: u16 = 409;

/// One Fundrise Client account.
#[derive(Debug, Clone)]
pub struct FundriseSettings {
    pub id: PlatformId,
    /// e.g. `https://api.fundrise.com` (the client appends `/v1/...`).
    pub base_url: String,
    pub partner_user: Secret,
    pub partner_password: Secret,
    /// Scoped to one Client; never expires.
    pub refresh_token: Secret,
    pub account_id: String,
    /// The account holder accepted the offering documents and acknowledgments; without
    /// it no offering is returned by `poll` and no investment is sent.
    pub acknowledge_documents: bool,
    /// POSTs and PUTs together (investments, cancellations, token requests).
    pub max_posts_per_second: NonZeroU32,
    pub max_gets_per_second: NonZeroU32,
    pub request_timeout: Duration,
}

/// The session a token answer opens.
fn token_from_answer(answer: wire::AccessTokenResponse) -> SessionToken {
    let lifetime = answer
        .expires_in
        .map_or(DEFAULT_TOKEN_LIFETIME, Duration::from_secs);
    SessionToken::new(Secret::new(answer.access_token), lifetime)
}

/// The Fundrise Connect client of one Client account.
pub struct FundriseClient {
    id: PlatformId,
    base: Url,
    partner: Auth,
    refresh_token: Secret,
    account_id: String,
    acknowledge_documents: bool,
    http: PlatformHttp,
    metrics: Arc<Metrics>,
    /// Held across a renewal so concurrent requests wait for one, not start several.
    token: TokenCache,
    /// The "acknowledge_documents is false" warning is logged once, then at debug.
    warned_unacknowledged: AtomicBool,
}

impl std::fmt::Debug for FundriseClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FundriseClient")
            .field("id", &self.id)
            .field("base", &self.base.as_str())
            .field("account_id", &self.account_id)
            .field("acknowledge_documents", &self.acknowledge_documents)
            .finish()
    }
}

impl FundriseClient {
    pub fn new(settings: FundriseSettings, metrics: Arc<Metrics>) -> Result<Self, PlatformError> {
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
        Ok(FundriseClient {
            id: settings.id,
            base,
            partner: Auth::Basic {
                user: settings.partner_user,
                password: Some(settings.partner_password),
            },
            refresh_token: settings.refresh_token,
            account_id: settings.account_id,
            acknowledge_documents: settings.acknowledge_documents,
            http,
            metrics,
            token: TokenCache::default(),
            warned_unacknowledged: AtomicBool::new(false),
        })
    }

    /// The account's pacer (the executor and tests can see the 429 hold).
    pub fn pacer(&self) -> &Arc<Pacer> {
        self.http.pacer()
    }

    /// Cancels a pending investment: looks it up first and refuses locally (nothing
    /// sent) unless Fundrise says it `isCancellable`, then
    /// `PUT /v1/account/{accountId}/investment/{transactionId}/cancel`. Answers the
    /// cancelled investment (status `FAILED`). An ambiguous answer means: look it up
    /// again with [`FundriseClient::investment`].
    pub async fn cancel_investment(
        &self,
        transaction_id: &str,
    ) -> Result<PlatformOrder, PlatformError> {
        let current = self.transaction(transaction_id).await?;
        if current.is_cancellable != Some(true) {
            return Err(PlatformError::Rejected {
                platform: self.id.to_string(),
                status: 0,
                message: format!(
                    "cancel not sent: investment {transaction_id} is {} and not cancellable",
                    current.status
                ),
            });
        }
        let url = self.account_endpoint(&["investment", transaction_id, "cancel"]);
        let answer: TransactionResponse = self
            .client_call(Request::state_changing(Method::PUT, url))
            .await?;
        self.check_answer_is(&answer, transaction_id)?;
        answer
            .to_platform_order()
            .map_err(|why| self.unusable_answer(why))
    }

    /// One investment as Fundrise reports it now
    /// (`GET /v1/account/{accountId}/transaction/INVESTMENT/{transactionId}`).
    pub async fn investment(&self, transaction_id: &str) -> Result<PlatformOrder, PlatformError> {
        let answer = self.transaction(transaction_id).await?;
        answer
            .to_platform_order()
            .map_err(|why| self.bad_response(why))
    }

    async fn transaction(
        &self,
        transaction_id: &str,
    ) -> Result<TransactionResponse, PlatformError> {
        let url = self.account_endpoint(&["transaction", wire::INVESTMENT, transaction_id]);
        let answer: TransactionResponse = self.client_call(Request::get(url)).await?;
        if answer.transaction_id != transaction_id {
            return Err(self.bad_response(format!(
                "asked for transaction {transaction_id}, got {}",
                answer.transaction_id
            )));
        }
        Ok(answer)
    }

    /// `{base}/v1/{segments…}`, each segment percent-encoded (ids are opaque).
    fn endpoint(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        // `parse_base_url` refused bases that cannot hold a path, so this always applies.
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().push("v1").extend(segments);
        }
        url
    }

    /// `{base}/v1/account/{accountId}/{segments…}`.
    fn account_endpoint(&self, segments: &[&str]) -> Url {
        let mut all = vec!["account", self.account_id.as_str()];
        all.extend_from_slice(segments);
        self.endpoint(&all)
    }

    /// A request with the partner's basic authentication. A 401 means the partner
    /// credentials are refused.
    async fn partner_call<T: DeserializeOwned>(
        &self,
        request: Request,
    ) -> Result<T, PlatformError> {
        Ok(self
            .http
            .send_json(request.auth(self.partner.clone()))
            .await?)
    }

    /// A request with the Client's bearer token; on a 401, the token is renewed and the
    /// request sent once more. Safe for investments too: a 401 means nothing was done.
    async fn client_call<T: DeserializeOwned>(&self, request: Request) -> Result<T, PlatformError> {
        let token = self.token(None).await?;
        let first = request.clone().auth(Auth::bearer(token.clone()));
        match self.http.send_json(first).await {
            Err(CallError::Unauthorized { message, .. }) => {
                tracing::info!(platform = %self.id, %message, "access token refused, renewing it");
                let renewed = self.token(Some(&token)).await?;
                Ok(self
                    .http
                    .send_json(request.auth(Auth::bearer(renewed)))
                    .await?)
            }
            other => Ok(other?),
        }
    }

    /// A fresh access token: the cached one unless it is stale or is `refused`.
    async fn token(&self, refused: Option<&Secret>) -> Result<Secret, PlatformError> {
        self.token.get(refused, || self.fetch_token()).await
    }

    /// `POST /v1/oauth/token` with the refresh token, under partner basic auth.
    async fn fetch_token(&self) -> Result<SessionToken, PlatformError> {
        let request = Request::session(Method::POST, self.endpoint(&["oauth", "token"]))
            .auth(self.partner.clone())
            .json(wire::token_body(&self.refresh_token))
            .redact(self.refresh_token.clone());
        let answer: wire::AccessTokenResponse =
            self.http.send_json(request).await.map_err(token_refused)?;
        if answer.access_token.trim().is_empty() {
            return Err(PlatformError::Auth {
                platform: self.id.to_string(),
                message: "the token endpoint answered an empty access token".to_string(),
            });
        }
        if answer
            .token_type
            .as_deref()
            .is_some_and(|kind| !kind.eq_ignore_ascii_case("bearer"))
        {
            tracing::warn!(platform = %self.id, "token type is not Bearer; using it as a bearer token anyway");
        }
        if answer
            .refresh_token
            .as_deref()
            .is_some_and(|returned| returned != self.refresh_token.expose())
        {
            // The spec says the same refresh token comes back; refresh tokens never
            // expire, so the configured one stays in use.
            tracing::warn!(platform = %self.id, "the token endpoint returned a different refresh token; keeping the configured one");
        }
        tracing::debug!(platform = %self.id, expires_in = ?answer.expires_in, "access token obtained");
        Ok(token_from_answer(answer))
    }

    /// Every entry of `GET /v1/offerings` that parses; unusable entries are logged,
    /// counted and left out.
    async fn offerings(&self) -> Result<Vec<wire::OfferingResponse>, PlatformError> {
        let entries: Vec<serde_json::Value> = self
            .partner_call(Request::get(self.endpoint(&["offerings"])))
            .await?;
        let mut offerings = Vec::with_capacity(entries.len());
        for entry in entries {
            match serde_json::from_value::<wire::OfferingResponse>(entry) {
                Ok(offering) => offerings.push(offering),
                Err(error) => self.skipped(&format!("offerings entry: {error}")),
            }
        }
        Ok(offerings)
    }

    /// Says once (then at debug) that open offerings are left out, and why.
    fn report_unacknowledged(&self, open: usize) {
        let first = !self.warned_unacknowledged.swap(true, Ordering::Relaxed);
        if first {
            tracing::warn!(platform = %self.id, open, "acknowledge_documents is false: Fundrise offerings are not considered and nothing is invested; set acknowledge_documents = true once the account holder has accepted the offering documents");
        } else {
            tracing::debug!(platform = %self.id, open, "open offerings left out: acknowledge_documents is false");
        }
    }

    /// The ids to send as `acknowledgedDocumentIds`: the offering's documents (partner
    /// auth) and its investment acknowledgments (Client auth). Nothing has been sent
    /// yet, so an unusable answer is a failure to try again, not an unknown outcome.
    async fn acknowledged_ids(&self, offering_id: &str) -> Result<Vec<String>, PlatformError> {
        let documents: Vec<wire::DocumentResponse> = self
            .partner_call(Request::get(self.endpoint(&[
                "offering",
                offering_id,
                "documents",
            ])))
            .await
            .map_err(not_sent)?;
        let acknowledgments: Vec<wire::AcknowledgmentResponse> = self
            .client_call(Request::get(self.endpoint(&[
                "offering",
                offering_id,
                "acknowledgments",
            ])))
            .await
            .map_err(not_sent)?;
        Ok(wire::acknowledged_ids(&documents, &acknowledgments))
    }

    /// The amount as Fundrise takes it, refused locally (nothing sent) when it is not
    /// whole cents or outside the documented $10 – $100,000.
    fn investment_amount(&self, intent: &OrderIntent) -> Result<Decimal, PlatformError> {
        let amount = intent.amount;
        let problem = if money::to_cents(amount).is_err() {
            Some(format!("amount {amount} has more than two decimals"))
        } else if amount < wire::PLATFORM_MINIMUM || amount > wire::PLATFORM_MAXIMUM {
            Some(format!(
                "amount {amount} is outside Fundrise's {} – {} per transaction",
                wire::PLATFORM_MINIMUM,
                wire::PLATFORM_MAXIMUM
            ))
        } else {
            None
        };
        match problem {
            Some(why) => Err(self.refused_locally(why)),
            None => Ok(amount),
        }
    }

    fn refused_locally(&self, why: String) -> PlatformError {
        PlatformError::Rejected {
            platform: self.id.to_string(),
            status: 0,
            message: format!("order not sent: {why}"),
        }
    }

    /// Sends the investment, and once more with the same `partnerReferenceId` when the
    /// first outcome is unknown (Fundrise deduplicates on it).
    async fn send_investment(
        &self,
        intent: &OrderIntent,
        body: serde_json::Value,
    ) -> Result<PlatformOrder, PlatformError> {
        let url = self.account_endpoint(&["investment"]);
        let request = Request::state_changing(Method::POST, url).json(body);
        let first = self.client_call(request.clone()).await;
        let first_error = match first {
            Ok(answer) => return self.placed(intent, answer),
            Err(error) if is_duplicate(&error) => return self.existing_investment(intent).await,
            Err(error) if error.order_outcome_unknown() => error,
            Err(error) => return Err(error),
        };
        tracing::warn!(platform = %self.id, intent = %intent.key, error = %first_error, "investment outcome unknown; resending once with the same partnerReferenceId");
        match self.client_call(request).await {
            Ok(answer) => self.placed(intent, answer),
            Err(error) if is_duplicate(&error) => self.existing_investment(intent).await,
            // The first request may have been acted on: whatever the resend met, the
            // outcome stays unknown and the executor reconciles.
            Err(error) => Err(PlatformError::Ambiguous {
                platform: self.id.to_string(),
                message: format!("{first_error}; resend: {error}"),
            }),
        }
    }

    /// The investment Fundrise answered, checked against what was asked.
    fn placed(
        &self,
        intent: &OrderIntent,
        answer: TransactionResponse,
    ) -> Result<PlatformOrder, PlatformError> {
        let order = answer
            .to_platform_order()
            .map_err(|why| self.unusable_answer(why))?;
        if order.opportunity_id != intent.opportunity_id {
            return Err(self.unusable_answer(format!(
                "investment {} is in offering {}, not {}",
                order.order_id, order.opportunity_id, intent.opportunity_id
            )));
        }
        Ok(order)
    }

    /// After a 409: the investment exists. It is returned when the account's
    /// investments single it out; otherwise the outcome is left to reconciliation
    /// (which also knows which investments other intents already hold).
    async fn existing_investment(
        &self,
        intent: &OrderIntent,
    ) -> Result<PlatformOrder, PlatformError> {
        let reference = intent.key.partner_reference();
        tracing::info!(platform = %self.id, intent = %intent.key, partner_reference_id = %reference, "Fundrise already holds this partnerReferenceId; looking the investment up");
        let ambiguous = |why: String| PlatformError::Ambiguous {
            platform: self.id.to_string(),
            message: format!("partnerReferenceId {reference} already used; {why}"),
        };
        let mut candidates = self
            .find_orders(intent)
            .await
            .map_err(|error| ambiguous(format!("lookup failed: {error}")))?;
        match candidates.len() {
            1 => Ok(candidates.remove(0)),
            n => Err(ambiguous(format!("{n} matching investments; reconciling"))),
        }
    }

    fn check_answer_is(
        &self,
        answer: &TransactionResponse,
        transaction_id: &str,
    ) -> Result<(), PlatformError> {
        if answer.transaction_id == transaction_id {
            return Ok(());
        }
        Err(self.unusable_answer(format!(
            "asked to cancel {transaction_id}, answered {}",
            answer.transaction_id
        )))
    }

    /// Counts and logs one offering left out because its content is unusable.
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

    /// An answer that cannot be trusted after a state-changing request: the
    /// investment may exist, so the executor must reconcile.
    fn unusable_answer(&self, why: String) -> PlatformError {
        self.count_parse_error();
        PlatformError::Ambiguous {
            platform: self.id.to_string(),
            message: format!("answer unusable: {why}"),
        }
    }
}

#[async_trait::async_trait]
impl PlatformClient for FundriseClient {
    fn status_is_final(&self, status: &str) -> bool {
        // PENDING moves on; COMPLETE and FAILED (which includes cancelled) are final.
        status != "PENDING"
    }

    async fn cancel_order(&self, order_id: &str) -> Result<PlatformOrder, PlatformError> {
        self.cancel_investment(order_id).await
    }

    async fn order_status(&self, order_id: &str) -> Result<Option<PlatformOrder>, PlatformError> {
        self.investment(order_id).await.map(Some)
    }

    fn id(&self) -> &PlatformId {
        &self.id
    }

    fn kind(&self) -> PlatformKind {
        PlatformKind::Fundrise
    }

    /// The `OPEN` offerings — none while `acknowledge_documents` is false (said once
    /// at warn level): without the account holder's acceptance nothing may be bought.
    async fn poll(&self) -> Result<Vec<Opportunity>, PlatformError> {
        let open: Vec<wire::OfferingResponse> = self
            .offerings()
            .await?
            .into_iter()
            .filter(wire::OfferingResponse::is_open)
            .collect();
        if !self.acknowledge_documents {
            self.report_unacknowledged(open.len());
            return Ok(Vec::new());
        }
        let mut opportunities = Vec::with_capacity(open.len());
        for offering in open {
            match offering.to_opportunity(&self.id) {
                Ok(opportunity) => opportunities.push(opportunity),
                Err(invalid) => self.skipped(&invalid.to_string()),
            }
        }
        Ok(opportunities)
    }

    async fn place_order(&self, order: &ApprovedOrder) -> Result<PlatformOrder, PlatformError> {
        let intent = &order.intent;
        if !self.acknowledge_documents {
            return Err(self.refused_locally(
                "acknowledge_documents is false: the account holder has not accepted the offering documents".into(),
            ));
        }
        let amount = self.investment_amount(intent)?;
        let acknowledged = self.acknowledged_ids(&intent.opportunity_id).await?;
        let body = wire::investment_body(
            &intent.key.partner_reference(),
            &intent.opportunity_id,
            amount,
            &acknowledged,
        );
        self.send_investment(intent, body).await
    }

    /// The account's investments that can be this intent's: the one with its
    /// `partnerReferenceId` when Fundrise reports references, otherwise those in the
    /// same offering for exactly its amount, dated since shortly before it was created.
    async fn find_orders(&self, intent: &OrderIntent) -> Result<Vec<PlatformOrder>, PlatformError> {
        let request = Request::get(self.account_endpoint(&["transactions"]))
            .query("transactionType", wire::INVESTMENT);
        let transactions: Vec<TransactionResponse> = self.client_call(request).await?;
        let reference = intent.key.partner_reference();
        let wanted = InvestmentMatch {
            partner_reference_id: &reference,
            offering_id: &intent.opportunity_id,
            amount: intent.amount,
            not_before: intent.created_at - RECONCILE_DATE_SLACK,
        };
        let mut found = Vec::new();
        for transaction in transactions {
            // Reconciliation decides whether money moved: a bad row fails the lookup
            // rather than being skipped.
            if transaction
                .belongs_to(&wanted)
                .map_err(|why| self.bad_response(why))?
            {
                found.push(
                    transaction
                        .to_platform_order()
                        .map_err(|why| self.bad_response(why))?,
                );
            }
        }
        Ok(found)
    }

    /// Fundrise Connect reports no cash balance: accounts invest from a linked,
    /// funded payment source.
    async fn available_cash(&self) -> Result<Option<Decimal>, PlatformError> {
        Ok(None)
    }
}

/// A 409 to an investment POST: the `partnerReferenceId` was used before.
fn is_duplicate(error: &PlatformError) -> bool {
    matches!(error, PlatformError::Rejected { status, .. } if *status == DUPLICATE_REFERENCE)
}

/// A failure before the investment POST: nothing was sent, so an unusable answer is
/// reported as "not sent, try again later" rather than as an unknown outcome.
fn not_sent(error: PlatformError) -> PlatformError {
    match error {
        PlatformError::BadResponse { platform, message } => PlatformError::Connectivity {
            platform,
            message: format!("order not sent: {message}"),
        },
        other => other,
    }
}

/// Token failures, in terms the executor acts on: refused credentials or refresh token
/// (or an answer without a usable token) are `Auth`; transport trouble stays as is.
fn token_refused(error: CallError) -> PlatformError {
    match PlatformError::from(error) {
        PlatformError::Rejected {
            platform,
            status,
            message,
        } => PlatformError::Auth {
            platform,
            message: format!("access token refused ({status}): {message}"),
        },
        PlatformError::BadResponse { platform, message } => PlatformError::Auth {
            platform,
            message: format!("token answer unusable: {message}"),
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::time::Instant;

    #[tokio::test(start_paused = true)]
    async fn tokens_are_renewed_five_minutes_early_and_short_ones_at_half_life() {
        let renew_in = |expires_in| {
            let token = token_from_answer(wire::AccessTokenResponse {
                access_token: "t".into(),
                refresh_token: None,
                token_type: None,
                expires_in,
            });
            token.renew_at - Instant::now()
        };
        assert_eq!(renew_in(Some(3598)), Duration::from_secs(3598 - 300));
        assert_eq!(renew_in(None), Duration::from_secs(3600 - 300));
        assert_eq!(renew_in(Some(60)), Duration::from_secs(30));
    }

    #[test]
    fn only_a_409_means_the_reference_was_used() {
        let rejected = |status| PlatformError::Rejected {
            platform: "fr".into(),
            status,
            message: String::new(),
        };
        assert!(is_duplicate(&rejected(409)));
        assert!(!is_duplicate(&rejected(400)));
        assert!(!is_duplicate(&PlatformError::Ambiguous {
            platform: "fr".into(),
            message: String::new()
        }));
    }

    #[test]
    fn endpoints_keep_the_base_path_and_encode_ids() {
        let client = FundriseClient::new(
            FundriseSettings {
                id: PlatformId::new("fr"),
                base_url: "http://127.0.0.1:9/fundrise/".into(),
                partner_user: Secret::new("u"),
                partner_password: Secret::new("p"),
                refresh_token: Secret::new("r"),
                account_id: "12".into(),
                acknowledge_documents: true,
                max_posts_per_second: NonZeroU32::MIN,
                max_gets_per_second: NonZeroU32::MIN,
                request_timeout: Duration::from_secs(1),
            },
            Metrics::new(),
        )
        .unwrap();
        assert_eq!(
            client
                .account_endpoint(&["investment", "a/b", "cancel"])
                .as_str(),
            "http://127.0.0.1:9/fundrise/v1/account/12/investment/a%2Fb/cancel"
        );
        assert_eq!(
            client.endpoint(&["offerings"]).as_str(),
            "http://127.0.0.1:9/fundrise/v1/offerings"
        );
        let shown = format!("{client:?}");
        assert!(
            !shown.contains("\"r\"") && !shown.contains("Basic"),
            "{shown}"
        );
    }
}
