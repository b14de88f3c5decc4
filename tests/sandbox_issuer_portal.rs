//! The issuer-portal emulator through real HTTP on loopback: both authorization
//! schemes, DRF pages and error bodies, the seed documents' field names and status
//! values, the per-investment rules, faults, the admin ledger and reset — and the
//! real client driving it end to end.

use autoinvest::opportunity::{OpportunityKind, PlatformId};
use autoinvest::order::{IdempotencyKey, OrderIntent, OrderState};
use autoinvest::platform::issuer_portal::wire::{Investment, Offering};
use autoinvest::platform::issuer_portal::{IssuerPortalClient, IssuerPortalSettings};
use autoinvest::platform::{ApprovedOrder, PlatformClient, PlatformError};
use autoinvest::sandbox::{self, SandboxHandle, SandboxOptions};
use autoinvest::secret::Secret;
use autoinvest::telemetry::Metrics;
use chrono::{DateTime, TimeZone, Utc};
use reqwest::{Client, StatusCode};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::num::NonZeroU32;
use std::str::FromStr;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// A sandbox and a logged-in HTTP client talking to it.
struct Ip {
    handle: SandboxHandle,
    client: Client,
    token: String,
    _shutdown: tokio_util::sync::DropGuard,
}

impl Ip {
    async fn start(options: SandboxOptions) -> Ip {
        let shutdown = CancellationToken::new();
        let handle = sandbox::spawn("127.0.0.1:0".parse().unwrap(), options, shutdown.clone())
            .await
            .unwrap();
        let client = Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap();
        let mut ip = Ip {
            handle,
            client,
            token: String::new(),
            _shutdown: shutdown.drop_guard(),
        };
        let (status, session) = ip
            .login(json!({"email": "partner@example.com", "password": "secret"}))
            .await;
        assert_eq!(status, StatusCode::OK, "{session}");
        ip.token = session["token"].as_str().unwrap().to_string();
        ip
    }

    async fn default() -> Ip {
        Ip::start(SandboxOptions::default()).await
    }

    fn base(&self) -> String {
        format!("http://{}/issuer_portal", self.handle.addr)
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base())
    }

    fn admin(&self, path: &str) -> String {
        format!("http://{}/__sandbox{path}", self.handle.addr)
    }

    async fn login(&self, body: Value) -> (StatusCode, Value) {
        let response = self
            .client
            .post(self.url("/api_third_party/auth/login/"))
            .json(&body)
            .send()
            .await
            .unwrap();
        json_of(response).await
    }

    /// An issuer API GET with `Authorization: Api-Key any-key`.
    async fn issuer_get(&self, path: &str) -> (StatusCode, Value) {
        let response = self
            .client
            .get(self.url(path))
            .header("authorization", "Api-Key any-key")
            .send()
            .await
            .unwrap();
        json_of(response).await
    }

    async fn third_party_get(&self, path: &str) -> (StatusCode, Value) {
        let response = self
            .client
            .get(self.url(path))
            .header("authorization", format!("Token {}", self.token))
            .send()
            .await
            .unwrap();
        json_of(response).await
    }

    async fn invest(&self, body: Value) -> (StatusCode, Value) {
        json_of(self.invest_response(body).await.unwrap()).await
    }

    async fn invest_response(&self, body: Value) -> reqwest::Result<reqwest::Response> {
        self.client
            .post(self.url("/api_third_party/investments/"))
            .header("authorization", format!("Token {}", self.token))
            .json(&body)
            .send()
            .await
    }

    /// Every opened offering that takes investments and satisfies `check`.
    async fn opened(&self, check: impl Fn(&Value) -> bool) -> Vec<Value> {
        let (status, page) = self
            .issuer_get("/api/offerings/?status=opened&page_size=100")
            .await;
        assert_eq!(status, StatusCode::OK, "{page}");
        page["results"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|o| o["type"] != "test_the_waters")
            .filter(|o| check(o))
            .cloned()
            .collect()
    }

    async fn first_opened(&self, check: impl Fn(&Value) -> bool) -> Value {
        self.opened(check)
            .await
            .into_iter()
            .next()
            .expect("the seed has such an offering")
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
        body["issuer_portal"].clone()
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
}

async fn json_of(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, body)
}

fn cents(value: &Value) -> i64 {
    let amount = Decimal::from_str(value.as_str().expect("money is a string")).unwrap();
    (amount * Decimal::ONE_HUNDRED).to_i64().unwrap()
}

