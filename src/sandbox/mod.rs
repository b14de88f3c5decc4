//! Local emulators of the platforms' APIs on loopback, used by the shipped config,
//! `autoinvest sandbox` and the integration tests.
//!
//! One listener serves every emulator, each as its own router under its own prefix
//! (`/fundingcircle`; later `/fundrise`, `/fundamerica`, `/issuer_portal`), plus an
//! admin API under `/__sandbox` that faults never touch:
//!
//! - `GET`/`PUT /__sandbox/faults`: the injected faults ([`Faults`]);
//! - `GET /__sandbox/ledger`: what each emulator executed and saw (orders, POST counts
//!   and arrival times), so tests can check "one order per listing" and pacing from the
//!   server's side;
//! - `GET /__sandbox/stats`: Funding Circle's order-POST counters without the lists
//!   (POSTs, 429s, the most POSTs within any one second, orders, listings released),
//!   cheap enough for a soak to read every few seconds;
//! - `POST /__sandbox/reset`: everything back to how it started.
//!
//! Layout: `clock` (monotonic time with a wall-clock origin), `listings` (seeded
//! listing generation), `rate_window` (sliding-window limits), `faults` (fault
//! settings and the middleware injecting them), and one emulator per platform:
//! `fundingcircle`, `fundrise`, `fundamerica`, `issuer_portal`.

mod clock;
mod faults;
mod fundamerica;
mod fundingcircle;
mod fundrise;
mod issuer_portal;
mod listings;
mod rate_window;

pub use faults::{Faults, InvalidFaultRate};

use axum::extract::rejection::JsonRejection;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::{from_fn, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use clock::SandboxClock;
use faults::FaultInjector;
use fundamerica::FundAmerica;
use fundingcircle::FundingCircle;
use fundrise::Fundrise;
use issuer_portal::IssuerPortal;
use serde_json::json;
use std::net::SocketAddr;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How the emulators behave.
#[derive(Debug, Clone)]
pub struct SandboxOptions {
    /// Seed for generated listings, tokens, ids and faults (same seed, same run).
    pub seed: u64,
    /// Listings live when the sandbox starts.
    pub initial_listings: usize,
    /// One more listing goes live every interval (zero: all at once).
    pub listing_interval: Duration,
    /// No more listings are released past this total.
    pub max_listings: usize,
    /// A listing expires this long after it went live.
    pub listing_lifetime: Duration,
    /// Login tokens are refused this long after they were issued.
    pub token_lifetime: Duration,
    /// The investor's cash at the start, in cents.
    pub starting_cash_cents: i64,
    /// Wall-clock time printed for the sandbox's start (listing and order dates);
    /// `None`: now. Fix it to get byte-identical answers across runs.
    pub start_time: Option<DateTime<Utc>>,
    /// Faults injected from the start (switchable at run time).
    pub faults: Faults,
}

impl Default for SandboxOptions {
    fn default() -> Self {
        SandboxOptions {
            seed: 42,
            initial_listings: 30,
            listing_interval: Duration::from_secs(2),
            max_listings: 500,
            listing_lifetime: Duration::from_secs(600),
            token_lifetime: Duration::from_secs(7200),
            starting_cash_cents: 100_000_000,
            start_time: None,
            faults: Faults::default(),
        }
    }
}

/// A running sandbox.
#[derive(Debug, Clone)]
pub struct SandboxHandle {
    pub addr: SocketAddr,
}

impl SandboxHandle {
    /// Base URL of the Funding Circle emulator (what a config's `base_url` would hold).
    pub fn fundingcircle_url(&self) -> String {
        format!("http://{}{}", self.addr, fundingcircle::PREFIX)
    }

    /// The emulator's base URL for a platform kind (`http://ADDR/<kind>`).
    pub fn base_url(&self, kind: crate::opportunity::PlatformKind) -> String {
        format!("http://{}/{}", self.addr, kind.as_str())
    }
}

/// Serves every emulator on `listener` until `shutdown` is cancelled.
pub async fn serve(
    listener: tokio::net::TcpListener,
    options: SandboxOptions,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    axum::serve(listener, app(options))
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await
}

/// Binds `addr` (port 0 for any) and serves in a background task.
pub async fn spawn(
    addr: SocketAddr,
    options: SandboxOptions,
    shutdown: CancellationToken,
) -> std::io::Result<SandboxHandle> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        if let Err(error) = serve(listener, options, shutdown).await {
            tracing::error!(%error, "sandbox server stopped");
        }
    });
    Ok(SandboxHandle { addr })
}

