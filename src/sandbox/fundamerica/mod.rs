//! The FundAmerica API emulator, served under [`PREFIX`]: offerings (`resource_list`
//! pages, securities expandable with `_expand[security]=1`), securities, investments
//! (form-encoded POST with the platform's 422/403/404 answers, GET, DELETE), an
//! offering's investments, the webhook log, and the test-mode calls that stand in for
//! customer service. HTTP basic auth with the API key as user, as the platform.
//! State lives in a [`market::Market`]; this module is its HTTP face.

mod error;
mod market;
mod offerings;
mod wire;

use crate::sandbox::clock::SandboxClock;
use crate::sandbox::faults::{self, FaultInjector, FaultScope};
use crate::sandbox::SandboxOptions;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, Method};
use axum::middleware::{from_fn, from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::{Form, Json, Router};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use error::FaError;
use market::{InvestmentParams, Market, MarketSettings};
use serde::Deserialize;
use serde_json::Value;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use tokio::time::Instant;
pub(crate) use wire::Ledger;

/// Where the emulator is mounted: clients use `http://HOST:PORT/fundamerica` as base URL.
pub(crate) const PREFIX: &str = "/fundamerica";

const INVESTMENTS_PATH: &str = "/api/investments";
const DEFAULT_PER_PAGE: usize = 25;
const MAX_PER_PAGE: usize = 100;

/// A handle on the emulator's shared state.
#[derive(Debug, Clone)]
pub(crate) struct FundAmerica {
    market: Arc<Mutex<Market>>,
}

impl FundAmerica {
    pub(crate) fn new(options: &SandboxOptions, clock: SandboxClock) -> Self {
        FundAmerica {
            market: Arc::new(Mutex::new(Market::new(options.into(), clock))),
        }
    }

    fn locked(&self) -> MutexGuard<'_, Market> {
        // Market methods validate before they mutate, so a panic inside one cannot
        // leave a half-made investment behind: a poisoned lock is still consistent.
        self.market.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Back to a fresh market (offerings, investments, webhook log, ledger) on `clock`.
    pub(crate) fn reset(&self, options: &SandboxOptions, clock: SandboxClock) {
        *self.locked() = Market::new(MarketSettings::from(options), clock);
    }

    pub(crate) fn ledger(&self) -> Ledger {
        self.locked().ledger()
    }

    /// The emulator's routes, every one behind basic auth, with `faults` applied and
    /// investment POSTs recorded in the ledger before anything (faults included)
    /// happens to them.
    pub(crate) fn router(&self, faults: FaultInjector) -> Router {
        let scope = FaultScope {
            injector: faults,
            is_order_post,
        };
        Router::new()
            .route("/api/offerings", get(list_offerings))
            .route("/api/offerings/{id}", get(get_offering))
            .route("/api/offerings/{id}/investments", get(offering_investments))
            .route("/api/securities/{id}", get(get_security))
            .route(INVESTMENTS_PATH, post(create_investment))
            .route(
                "/api/investments/{id}",
                get(get_investment).delete(cancel_investment),
            )
            .route(
                "/api/test_mode/investments/{id}",
                patch(test_mode_investment),
            )
            .route("/api/test_mode/offerings/{id}", patch(test_mode_offering))
            .route("/api/webhook_logs", get(webhook_logs))
            .fallback(unknown_endpoint)
            .route_layer(from_fn(require_api_key))
            .with_state(self.clone())
            .layer(from_fn_with_state(scope, faults::inject))
            .layer(from_fn_with_state(self.clone(), record_investment_posts))
    }
}

/// Paths as this router sees them (the prefix is stripped by the nesting).
fn is_order_post(method: &Method, path: &str) -> bool {
    method == Method::POST && path == INVESTMENTS_PATH
}

async fn record_investment_posts(
    State(fa): State<FundAmerica>,
    request: Request,
    next: Next,
) -> Response {
    if !is_order_post(request.method(), request.uri().path()) {
        return next.run(request).await;
    }
    fa.locked().record_post(Instant::now());
    let response = next.run(request).await;
    fa.locked().record_post_outcome(response.status());
    response
}

async fn require_api_key(request: Request, next: Next) -> Response {
    match Market::authorize(basic_user(request.headers()).as_deref()) {
        Ok(()) => next.run(request).await,
        Err(refusal) => refusal.into_response(),
    }
}

/// The user of an `Authorization: Basic ..` header (the API key).
fn basic_user(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value
        .strip_prefix("Basic ")
        .or_else(|| value.strip_prefix("basic "))?;
    let decoded = STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, _password) = text.split_once(':')?;
    Some(user.to_string())
}

async fn unknown_endpoint() -> FaError {
    FaError::NotFound("Resource".into())
}

/// `http://HOST/fundamerica`: what `url` fields start with.
fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("localhost");
    format!("http://{host}{PREFIX}")
}

/// `page`, `per` and the expansion of a list or show request. Unusable values fall
/// back to the defaults, as the platform's list actions do.
#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    page: Option<String>,
    per: Option<String>,
    #[serde(rename = "_expand[security]")]
    expand_security: Option<String>,
}

impl ListQuery {
    fn page(&self) -> usize {
        parse_positive(self.page.as_deref()).unwrap_or(1)
    }

    fn per(&self) -> usize {
        parse_positive(self.per.as_deref())
            .unwrap_or(DEFAULT_PER_PAGE)
            .min(MAX_PER_PAGE)
    }