/// Shares worth at least the minimum and a whole multiple of the increment.
fn valid_quantity(offering: &Value) -> i64 {
    let price = cents(&offering["unit_price"]);
    let step = match &offering["investment_increment_amount"] {
        Value::Null => price,
        step => cents(step),
    };
    let min = match &offering["min_investment_amount"] {
        Value::Null => step,
        min => cents(min),
    };
    (min + step - 1) / step * step / price
}

fn investment(quantity: i64, offering: &Value) -> Value {
    json!({"quantity": quantity, "offering": offering["id"], "investor": 7, "requested_payment_method": "wire"})
}

// ---------------------------------------------------------------- authentication

#[tokio::test]
async fn login_gives_a_token_with_its_expiry_and_refuses_bad_credentials_drf_style() {
    let start = Utc.with_ymd_and_hms(2026, 11, 20, 21, 0, 0).unwrap();
    let ip = Ip::start(SandboxOptions {
        start_time: Some(start),
        token_lifetime: Duration::from_secs(3600),
        ..SandboxOptions::default()
    })
    .await;
    let (status, session) = ip.login(json!({"email": "a@b.c", "password": "pw"})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        session.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["expiry", "token"]
    );
    let expiry = DateTime::parse_from_rfc3339(session["expiry"].as_str().unwrap()).unwrap();
    let lifetime = expiry.with_timezone(&Utc) - start;
    assert!(
        (3600..=3605).contains(&lifetime.num_seconds()),
        "{lifetime}"
    );
    assert!(session["expiry"].as_str().unwrap().ends_with('Z'));

    let cases = [
        (
            json!({"email": "a@b.c", "password": "wrong"}),
            json!({"non_field_errors": ["Unable to log in with provided credentials."]}),
        ),
        (
            json!({}),
            json!({"email": ["This field is required."], "password": ["This field is required."]}),
        ),
        (
            json!({"email": "", "password": null}),
            json!({"email": ["This field may not be blank."], "password": ["This field may not be null."]}),
        ),
    ];
    for (body, expected) in cases {
        assert_eq!(
            ip.login(body.clone()).await,
            (StatusCode::BAD_REQUEST, expected),
            "{body}"
        );
    }
    let response = ip
        .client
        .post(ip.url("/api_third_party/auth/login/"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    let (status, body) = json_of(response).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .starts_with("JSON parse error"),
        "{body}"
    );
}

#[tokio::test]
async fn the_issuer_api_wants_an_api_key_and_the_third_party_api_a_token() {
    let ip = Ip::default().await;
    let offerings = ip.url("/api/offerings/");
    let cases = [
        (None, "Authentication credentials were not provided."),
        (
            Some("Api-Key wrong"),
            "You do not have permission to perform this action.",
        ),
        (
            Some("Token abc"),
            "Authentication credentials were not provided.",
        ),
    ];
    for (header, detail) in cases {
        let mut request = ip.client.get(&offerings);
        if let Some(header) = header {
            request = request.header("authorization", header);
        }
        let (status, body) = json_of(request.send().await.unwrap()).await;
        assert_eq!(
            (status, body),
            (StatusCode::FORBIDDEN, json!({ "detail": detail })),
            "{header:?}"
        );
    }
    assert_eq!(
        ip.issuer_get("/api/offerings/").await.0,
        StatusCode::OK,
        "any other key, e.g. the placeholder \"sandbox\""
    );

    let investments = ip.url("/api_third_party/investments/");
    for (header, detail) in [
        (None, "Authentication credentials were not provided."),
        (Some("Token forged"), "Invalid token."),
        (
            Some("Api-Key any-key"),
            "Authentication credentials were not provided.",
        ),
    ] {
        let mut request = ip.client.get(&investments);
        if let Some(header) = header {
            request = request.header("authorization", header);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.headers()["www-authenticate"], "Token");
        assert_eq!(
            json_of(response).await,
            (StatusCode::UNAUTHORIZED, json!({ "detail": detail })),
            "{header:?}"
        );
    }
}

#[tokio::test]
async fn tokens_expire_and_logout_ends_them() {
    let ip = Ip::start(SandboxOptions {
        token_lifetime: Duration::from_millis(300),
        ..SandboxOptions::default()
    })
    .await;
    assert_eq!(
        ip.third_party_get("/api_third_party/investments/").await.0,
        StatusCode::OK
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        ip.third_party_get("/api_third_party/investments/").await,
        (
            StatusCode::UNAUTHORIZED,
            json!({"detail": "Invalid token."})
        )
    );

    let ip = Ip::default().await;
    let logout = ip
        .client
        .post(ip.url("/api_third_party/auth/logout/"))
        .header("authorization", format!("Token {}", ip.token))
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), StatusCode::NO_CONTENT);
    assert!(logout.text().await.unwrap().is_empty());
    assert_eq!(
        ip.third_party_get("/api_third_party/investments/").await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(ip.ledger().await["logouts"], 1);
}

