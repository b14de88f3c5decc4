//! The issuer-portal emulator, served under [`PREFIX`]: the issuer API's offerings
//! (`Authorization: Api-Key ..`) and the third-party API's login, logout and
//! investments (`Authorization: Token ..`), with DRF paging and DRF error bodies.
//! State lives in a [`market::Market`]; this module is its HTTP face.

mod error;
mod market;
mod offerings;
mod wire;

use crate::sandbox::clock::SandboxClock;
use crate::sandbox::faults::{self, FaultInjector, FaultScope};
use crate::sandbox::SandboxOptions;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::{from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use error::IpError;
use market::{InvestmentFilter, Market, MarketSettings};
use serde::Serialize;
use serde_json::Value;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use tokio::time::Instant;
pub(crate) use wire::Ledger;
use wire::{drf_page, CreatedInvestment, Session};

/// Where the emulator is mounted: clients use `http://HOST:PORT/issuer_portal` as base URL.
pub(crate) const PREFIX: &str = "/issuer_portal";

const INVESTMENTS_PATH: &str = "/api_third_party/investments/";
const OFFERINGS_PATH: &str = "/api/offerings/";
const DEFAULT_PAGE_SIZE: usize = 20;
const MAX_PAGE_SIZE: usize = 100;

/// A handle on the emulator's shared state.
#[derive(Debug, Clone)]
pub(crate) struct IssuerPortal {
    market: Arc<Mutex<Market>>,
}

impl IssuerPortal {
    pub(crate) fn new(options: &SandboxOptions, clock: SandboxClock) -> Self {
        IssuerPortal {
            market: Arc::new(Mutex::new(Market::new(options.into(), clock))),
        }
    }

    fn locked(&self) -> MutexGuard<'_, Market> {
        // Market methods validate before they mutate, so a panic inside one cannot
        // leave a half-made investment behind: a poisoned lock is still consistent.
        self.market.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Back to a fresh market (offerings, sessions, investments, ledger) on `clock`.
    pub(crate) fn reset(&self, options: &SandboxOptions, clock: SandboxClock) {
        *self.locked() = Market::new(MarketSettings::from(options), clock);
    }

    pub(crate) fn ledger(&self) -> Ledger {
        self.locked().ledger()
    }

    /// The emulator's routes, with `faults` applied to each and investment POSTs
    /// recorded in the ledger before anything (faults included) happens to them.
    pub(crate) fn router(&self, faults: FaultInjector) -> Router {
        let issuer_api = Router::new()
            .route(OFFERINGS_PATH, get(list_offerings))
            .route("/api/offerings/{id}/", get(offering_details))
            .route_layer(from_fn_with_state(self.clone(), require_api_key));
        let third_party_api = Router::new()
            .route("/api_third_party/auth/logout/", post(logout))
            .route("/api_third_party/auth/logoutall/", post(logout_all))
            .route(
                INVESTMENTS_PATH,
                get(list_investments).post(create_investment),
            )
            .route_layer(from_fn_with_state(self.clone(), require_token));
        let scope = FaultScope {
            injector: faults,
            is_order_post: is_investment_post,
        };
        Router::new()
            .route("/api_third_party/auth/login/", post(login))
            .merge(issuer_api)
            .merge(third_party_api)
            .fallback(unknown_endpoint)
            .with_state(self.clone())
            .layer(from_fn_with_state(scope, faults::inject))
            .layer(from_fn_with_state(self.clone(), record_investment_posts))
    }
}

/// Paths as this router sees them (the prefix is stripped by the nesting).
fn is_investment_post(method: &Method, path: &str) -> bool {
    method == Method::POST && path == INVESTMENTS_PATH
}

async fn record_investment_posts(
    State(portal): State<IssuerPortal>,
    request: Request,
    next: Next,
) -> Response {
    if !is_investment_post(request.method(), request.uri().path()) {
        return next.run(request).await;
    }
    portal.locked().record_investment_post(Instant::now());
    let response = next.run(request).await;
    portal.locked().record_investment_outcome(response.status());
    response
}

/// The credential after `scheme` in the `Authorization` header.
fn credential<'a>(headers: &'a HeaderMap, scheme: &str) -> Option<&'a str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (given, credential) = value.trim().split_once(' ')?;
    given
        .eq_ignore_ascii_case(scheme)
        .then(|| credential.trim())
}

async fn require_api_key(
    State(portal): State<IssuerPortal>,
    request: Request,
    next: Next,
) -> Response {
    let checked = portal
        .locked()
        .check_api_key(credential(request.headers(), "Api-Key"));
    match checked {
        Ok(()) => next.run(request).await,
        Err(refusal) => refusal.into_response(),
    }
}

async fn require_token(
    State(portal): State<IssuerPortal>,
    request: Request,
    next: Next,
) -> Response {
    let token = credential(request.headers(), "Token");
    let authorized = portal.locked().authorize(token, Instant::now());
    match authorized {
        Ok(()) => next.run(request).await,
        Err(refusal) => refusal.into_response(),
    }
}

async fn unknown_endpoint() -> IpError {
    IpError::NotFound
}

/// A JSON body, refused the way DRF refuses unparseable ones.
fn json_body(body: &Bytes) -> Result<Value, IpError> {
    serde_json::from_slice(body).map_err(|error| IpError::Parse(error.to_string()))
}

async fn login(State(portal): State<IssuerPortal>, body: Bytes) -> Result<Json<Session>, IpError> {
    let credentials = json_body(&body)?;
    let session = portal.locked().login(&credentials, Instant::now())?;
    Ok(Json(session))
}

