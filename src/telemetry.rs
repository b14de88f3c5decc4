//! Prometheus metrics (own registry, names from DESIGN.md) and `tracing` setup.
//!
//! One [`Metrics`] value is built per process (or per test) and shared as
//! `Arc<Metrics>`; components count through it. Label values are bounded: platform
//! account ids, strategy names, methods, status codes and fixed outcome words — never
//! opportunity or order ids.

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};
use std::sync::Arc;

/// The `outcome` label values of `autoinvest_orders_total`: the final order states,
/// `unknown` (ambiguous, being reconciled), `deferred` (provably not sent: retried next
/// cycle) and `dry_run`.
pub const ORDER_OUTCOMES: [&str; 6] = [
    "placed",
    "rejected",
    "unknown",
    "not_placed",
    "deferred",
    "dry_run",
];

/// The `outcome` label values of `autoinvest_notifications_total`: a 2xx answer, a
/// failed attempt that will be retried, and a notification given up on (too old, its
/// receiver removed from the config, or not queued because the store failed).
pub const NOTIFICATION_OUTCOMES: [&str; 3] = ["delivered", "retry", "dropped"];

/// Every metric the daemon exports.
#[derive(Clone)]
pub struct Metrics {
    pub registry: Registry,
    pub polls_total: IntCounterVec,
    pub opportunities_seen_total: IntCounterVec,
    pub decisions_total: IntCounterVec,
    pub strategy_errors_total: IntCounterVec,
    pub strategy_eval_seconds: Histogram,
    pub orders_total: IntCounterVec,
    pub order_amount_usd_total: prometheus::CounterVec,
    pub http_requests_total: IntCounterVec,
    pub http_request_seconds: HistogramVec,
    pub rate_limit_wait_seconds: HistogramVec,
    pub budget_remaining_usd: prometheus::GaugeVec,
    pub unresolved_intents: IntGauge,
    /// `autoinvest_store_size_bytes`: the database's size on disk, set after each prune
    /// (sled reclaims no space by itself; this shows whether pruning keeps it flat).
    pub store_size_bytes: IntGauge,
    /// `autoinvest_store_pruned_total`: records removed by pruning.
    pub store_pruned_total: prometheus::IntCounter,
    pub parse_errors_total: IntCounterVec,
    pub reloads_total: IntCounterVec,
    /// `autoinvest_webhooks_total{platform,outcome}`: FundAmerica webhooks by outcome
    /// (accepted, malformed, forged, replayed, unavailable).
    pub webhooks_total: IntCounterVec,
    /// Outbound notification attempts by receiver (`host[:port]`) and outcome.
    pub notifications_total: IntCounterVec,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

fn counter(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let metric = IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric");
    registry
        .register(Box::new(metric.clone()))
        .expect("metric registered once");
    metric
}

fn histogram(
    registry: &Registry,
    name: &str,
    help: &str,
    labels: &[&str],
    buckets: Vec<f64>,
) -> HistogramVec {
    let metric = HistogramVec::new(HistogramOpts::new(name, help).buckets(buckets), labels)
        .expect("valid metric");
    registry
        .register(Box::new(metric.clone()))
        .expect("metric registered once");
    metric
}

impl Metrics {
    /// Builds and registers every metric in a fresh registry.
    pub fn new() -> Arc<Metrics> {
        let registry = Registry::new();
        let r = &registry;
        let strategy_eval_seconds = Histogram::with_opts(
            HistogramOpts::new(
                "autoinvest_strategy_eval_seconds",
                "Time to evaluate one strategy on one opportunity",
            )
            .buckets(vec![1e-6, 5e-6, 2e-5, 1e-4, 5e-4, 2e-3, 1e-2, 0.1]),
        )
        .expect("valid metric");
        registry
            .register(Box::new(strategy_eval_seconds.clone()))
            .expect("metric registered once");
        let order_amount_usd_total = prometheus::CounterVec::new(
            Opts::new(
                "autoinvest_order_amount_usd_total",
                "Dollars of orders placed (as confirmed by the platform)",
            ),
            &["platform"],
        )
        .expect("valid metric");
        registry
            .register(Box::new(order_amount_usd_total.clone()))
            .expect("metric registered once");
        let budget_remaining_usd = prometheus::GaugeVec::new(
            Opts::new(
                "autoinvest_budget_remaining_usd",
                "Dollars left in each budget scope (daily, total)",
            ),
            &["scope"],
        )
        .expect("valid metric");
        registry
            .register(Box::new(budget_remaining_usd.clone()))
            .expect("metric registered once");
        let unresolved_intents = IntGauge::new(
            "autoinvest_unresolved_intents",
            "Order intents whose outcome is not final yet",
        )
        .expect("valid metric");
        registry
            .register(Box::new(unresolved_intents.clone()))
            .expect("metric registered once");
        let store_size_bytes = IntGauge::new(
            "autoinvest_store_size_bytes",
            "Size of the store on disk, in bytes, as of the last prune",
        )
        .expect("valid metric");
        registry
            .register(Box::new(store_size_bytes.clone()))
            .expect("metric registered once");
        let store_pruned_total = prometheus::IntCounter::new(
            "autoinvest_store_pruned_total",
            "Records removed from the store by pruning",
        )
        .expect("valid metric");
        registry
            .register(Box::new(store_pruned_total.clone()))
            .expect("metric registered once");
        Arc::new(Metrics {
            polls_total: counter(
                r,
                "autoinvest_polls_total",
                "Poll cycles by outcome (ok, error)",
                &["platform", "outcome"],
            ),
            opportunities_seen_total: counter(
                r,
                "autoinvest_opportunities_seen_total",
                "Open opportunities returned by polls",
                &["platform"],
            ),
            decisions_total: counter(
                r,
                "autoinvest_decisions_total",
                "Strategy decisions by outcome (buy, skip, error)",
                &["strategy", "decision"],
            ),
            strategy_errors_total: counter(
                r,
                "autoinvest_strategy_errors_total",
                "Strategy run-time errors (the opportunity is skipped)",
                &["strategy"],
            ),
            strategy_eval_seconds,
            orders_total: counter(
                r,
                "autoinvest_orders_total",
                "Order outcomes (placed, rejected, unknown, not_placed, deferred, dry_run)",
                &["platform", "outcome"],
            ),
            order_amount_usd_total,
            http_requests_total: counter(
                r,
                "autoinvest_http_requests_total",
                "HTTP requests to platforms by method and status (or error kind)",
                &["platform", "method", "status"],
            ),
            http_request_seconds: histogram(
                r,
                "autoinvest_http_request_seconds",
                "HTTP request latency",
                &["platform", "method"],
                vec![
                    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
                ],
            ),
            rate_limit_wait_seconds: histogram(
                r,
                "autoinvest_rate_limit_wait_seconds",
                "Time spent waiting for the request pacer",
                &["platform"],
                vec![0.0, 0.001, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0, 5.0, 30.0],
            ),
            budget_remaining_usd,
            unresolved_intents,
            store_size_bytes,
            store_pruned_total,
            parse_errors_total: counter(
                r,
                "autoinvest_parse_errors_total",
                "Platform responses or entries that could not be parsed",
                &["platform"],
            ),
            reloads_total: counter(
                r,
                "autoinvest_reloads_total",
                "Hot reloads of strategies and budgets by outcome (ok, error)",
                &["outcome"],
            ),
            webhooks_total: counter(
                r,
                "autoinvest_webhooks_total",
                "Platform webhooks received, by outcome (accepted, malformed, forged, replayed, unavailable); platform \"unknown\" until a signature names the account",
                &["platform", "outcome"],
            ),
            notifications_total: counter(
                r,
                "autoinvest_notifications_total",
                "Outbound notification attempts by receiver and outcome (delivered, retry, dropped)",
                &["target", "outcome"],
            ),
            registry,
        })
    }