// ---------------------------------------------------------------- offerings

#[tokio::test]
async fn offerings_come_in_drf_pages_with_absolute_links_keeping_the_filters() {
    let ip = Ip::default().await;
    let (status, all) = ip.issuer_get("/api/offerings/?page_size=100").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(all["count"], 30, "initial_listings offerings at the start");
    assert_eq!(
        (&all["next"], &all["previous"]),
        (&Value::Null, &Value::Null)
    );

    let (_, opened) = ip
        .issuer_get("/api/offerings/?status=opened&page_size=100")
        .await;
    let opened_count = opened["count"].as_u64().unwrap();
    assert!((15..30).contains(&opened_count), "{opened_count}");
    assert!(opened["results"]
        .as_array()
        .unwrap()
        .iter()
        .all(|o| o["status"] == "opened"));
    let (_, paused) = ip.issuer_get("/api/offerings/?status=paused,closed").await;
    assert_eq!(
        paused["count"].as_u64().unwrap() + opened_count,
        30,
        "every offering is opened or paused at the start"
    );

    let (_, first) = ip
        .issuer_get("/api/offerings/?status=opened&page_size=5")
        .await;
    assert_eq!(first["results"].as_array().unwrap().len(), 5);
    assert_eq!(first["previous"], Value::Null);
    let next = first["next"].as_str().unwrap();
    assert_eq!(
        next,
        format!(
            "{}/api/offerings/?status=opened&page_size=5&page=2",
            ip.base()
        )
    );
    let (_, second) = ip.issuer_get(next.strip_prefix(&ip.base()).unwrap()).await;
    assert_eq!(
        second["previous"],
        format!("{}/api/offerings/?status=opened&page_size=5", ip.base())
    );
    assert_ne!(second["results"][0]["id"], first["results"][0]["id"]);

    assert_eq!(
        ip.issuer_get("/api/offerings/?page=99").await,
        (StatusCode::NOT_FOUND, json!({"detail": "Invalid page."}))
    );
    assert_eq!(
        ip.issuer_get("/api/offerings/?status=open").await,
        (
            StatusCode::BAD_REQUEST,
            json!({"status": ["Select a valid choice. open is not one of the available choices."]})
        )
    );
}

#[tokio::test]
async fn offerings_have_the_seeds_fields_and_json_types_and_the_client_maps_them() {
    let ip = Ip::default().await;
    let (_, page) = ip.issuer_get("/api/offerings/?page_size=100").await;
    let mut null_limits = 0;
    let types: BTreeSet<String> = page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["type"].as_str().unwrap().to_string())
        .collect();
    for offering in page["results"].as_array().unwrap() {
        assert!(offering["id"].is_u64() && offering["issuer"].is_u64());
        assert!(offering["number_of_shares"].is_i64());
        for key in [
            "unit_price",
            "minimum_amount_raised",
            "maximum_amount_raised",
        ] {
            assert!(cents(&offering[key]) >= 0, "{key}");
        }
        for key in [
            "min_investment_amount",
            "max_investment_amount",
            "investment_increment_amount",
        ] {
            match &offering[key] {
                Value::Null => null_limits += 1,
                value => assert!(cents(value) > 0, "{key}: {value}"),
            }
        }
        assert!(["opened", "paused"].contains(&offering["status"].as_str().unwrap()));
        assert!(offering["opened_at"].as_str().unwrap().ends_with('Z'));
        assert_eq!(offering["deadline_date"].as_str().unwrap().len(), 10);
        let parsed: Offering = serde_json::from_value(offering.clone()).unwrap();
        if parsed.is_buyable() {
            let o = parsed.to_opportunity(&PlatformId::new("ip")).unwrap();
            assert_eq!(o.kind, OpportunityKind::Offering);
            assert_eq!(o.unit_price.map(|p| p > Decimal::ZERO), Some(true));
        }
    }
    assert!(null_limits > 0, "some limits are null");
    assert!(types.len() >= 3, "{types:?}");
    let id = page["results"][0]["id"].as_u64().unwrap();
    let (status, detail) = ip.issuer_get(&format!("/api/offerings/{id}/")).await;
    assert_eq!((status, &detail), (StatusCode::OK, &page["results"][0]));
    assert_eq!(
        ip.issuer_get("/api/offerings/999999/").await,
        (StatusCode::NOT_FOUND, json!({"detail": "Not found."}))
    );
}

