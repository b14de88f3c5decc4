//! `autoinvest orders cancel ID` against the Fundrise emulator: the platform cancels
//! the investment and the order history records its new status.

use autoinvest::config::Config;
use autoinvest::order::OrderState;
use autoinvest::sandbox::{self, SandboxOptions};
use autoinvest::scheduler::{self, RunOptions};
use autoinvest::store::Store;
use std::process::Command;
use tokio_util::sync::CancellationToken;

const ENV: [(&str, &str); 3] = [
    ("AUTOINVEST_CANCEL_FR_USER", "partner"),
    ("AUTOINVEST_CANCEL_FR_PASSWORD", "partner-password"),
    ("AUTOINVEST_CANCEL_FR_TOKEN", "refresh-token"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_placed_fundrise_investment_is_cancelled_and_recorded() {
    for (name, value) in ENV {
        std::env::set_var(name, value);
    }
    let shutdown = CancellationToken::new();
    let sandbox = sandbox::spawn(
        "127.0.0.1:0".parse().unwrap(),
        SandboxOptions::default(),
        shutdown.clone(),
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("buy.rhai"), "fn decide(o, p) { 100 }").unwrap();
    let config_path = dir.path().join("config.toml");
    std::fs::write(
        &config_path,
        format!(
            r#"
http_listen = ""
[budget]
daily_limit = "1000.00"
[platforms.fr]
kind = "fundrise"
base_url = "http://{}/fundrise"
partner_user_env = "AUTOINVEST_CANCEL_FR_USER"
partner_password_env = "AUTOINVEST_CANCEL_FR_PASSWORD"
refresh_token_env = "AUTOINVEST_CANCEL_FR_TOKEN"
account_id = "12"
acknowledge_documents = true
[[strategies]]
name = "buyer"
script = "buy.rhai"
"#,
            sandbox.addr
        ),
    )
    .unwrap();
    let config = Config::load(&config_path).unwrap();
    let options = RunOptions {
        once: true,
        ..RunOptions::default()
    };
    scheduler::run(config, options, CancellationToken::new())
        .await
        .unwrap();

    let placed: Vec<String> = Store::open(&dir.path().join("state"))
        .unwrap()
        .intents()
        .unwrap()
        .into_iter()
        .filter_map(|i| match i.state {
            OrderState::Placed {
                order_id,
                platform_status,
                ..
            } => {
                assert_eq!(platform_status, "PENDING");
                Some(order_id)
            }
            _ => None,
        })
        .collect();
    assert!(!placed.is_empty(), "nothing was bought");

    let binary = env!("CARGO_BIN_EXE_autoinvest");
    let cancel = |id: &str| {
        let mut command = Command::new(binary);
        command
            .arg("--config")
            .arg(&config_path)
            .args(["orders", "cancel", id]);
        for (name, value) in ENV {
            command.env(name, value);
        }
        command.output().unwrap()
    };
    // A multi-thread runtime: the sandbox keeps serving while this thread waits.
    let output = cancel(&placed[0]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains(&placed[0]), "{stdout}");

    let store = Store::open(&dir.path().join("state")).unwrap();
    let cancelled = store
        .intents()
        .unwrap()
        .into_iter()
        .find(|i| matches!(&i.state, OrderState::Placed { order_id, .. } if *order_id == placed[0]))
        .unwrap();
    let OrderState::Placed {
        platform_status, ..
    } = cancelled.state
    else {
        unreachable!()
    };
    assert_ne!(
        platform_status, "PENDING",
        "the new status was not recorded"
    );
    drop(store);

    // An unknown order id is an error naming it.
    let output = cancel("no-such-order");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("no-such-order"));
    shutdown.cancel();
}
