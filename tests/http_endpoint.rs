//! `/metrics`, `/healthz` and `/status` over real HTTP.

use autoinvest::status::StatusBoard;
use autoinvest::store::Store;
use autoinvest::telemetry::Metrics;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Every metric name DESIGN.md promises.
const DESIGN_METRICS: [&str; 12] = [
    "autoinvest_polls_total",
    "autoinvest_opportunities_seen_total",
    "autoinvest_decisions_total",
    "autoinvest_strategy_errors_total",
    "autoinvest_strategy_eval_seconds",
    "autoinvest_orders_total",
    "autoinvest_order_amount_usd_total",
    "autoinvest_http_requests_total",
    "autoinvest_http_request_seconds",
    "autoinvest_rate_limit_wait_seconds",
    "autoinvest_budget_remaining_usd",
    "autoinvest_unresolved_intents",
];

#[tokio::test]
async fn serves_every_design_metric_and_health() {
    let metrics = Metrics::new();
    metrics.init_labels(&["fc"], &["prime-loans"]);
    metrics
        .http_requests_total
        .with_label_values(&["fc", "GET", "200"])
        .inc();
    // Unhealthy after 2 failed polls in a row (config key `unhealthy_after`).
    let status = StatusBoard::new("live", 2);
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(dir.path()).unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(autoinvest::http_server::serve(
        listener,
        metrics.clone(),
        status.clone(),
        Some(store),
        None,
        shutdown.clone(),
    ));

    let text = reqwest::get(format!("http://{addr}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for name in DESIGN_METRICS {
        assert!(
            text.contains(&format!("# TYPE {name} ")),
            "{name} missing from /metrics"
        );
        assert!(
            text.contains(&format!("# HELP {name} ")),
            "{name} has no HELP"
        );
    }
    assert!(text.contains("autoinvest_orders_total{outcome=\"placed\",platform=\"fc\"} 0"));

    let health = reqwest::get(format!("http://{addr}/healthz"))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    status.update("fc", |s| s.consecutive_failures = 1);
    let health = reqwest::get(format!("http://{addr}/healthz"))
        .await
        .unwrap();
    assert_eq!(health.status(), 200, "one failure is below the threshold");
    status.update("fc", |s| s.consecutive_failures = 2);
    let health = reqwest::get(format!("http://{addr}/healthz"))
        .await
        .unwrap();
    assert_eq!(health.status(), 503);
    assert!(health.text().await.unwrap().contains("fc"));

    let status_json: serde_json::Value = reqwest::get(format!("http://{addr}/status"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status_json["platforms"]["fc"]["consecutive_failures"], 2);
    assert_eq!(status_json["unhealthy_after"], 2);

    shutdown.cancel();
    server.await.unwrap().unwrap();
}
