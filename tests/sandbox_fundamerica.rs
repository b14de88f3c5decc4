//! The FundAmerica emulator through real HTTP on loopback: the seed document's object
//! shapes key for key, basic auth, `resource_list` paging, the investment rules and
//! their 422/403/404 bodies, cancellation, the webhook log, faults, the ledger — and
//! the FundAmerica client driving it end to end.

use autoinvest::opportunity::{OpportunityKind, PlatformId};
use autoinvest::order::{IdempotencyKey, OrderIntent, OrderState};
use autoinvest::platform::fundamerica::webhook::{self, Fetch};
use autoinvest::platform::fundamerica::wire::PaymentMethod;
use autoinvest::platform::fundamerica::{FundAmericaClient, FundAmericaSettings};
use autoinvest::platform::{ApprovedOrder, PlatformClient};
use autoinvest::portfolio::PortfolioView;
use autoinvest::sandbox::{self, SandboxHandle, SandboxOptions};
use autoinvest::secret::Secret;
use autoinvest::sizing::{self, BudgetRules, PlatformRules, Rules, StrategyRules};
use autoinvest::telemetry::Metrics;
use chrono::{TimeZone, Utc};
use reqwest::{Client, StatusCode};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::num::NonZeroU32;
use std::str::FromStr;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const API_KEY: &str = "sandbox-key";
const INVESTOR: &str = "AcDqHluSTJy1nPjo7om1Ww";
const SEED_OFFERING: &str = include_str!("fixtures/fundamerica/offering.json");
const SEED_INVESTMENT: &str = include_str!("fixtures/fundamerica/investment.json");

/// A sandbox and an HTTP client authenticated with an API key.
struct Fa {
    handle: SandboxHandle,
    client: Client,
    _shutdown: tokio_util::sync::DropGuard,
}

impl Fa {
    async fn start(options: SandboxOptions) -> Fa {
        let shutdown = CancellationToken::new();
        let handle = sandbox::spawn("127.0.0.1:0".parse().unwrap(), options, shutdown.clone())
            .await
            .unwrap();
        let client = Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap();
        Fa {
            handle,
            client,
            _shutdown: shutdown.drop_guard(),
        }
    }

    async fn default() -> Fa {
        Fa::start(SandboxOptions {
            start_time: Some(Utc.with_ymd_and_hms(2026, 11, 20, 21, 0, 0).unwrap()),
            ..SandboxOptions::default()
        })
        .await
    }

    fn base(&self) -> String {
        format!("http://{}/fundamerica", self.handle.addr)
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base(), path)
    }

    fn admin(&self, path: &str) -> String {
        format!("http://{}/__sandbox{}", self.handle.addr, path)
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        let response = self
            .client
            .get(self.url(path))
            .basic_auth(API_KEY, None::<&str>)
            .send()
            .await
            .unwrap();
        json_of(response).await
    }

    async fn post(&self, path: &str, form: &[(&str, String)]) -> (StatusCode, Value) {
        let response = self
            .client
            .post(self.url(path))
            .basic_auth(API_KEY, None::<&str>)
            .form(form)
            .send()
            .await
            .unwrap();
        json_of(response).await
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        form: &[(&str, &str)],
    ) -> (StatusCode, Value) {
        let response = self
            .client
            .request(method, self.url(path))
            .basic_auth(API_KEY, None::<&str>)
            .form(form)
            .send()
            .await
            .unwrap();
        json_of(response).await
    }

    /// Every offering (one big page), securities expanded.
    async fn offerings(&self) -> Vec<Value> {
        let (status, page) = self.get("/api/offerings?per=100&_expand[security]=1").await;
        assert_eq!(status, StatusCode::OK);
        page["resources"].as_array().unwrap().clone()
    }

    /// The first offering accepting investments that `fits`.
    async fn find(&self, fits: impl Fn(&Value) -> bool) -> Value {
        self.offerings()
            .await
            .into_iter()
            .find(|o| o["accept_investments"] == true && fits(o))
            .expect("the seed offers such an offering")
    }

    async fn invest(
        &self,
        offering: &Value,
        amount: &str,
        shares: Option<&str>,
    ) -> (StatusCode, Value) {
        let mut form = vec![
            ("amount", amount.to_string()),
            ("offering_id", id(offering).to_string()),
            ("investor_id", INVESTOR.to_string()),
            ("payment_method", "wire".to_string()),
        ];
        if let Some(shares) = shares {
            form.push(("equity_share_count", shares.to_string()));
        }
        self.post("/api/investments", &form).await
    }

    async fn ledger(&self) -> Value {
        let body: Value = self
            .client
            .get(self.admin("/ledger"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        body["fundamerica"].clone()
    }

    async fn set_faults(&self, faults: Value) {
        let response = self
            .client
            .put(self.admin("/faults"))
            .json(&faults)
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success());
    }

    fn fa_client(&self) -> FundAmericaClient {
        FundAmericaClient::new(
            FundAmericaSettings {
                id: PlatformId::new("fa"),
                base_url: self.base(),
                api_key: Secret::new(API_KEY),
                investor_id: INVESTOR.into(),
                payment_method: PaymentMethod::Ach {
                    authorization_id: "c1iNJPrgToCWwLOD3pAhgg".into(),
                },
                max_posts_per_second: NonZeroU32::new(50).unwrap(),
                max_gets_per_second: NonZeroU32::new(1_000).unwrap(),
                request_timeout: Duration::from_secs(10),
            },
            Metrics::new(),
        )
        .unwrap()
    }
}

