//! The daemon's own HTTP endpoint: `/metrics` (Prometheus text), `/healthz` and
//! `/status` (JSON), plus platform webhooks (`/webhooks/fundamerica`), served on
//! `http_listen`.

use crate::status::StatusBoard;
use crate::store::Store;
use crate::telemetry::Metrics;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

#[derive(Clone)]
struct AppState {
    metrics: Arc<Metrics>,
    status: StatusBoard,
    /// Checked by `/healthz`: unhealthy when it no longer takes durable writes.
    store: Option<Arc<Store>>,
}

/// The router (exposed for tests).
pub fn router(metrics: Arc<Metrics>, status: StatusBoard, store: Option<Arc<Store>>) -> Router {
    Router::new()
        .route("/metrics", get(metrics_text))
        .route("/healthz", get(healthz))
        .route("/status", get(status_json))
        .with_state(AppState {
            metrics,
            status,
            store,
        })
}

async fn metrics_text(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}

async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    let mut problems = Vec::new();
    let failing = state.status.failing();
    if !failing.is_empty() {
        problems.push(format!("polls failing on {}", failing.join(", ")));
    }
    if let Some(store) = state.store {
        // A flush is blocking I/O: keep it off the async workers.
        let written = tokio::task::spawn_blocking(move || store.check_writable()).await;
        match written {
            Ok(Ok(())) => {}
            Ok(Err(error)) => problems.push(format!("store not writable: {error}")),
            Err(error) => problems.push(format!("store check failed: {error}")),
        }
    }
    if problems.is_empty() {
        (StatusCode::OK, "ok\n".to_string())
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("unhealthy: {}\n", problems.join("; ")),
        )
    }
}

async fn status_json(State(state): State<AppState>) -> impl IntoResponse {
    Json(state.status.snapshot())
}

/// Serves until `shutdown` is cancelled.
/// `extra` routes (platform webhooks) are merged in beside the daemon's own.
pub async fn serve(
    listener: tokio::net::TcpListener,
    metrics: Arc<Metrics>,
    status: StatusBoard,
    store: Option<Arc<Store>>,
    extra: Option<Router>,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let mut app = router(metrics, status, store);
    if let Some(extra) = extra {
        app = app.merge(extra);
    }
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await
}
