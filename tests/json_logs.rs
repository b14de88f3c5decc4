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

/// The shipped config (all four platforms on the embedded sandbox) with a distinctive
/// value in every credential variable: no log line, `/status`, `/metrics`, order record
/// or store file may contain any of them.
#[test]
fn a_full_sandbox_run_leaks_no_secret() {
    use std::path::Path;
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("strategies")).unwrap();
    for entry in std::fs::read_dir(root.join("strategies")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(
            entry.path(),
            dir.path().join("strategies").join(entry.file_name()),
        )
        .unwrap();
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = std::fs::read_to_string(root.join("config.toml"))
        .unwrap()
        .replace(
            "http_listen = \"127.0.0.1:9464\"",
            &format!("http_listen = \"127.0.0.1:{port}\""),
        );
    std::fs::write(dir.path().join("config.toml"), config).unwrap();

    let variables = [
        "FUNDINGCIRCLE_USERNAME",
        "FUNDINGCIRCLE_PASSWORD",
        "FUNDRISE_PARTNER_USER",
        "FUNDRISE_PARTNER_PASSWORD",
        "FUNDRISE_REFRESH_TOKEN",
        "FUNDAMERICA_API_KEY",
        "FUNDAMERICA_WEBHOOK_KEY",
        "ISSUER_PORTAL_API_KEY",
        "ISSUER_PORTAL_EMAIL",
        "ISSUER_PORTAL_PASSWORD",
    ];
    let secrets: Vec<String> = variables
        .iter()
        .map(|v| format!("zq-{}-7c3e9", v.to_lowercase()))
        .collect();
    let mut command = Command::new(env!("CARGO_BIN_EXE_autoinvest"));
    command
        .arg("--config")
        .arg(dir.path().join("config.toml"))
        .arg("run")
        .env("RUST_LOG", "debug")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    for (variable, secret) in variables.iter().zip(&secrets) {
        command.env(variable, secret);
    }
    let mut child = command.spawn().unwrap();
    // Read the logs as they come: a full pipe would block the daemon.
    let mut stderr = child.stderr.take().unwrap();
    let log_reader = std::thread::spawn(move || {
        let mut logs = String::new();
        std::io::Read::read_to_string(&mut stderr, &mut logs).unwrap();
        logs
    });
    let client = reqwest::blocking::Client::new();
    let status_url = format!("http://127.0.0.1:{port}/status");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let status = loop {
        let body = client
            .get(&status_url)
            .send()
            .ok()
            .and_then(|r| r.text().ok());
        if let Some(body) = body {
            let json: Value = serde_json::from_str(&body).unwrap();
            let polled = json["platforms"].as_object().is_some_and(|p| {
                p.len() == 4
                    && p.values()
                        .all(|s| s["last_success"].is_string() || s["last_error"].is_string())
            });
            if polled {
                break body;
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the platforms were never polled"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let metrics = client
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let exit = child.wait().unwrap();
    assert!(exit.success(), "SIGTERM should exit 0: {exit:?}");
    let logs = log_reader.join().unwrap();
    assert!(logs.contains("order placed"), "no order was placed");
    let orders = Command::new(env!("CARGO_BIN_EXE_autoinvest"))
        .arg("--config")
        .arg(dir.path().join("config.toml"))
        .args(["orders", "--json"])
        .output()
        .unwrap();
    let orders = String::from_utf8_lossy(&orders.stdout).into_owned();
    assert!(
        orders.contains("\"state\""),
        "nothing was ordered: {orders}"
    );

    let mut store_bytes = Vec::new();
    for entry in walk(&dir.path().join("state")) {
        store_bytes.extend(std::fs::read(entry).unwrap());
    }
    let store_text = String::from_utf8_lossy(&store_bytes);
    for (variable, secret) in variables.iter().zip(&secrets) {
        for (place, text) in [
            ("logs", &logs),
            ("/status", &status),
            ("/metrics", &metrics),
            ("orders --json", &orders),
        ] {
            assert!(
                !text.contains(secret.as_str()),
                "{variable}'s value appears in {place}"
            );
        }
        assert!(
            !store_text.contains(secret.as_str()),
            "{variable}'s value appears in the store files"
        );
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}
