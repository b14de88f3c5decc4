//! The files in `deploy/` agree with what the daemon exports: every dashboard query
//! names only exported metrics, the alert rules and a real scrape pass `promtool`.
//!
//! `promtool` comes from Debian's `prometheus` package (`.ci/run` installs it). Without
//! it these tests fail and say so; set `AUTOINVEST_SKIP_PROMTOOL=1` to skip only the
//! promtool checks.

use autoinvest::telemetry::Metrics;
use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// Metrics with every label set the daemon creates at start, and one request counted.
fn started_metrics() -> std::sync::Arc<Metrics> {
    let metrics = Metrics::new();
    metrics.init_labels(&["fc"], &["prime-loans"]);
    metrics
        .http_requests_total
        .with_label_values(&["fc", "GET", "200"])
        .inc();
    metrics
}

/// A real scrape of those metrics.
fn scrape() -> String {
    started_metrics().render()
}

/// Series names a query may use: each metric, plus `_bucket`/`_sum`/`_count` of histograms.
fn exported_series() -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for family in started_metrics().registry.gather() {
        let name = family.name().to_string();
        if family.get_field_type() == prometheus::proto::MetricType::HISTOGRAM {
            for suffix in ["_bucket", "_sum", "_count"] {
                names.insert(format!("{name}{suffix}"));
            }
        }
        names.insert(name);
    }
    names
}

fn metric_names_in(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = text;
    while let Some(start) = rest.find("autoinvest_") {
        let tail = &rest[start..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        names.insert(tail[..end].to_string());
        rest = &tail[end..];
    }
    names
}

#[test]
fn dashboard_queries_use_only_exported_metrics() {
    let text = std::fs::read_to_string(repo("deploy/grafana-dashboard.json")).unwrap();
    let dashboard: serde_json::Value = serde_json::from_str(&text).expect("dashboard is JSON");
    let exported = exported_series();
    let mut used = BTreeSet::new();
    for panel in dashboard["panels"].as_array().expect("panels") {
        for target in panel["targets"].as_array().expect("targets") {
            let expr = target["expr"].as_str().expect("expr");
            for name in metric_names_in(expr) {
                assert!(
                    exported.contains(&name),
                    "panel {:?} queries {name}, which is not exported",
                    panel["title"]
                );
                used.insert(name);
            }
        }
    }
    // The dashboard covers every metric DESIGN.md names.
    for required in [
        "autoinvest_polls_total",
        "autoinvest_orders_total",
        "autoinvest_unresolved_intents",
        "autoinvest_budget_remaining_usd",
        "autoinvest_strategy_errors_total",
    ] {
        assert!(used.contains(required), "no panel shows {required}");
    }
}

#[test]
fn alert_rules_use_only_exported_metrics() {
    let text = std::fs::read_to_string(repo("deploy/alerts.yml")).unwrap();
    let exported = exported_series();
    let used = metric_names_in(&text);
    assert!(!used.is_empty());
    for name in used {
        assert!(
            exported.contains(&name),
            "alerts.yml uses {name}, which is not exported"
        );
    }
}

fn promtool() -> Option<&'static str> {
    if std::env::var_os("AUTOINVEST_SKIP_PROMTOOL").is_some() {
        return None;
    }
    let found = Command::new("promtool")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(found, "promtool not found: install it (apt-get install prometheus) or set AUTOINVEST_SKIP_PROMTOOL=1");
    Some("promtool")
}

#[test]
fn promtool_accepts_the_alert_rules() {
    let Some(promtool) = promtool() else { return };
    let output = Command::new(promtool)
        .args(["check", "rules"])
        .arg(repo("deploy/alerts.yml"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn promtool_accepts_a_real_scrape() {
    let Some(promtool) = promtool() else { return };
    let mut child = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(scrape().as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success() && report.trim().is_empty(),
        "promtool check metrics: {report}"
    );
}