async fn logout(State(portal): State<IssuerPortal>, headers: HeaderMap) -> StatusCode {
    end_sessions(&portal, &headers, false)
}

async fn logout_all(State(portal): State<IssuerPortal>, headers: HeaderMap) -> StatusCode {
    end_sessions(&portal, &headers, true)
}

fn end_sessions(portal: &IssuerPortal, headers: &HeaderMap, everywhere: bool) -> StatusCode {
    // `require_token` let the request through, so the token is there.
    if let Some(token) = credential(headers, "Token") {
        portal.locked().logout(token, everywhere);
    }
    StatusCode::NO_CONTENT
}

async fn list_offerings(
    State(portal): State<IssuerPortal>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, IpError> {
    let params = QueryParams::parse(query.as_deref());
    let statuses = params.list("status");
    if let Some(statuses) = &statuses {
        Market::check_statuses(statuses)?;
    }
    let offerings = portal
        .locked()
        .offerings(statuses.as_deref(), Instant::now());
    Ok(Json(params.page(&headers, OFFERINGS_PATH, offerings)?))
}

async fn offering_details(
    State(portal): State<IssuerPortal>,
    Path(id): Path<String>,
) -> Result<Json<wire::Offering>, IpError> {
    let id = id.parse::<u64>().map_err(|_| IpError::NotFound)?;
    let offering = portal.locked().offering(id, Instant::now())?;
    Ok(Json(offering))
}

async fn create_investment(
    State(portal): State<IssuerPortal>,
    body: Bytes,
) -> Result<(StatusCode, Json<CreatedInvestment>), IpError> {
    let request = json_body(&body)?;
    let created = portal.locked().invest(&request, Instant::now())?;
    tracing::debug!(
        investment = created.id,
        offering = created.offering,
        quantity = created.quantity,
        "sandbox issuer_portal investment made"
    );
    Ok((StatusCode::CREATED, Json(created)))
}

async fn list_investments(
    State(portal): State<IssuerPortal>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, IpError> {
    let params = QueryParams::parse(query.as_deref());
    let filter = InvestmentFilter {
        offerings: params.ids("offering")?,
        investors: params.ids("investor")?,
    };
    let investments = portal.locked().investments(&filter);
    Ok(Json(params.page(
        &headers,
        INVESTMENTS_PATH,
        investments,
    )?))
}

/// A request's query parameters, in order (DRF's links keep them).
struct QueryParams(Vec<(String, String)>);

impl QueryParams {
    fn parse(query: Option<&str>) -> QueryParams {
        let pairs = query
            .and_then(|query| reqwest::Url::parse(&format!("http://q/?{query}")).ok())
            .map(|url| url.query_pairs().into_owned().collect())
            .unwrap_or_default();
        QueryParams(pairs)
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// A comma-separated filter ("Multiple values may be separated by commas.").
    fn list(&self, name: &str) -> Option<Vec<String>> {
        self.get(name).map(|value| {
            value
                .split(',')
                .map(str::trim)
                .filter(|item| !item.is_empty())
                .map(str::to_string)
                .collect()
        })
    }

    fn ids(&self, name: &str) -> Result<Option<Vec<u64>>, IpError> {
        let Some(items) = self.list(name) else {
            return Ok(None);
        };
        items
            .iter()
            .map(|item| item.parse::<u64>())
            .collect::<Result<Vec<u64>, _>>()
            .map(Some)
            .map_err(|_| IpError::field(name, "Enter a whole number."))
    }

    /// The requested page of `all` as a DRF page with absolute links. A page number
    /// that is not a number or lies past the last page is DRF's 404 "Invalid page.".
    fn page<T: Serialize>(
        &self,
        headers: &HeaderMap,
        path: &str,
        all: Vec<T>,
    ) -> Result<Value, IpError> {
        let page = match self.get("page") {
            None => 1,
            Some(text) => text
                .parse::<usize>()
                .ok()
                .filter(|page| *page >= 1)
                .ok_or(IpError::InvalidPage)?,
        };
        let size = self
            .get("page_size")
            .and_then(|text| text.parse::<usize>().ok())
            .unwrap_or(DEFAULT_PAGE_SIZE)
            .clamp(1, MAX_PAGE_SIZE);
        let count = all.len();
        let last_page = count.div_ceil(size).max(1);
        if page > last_page {
            return Err(IpError::InvalidPage);
        }
        let results: Vec<T> = all.into_iter().skip((page - 1) * size).take(size).collect();
        let next = (page < last_page)
            .then(|| self.link(headers, path, Some(page + 1)))
            .transpose()?;
        let previous = (page > 1)
            .then(|| self.link(headers, path, (page > 2).then_some(page - 1)))
            .transpose()?;
        Ok(drf_page(count, next, previous, results))
    }

    /// This request's URL with `page` replaced (or removed for the first page), as
    /// DRF builds `next` and `previous`.
    fn link(
        &self,
        headers: &HeaderMap,
        path: &str,
        page: Option<usize>,
    ) -> Result<String, IpError> {
        let host = headers
            .get(header::HOST)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("localhost");
        let mut url =
            reqwest::Url::parse(&format!("http://{host}{PREFIX}{path}")).map_err(|_| {
                IpError::field("non_field_errors", format!("unusable Host header {host:?}"))
            })?;
        {
            let mut pairs = url.query_pairs_mut();
            for (key, value) in self.0.iter().filter(|(key, _)| key != "page") {
                pairs.append_pair(key, value);
            }
            if let Some(page) = page {
                pairs.append_pair("page", &page.to_string());
            }
        }
        if url.query() == Some("") {
            url.set_query(None);
        }
        Ok(url.to_string())
    }
}