async fn json_of(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, body)
}

fn id(object: &Value) -> &str {
    object["id"].as_str().unwrap()
}

fn keys(object: &Value) -> BTreeSet<String> {
    object.as_object().unwrap().keys().cloned().collect()
}

fn money(value: &Value) -> Decimal {
    Decimal::from_str(value.as_str().expect("money is a decimal string")).unwrap()
}

fn share_price(offering: &Value) -> Option<Decimal> {
    offering["security"]["equity_share_price"]
        .as_str()
        .map(|p| Decimal::from_str(p).unwrap())
}

/// An offering any amount can go into: no limits, room to spare.
fn unconstrained(offering: &Value) -> bool {
    offering["min_investment_amount"].is_null()
        && offering["max_investment_amount"].is_null()
        && offering["investment_increment_amount"].is_null()
        && money(&offering["max_amount"]) - money(&offering["funds_received"]) > dec!(100000)
}

fn optional_money(value: &Value) -> Option<Decimal> {
    value.as_str().map(|text| Decimal::from_str(text).unwrap())
}

/// The smallest amount a debt offering takes: its minimum, else its increment, else $100.
fn smallest_debt_amount(offering: &Value) -> Decimal {
    optional_money(&offering["min_investment_amount"])
        .or_else(|| optional_money(&offering["investment_increment_amount"]))
        .unwrap_or(dec!(100))
}

/// A debt offering with room for a few of its smallest investments.
fn roomy_debt(offering: &Value) -> bool {
    offering["type"] == "debt"
        && money(&offering["max_amount"]) - money(&offering["funds_received"])
            > smallest_debt_amount(offering) * dec!(10)
}

// ---------------------------------------------------------------- auth and offerings