/// Everything the admin API reaches.
#[derive(Debug, Clone)]
struct Sandbox {
    options: SandboxOptions,
    faults: FaultInjector,
    fundingcircle: FundingCircle,
    issuer_portal: IssuerPortal,
    fundamerica: FundAmerica,
    fundrise: Fundrise,
}

fn app(options: SandboxOptions) -> Router {
    let clock = SandboxClock::start(options.start_time);
    let faults = FaultInjector::new(options.faults, options.seed);
    let fundingcircle = FundingCircle::new(&options, clock);
    let issuer_portal = IssuerPortal::new(&options, clock);
    let fundamerica = FundAmerica::new(&options, clock);
    let fundrise = Fundrise::new(&options, clock);
    let sandbox = Sandbox {
        options,
        faults: faults.clone(),
        fundingcircle: fundingcircle.clone(),
        issuer_portal: issuer_portal.clone(),
        fundamerica: fundamerica.clone(),
        fundrise: fundrise.clone(),
    };
    let admin = Router::new()
        .route("/faults", get(get_faults).put(put_faults))
        .route("/ledger", get(ledger))
        .route("/stats", get(stats))
        .route("/reset", post(reset))
        .with_state(sandbox);
    Router::new()
        .nest(fundingcircle::PREFIX, fundingcircle.router(faults.clone()))
        .nest(issuer_portal::PREFIX, issuer_portal.router(faults.clone()))
        .nest(fundamerica::PREFIX, fundamerica.router(faults.clone()))
        .nest(fundrise::PREFIX, fundrise.router(faults))
        .nest("/__sandbox", admin)
        .layer(from_fn(log_request))
}

async fn log_request(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let started = tokio::time::Instant::now();
    let response = next.run(request).await;
    tracing::debug!(
        %method,
        %path,
        status = response.status().as_u16(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "sandbox request"
    );
    response
}

async fn get_faults(State(sandbox): State<Sandbox>) -> Json<Faults> {
    Json(sandbox.faults.current())
}

/// Replaces the faults; fields left out are off.
async fn put_faults(
    State(sandbox): State<Sandbox>,
    body: Result<Json<Faults>, JsonRejection>,
) -> Response {
    let faults = match body {
        Ok(Json(faults)) => faults,
        Err(rejection) => return admin_error(StatusCode::BAD_REQUEST, &rejection.body_text()),
    };
    match sandbox.faults.set(faults) {
        Ok(()) => {
            tracing::info!(?faults, "sandbox faults changed");
            Json(faults).into_response()
        }
        Err(invalid) => admin_error(StatusCode::UNPROCESSABLE_ENTITY, &invalid.to_string()),
    }
}

fn admin_error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({"error": message}))).into_response()
}

async fn ledger(State(sandbox): State<Sandbox>) -> Json<serde_json::Value> {
    Json(json!({
        "fundingcircle": sandbox.fundingcircle.ledger(),
        "issuer_portal": sandbox.issuer_portal.ledger(),
        "fundamerica": sandbox.fundamerica.ledger(),
        "fundrise": sandbox.fundrise.ledger(),
    }))
}

async fn stats(State(sandbox): State<Sandbox>) -> Json<serde_json::Value> {
    Json(json!({ "fundingcircle": sandbox.fundingcircle.stats() }))
}

/// Every emulator back to its start (listings, cash, sessions, orders, ledger, clock)
/// and the faults back to the options' initial ones.
async fn reset(State(sandbox): State<Sandbox>) -> StatusCode {
    let clock = SandboxClock::start(sandbox.options.start_time);
    sandbox.fundingcircle.reset(&sandbox.options, clock);
    sandbox.issuer_portal.reset(&sandbox.options, clock);
    sandbox.fundamerica.reset(&sandbox.options, clock);
    sandbox.fundrise.reset(&sandbox.options, clock);
    sandbox.faults.reset();
    tracing::info!("sandbox reset");
    StatusCode::NO_CONTENT
}