    fn expands_security(&self) -> bool {
        matches!(self.expand_security.as_deref(), Some("1" | "true"))
    }
}

fn parse_positive(text: Option<&str>) -> Option<usize> {
    text?.trim().parse().ok().filter(|n| *n > 0)
}

fn query(query: Result<Query<ListQuery>, QueryRejection>) -> Result<ListQuery, FaError> {
    query
        .map(|Query(q)| q)
        .map_err(|e| FaError::BadRequest(e.body_text()))
}

async fn list_offerings(
    State(fa): State<FundAmerica>,
    headers: HeaderMap,
    list: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Value>, FaError> {
    let list = query(list)?;
    let base = base_url(&headers);
    let offerings = fa.locked().offerings(Instant::now());
    let rendered = offerings
        .iter()
        .map(|o| o.to_json(&base, list.expands_security()))
        .collect();
    Ok(Json(wire::resource_list(rendered, list.page(), list.per())))
}

async fn get_offering(
    State(fa): State<FundAmerica>,
    headers: HeaderMap,
    Path(id): Path<String>,
    list: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Value>, FaError> {
    let list = query(list)?;
    let offering = fa.locked().offering(&id, Instant::now())?;
    Ok(Json(
        offering.to_json(&base_url(&headers), list.expands_security()),
    ))
}

async fn offering_investments(
    State(fa): State<FundAmerica>,
    headers: HeaderMap,
    Path(id): Path<String>,
    list: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Value>, FaError> {
    let list = query(list)?;
    let base = base_url(&headers);
    let investments = fa.locked().offering_investments(&id, Instant::now())?;
    let rendered = investments.iter().map(|i| i.to_json(&base)).collect();
    Ok(Json(wire::resource_list(rendered, list.page(), list.per())))
}

async fn get_security(
    State(fa): State<FundAmerica>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Value>, FaError> {
    let security = fa.locked().security(&id, Instant::now())?;
    Ok(Json(security.to_json(&base_url(&headers))))
}

async fn create_investment(
    State(fa): State<FundAmerica>,
    headers: HeaderMap,
    form: Result<Form<InvestmentParams>, FormRejection>,
) -> Result<Json<Value>, FaError> {
    let Form(params) = form.map_err(|e| FaError::BadRequest(e.body_text()))?;
    let base = base_url(&headers);
    let investment = fa
        .locked()
        .create_investment(&params, &base, Instant::now())?;
    tracing::debug!(
        offering_id = %investment.offering_id,
        amount_cents = investment.amount_cents,
        "sandbox fundamerica investment made"
    );
    Ok(Json(investment.to_json(&base)))
}

async fn get_investment(
    State(fa): State<FundAmerica>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Value>, FaError> {
    let investment = fa.locked().investment(&id)?;
    Ok(Json(investment.to_json(&base_url(&headers))))
}

async fn cancel_investment(
    State(fa): State<FundAmerica>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Value>, FaError> {
    let base = base_url(&headers);
    let investment = fa.locked().cancel_investment(&id, &base, Instant::now())?;
    Ok(Json(investment.to_json(&base)))
}

#[derive(Debug, Deserialize)]
struct StatusForm {
    status: Option<String>,
}

async fn test_mode_investment(
    State(fa): State<FundAmerica>,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Result<Form<StatusForm>, FormRejection>,
) -> Result<Json<Value>, FaError> {
    let Form(form) = form.map_err(|e| FaError::BadRequest(e.body_text()))?;
    let base = base_url(&headers);
    let investment = fa.locked().test_mode_investment_status(
        &id,
        form.status.as_deref(),
        &base,
        Instant::now(),
    )?;
    Ok(Json(investment.to_json(&base)))
}

#[derive(Debug, Deserialize)]
struct AcceptForm {
    accept_investments: Option<String>,
}

async fn test_mode_offering(
    State(fa): State<FundAmerica>,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Result<Form<AcceptForm>, FormRejection>,
) -> Result<Json<Value>, FaError> {
    let Form(form) = form.map_err(|e| FaError::BadRequest(e.body_text()))?;
    let offering = fa.locked().test_mode_accept_investments(
        &id,
        form.accept_investments.as_deref(),
        Instant::now(),
    )?;
    Ok(Json(offering.to_json(&base_url(&headers), false)))
}

async fn webhook_logs(
    State(fa): State<FundAmerica>,
    headers: HeaderMap,
    list: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Value>, FaError> {
    let list = query(list)?;
    let base = base_url(&headers);
    let logs = fa.locked().webhook_logs();
    let rendered = logs.iter().map(|log| log.to_json(&base)).collect();
    Ok(Json(wire::resource_list(rendered, list.page(), list.per())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_api_key_is_the_basic_auth_user() {
        let mut headers = HeaderMap::new();
        assert_eq!(basic_user(&headers), None);
        // base64("fa-key:")
        headers.insert(header::AUTHORIZATION, "Basic ZmEta2V5Og==".parse().unwrap());
        assert_eq!(basic_user(&headers).as_deref(), Some("fa-key"));
        headers.insert(header::AUTHORIZATION, "Bearer fa-key".parse().unwrap());
        assert_eq!(basic_user(&headers), None);
        headers.insert(header::AUTHORIZATION, "Basic !!!".parse().unwrap());
        assert_eq!(basic_user(&headers), None);
    }
}
