//! The Funding Circle investor API v2 emulator, served under [`PREFIX`]: login, listings
//! (HAL pages and details), orders (whole and fractional, with the seed document's
//! order object and the 40-per-second POST limit), the order history and the cash
//! balance. State lives in a [`market::Market`]; this module is its HTTP face.

mod error;
mod market;
mod wire;

use crate::sandbox::clock::SandboxClock;
use crate::sandbox::faults::{self, FaultInjector, FaultScope};
use crate::sandbox::SandboxOptions;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::{from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use error::FcError;
use market::{Market, MarketSettings, LIVE};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use tokio::time::Instant;
use wire::{HalPage, Order, Session};
pub(crate) use wire::{Ledger, Stats};

/// Where the emulator is mounted: clients use `http://HOST:PORT/fundingcircle` as base URL.
pub(crate) const PREFIX: &str = "/fundingcircle";

const ORDERS_PATH: &str = "/api/v2/orders";
const LISTINGS_PATH: &str = "/api/v2/listings";
const DEFAULT_PAGE_SIZE: usize = 50;
const MAX_PAGE_SIZE: usize = 100;

/// A handle on the emulator's shared state.
#[derive(Debug, Clone)]
pub(crate) struct FundingCircle {
    market: Arc<Mutex<Market>>,
}

impl FundingCircle {
    pub(crate) fn new(options: &SandboxOptions, clock: SandboxClock) -> Self {
        FundingCircle {
            market: Arc::new(Mutex::new(Market::new(options.into(), clock))),
        }
    }

    fn locked(&self) -> MutexGuard<'_, Market> {
        // Market methods validate before they mutate, so a panic inside one cannot
        // leave a half-applied order behind: a poisoned lock is still consistent.
        self.market.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Back to a fresh market (listings, cash, sessions, orders, ledger) on `clock`.
    pub(crate) fn reset(&self, options: &SandboxOptions, clock: SandboxClock) {
        *self.locked() = Market::new(MarketSettings::from(options), clock);
    }

    pub(crate) fn ledger(&self) -> Ledger {
        self.locked().ledger()
    }

    pub(crate) fn stats(&self) -> Stats {
        self.locked().stats()
    }

    /// The emulator's routes, with `faults` applied to each and order POSTs recorded in
    /// the ledger before anything (faults included) happens to them.
    pub(crate) fn router(&self, faults: FaultInjector) -> Router {
        let authenticated = Router::new()
            .route(LISTINGS_PATH, get(list_listings))
            .route("/api/v2/listings/{id}", get(listing_details))
            .route(ORDERS_PATH, get(list_orders).post(create_order))
            .route("/api/v2/portfolio", get(portfolio))
            .route_layer(from_fn_with_state(self.clone(), require_bearer));
        let scope = FaultScope {
            injector: faults,
            is_order_post,
        };
        Router::new()
            .route("/api/v2/login", post(login))
            .merge(authenticated)
            .fallback(unknown_endpoint)
            .with_state(self.clone())
            .layer(from_fn_with_state(scope, faults::inject))
            .layer(from_fn_with_state(self.clone(), record_order_posts))
    }
}

/// Paths as this router sees them (the prefix is stripped by the nesting).
fn is_order_post(method: &Method, path: &str) -> bool {
    method == Method::POST && path == ORDERS_PATH
}

async fn record_order_posts(
    State(fc): State<FundingCircle>,
    request: Request,
    next: Next,
) -> Response {
    if !is_order_post(request.method(), request.uri().path()) {
        return next.run(request).await;
    }
    fc.locked().record_order_post(Instant::now());
    let response = next.run(request).await;
    fc.locked().record_order_outcome(response.status());
    response
}

async fn require_bearer(State(fc): State<FundingCircle>, request: Request, next: Next) -> Response {
    let token = bearer_token(request.headers());
    let authorized = fc.locked().authorize(token, Instant::now());
    match authorized {
        Ok(()) => next.run(request).await,
        Err(refusal) => refusal.into_response(),
    }
}

fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .map(str::trim)
}

async fn unknown_endpoint() -> FcError {
    FcError::UnknownEndpoint
}

#[derive(Debug, Deserialize)]
struct Credentials {
    username: String,
    password: String,
}

async fn login(
    State(fc): State<FundingCircle>,
    body: Result<Json<Credentials>, JsonRejection>,
) -> Result<Json<Session>, FcError> {
    let Json(credentials) = body.map_err(|e| FcError::BadRequest(e.body_text()))?;
    let session =
        fc.locked()
            .login(&credentials.username, &credentials.password, Instant::now())?;
    Ok(Json(session))
}

#[derive(Debug, Deserialize)]
struct ListingsQuery {
    size: Option<usize>,
    offset: Option<usize>,
    status: Option<String>,
}

