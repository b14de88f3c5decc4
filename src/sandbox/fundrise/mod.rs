//! The Fundrise Connect emulator, served under [`PREFIX`]: the OAuth token endpoint,
//! offerings with their documents and acknowledgments, investments (deduplicated on
//! `partnerReferenceId`), cancellation, and the account's transactions — with the
//! spec's paths, security schemes, field names, status values and error bodies.
//! State lives in a [`market::Market`]; this module is its HTTP face.
//!
//! Every response carries a `Request-Id` header; an error's `FundriseConnectError`
//! body repeats it as `referenceId`, as the spec describes.

mod catalog;
mod error;
mod market;
mod wire;

use crate::sandbox::clock::SandboxClock;
use crate::sandbox::faults::{self, FaultInjector, FaultScope};
use crate::sandbox::SandboxOptions;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method};
use axum::middleware::{from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use error::FrError;
use market::{Market, MarketSettings};
use serde::Deserialize;
use serde_json::Value;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use tokio::time::Instant;
pub(crate) use wire::Ledger;
use wire::{AccessToken, Acknowledgment, Document, Offering, Transaction};

/// Where the emulator is mounted: clients use `http://HOST:PORT/fundrise` as base URL.
pub(crate) const PREFIX: &str = "/fundrise";

/// The response header naming the request (and the `referenceId` of its error).
const REQUEST_ID: &str = "request-id";

/// Rate limits count every bearer request against the sandbox's one Client.
const CLIENT_PRINCIPAL: &str = "client:1";

/// A handle on the emulator's shared state.
#[derive(Debug, Clone)]
pub(crate) struct Fundrise {
    market: Arc<Mutex<Market>>,
}

impl Fundrise {
    pub(crate) fn new(options: &SandboxOptions, clock: SandboxClock) -> Self {
        Fundrise {
            market: Arc::new(Mutex::new(Market::new(options.into(), clock))),
        }
    }

    fn locked(&self) -> MutexGuard<'_, Market> {
        // Market methods validate before they mutate, so a panic inside one cannot
        // leave a half-applied investment behind: a poisoned lock is still consistent.
        self.market.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Back to a fresh market (offerings, tokens, investments, ledger) on `clock`.
    pub(crate) fn reset(&self, options: &SandboxOptions, clock: SandboxClock) {
        *self.locked() = Market::new(MarketSettings::from(options), clock);
    }

    pub(crate) fn ledger(&self) -> Ledger {
        self.locked().ledger(Instant::now())
    }

    /// The emulator's routes, with `faults` applied to each and investment POSTs
    /// recorded in the ledger before anything (faults included) happens to them.
    pub(crate) fn router(&self, faults: FaultInjector) -> Router {
        let partner = Router::new()
            .route("/v1/oauth/token", post(issue_token))
            .route("/v1/offerings", get(offerings))
            .route("/v1/offering/{offering_id}/documents", get(documents))
            .route_layer(from_fn_with_state(self.clone(), require_partner));
        let client = Router::new()
            .route(
                "/v1/offering/{offering_id}/acknowledgments",
                get(acknowledgments),
            )
            .route(
                "/v1/account/{account_id}/investment",
                post(place_investment),
            )
            .route(
                "/v1/account/{account_id}/investment/{transaction_id}/cancel",
                put(cancel_investment),
            )
            .route("/v1/account/{account_id}/transactions", get(transactions))
            .route(
                "/v1/account/{account_id}/transaction/{transaction_type}/{transaction_id}",
                get(transaction),
            )
            .route_layer(from_fn_with_state(self.clone(), require_bearer));
        let scope = FaultScope {
            injector: faults,
            is_order_post,
        };
        Router::new()
            .merge(partner)
            .merge(client)
            .fallback(unknown_endpoint)
            .with_state(self.clone())
            .layer(from_fn_with_state(self.clone(), stamp_request_id))
            .layer(from_fn_with_state(scope, faults::inject))
            .layer(from_fn_with_state(self.clone(), record_order_posts))
    }
}

/// `POST /v1/account/{accountId}/investment`, as this router sees paths.
fn is_order_post(method: &Method, path: &str) -> bool {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    method == Method::POST && matches!(segments.as_slice(), ["v1", "account", _, "investment"])
}

async fn record_order_posts(State(fr): State<Fundrise>, request: Request, next: Next) -> Response {
    if !is_order_post(request.method(), request.uri().path()) {
        return next.run(request).await;
    }
    fr.locked().record_order_post(Instant::now());
    let response = next.run(request).await;
    fr.locked().record_order_outcome(response.status());
    response
}

/// Gives every response a `Request-Id`, and writes each refusal's
/// `FundriseConnectError` body with that id as its `referenceId`.
async fn stamp_request_id(State(fr): State<Fundrise>, request: Request, next: Next) -> Response {
    let request_id = fr.locked().next_request_id();
    let mut response = next.run(request).await;
    if let Some(error) = response.extensions_mut().remove::<FrError>() {
        let (mut parts, _) = response.into_parts();
        parts.headers.remove(header::CONTENT_LENGTH);
        let body = Json(wire::error_body(&request_id, &error));
        response = (parts, body).into_response();
    }
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    response
}

/// PartnerBasicAuthentication, then the partner's rate limit for the method.
async fn require_partner(State(fr): State<Fundrise>, request: Request, next: Next) -> Response {
    let admitted = match basic_credentials(request.headers()) {
        Some((user, password)) => {
            let mut market = fr.locked();
            market.check_partner(&user, &password).and_then(|()| {
                market.admit(
                    format!("partner:{user}"),
                    method_name(request.method()),
                    Instant::now(),
                )
            })
        }
        None => Err(FrError::Unauthorized),
    };
    match admitted {
        Ok(()) => next.run(request).await,
        Err(refusal) => refusal.into_response(),
    }
}

/// ClientBearerAuthentication, then the Client's rate limit for the method.
async fn require_bearer(State(fr): State<Fundrise>, request: Request, next: Next) -> Response {
    let now = Instant::now();
    let admitted = {
        let mut market = fr.locked();
        market
            .authorize(bearer_token(request.headers()), now)
            .and_then(|()| {
                market.admit(CLIENT_PRINCIPAL.into(), method_name(request.method()), now)
            })
    };
    match admitted {
        Ok(()) => next.run(request).await,
        Err(refusal) => refusal.into_response(),
    }
}

fn method_name(method: &Method) -> &'static str {
    [Method::GET, Method::POST, Method::PUT, Method::DELETE]
        .iter()
        .zip(["GET", "POST", "PUT", "DELETE"])
        .find_map(|(known, name)| (known == method).then_some(name))
        .unwrap_or("OTHER")
}

fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .map(str::trim)
}

/// `Authorization: Basic base64(user:password)`.
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value
        .strip_prefix("Basic ")
        .or_else(|| value.strip_prefix("basic "))?;
    let decoded = String::from_utf8(decode_base64(encoded.trim())?).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

/// Standard base64 with padding (what HTTP basic authentication uses); `None` when
/// the text is not valid base64.
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    fn value(symbol: u8) -> Option<u32> {
        match symbol {
            b'A'..=b'Z' => Some(u32::from(symbol - b'A')),
            b'a'..=b'z' => Some(u32::from(symbol - b'a') + 26),
            b'0'..=b'9' => Some(u32::from(symbol - b'0') + 52),
            b'+' => Some(62),
            b'/' => Some(63),
            _ => None,
        }
    }
    let bytes = text.as_bytes();
    if bytes.len() % 4 != 0 {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len() / 4 * 3);
    for (index, quad) in bytes.chunks(4).enumerate() {
        let last = index + 1 == bytes.len() / 4;
        let padding = quad.iter().rev().take_while(|b| **b == b'=').count();
        if padding > 2 || (padding > 0 && !last) {
            return None;
        }
        let mut group = 0u32;
        for symbol in &quad[..4 - padding] {
            group = (group << 6) | value(*symbol)?;
        }
        group <<= 6 * padding as u32;
        let decoded = group.to_be_bytes();
        out.extend_from_slice(&decoded[1..4 - padding]);
    }
    Some(out)
}

async fn unknown_endpoint() -> FrError {
    FrError::UnknownEndpoint
}

/// A JSON object body; anything else is a malformed request.
fn json_object(body: &Bytes) -> Result<Value, FrError> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| FrError::MalformedBody(e.to_string()))?;
    if value.is_object() {
        Ok(value)
    } else {
        Err(FrError::MalformedBody("expected a JSON object".into()))
    }
}