#[tokio::test]
async fn the_same_seed_gives_the_same_offerings_and_more_open_over_time() {
    let start_time = Some(Utc.with_ymd_and_hms(2026, 11, 20, 21, 0, 0).unwrap());
    let options = |seed| SandboxOptions {
        seed,
        start_time,
        ..SandboxOptions::default()
    };
    let names = |page: &Value| -> Vec<Value> {
        page["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| json!([o["id"], o["name"], o["unit_price"]]))
            .collect()
    };
    let a = Ip::start(options(7)).await;
    let b = Ip::start(options(7)).await;
    let c = Ip::start(options(8)).await;
    let (_, a_page) = a.issuer_get("/api/offerings/?page_size=100").await;
    let (_, b_page) = b.issuer_get("/api/offerings/?page_size=100").await;
    let (_, c_page) = c.issuer_get("/api/offerings/?page_size=100").await;
    assert_eq!(names(&a_page), names(&b_page));
    assert_ne!(names(&a_page), names(&c_page));
    assert_eq!(
        a_page["results"][0]["opened_at"],
        "2026-11-20T21:00:00.000Z"
    );

    let growing = Ip::start(SandboxOptions {
        initial_listings: 2,
        listing_interval: Duration::from_millis(100),
        max_listings: 4,
        ..SandboxOptions::default()
    })
    .await;
    assert_eq!(growing.issuer_get("/api/offerings/").await.1["count"], 2);
    tokio::time::sleep(Duration::from_millis(450)).await;
    assert_eq!(growing.issuer_get("/api/offerings/").await.1["count"], 4);
}

// ---------------------------------------------------------------- investments

#[tokio::test]
async fn an_investment_answers_the_seed_shape_and_is_listed_by_offering_and_investor() {
    let ip = Ip::default().await;
    let offering = ip.first_opened(|_| true).await;
    let quantity = valid_quantity(&offering);
    let (status, created) = ip.invest(investment(quantity, &offering)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["quantity"], quantity);
    assert_eq!(
        created["offering"], offering["id"],
        "an id in the POST answer"
    );
    assert_eq!(created["investor"]["id"], 7);
    assert_eq!(created["requested_payment_method"], "wire");
    assert_eq!(
        cents(&created["amount"]),
        quantity * cents(&offering["unit_price"])
    );
    // The client reads it.
    let parsed: Investment = serde_json::from_value(created.clone()).unwrap();
    assert_eq!(parsed.offering, offering["id"].to_string());

    let (_, mine) = ip
        .third_party_get(&format!(
            "/api_third_party/investments/?offering={}&investor=7",
            offering["id"]
        ))
        .await;
    assert_eq!(mine["count"], 1);
    let listed = &mine["results"][0];
    assert_eq!(listed["id"], created["id"]);
    assert_eq!(listed["status"], "started");
    assert_eq!(
        listed["offering"]["id"], offering["id"],
        "an object in the list"
    );
    assert_eq!(listed["offering"]["type"], offering["type"]);
    assert_eq!(listed["amount"], created["amount"]);
    assert!(listed["created_at"].as_str().unwrap().ends_with('Z'));
    let (_, others) = ip
        .third_party_get("/api_third_party/investments/?investor=8")
        .await;
    assert_eq!(others["count"], 0);
    assert_eq!(
        ip.third_party_get("/api_third_party/investments/?offering=abc")
            .await,
        (
            StatusCode::BAD_REQUEST,
            json!({"offering": ["Enter a whole number."]})
        )
    );
}

#[tokio::test]
async fn refused_investments_get_drf_errors_and_change_nothing() {
    let ip = Ip::default().await;
    let with_min = ip
        .first_opened(|o| !o["min_investment_amount"].is_null() && valid_quantity(o) > 1)
        .await;
    let with_max = ip
        .first_opened(|o| !o["max_investment_amount"].is_null())
        .await;
    let with_step = ip
        .first_opened(|o| {
            !o["investment_increment_amount"].is_null()
                && o["max_investment_amount"].is_null()
                && cents(&o["investment_increment_amount"]) > cents(&o["unit_price"])
        })
        .await;
    let above_max = cents(&with_max["max_investment_amount"]) / cents(&with_max["unit_price"]) + 1;
    let cases = [
        (
            json!({"quantity": 0, "offering": "x", "requested_payment_method": "cash"}),
            json!({
                "quantity": ["Ensure this value is greater than or equal to 1."],
                "offering": ["Incorrect type. Expected pk value, received str."],
                "investor": ["This field is required."],
                "requested_payment_method": ["\"cash\" is not a valid choice."],
            }),
        ),
        (
            json!({"quantity": 1, "offering": 424242, "investor": 7, "requested_payment_method": "wire"}),
            json!({"offering": ["Invalid pk \"424242\" - object does not exist."]}),
        ),
        (
            investment(valid_quantity(&with_min) - 1, &with_min),
            json!({"quantity": [format!(
                "The investment amount {} is below the minimum investment amount of {}.",
                (Decimal::new((valid_quantity(&with_min) - 1) * cents(&with_min["unit_price"]), 2)),
                with_min["min_investment_amount"].as_str().unwrap()
            )]}),
        ),
        (
            investment(above_max, &with_max),
            json!({"quantity": [format!(
                "The investment amount {} is above the maximum investment amount of {}.",
                Decimal::new(above_max * cents(&with_max["unit_price"]), 2),
                with_max["max_investment_amount"].as_str().unwrap()
            )]}),
        ),
        (
            investment(valid_quantity(&with_step) + 1, &with_step),
            json!({"quantity": [format!(
                "The investment amount {} is not a multiple of the investment increment amount of {}.",
                Decimal::new((valid_quantity(&with_step) + 1) * cents(&with_step["unit_price"]), 2),
                with_step["investment_increment_amount"].as_str().unwrap()
            )]}),
        ),
    ];
    for (body, expected) in cases {
        assert_eq!(
            ip.invest(body.clone()).await,
            (StatusCode::BAD_REQUEST, expected),
            "{body}"
        );
    }
    let (_, paused) = ip.issuer_get("/api/offerings/?status=paused").await;
    let paused = &paused["results"][0];
    assert_eq!(
        ip.invest(investment(valid_quantity(paused), paused)).await,
        (
            StatusCode::BAD_REQUEST,
            json!({"offering": ["This offering is not accepting investments."]})
        )
    );
    let ledger = ip.ledger().await;
    assert_eq!(ledger["investments"], json!([]));
    assert_eq!(ledger["rejected"], 6);
}

#[tokio::test]
async fn injected_faults_apply_and_a_dropped_answer_leaves_an_executed_investment() {
    let ip = Ip::default().await;
    let offering = ip.first_opened(|_| true).await;
    let quantity = valid_quantity(&offering);

    ip.set_faults(json!({"error_5xx_rate": 1.0})).await;
    let (status, _) = ip.invest(investment(quantity, &offering)).await;
    assert!(status.is_server_error());
    ip.set_faults(json!({"html_502_rate": 1.0})).await;
    let response = ip
        .invest_response(investment(quantity, &offering))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    assert!(response.text().await.unwrap().contains("<html>"));
    ip.set_faults(json!({"rate_limit_rate": 1.0})).await;
    let (status, _) = ip.invest(investment(quantity, &offering)).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        ip.ledger().await["investments"],
        json!([]),
        "interruptions do nothing"
    );

    ip.set_faults(json!({"malformed_rate": 1.0})).await;
    let (status, body) = ip.invest(investment(quantity, &offering)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.is_string(), "a cut body is not JSON: {body}");
    ip.set_faults(json!({"drop_after_accept_rate": 1.0})).await;
    let dropped = ip.invest_response(investment(quantity, &offering)).await;
    assert!(dropped.is_err(), "the client must not see a response");
    ip.set_faults(json!({})).await;

    let ledger = ip.ledger().await;
    assert_eq!(ledger["posts"], 5);
    assert_eq!(ledger["rate_limited"], 1);
    assert_eq!(
        ledger["investments"].as_array().unwrap().len(),
        2,
        "mangled and dropped answers came after the investment was made"
    );
}