    /// Creates the label sets known at start (platform accounts, strategies, outcome
    /// words) so every metric is exported from the first scrape, at zero.
    pub fn init_labels(&self, platforms: &[&str], strategies: &[&str]) {
        for platform in platforms {
            for outcome in ["ok", "error"] {
                self.polls_total.with_label_values(&[platform, outcome]);
            }
            self.opportunities_seen_total.with_label_values(&[platform]);
            for outcome in ORDER_OUTCOMES {
                self.orders_total.with_label_values(&[platform, outcome]);
            }
            self.order_amount_usd_total.with_label_values(&[platform]);
            self.rate_limit_wait_seconds.with_label_values(&[platform]);
            self.parse_errors_total.with_label_values(&[platform]);
            for method in ["GET", "POST"] {
                self.http_request_seconds
                    .with_label_values(&[platform, method]);
            }
        }
        for strategy in strategies {
            for decision in ["buy", "skip", "error"] {
                self.decisions_total
                    .with_label_values(&[strategy, decision]);
            }
            self.strategy_errors_total.with_label_values(&[strategy]);
        }
        for outcome in ["ok", "error"] {
            self.reloads_total.with_label_values(&[outcome]);
        }
        for scope in ["daily", "total"] {
            self.budget_remaining_usd.with_label_values(&[scope]);
        }
    }

    /// The text exposition of every metric.
    pub fn render(&self) -> String {
        let mut buffer = Vec::new();
        let encoder = TextEncoder::new();
        if encoder
            .encode(&self.registry.gather(), &mut buffer)
            .is_err()
        {
            return String::new();
        }
        String::from_utf8(buffer).unwrap_or_default()
    }
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// Installs the global `tracing` subscriber (RUST_LOG filters; default `info`).
pub fn init_tracing(format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}