async fn list_listings(
    State(fc): State<FundingCircle>,
    headers: HeaderMap,
    query: Result<Query<ListingsQuery>, QueryRejection>,
) -> Result<Json<Value>, FcError> {
    let Query(query) = query.map_err(|e| FcError::BadRequest(e.body_text()))?;
    let status = query.status.unwrap_or_else(|| LIVE.to_string());
    let paging = Paging::new(query.size, query.offset);
    let listings = fc.locked().listings(&status, Instant::now());
    let href = PageHref::new(&headers, LISTINGS_PATH, vec![("status", status)])?;
    Ok(Json(paging.page("listings", listings, &href).to_json()))
}

async fn listing_details(
    State(fc): State<FundingCircle>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, FcError> {
    let details = fc.locked().listing_details(&id, Instant::now())?;
    Ok(Json(details))
}

#[derive(Debug, Default, Deserialize)]
struct OrderParams {
    listing_id: Option<String>,
    /// Kept as text so a malformed amount gets the platform's 422, not a generic 400.
    amount_cents: Option<String>,
}

/// `POST /api/v2/orders`: parameters in the query string, in form data, or both (the
/// query string wins).
async fn create_order(
    State(fc): State<FundingCircle>,
    query: Result<Query<OrderParams>, QueryRejection>,
    request: Request,
) -> Result<(StatusCode, Json<Order>), FcError> {
    let Query(from_query) = query.map_err(|e| FcError::BadRequest(e.body_text()))?;
    let from_form = if has_form_body(request.headers()) {
        Form::<OrderParams>::from_request(request, &())
            .await
            .map_err(|e| FcError::BadRequest(e.body_text()))?
            .0
    } else {
        OrderParams::default()
    };
    let listing_id = from_query.listing_id.or(from_form.listing_id);
    let amount_cents = from_query.amount_cents.or(from_form.amount_cents);
    let order = fc.locked().place_order(
        listing_id.as_deref(),
        amount_cents.as_deref(),
        Instant::now(),
    )?;
    tracing::debug!(
        listing_id = %order.listing_id,
        amount_cents = order.purchased_amount_cents,
        "sandbox fundingcircle order executed"
    );
    Ok((StatusCode::CREATED, Json(order)))
}

fn has_form_body(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"))
}

#[derive(Debug, Deserialize)]
struct OrdersQuery {
    listing_id: Option<String>,
    size: Option<usize>,
    offset: Option<usize>,
}

async fn list_orders(
    State(fc): State<FundingCircle>,
    headers: HeaderMap,
    query: Result<Query<OrdersQuery>, QueryRejection>,
) -> Result<Json<Value>, FcError> {
    let Query(query) = query.map_err(|e| FcError::BadRequest(e.body_text()))?;
    let paging = Paging::new(query.size, query.offset);
    let orders = fc.locked().orders(query.listing_id.as_deref());
    let filters = query
        .listing_id
        .map(|id| vec![("listing_id", id)])
        .unwrap_or_default();
    let href = PageHref::new(&headers, ORDERS_PATH, filters)?;
    Ok(Json(paging.page("orders", orders, &href).to_json()))
}

async fn portfolio(State(fc): State<FundingCircle>) -> Json<Value> {
    let cash = fc.locked().available_cash_cents();
    Json(json!({"available_cash_cents": cash}))
}

/// `size` and `offset` of a page request: size defaults to 50 and is held to 1..=100.
struct Paging {
    size: usize,
    offset: usize,
}

impl Paging {
    fn new(size: Option<usize>, offset: Option<usize>) -> Self {
        Paging {
            size: size.unwrap_or(DEFAULT_PAGE_SIZE).clamp(1, MAX_PAGE_SIZE),
            offset: offset.unwrap_or(0),
        }
    }

    fn page<T: Serialize>(
        &self,
        embedded_key: &'static str,
        all: Vec<T>,
        href: &PageHref,
    ) -> HalPage<T> {
        let total_count = all.len();
        let items: Vec<T> = all.into_iter().skip(self.offset).take(self.size).collect();
        let shown_up_to = self.offset.saturating_add(items.len());
        HalPage {
            size: self.size,
            offset: self.offset,
            total_count,
            embedded_key,
            items,
            self_href: href.at(self.size, self.offset),
            next_href: (shown_up_to < total_count).then(|| href.at(self.size, shown_up_to)),
        }
    }
}

/// Builds absolute `_links` hrefs for pages of one collection, keeping its filters.
struct PageHref {
    base: reqwest::Url,
    filters: Vec<(&'static str, String)>,
}

impl PageHref {
    fn new(
        headers: &HeaderMap,
        path: &str,
        filters: Vec<(&'static str, String)>,
    ) -> Result<Self, FcError> {
        let host = headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("localhost");
        let base = reqwest::Url::parse(&format!("http://{host}{PREFIX}{path}"))
            .map_err(|_| FcError::BadRequest(format!("unusable Host header {host:?}")))?;
        Ok(PageHref { base, filters })
    }

    fn at(&self, size: usize, offset: usize) -> String {
        let mut url = self.base.clone();
        url.query_pairs_mut()
            .append_pair("size", &size.to_string())
            .append_pair("offset", &offset.to_string())
            .extend_pairs(self.filters.iter().map(|(k, v)| (*k, v.as_str())));
        url.to_string()
    }
}