#[tokio::test]
async fn reset_brings_everything_back_to_the_start() {
    let ip = Ip::default().await;
    let offering = ip.first_opened(|_| true).await;
    let (status, _) = ip
        .invest(investment(valid_quantity(&offering), &offering))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let response = ip.client.post(ip.admin("/reset")).send().await.unwrap();
    assert!(response.status().is_success());
    let ledger = ip.ledger().await;
    assert_eq!(ledger["investments"], json!([]));
    assert_eq!(
        (&ledger["posts"], &ledger["logins"]),
        (&json!(0), &json!(0))
    );
    assert_eq!(
        ip.third_party_get("/api_third_party/investments/").await.0,
        StatusCode::UNAUTHORIZED,
        "sessions are gone"
    );
}

// ---------------------------------------------------------------- the real client

fn client_for(ip: &Ip) -> IssuerPortalClient {
    IssuerPortalClient::new(
        IssuerPortalSettings {
            id: PlatformId::new("ip"),
            base_url: ip.base(),
            api_key: Secret::new("sandbox"),
            email: Secret::new("sandbox"),
            password: Secret::new("sandbox"),
            investor_id: 7,
            payment_method: "wire".into(),
            max_posts_per_second: NonZeroU32::new(10).unwrap(),
            max_gets_per_second: NonZeroU32::new(100).unwrap(),
            request_timeout: Duration::from_secs(5),
        },
        Metrics::new(),
    )
    .unwrap()
}