#[tokio::test]
async fn every_endpoint_wants_the_api_key_as_the_basic_auth_user() {
    let fa = Fa::default().await;
    let url = fa.url("/api/offerings");
    let anonymous = fa.client.get(&url).send().await.unwrap();
    let refused = fa
        .client
        .get(&url)
        .basic_auth("wrong", None::<&str>)
        .send()
        .await
        .unwrap();
    let bearer = fa
        .client
        .get(&url)
        .bearer_auth(API_KEY)
        .send()
        .await
        .unwrap();
    for response in [anonymous, refused, bearer] {
        let (status, body) = json_of(response).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(body["status_message"].as_str().unwrap().contains("API key"));
    }
    let post = fa
        .client
        .post(fa.url("/api/investments"))
        .form(&[("amount", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(fa.ledger().await["investments"], json!([]));
    let (status, _) = fa.get("/api/offerings").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn offerings_have_the_seeds_keys_and_come_in_resource_lists() {
    let fa = Fa::default().await;
    let (status, first) = fa.get("/api/offerings?page=1&per=7").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        keys(&first),
        [
            "more",
            "object",
            "page",
            "per",
            "resources",
            "total_resources"
        ]
        .map(String::from)
        .into()
    );
    assert_eq!(first["object"], "resource_list");
    assert_eq!(
        (first["page"].clone(), first["per"].clone()),
        (json!(1), json!(7))
    );
    assert_eq!(first["total_resources"], 30);
    assert_eq!(first["more"], true);
    let (_, last) = fa.get("/api/offerings?page=5&per=7").await;
    assert_eq!(last["resources"].as_array().unwrap().len(), 2);
    assert_eq!(last["more"], false);
    let (_, default) = fa.get("/api/offerings").await;
    assert_eq!(default["per"], 25);

    let seed_keys = keys(&serde_json::from_str(SEED_OFFERING).unwrap());
    for offering in first["resources"].as_array().unwrap() {
        assert_eq!(keys(offering), seed_keys, "{offering}");
        assert_eq!(offering["object"], "offering");
        assert_eq!(
            offering["url"],
            fa.url(&format!("/api/offerings/{}", id(offering)))
        );
        for field in ["amount", "max_amount", "min_amount", "funds_received"] {
            assert!(money(&offering[field]) >= Decimal::ZERO, "{field}");
        }
        for field in [
            "min_investment_amount",
            "max_investment_amount",
            "investment_increment_amount",
        ] {
            assert!(offering[field].is_null() || money(&offering[field]) > Decimal::ZERO);
        }
        let accepting = offering["accept_investments"].as_bool().unwrap();
        assert_eq!(
            accepting,
            offering["escrow_status"] == "opened",
            "{offering}"
        );
        assert!(["equity", "debt"].contains(&offering["type"].as_str().unwrap()));
        assert_eq!(
            offering["security_url"].is_string(),
            offering["type"] == "equity"
        );
    }
    let all = fa.offerings().await;
    assert!(
        all.iter().any(|o| o["accept_investments"] == false),
        "some are pending"
    );
    for equity in all.iter().filter(|o| o["type"] == "equity") {
        let price = share_price(equity).expect("expanded security with a share price");
        let security_id = equity["security"]["id"].as_str().unwrap();
        assert_eq!(
            equity["security_url"],
            fa.url(&format!("/api/securities/{security_id}"))
        );
        let (status, security) = fa.get(&format!("/api/securities/{security_id}")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(money(&security["equity_share_price"]), price);
        assert_eq!(security["offering_url"], equity["url"]);
    }
}

#[tokio::test]
async fn the_same_seed_gives_the_same_offerings_and_another_seed_others() {
    let ids = |offerings: Vec<Value>| -> Vec<String> {
        offerings.iter().map(|o| id(o).to_string()).collect()
    };
    let a = ids(Fa::start(SandboxOptions {
        seed: 9,
        ..SandboxOptions::default()
    })
    .await
    .offerings()
    .await);
    let b = ids(Fa::start(SandboxOptions {
        seed: 9,
        ..SandboxOptions::default()
    })
    .await
    .offerings()
    .await);
    let c = ids(Fa::start(SandboxOptions {
        seed: 10,
        ..SandboxOptions::default()
    })
    .await
    .offerings()
    .await);
    assert_eq!(a, b);
    assert_eq!(a.len(), 30);
    assert!(a.iter().all(|id| !c.contains(id)));
}

#[tokio::test]
async fn offerings_close_after_their_lifetime_and_then_refuse_investments() {
    let fa = Fa::start(SandboxOptions {
        listing_lifetime: Duration::ZERO,
        ..SandboxOptions::default()
    })
    .await;
    let offerings = fa.offerings().await;
    assert!(offerings
        .iter()
        .all(|o| o["escrow_status"] == "closed" && o["accept_investments"] == false));
    let (status, body) = fa.invest(&offerings[0], "1000", Some("1")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body["status_message"]
        .as_str()
        .unwrap()
        .contains("not accepting investments"));
}

// ---------------------------------------------------------------- investments

#[tokio::test]
async fn an_investment_answers_the_seeds_shape_and_shows_up_everywhere() {
    let fa = Fa::default().await;
    let offering = fa.find(|o| o["type"] == "equity" && unconstrained(o)).await;
    let price = share_price(&offering).unwrap();
    let amount = price * dec!(4);
    let (status, investment) = fa.invest(&offering, &amount.to_string(), Some("4")).await;
    assert_eq!(status, StatusCode::OK, "{investment}");

    let seed_keys = keys(&serde_json::from_str(SEED_INVESTMENT).unwrap());
    assert_eq!(keys(&investment), seed_keys);
    assert_eq!(investment["object"], "investment");
    assert_eq!(investment["status"], "not_received");
    assert_eq!(money(&investment["amount"]), amount);
    assert_eq!(money(&investment["equity_share_count"]), dec!(4));
    assert_eq!(money(&investment["equity_share_price"]), price);
    assert_eq!(investment["offering_url"], offering["url"]);
    assert_eq!(
        investment["investor_url"],
        fa.url(&format!("/api/investors/{INVESTOR}"))
    );
    assert_eq!(investment["payment_method"], "wire");
    // The sandbox's clock starts at its configured wall-clock origin.
    assert!(investment["created_at"]
        .as_str()
        .unwrap()
        .starts_with("2026-11-20T21:0"));

    let investment_id = id(&investment);
    let (_, fetched) = fa.get(&format!("/api/investments/{investment_id}")).await;
    assert_eq!(fetched, investment);
    let (_, listed) = fa
        .get(&format!("/api/offerings/{}/investments", id(&offering)))
        .await;
    assert_eq!(listed["object"], "resource_list");
    assert_eq!(listed["resources"], json!([investment]));
    let (_, after) = fa.get(&format!("/api/offerings/{}", id(&offering))).await;
    assert_eq!(
        money(&after["funds_received"]),
        money(&offering["funds_received"]) + amount
    );

    let ledger = fa.ledger().await;
    assert_eq!(ledger["posts"], 1);
    assert_eq!(ledger["rejected"], 0);
    assert_eq!(ledger["investments"].as_array().unwrap().len(), 1);
    assert_eq!(ledger["investments"][0]["offering_id"], offering["id"]);
    assert_eq!(ledger["investments"][0]["equity_share_count"], 4);
}

#[tokio::test]
async fn refused_investments_get_the_platforms_bodies_and_change_nothing() {
    let fa = Fa::default().await;
    let equity = fa.find(|o| o["type"] == "equity" && unconstrained(o)).await;
    let limited = fa
        .find(|o| {
            o["type"] == "debt"
                && !o["min_investment_amount"].is_null()
                && !o["investment_increment_amount"].is_null()
        })
        .await;
    let min = money(&limited["min_investment_amount"]);
    let increment = money(&limited["investment_increment_amount"]);

    let (status, body) = fa.invest(&equity, "1000", None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        body,
        json!({"investment": {"equity_share_count": ["can't be blank"]}})
    );

    let (status, body) = fa
        .post(
            "/api/investments",
            &[("offering_id", id(&limited).to_string())],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        body,
        json!({"investment": {
            "amount": ["can't be blank"],
            "investor_id": ["can't be blank"],
            "payment_method": ["can't be blank"]
        }})
    );

    let (status, body) = fa
        .invest(&limited, &(min - dec!(0.01)).to_string(), None)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let messages = body["investment"]["amount"].as_array().unwrap();
    assert!(
        messages[0]
            .as_str()
            .unwrap()
            .starts_with("must be greater than or equal to"),
        "{body}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.as_str().unwrap().starts_with("must divide evenly by")),
        "{body}"
    );
    assert!(
        min % increment == Decimal::ZERO,
        "the minimum itself is a valid amount"
    );

    let ach_without_authorization = fa
        .post(
            "/api/investments",
            &[
                ("amount", min.to_string()),
                ("offering_id", id(&limited).to_string()),
                ("investor_id", INVESTOR.to_string()),
                ("payment_method", "ach".to_string()),
            ],
        )
        .await;
    assert_eq!(
        ach_without_authorization,
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({"investment": {"ach_authorization_id": ["can't be blank"]}})
        )
    );

    let (status, body) = fa
        .post(
            "/api/investments",
            &[
                ("offering_id", "no-such-offering".to_string()),
                ("amount", "10".into()),
            ],
        )
        .await;
    assert_eq!(
        (status, body),
        (
            StatusCode::NOT_FOUND,
            json!({"status_message": "Offering not found"})
        )
    );

    let (status, _) = fa
        .send(
            reqwest::Method::PATCH,
            &format!("/api/test_mode/offerings/{}", id(&equity)),
            &[("accept_investments", "false")],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = fa
        .invest(
            &equity,
            &share_price(&equity).unwrap().to_string(),
            Some("1"),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body["status_message"]
        .as_str()
        .unwrap()
        .ends_with("is not accepting investments"));

    let ledger = fa.ledger().await;
    assert_eq!(ledger["investments"], json!([]));
    assert_eq!(ledger["posts"], 6);
    assert_eq!(ledger["rejected"], 6);
}

#[tokio::test]
async fn cancelling_voids_an_investment_once_and_every_change_is_in_the_webhook_log() {
    let fa = Fa::default().await;
    let offering = fa.find(roomy_debt).await;
    let smallest = smallest_debt_amount(&offering);
    let (_, first) = fa.invest(&offering, &smallest.to_string(), None).await;
    let (_, second) = fa
        .invest(&offering, &(smallest * dec!(2)).to_string(), None)
        .await;

    let (status, voided) = fa
        .send(
            reqwest::Method::DELETE,
            &format!("/api/investments/{}", id(&first)),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(voided["status"], "voided");
    let (status, again) = fa
        .send(
            reqwest::Method::DELETE,
            &format!("/api/investments/{}", id(&first)),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{again}");

    let (status, invested) = fa
        .send(
            reqwest::Method::PATCH,
            &format!("/api/test_mode/investments/{}", id(&second)),
            &[("status", "invested")],
        )
        .await;
    assert_eq!(
        (status, invested["status"].clone()),
        (StatusCode::OK, json!("invested"))
    );
    let (status, refused) = fa
        .send(
            reqwest::Method::DELETE,
            &format!("/api/investments/{}", id(&second)),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(refused["status_message"]
        .as_str()
        .unwrap()
        .contains("invested"));
    let (status, _) = fa
        .send(reqwest::Method::DELETE, "/api/investments/nope", &[])
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (_, after) = fa.get(&format!("/api/offerings/{}", id(&offering))).await;
    assert_eq!(
        money(&after["funds_received"]),
        money(&offering["funds_received"]) + smallest * dec!(2)
    );

    let (_, logs) = fa.get("/api/webhook_logs?per=100").await;
    let messages: Vec<Value> = logs["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|log| {
            assert_eq!(log["object"], "webhook_log");
            serde_json::from_str(log["data"].as_str().unwrap()).unwrap()
        })
        .collect();
    let actions: Vec<(&str, &str)> = messages
        .iter()
        .map(|m| (m["id"].as_str().unwrap(), m["action"].as_str().unwrap()))
        .collect();
    assert_eq!(
        actions,
        [
            (id(&first), "create"),
            (id(&second), "create"),
            (id(&first), "update"),
            (id(&second), "update")
        ]
    );
    let sandbox_key = Secret::new("sandbox");
    for message in &messages {
        let parsed = webhook::parse_data(&message.to_string()).unwrap();
        assert!(webhook::signature_matches(
            &parsed.webhook_id,
            &parsed.signature,
            &sandbox_key
        ));
        assert!(matches!(Fetch::of(&parsed), Fetch::Investment { .. }));
    }
    assert_eq!(messages[2]["changes"], json!(["status"]));
    assert_eq!(fa.ledger().await["cancellations"], 1);
}

// ---------------------------------------------------------------- faults

#[tokio::test]
async fn faults_apply_to_fundamerica_and_a_dropped_answer_leaves_the_investment_made() {
    let fa = Fa::default().await;
    let offering = fa.find(roomy_debt).await;
    let amount = smallest_debt_amount(&offering).to_string();

    fa.set_faults(json!({"drop_after_accept_rate": 1.0})).await;
    let sent = fa
        .client
        .post(fa.url("/api/investments"))
        .basic_auth(API_KEY, None::<&str>)
        .form(&[
            ("amount", amount.as_str()),
            ("offering_id", id(&offering)),
            ("investor_id", INVESTOR),
            ("payment_method", "wire"),
        ])
        .send()
        .await;
    assert!(sent.is_err(), "the client must not see a response");
    let (status, _) = fa.get("/api/offerings").await;
    assert_eq!(status, StatusCode::OK, "GETs are not dropped");

    fa.set_faults(json!({"html_502_rate": 1.0})).await;
    let page = fa
        .client
        .get(fa.url("/api/offerings"))
        .basic_auth(API_KEY, None::<&str>)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::BAD_GATEWAY);
    assert!(page.text().await.unwrap().contains("<html>"));

    fa.set_faults(json!({"rate_limit_rate": 1.0})).await;
    let (status, _) = fa.invest(&offering, &amount, None).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);

    fa.set_faults(json!({"malformed_rate": 1.0})).await;
    let response = fa
        .client
        .get(fa.url("/api/offerings"))
        .basic_auth(API_KEY, None::<&str>)
        .send()
        .await
        .unwrap();
    assert!(serde_json::from_str::<Value>(&response.text().await.unwrap()).is_err());

    fa.set_faults(json!({})).await;
    let ledger = fa.ledger().await;
    assert_eq!(
        ledger["investments"].as_array().unwrap().len(),
        1,
        "executed once, never resent"
    );
    assert_eq!(ledger["posts"], 2);
    assert_eq!(ledger["rate_limited"], 1);
}

#[tokio::test]
async fn reset_brings_the_emulator_back_to_the_start() {
    let fa = Fa::default().await;
    let before = fa.offerings().await;
    let offering = fa.find(roomy_debt).await;
    let amount = smallest_debt_amount(&offering).to_string();
    let (status, _) = fa.invest(&offering, &amount, None).await;
    assert_eq!(status, StatusCode::OK);
    let reset = fa.client.post(fa.admin("/reset")).send().await.unwrap();
    assert_eq!(reset.status(), StatusCode::NO_CONTENT);
    let ledger = fa.ledger().await;
    assert_eq!(ledger["investments"], json!([]));
    assert_eq!(ledger["posts"], 0);
    assert_eq!(fa.offerings().await, before);
}

// ---------------------------------------------------------------- the client against it

fn intent_for(opportunity_id: &str, amount: Decimal, shares: Option<u64>) -> ApprovedOrder {
    let platform = PlatformId::new("fa");
    let now = Utc::now();
    ApprovedOrder {
        intent: OrderIntent {
            key: IdempotencyKey::derive(&platform, "e2e", opportunity_id, "once"),
            platform,
            strategy: "e2e".into(),
            opportunity_id: opportunity_id.into(),
            opportunity_kind: OpportunityKind::Offering,
            purchase: autoinvest::opportunity::PurchaseMode::Fractional,
            amount,
            shares,
            grade: None,
            reason: "e2e".into(),
            slot: "once".into(),
            created_at: now,
            updated_at: now,
            state: OrderState::Sending,
            dry_run: false,
        },
    }
}

#[tokio::test]
async fn the_client_polls_sizes_buys_reconciles_and_cancels_against_the_emulator() {
    let fa = Fa::default().await;
    let client = fa.fa_client();
    let opportunities = client.poll().await.unwrap();
    let accepting = fa
        .offerings()
        .await
        .into_iter()
        .filter(|o| o["accept_investments"] == true)
        .count();
    assert_eq!(
        opportunities.len(),
        accepting,
        "every accepting offering, and only those"
    );

    let budget = BudgetRules::default();
    let platform = PlatformRules::default();
    let strategy = StrategyRules {
        name: "e2e".into(),
        ..StrategyRules::default()
    };
    let rules = Rules {
        budget: &budget,
        platform: &platform,
        strategy: &strategy,
    };
    let mut bought = 0;
    for opportunity in &opportunities {
        // Every sized order is one the emulator accepts: limits, increments, shares.
        let Ok(sized) = sizing::size(dec!(5000), opportunity, rules, &PortfolioView::default())
        else {
            continue;
        };
        let order = intent_for(&opportunity.id, sized.amount, sized.shares);
        let placed = match client.place_order(&order).await {
            Ok(placed) => placed,
            // A nearly full offering may have less room than the amount.
            Err(error) if error.to_string().contains("left in the offering") => continue,
            Err(error) => panic!("{}: {error}", opportunity.id),
        };
        assert_eq!(placed.amount, sized.amount);
        assert_eq!(placed.status, "not_received");
        let found = client.find_orders(&order.intent).await.unwrap();
        assert_eq!(found, vec![placed.clone()]);
        assert_eq!(
            client.investment_status(&placed.order_id).await.unwrap(),
            placed
        );
        bought += 1;
    }
    assert!(bought >= 10, "only {bought} offerings bought");

    let ledger = fa.ledger().await;
    let first = &ledger["investments"][0];
    assert_eq!(first["investor_id"], INVESTOR);
    assert_eq!(first["payment_method"], "ach");
    let cancelled = client
        .cancel_investment(first["id"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(cancelled.status, "voided");
    let error = client
        .cancel_investment(first["id"].as_str().unwrap())
        .await
        .unwrap_err();
    assert_eq!(error.kind(), "rejected", "{error}");
}