async fn issue_token(
    State(fr): State<Fundrise>,
    body: Bytes,
) -> Result<Json<AccessToken>, FrError> {
    let body = json_object(&body)?;
    let token = fr.locked().issue_token(&body, Instant::now())?;
    Ok(Json(token))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct OfferingsQuery {
    asset_class: Option<String>,
}

async fn offerings(
    State(fr): State<Fundrise>,
    query: Result<Query<OfferingsQuery>, QueryRejection>,
) -> Result<Json<Vec<Offering>>, FrError> {
    let Query(query) = query.map_err(|e| FrError::MalformedBody(e.body_text()))?;
    let offerings = fr
        .locked()
        .offerings(query.asset_class.as_deref(), Instant::now())?;
    Ok(Json(offerings))
}

async fn documents(
    State(fr): State<Fundrise>,
    Path(offering_id): Path<String>,
) -> Result<Json<Vec<Document>>, FrError> {
    let documents = fr.locked().documents(&offering_id, Instant::now())?;
    Ok(Json(documents))
}

async fn acknowledgments(
    State(fr): State<Fundrise>,
    Path(offering_id): Path<String>,
) -> Result<Json<Vec<Acknowledgment>>, FrError> {
    let acknowledgments = fr.locked().acknowledgments(&offering_id, Instant::now())?;
    Ok(Json(acknowledgments))
}

async fn place_investment(
    State(fr): State<Fundrise>,
    Path(account_id): Path<String>,
    body: Bytes,
) -> Result<Json<Transaction>, FrError> {
    let body = json_object(&body)?;
    let placed = fr
        .locked()
        .place_investment(&account_id, &body, Instant::now())?;
    tracing::debug!(
        transaction_id = %placed.transaction_id,
        amount = %placed.amount,
        "sandbox fundrise investment executed"
    );
    Ok(Json(placed))
}

async fn cancel_investment(
    State(fr): State<Fundrise>,
    Path((account_id, transaction_id)): Path<(String, String)>,
) -> Result<Json<Transaction>, FrError> {
    let cancelled = fr
        .locked()
        .cancel_investment(&account_id, &transaction_id, Instant::now())?;
    Ok(Json(cancelled))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TransactionsQuery {
    transaction_type: Option<String>,
}

async fn transactions(
    State(fr): State<Fundrise>,
    Path(account_id): Path<String>,
    query: Result<Query<TransactionsQuery>, QueryRejection>,
) -> Result<Json<Vec<Transaction>>, FrError> {
    let Query(query) = query.map_err(|e| FrError::MalformedBody(e.body_text()))?;
    let transactions = fr.locked().transactions(
        &account_id,
        query.transaction_type.as_deref(),
        Instant::now(),
    )?;
    Ok(Json(transactions))
}

async fn transaction(
    State(fr): State<Fundrise>,
    Path((account_id, transaction_type, transaction_id)): Path<(String, String, String)>,
) -> Result<Json<Transaction>, FrError> {
    let found = fr.locked().transaction(
        &account_id,
        &transaction_type,
        &transaction_id,
        Instant::now(),
    )?;
    Ok(Json(found))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_decodes_basic_credentials_and_refuses_garbage() {
        let cases: [(&str, Option<&[u8]>); 7] = [
            ("a2V5Og==", Some(b"key:")),
            ("cGFydG5lcjpzYW5kYm94", Some(b"partner:sandbox")),
            ("dTpw", Some(b"u:p")),
            ("", Some(b"")),
            ("a2V5Og=", None),
            ("a2V5O!==", None),
            ("a2==Og==", None),
        ];
        for (text, expected) in cases {
            assert_eq!(decode_base64(text).as_deref(), expected, "{text:?}");
        }
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic cGFydG5lcjpzYW5kYm94"),
        );
        assert_eq!(
            basic_credentials(&headers),
            Some(("partner".into(), "sandbox".into()))
        );
    }

    #[test]
    fn only_investment_posts_are_order_posts() {
        assert!(is_order_post(&Method::POST, "/v1/account/12/investment"));
        assert!(!is_order_post(&Method::GET, "/v1/account/12/investment"));
        assert!(!is_order_post(
            &Method::PUT,
            "/v1/account/12/investment/5/cancel"
        ));
        assert!(!is_order_post(&Method::POST, "/v1/oauth/token"));
    }
}
