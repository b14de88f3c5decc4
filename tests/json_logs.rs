//! `--log-format json`: one JSON object per line with stable field names, and no
//! secret ever in a log line. Runs the real binary against its embedded sandbox.

use serde_json::Value;
use std::process::Command;

const SECRET_PASSWORD: &str = "pw-8f1e2d3c-distinctive-secret";
const SECRET_USER: &str = "user-77aa55-distinctive";

#[test]
fn json_logs_have_stable_fields_and_no_secrets() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("buy.rhai"),
        "fn decide(o, p) { if o.whole { return #{ amount: 0, reason: \"whole\" }; } #{ amount: 25, reason: \"test buy\" } }",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("config.toml"),
        r#"
http_listen = ""
[sandbox]
enabled = true
[budget]
daily_limit = "100.00"
[platforms.fc]
kind = "fundingcircle"
username_env = "AUTOINVEST_JSONLOG_USER"
password_env = "AUTOINVEST_JSONLOG_PASSWORD"
[[strategies]]
name = "buyer"
script = "buy.rhai"
"#,
    )
    .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_autoinvest"))
        .arg("--config")
        .arg(dir.path().join("config.toml"))
        .args(["--log-format", "json", "run", "--once"])
        .env("AUTOINVEST_JSONLOG_USER", SECRET_USER)
        .env("AUTOINVEST_JSONLOG_PASSWORD", SECRET_PASSWORD)
        .env("RUST_LOG", "debug")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "run --once failed: {stderr}");
    assert!(
        !stderr.contains(SECRET_PASSWORD) && !stderr.contains(SECRET_USER),
        "a secret reached the logs"
    );

    let lines: Vec<Value> = stderr
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")))
        .collect();
    let event = |message: &str| -> Vec<&Value> {
        lines.iter().filter(|l| l["message"] == message).collect()
    };
    for line in &lines {
        for field in ["timestamp", "level", "message", "target"] {
            assert!(line.get(field).is_some(), "{field} missing: {line}");
        }
    }
    let placed = event("order placed");
    assert_eq!(placed.len(), 4, "$100 daily budget at $25 each");
    for line in placed {
        for field in [
            "platform",
            "strategy",
            "opportunity",
            "order",
            "amount",
            "status",
        ] {
            assert!(
                line.get(field).is_some(),
                "order placed without {field}: {line}"
            );
        }
        assert_eq!(line["platform"], "fc");
        assert_eq!(line["strategy"], "buyer");
        assert_eq!(line["amount"], "25.00");
    }
    let buys = event("decision: buy");
    assert!(!buys.is_empty());
    for line in buys {
        for field in ["platform", "strategy", "opportunity", "amount", "reason"] {
            assert!(
                line.get(field).is_some(),
                "decision without {field}: {line}"
            );
        }
    }
    assert_eq!(event("poll evaluated").len(), 1);
}