fn intent_for(offering_id: &str, shares: u64, unit_price: Decimal) -> OrderIntent {
    let platform = PlatformId::new("ip");
    let now = Utc::now();
    OrderIntent {
        key: IdempotencyKey::derive(&platform, "s", offering_id, "once"),
        platform,
        strategy: "s".into(),
        opportunity_id: offering_id.into(),
        opportunity_kind: OpportunityKind::Offering,
        purchase: Default::default(),
        amount: Decimal::from(shares) * unit_price,
        shares: Some(shares),
        grade: None,
        reason: "test".into(),
        slot: "once".into(),
        created_at: now,
        updated_at: now,
        state: OrderState::Sending,
        dry_run: false,
    }
}

#[tokio::test]
async fn the_client_polls_invests_reconciles_and_logs_out_against_the_sandbox() {
    let ip = Ip::start(SandboxOptions {
        initial_listings: 150,
        ..SandboxOptions::default()
    })
    .await;
    let client = client_for(&ip);

    let open = client.poll().await.unwrap();
    let (_, expected) = ip
        .issuer_get("/api/offerings/?status=opened&page_size=100")
        .await;
    let buyable = |page: &Value| {
        page["results"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|o| o["type"] != "test_the_waters")
            .count()
    };
    let (_, rest) = ip
        .issuer_get("/api/offerings/?status=opened&page_size=100&page=2")
        .await;
    assert_eq!(
        open.len(),
        buyable(&expected) + buyable(&rest),
        "both pages read"
    );

    let target = open.iter().find(|o| o.min_investment.is_none()).unwrap();
    let unit_price = target.unit_price.unwrap();
    let shares = match target.increment {
        Some(step) => (step / unit_price).to_u64().unwrap(),
        None => 3,
    };
    let intent = intent_for(&target.id, shares, unit_price);
    let placed = client
        .place_order(&ApprovedOrder {
            intent: intent.clone(),
        })
        .await
        .unwrap();
    assert_eq!(placed.amount, intent.amount);
    assert_eq!(
        (placed.opportunity_id.as_str(), placed.status.as_str()),
        (target.id.as_str(), "started")
    );

    let found = client.find_orders(&intent).await.unwrap();
    assert_eq!(found, vec![placed]);

    let refused = client
        .place_order(&ApprovedOrder {
            intent: intent_for(&target.id, 1_000_000_000, unit_price),
        })
        .await
        .unwrap_err();
    assert!(
        matches!(refused, PlatformError::Rejected { status: 400, .. }),
        "{refused:?}"
    );

    client.logout().await.unwrap();
    let ledger = ip.ledger().await;
    assert_eq!(
        (&ledger["logins"], &ledger["logouts"]),
        (&json!(2), &json!(1))
    );
    assert_eq!(ledger["investments"].as_array().unwrap().len(), 1);
}
