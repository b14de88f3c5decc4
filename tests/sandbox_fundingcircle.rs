//! The Funding Circle emulator through real HTTP on loopback: the wire shapes of the
//! seed document and DESIGN.md, the order rules and their JSON errors, the
//! 40-POSTs-per-second limit, faults, and the admin ledger.

use autoinvest::sandbox::{self, Faults, SandboxHandle, SandboxOptions};
use chrono::{TimeZone, Utc};
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The keys of the seed document's order object, both for whole and fractional.
const ORDER_KEYS: [&str; 17] = [
    "transaction_id",
    "purchased_amount_cents",
    "cashback_rate",
    "fund_managed",
    "updated_at",
    "interest_rate",
    "status",
    "id",
    "truncated",
    "listing_id",
    "investor_postfunded",
    "investor_id",
    "investor_servicer_code",
    "accrued_interest_cents",
    "original_purchase_amount_cents",
    "created_at",
    "payment_due_at",
];

/// A sandbox and a logged-in client talking to it.
struct Fc {
    handle: SandboxHandle,
    client: Client,
    token: String,
    _shutdown: tokio_util::sync::DropGuard,
}

impl Fc {
    async fn start(options: SandboxOptions) -> Fc {
        let shutdown = CancellationToken::new();
        let handle = sandbox::spawn("127.0.0.1:0".parse().unwrap(), options, shutdown.clone())
            .await
            .unwrap();
        let client = Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap();
        let mut fc = Fc {
            handle,
            client,
            token: String::new(),
            _shutdown: shutdown.drop_guard(),
        };
        let (status, session) = fc.login("investor", "secret").await;
        assert_eq!(status, StatusCode::OK);
        fc.token = session["token"].as_str().unwrap().to_string();
        fc
    }

    async fn default() -> Fc {
        Fc::start(SandboxOptions::default()).await
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.handle.fundingcircle_url(), path)
    }

    fn admin(&self, path: &str) -> String {
        format!("http://{}/__sandbox{}", self.handle.addr, path)
    }

    async fn login(&self, username: &str, password: &str) -> (StatusCode, Value) {
        let response = self
            .client
            .post(self.url("/api/v2/login"))
            .json(&json!({"username": username, "password": password}))
            .send()
            .await
            .unwrap();
        json_of(response).await
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        let response = self
            .client
            .get(self.url(path))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        json_of(response).await
    }

    async fn order(&self, listing_id: &str, amount_cents: Option<i64>) -> (StatusCode, Value) {
        json_of(self.order_response(listing_id, amount_cents).await).await
    }

    async fn order_response(
        &self,
        listing_id: &str,
        amount_cents: Option<i64>,
    ) -> reqwest::Response {
        let mut query = vec![("listing_id", listing_id.to_string())];
        if let Some(amount) = amount_cents {
            query.push(("amount_cents", amount.to_string()));
        }
        self.client
            .post(self.url("/api/v2/orders"))
            .query(&query)
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap()
    }

    async fn ledger(&self) -> Value {
        let response = self.client.get(self.admin("/ledger")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.json::<Value>().await.unwrap()["fundingcircle"].clone()
    }

    async fn set_faults(&self, faults: Value) {
        let response = self
            .client
            .put(self.admin("/faults"))
            .json(&faults)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }

    async fn details(&self, id: &str) -> Value {
        let (status, details) = self.get(&format!("/api/v2/listings/{id}")).await;
        assert_eq!(status, StatusCode::OK);
        details
    }

    /// Every live listing's details, in listing order.
    async fn live_details(&self) -> Vec<Value> {
        let (_, page) = self.get("/api/v2/listings?size=100").await;
        let mut all = Vec::new();
        for listing in page["_embedded"]["listings"].as_array().unwrap() {
            all.push(self.details(listing["id"].as_str().unwrap()).await);
        }
        all
    }

    /// The first live listing of `kind` ("whole" | "fractional") matching `fits`.
    async fn find(&self, kind: &str, fits: impl Fn(&Value) -> bool) -> Value {
        self.live_details()
            .await
            .into_iter()
            .find(|d| d["type"] == kind && fits(d))
            .unwrap_or_else(|| panic!("no {kind} listing fits"))
    }

    async fn cash(&self) -> i64 {
        let (status, portfolio) = self.get("/api/v2/portfolio").await;
        assert_eq!(status, StatusCode::OK);
        portfolio["available_cash_cents"].as_i64().unwrap()
    }
}

async fn json_of(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let body = response.json::<Value>().await.unwrap();
    (status, body)
}

fn keys(value: &Value) -> BTreeSet<String> {
    value.as_object().unwrap().keys().cloned().collect()
}

fn remaining(details: &Value) -> i64 {
    details["amount_remaining_cents"].as_i64().unwrap()
}

fn id(details: &Value) -> &str {
    details["id"].as_str().unwrap()
}

fn error_code(body: &Value) -> &str {
    body["errors"][0]["code"].as_str().unwrap()
}

// ---------------------------------------------------------------- login and auth

#[tokio::test]
async fn login_gives_a_two_hour_bearer_token_and_refuses_a_wrong_password() {
    let fc = Fc::default().await;
    let (status, session) = fc.login("someone", "anything").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        keys(&session),
        BTreeSet::from(["token".into(), "expires_in".into()])
    );
    assert!(session["token"].as_str().unwrap().len() >= 32);
    assert_ne!(
        session["token"],
        fc.token.as_str(),
        "each login gets its own token"
    );
    assert_eq!(session["expires_in"].as_u64(), Some(7200));

    let (status, body) = fc.login("someone", "wrong").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "invalid credentials");
    assert_eq!(error_code(&body), "invalid_credentials");

    let (status, body) = fc.login("", "anything").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(&body), "invalid_credentials");

    let response = fc
        .client
        .post(fc.url("/api/v2/login"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    let (status, body) = json_of(response).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_code(&body), "bad_request");
}

#[tokio::test]
async fn every_other_endpoint_wants_a_valid_bearer_token() {
    let fc = Fc::default().await;
    let listing = fc.find("fractional", |_| true).await;
    let order_url = format!(
        "/api/v2/orders?listing_id={}&amount_cents=2500",
        id(&listing)
    );
    let paths = [
        ("GET", "/api/v2/listings".to_string()),
        ("GET", format!("/api/v2/listings/{}", id(&listing))),
        ("GET", "/api/v2/orders".to_string()),
        ("GET", "/api/v2/portfolio".to_string()),
        ("POST", order_url),
    ];
    for (method, path) in &paths {
        for token in [None, Some("not-a-token")] {
            let mut request = fc.client.request(method.parse().unwrap(), fc.url(path));
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            let (status, body) = json_of(request.send().await.unwrap()).await;
            assert_eq!(
                status,
                StatusCode::UNAUTHORIZED,
                "{method} {path} {token:?}"
            );
            assert_eq!(error_code(&body), "unauthorized");
        }
    }
    assert_eq!(
        remaining(&fc.details(id(&listing)).await),
        remaining(&listing)
    );
    let ledger = fc.ledger().await;
    assert_eq!(ledger["orders"], json!([]));
    assert_eq!(ledger["posts"], 2);
    assert_eq!(ledger["rejected"], 2);
}

#[tokio::test]
async fn an_expired_token_is_refused() {
    let options = SandboxOptions {
        token_lifetime: Duration::ZERO,
        ..SandboxOptions::default()
    };
    let shutdown = CancellationToken::new();
    let handle = sandbox::spawn("127.0.0.1:0".parse().unwrap(), options, shutdown.clone())
        .await
        .unwrap();
    let client = Client::new();
    let base = handle.fundingcircle_url();
    let session: Value = client
        .post(format!("{base}/api/v2/login"))
        .json(&json!({"username": "u", "password": "p"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(session["expires_in"], 0);
    let response = client
        .get(format!("{base}/api/v2/listings"))
        .bearer_auth(session["token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    let (status, body) = json_of(response).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(&body), "token_expired");
    shutdown.cancel();
}

// ---------------------------------------------------------------- listings

#[tokio::test]
async fn listings_come_in_hal_pages_with_total_count_and_next_link() {
    let fc = Fc::default().await;
    let (status, first) = fc
        .get("/api/v2/listings?status=live&size=12&offset=0")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(first["size"], 12);
    assert_eq!(first["offset"], 0);
    let total = first["total_count"].as_u64().unwrap();
    assert_eq!(total, 30, "the initial listings");
    let listings = first["_embedded"]["listings"].as_array().unwrap();
    assert_eq!(listings.len(), 12);
    for listing in listings {
        assert_eq!(
            keys(listing),
            [
                "id",
                "status",
                "type",
                "preview_date",
                "live_date",
                "expiry_date"
            ]
            .into_iter()
            .map(String::from)
            .collect()
        );
        assert_eq!(listing["status"], "live");
        assert!(listing["type"] == "whole" || listing["type"] == "fractional");
        for date in ["preview_date", "live_date", "expiry_date"] {
            let text = listing[date].as_str().unwrap();
            assert!(chrono::DateTime::parse_from_rfc3339(text).is_ok(), "{text}");
        }
    }
    assert!(first["_links"]["self"]["href"]
        .as_str()
        .unwrap()
        .ends_with("/fundingcircle/api/v2/listings?size=12&offset=0&status=live"));

    // Following the next links walks every listing exactly once.
    let mut seen: Vec<Value> = listings.clone();
    let mut next = first["_links"]["next"]["href"].as_str().map(String::from);
    let mut pages = 1;
    while let Some(href) = next {
        let page: Value = fc
            .client
            .get(&href)
            .bearer_auth(&fc.token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(page["total_count"], 30);
        seen.extend(
            page["_embedded"]["listings"]
                .as_array()
                .unwrap()
                .iter()
                .cloned(),
        );
        next = page["_links"]["next"]["href"].as_str().map(String::from);
        pages += 1;
    }
    assert_eq!(pages, 3);
    let ids: BTreeSet<&str> = seen.iter().map(|l| l["id"].as_str().unwrap()).collect();
    assert_eq!((seen.len(), ids.len()), (30, 30));

    // Defaults: size 50, offset 0, no next when everything fits; size is capped at 100.
    let (_, default_page) = fc.get("/api/v2/listings").await;
    assert_eq!(
        (
            default_page["size"].as_u64(),
            default_page["offset"].as_u64()
        ),
        (Some(50), Some(0))
    );
    assert_eq!(
        default_page["_embedded"]["listings"]
            .as_array()
            .unwrap()
            .len(),
        30
    );
    assert!(default_page["_links"].get("next").is_none());
    let (_, capped) = fc.get("/api/v2/listings?size=1000").await;
    assert_eq!(capped["size"], 100);
    let (_, past_the_end) = fc.get("/api/v2/listings?offset=40").await;
    assert_eq!(past_the_end["_embedded"]["listings"], json!([]));
    assert_eq!(past_the_end["total_count"], 30);

    let (status, body) = fc.get("/api/v2/listings?size=lots").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_code(&body), "bad_request");
}

#[tokio::test]
async fn listing_details_have_every_field_with_its_json_type() {
    let fc = Fc::default().await;
    let all = fc.live_details().await;
    assert_eq!(all.len(), 30);
    let expected_keys: BTreeSet<String> = [
        "id",
        "status",
        "type",
        "loan_amount_cents",
        "amount_remaining_cents",
        "interest_rate",
        "term_months",
        "risk_band",
        "purpose",
        "industry",
        "years_in_business",
        "state",
        "min_order_cents",
        "max_order_cents",
        "live_date",
        "expiry_date",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    for details in &all {
        assert_eq!(keys(details), expected_keys);
        for integer in [
            "loan_amount_cents",
            "amount_remaining_cents",
            "term_months",
            "years_in_business",
            "min_order_cents",
            "max_order_cents",
        ] {
            assert!(details[integer].is_i64(), "{integer}: {}", details[integer]);
        }
        for text in [
            "id",
            "status",
            "type",
            "risk_band",
            "purpose",
            "industry",
            "state",
            "live_date",
            "expiry_date",
        ] {
            assert!(details[text].is_string(), "{text}");
        }
        // A JSON number with exactly 4 decimal places between 5 % and 25 %.
        let rate = &details["interest_rate"];
        assert!(rate.is_number());
        let printed = rate.to_string();
        let decimals = printed.split('.').nth(1).unwrap();
        assert_eq!(decimals.len(), 4, "{printed}");
        let rate: rust_decimal::Decimal = printed.parse().unwrap();
        assert!(rate >= rust_decimal_macros::dec!(0.05) && rate <= rust_decimal_macros::dec!(0.25));
        assert_eq!(details["min_order_cents"], 2500);
        assert_eq!(details["max_order_cents"], 2_500_000);
        assert!(["A+", "A", "B", "C", "D"].contains(&details["risk_band"].as_str().unwrap()));
        assert!([12, 24, 36, 48, 60].contains(&details["term_months"].as_i64().unwrap()));
        assert!(remaining(details) <= details["loan_amount_cents"].as_i64().unwrap());
    }
    let whole = all.iter().filter(|d| d["type"] == "whole").count();
    assert!(whole > 0 && whole < 30, "{whole} whole listings of 30");
    assert!(
        all.iter()
            .any(|d| d["type"] == "whole" && remaining(d) <= 500_000),
        "a small whole loan for a sniper strategy"
    );

    let (status, body) = fc.get("/api/v2/listings/no-such-listing").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error_code(&body), "not_found");
}

#[tokio::test]
async fn the_same_seed_gives_the_same_listings_and_another_seed_other_ones() {
    let start_time = Some(Utc.with_ymd_and_hms(2026, 11, 20, 21, 0, 0).unwrap());
    let options = |seed| SandboxOptions {
        seed,
        start_time,
        ..SandboxOptions::default()
    };
    let a = Fc::start(options(7)).await.live_details().await;
    let b = Fc::start(options(7)).await.live_details().await;
    let c = Fc::start(options(8)).await.live_details().await;
    assert_eq!(a, b);
    assert_eq!(a[0]["live_date"], "2026-11-20T21:00:00Z");
    assert_eq!(a[0]["expiry_date"], "2026-11-20T21:10:00Z");
    let ids = |all: &[Value]| {
        all.iter()
            .map(|d| id(d).to_string())
            .collect::<BTreeSet<_>>()
    };
    assert!(ids(&a).is_disjoint(&ids(&c)));
}

#[tokio::test]
async fn listings_expire_and_an_expired_listing_cannot_be_bought() {
    let fc = Fc::start(SandboxOptions {
        listing_lifetime: Duration::ZERO,
        ..SandboxOptions::default()
    })
    .await;
    let (_, live) = fc.get("/api/v2/listings").await;
    assert_eq!(live["total_count"], 0);
    let (_, expired) = fc.get("/api/v2/listings?status=expired&size=1").await;
    assert_eq!(expired["total_count"], 30);
    let listing = &expired["_embedded"]["listings"][0];
    assert_eq!(listing["status"], "expired");
    let (status, body) = fc.order(listing["id"].as_str().unwrap(), Some(2500)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_code(&body), "listing_not_live");
}

// ---------------------------------------------------------------- orders

#[tokio::test]
async fn a_fractional_order_answers_the_seed_shape_and_lowers_remaining_and_cash() {
    let fc = Fc::default().await;
    let listing = fc.find("fractional", |d| remaining(d) >= 150_000).await;
    let cash = fc.cash().await;
    assert_eq!(cash, 100_000_000, "$1,000,000 by default");

    let (status, order) = fc.order(id(&listing), Some(150_000)).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        keys(&order),
        ORDER_KEYS.into_iter().map(String::from).collect()
    );
    assert_eq!(order["purchased_amount_cents"], 150_000);
    assert_eq!(order["original_purchase_amount_cents"], 150_000);
    assert_eq!(order["listing_id"], listing["id"]);
    assert_eq!(order["status"], "pending");
    assert_eq!(
        order["interest_rate"].to_string(),
        listing["interest_rate"].to_string()
    );
    assert_eq!(order["payment_due_at"], Value::Null);
    assert_eq!(order["investor_servicer_code"], "orion");
    for boolean in ["fund_managed", "truncated", "investor_postfunded"] {
        assert_eq!(order[boolean], false, "{boolean}");
    }
    assert!(order["transaction_id"].is_u64());
    assert_eq!(order["accrued_interest_cents"], 0);
    assert_eq!(order["cashback_rate"], 0);
    for date in ["created_at", "updated_at"] {
        assert!(chrono::DateTime::parse_from_rfc3339(order[date].as_str().unwrap()).is_ok());
    }
    assert!(order["id"].is_string() && order["investor_id"].is_string());

    assert_eq!(
        remaining(&fc.details(id(&listing)).await),
        remaining(&listing) - 150_000
    );
    assert_eq!(fc.cash().await, cash - 150_000);

    // The order history holds it, for that listing and overall.
    let (status, history) = fc
        .get(&format!("/api/v2/orders?listing_id={}", id(&listing)))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(history["total_count"], 1);
    assert_eq!(history["_embedded"]["orders"], json!([order]));
    let (_, other) = fc.get("/api/v2/orders?listing_id=some-other-listing").await;
    assert_eq!(other["total_count"], 0);
    assert_eq!(other["_embedded"]["orders"], json!([]));
    assert_eq!(fc.ledger().await["orders"], json!([order]));
}

#[tokio::test]
async fn order_parameters_may_come_as_form_data() {
    let fc = Fc::default().await;
    let listing = fc.find("fractional", |_| true).await;
    let response = fc
        .client
        .post(fc.url("/api/v2/orders"))
        .bearer_auth(&fc.token)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("listing_id={}&amount_cents=2500", id(&listing)))
        .send()
        .await
        .unwrap();
    let (status, order) = json_of(response).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(order["purchased_amount_cents"], 2500);
    assert_eq!(
        remaining(&fc.details(id(&listing)).await),
        remaining(&listing) - 2500
    );
}

#[tokio::test]
async fn a_whole_order_buys_the_whole_loan_which_is_then_gone() {
    let fc = Fc::default().await;
    let listing = fc.find("whole", |_| true).await;
    let cash = fc.cash().await;

    let (status, order) = fc.order(id(&listing), None).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        keys(&order),
        ORDER_KEYS.into_iter().map(String::from).collect()
    );
    assert_eq!(
        order["purchased_amount_cents"].as_i64(),
        Some(remaining(&listing))
    );

    let after = fc.details(id(&listing)).await;
    assert_eq!(remaining(&after), 0);
    assert_eq!(after["status"], "funded");
    assert_eq!(fc.cash().await, cash - remaining(&listing));
    let (_, live) = fc.get("/api/v2/listings?size=100").await;
    assert!(live["_embedded"]["listings"]
        .as_array()
        .unwrap()
        .iter()
        .all(|l| l["id"] != listing["id"]));
    assert_eq!(live["total_count"], 29);

    let (status, body) = fc.order(id(&listing), None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_code(&body), "listing_not_live");
    assert_eq!(fc.ledger().await["orders"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn refused_orders_get_json_errors_and_change_nothing() {
    let fc = Fc::default().await;
    let whole = fc.find("whole", |_| true).await;
    let fractional = fc.find("fractional", |d| remaining(d) > 2_500_000).await;
    let nearly_sold = fc.find("fractional", |d| remaining(d) < 2_500_000).await;
    let cases: Vec<(&str, Option<i64>, StatusCode, &str)> = vec![
        (
            id(&fractional),
            Some(2499),
            StatusCode::UNPROCESSABLE_ENTITY,
            "below_minimum",
        ),
        (
            id(&fractional),
            Some(2_500_001),
            StatusCode::UNPROCESSABLE_ENTITY,
            "above_maximum",
        ),
        (
            id(&nearly_sold),
            Some(remaining(&nearly_sold) + 100),
            StatusCode::UNPROCESSABLE_ENTITY,
            "exceeds_remaining",
        ),
        (
            id(&fractional),
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
            "amount_required",
        ),
        (
            id(&whole),
            Some(2500),
            StatusCode::UNPROCESSABLE_ENTITY,
            "amount_not_allowed",
        ),
        (
            "no-such-listing",
            Some(2500),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            "",
            Some(2500),
            StatusCode::UNPROCESSABLE_ENTITY,
            "listing_id_required",
        ),
    ];
    for (listing_id, amount, expected_status, expected_code) in &cases {
        let (status, body) = fc.order(listing_id, *amount).await;
        assert_eq!(status, *expected_status, "{expected_code}: {body}");
        assert_eq!(error_code(&body), *expected_code);
        assert!(body["errors"][0]["message"].as_str().unwrap().len() > 5);
    }
    for listing in [&whole, &fractional, &nearly_sold] {
        assert_eq!(fc.details(id(listing)).await, *listing);
    }
    assert_eq!(fc.cash().await, 100_000_000);
    let ledger = fc.ledger().await;
    assert_eq!(ledger["orders"], json!([]));
    assert_eq!(ledger["posts"], cases.len());
    assert_eq!(ledger["rejected"], cases.len());
    assert_eq!(ledger["rate_limited"], 0);
}

#[tokio::test]
async fn an_order_beyond_the_available_cash_is_refused() {
    let fc = Fc::start(SandboxOptions {
        starting_cash_cents: 3_000,
        ..SandboxOptions::default()
    })
    .await;
    let listing = fc.find("fractional", |_| true).await;
    let (status, body) = fc.order(id(&listing), Some(5_000)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_code(&body), "insufficient_funds");
    assert_eq!(fc.cash().await, 3_000);
    assert_eq!(
        remaining(&fc.details(id(&listing)).await),
        remaining(&listing)
    );
}

#[tokio::test]
async fn the_41st_order_post_within_a_second_gets_429_with_retry_after() {
    let fc = Fc::default().await;
    let listing = fc.find("fractional", |d| remaining(d) >= 41 * 2500).await;
    // Fired together: all 41 reach the server well within one second.
    let responses =
        futures::future::join_all((0..41).map(|_| fc.order_response(id(&listing), Some(2500))))
            .await;
    let mut limited = Vec::new();
    let mut created = 0;
    for response in responses {
        match response.status() {
            StatusCode::CREATED => created += 1,
            StatusCode::TOO_MANY_REQUESTS => limited.push(response),
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!((created, limited.len()), (40, 1));
    let response = limited.pop().unwrap();
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        retry_after, 1,
        "seconds until the oldest POST leaves the window"
    );
    let (_, body) = json_of(response).await;
    assert_eq!(error_code(&body), "rate_limited");

    // The refused request did nothing.
    assert_eq!(
        remaining(&fc.details(id(&listing)).await),
        remaining(&listing) - 40 * 2500
    );
    assert_eq!(fc.cash().await, 100_000_000 - 40 * 2500);
    let ledger = fc.ledger().await;
    assert_eq!(ledger["orders"].as_array().unwrap().len(), 40);
    assert_eq!(ledger["posts"], 41);
    assert_eq!(ledger["rate_limited"], 1);
    assert_eq!(ledger["post_times_ms"].as_array().unwrap().len(), 41);
}

// ---------------------------------------------------------------- faults

#[tokio::test]
async fn faults_are_read_and_replaced_through_the_admin_api() {
    let fc = Fc::start(SandboxOptions {
        faults: Faults {
            latency_ms: 5,
            ..Faults::default()
        },
        ..SandboxOptions::default()
    })
    .await;
    let current: Value = fc
        .client
        .get(fc.admin("/faults"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        current,
        json!({"latency_ms": 5, "error_5xx_rate": 0.0, "rate_limit_rate": 0.0, "malformed_rate": 0.0,
               "drop_after_accept_rate": 0.0, "html_502_rate": 0.0})
    );
    fc.set_faults(json!({"error_5xx_rate": 0.25, "html_502_rate": 1}))
        .await;
    let current: Value = fc
        .client
        .get(fc.admin("/faults"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(current["error_5xx_rate"].as_f64(), Some(0.25));
    assert_eq!(current["html_502_rate"].as_f64(), Some(1.0));
    assert_eq!(current["latency_ms"], 0, "fields left out are off");

    for (bad, status) in [
        (
            json!({"malformed_rate": 1.5}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"malformed_rate": -1}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (json!({"malfomred_rate": 0.5}), StatusCode::BAD_REQUEST),
    ] {
        let response = fc
            .client
            .put(fc.admin("/faults"))
            .json(&bad)
            .send()
            .await
            .unwrap();
        let (got, body) = json_of(response).await;
        assert_eq!(got, status, "{bad}");
        assert!(body["error"].is_string());
    }
    // Faults never touch the admin API itself, even at a rate of 1.
    let current: Value = fc
        .client
        .get(fc.admin("/faults"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(current["html_502_rate"].as_f64(), Some(1.0));
}

#[tokio::test]
async fn injected_5xx_502_and_429_do_nothing() {
    let fc = Fc::default().await;
    let listing = fc.find("fractional", |_| true).await;
    for (faults, expected) in [
        (json!({"error_5xx_rate": 1.0}), "5xx"),
        (json!({"html_502_rate": 1.0}), "502"),
        (json!({"rate_limit_rate": 1.0}), "429"),
    ] {
        fc.set_faults(faults).await;
        let response = fc.order_response(id(&listing), Some(2500)).await;
        let status = response.status();
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_string();
        let retry_after = response.headers().get("retry-after").cloned();
        let body = response.text().await.unwrap();
        match expected {
            "5xx" => {
                assert!(
                    status == StatusCode::INTERNAL_SERVER_ERROR
                        || status == StatusCode::SERVICE_UNAVAILABLE
                );
                assert!(serde_json::from_str::<Value>(&body).unwrap()["error"].is_string());
            }
            "502" => {
                assert_eq!(status, StatusCode::BAD_GATEWAY);
                assert!(content_type.starts_with("text/html"), "{content_type}");
                assert!(body.contains("<h1>502 Bad Gateway</h1>"));
            }
            _ => {
                assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
                assert_eq!(retry_after.unwrap(), "1");
            }
        }
        // Polls fail the same way.
        let poll = fc
            .client
            .get(fc.url("/api/v2/portfolio"))
            .bearer_auth(&fc.token)
            .send()
            .await
            .unwrap();
        let same_failure =
            poll.status() == status || (expected == "5xx" && poll.status().is_server_error());
        assert!(same_failure, "{expected}: poll answered {}", poll.status());
    }
    fc.set_faults(json!({})).await;
    assert_eq!(fc.details(id(&listing)).await, listing);
    assert_eq!(fc.cash().await, 100_000_000);
    let ledger = fc.ledger().await;
    assert_eq!(ledger["orders"], json!([]));
    assert_eq!(ledger["posts"], 3);
    assert_eq!(ledger["rate_limited"], 1);
}

#[tokio::test]
async fn a_malformed_answer_to_an_order_comes_after_the_order_was_executed() {
    let fc = Fc::default().await;
    let listing = fc.find("fractional", |_| true).await;
    fc.set_faults(json!({"malformed_rate": 1.0})).await;
    let response = fc.order_response(id(&listing), Some(2500)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body = response.bytes().await.unwrap();
    assert!(!body.is_empty());
    assert!(serde_json::from_slice::<Value>(&body).is_err());

    // GETs are mangled too.
    let response = fc
        .client
        .get(fc.url("/api/v2/listings"))
        .bearer_auth(&fc.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.json::<Value>().await.is_err());

    fc.set_faults(json!({})).await;
    assert_eq!(
        remaining(&fc.details(id(&listing)).await),
        remaining(&listing) - 2500
    );
    let ledger = fc.ledger().await;
    assert_eq!(ledger["orders"].as_array().unwrap().len(), 1);
    assert_eq!(ledger["orders"][0]["listing_id"], listing["id"]);
}

#[tokio::test]
async fn a_dropped_connection_after_accepting_leaves_an_executed_order_and_a_client_error() {
    let fc = Fc::default().await;
    let listing = fc.find("fractional", |_| true).await;
    fc.set_faults(json!({"drop_after_accept_rate": 1.0})).await;
    // Once on the pooled connection the client already used, once on a fresh client:
    // either way the client sees an error, and nothing resends the POST by itself.
    let fresh = Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    for client in [&fc.client, &fresh] {
        let sent = client
            .post(fc.url("/api/v2/orders"))
            .query(&[("listing_id", id(&listing)), ("amount_cents", "2500")])
            .bearer_auth(&fc.token)
            .send()
            .await;
        let error = sent.expect_err("the client must not see a response");
        assert!(!error.is_timeout(), "{error:?}");
    }

    // GETs are not dropped.
    assert_eq!(fc.cash().await, 100_000_000 - 2 * 2500);
    fc.set_faults(json!({})).await;
    assert_eq!(
        remaining(&fc.details(id(&listing)).await),
        remaining(&listing) - 2 * 2500
    );
    let ledger = fc.ledger().await;
    assert_eq!(
        ledger["orders"].as_array().unwrap().len(),
        2,
        "each executed once, not resent"
    );
    assert_eq!(ledger["posts"], 2);
    let (_, history) = fc
        .get(&format!("/api/v2/orders?listing_id={}", id(&listing)))
        .await;
    assert_eq!(history["total_count"], 2);
}

#[tokio::test]
async fn latency_delays_every_platform_answer() {
    let fc = Fc::default().await;
    fc.set_faults(json!({"latency_ms": 300})).await;
    // A lower bound only: the server sleeps at least this long (nothing can make it faster).
    let started = std::time::Instant::now();
    let (status, _) = fc.get("/api/v2/portfolio").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "{:?}",
        started.elapsed()
    );
}

// ---------------------------------------------------------------- ledger and reset

#[tokio::test]
async fn the_ledger_reflects_orders_posts_and_their_arrival_times() {
    let fc = Fc::default().await;
    let fractional = fc.find("fractional", |_| true).await;
    let whole = fc.find("whole", |_| true).await;
    let (_, first) = fc.order(id(&fractional), Some(2500)).await;
    let (_, refused) = fc.order(id(&fractional), Some(1)).await;
    let (_, second) = fc.order(id(&whole), None).await;
    assert_eq!(error_code(&refused), "below_minimum");

    let ledger = fc.ledger().await;
    assert_eq!(ledger["orders"], json!([first, second]));
    assert_eq!(ledger["posts"], 3);
    assert_eq!(ledger["rejected"], 1);
    assert_eq!(ledger["rate_limited"], 0);
    let times: Vec<u64> = ledger["post_times_ms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_u64().unwrap())
        .collect();
    assert_eq!(times.len(), 3);
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");

    // One order per listing, as a client reconciling by listing id would see it.
    let (_, all_orders) = fc.get("/api/v2/orders?size=1").await;
    assert_eq!(all_orders["total_count"], 2);
    assert_eq!(all_orders["_embedded"]["orders"], json!([first]));
    assert!(all_orders["_links"]["next"]["href"]
        .as_str()
        .unwrap()
        .contains("offset=1"));
}

#[tokio::test]
async fn reset_brings_everything_back_to_the_start() {
    let fc = Fc::default().await;
    let listing = fc.find("whole", |_| true).await;
    let (status, _) = fc.order(id(&listing), None).await;
    assert_eq!(status, StatusCode::CREATED);
    fc.set_faults(json!({"latency_ms": 1})).await;

    let response = fc.client.post(fc.admin("/reset")).send().await.unwrap();
    assert!(response.status().is_success());
    let ledger = fc.ledger().await;
    assert_eq!(ledger["orders"], json!([]));
    assert_eq!(ledger["posts"], 0);
    let faults: Value = fc
        .client
        .get(fc.admin("/faults"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(faults["latency_ms"], 0);
    // Sessions are gone too; a new login works and sees the listing live again.
    let (status, _) = fc.get("/api/v2/portfolio").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (_, session) = fc.login("investor", "secret").await;
    let fresh = Fc {
        token: session["token"].as_str().unwrap().to_string(),
        ..fc
    };
    assert_eq!(fresh.details(id(&listing)).await["status"], "live");
    assert_eq!(fresh.cash().await, 100_000_000);
}

#[tokio::test]
async fn serve_returns_once_shutdown_is_cancelled() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(sandbox::serve(
        listener,
        SandboxOptions::default(),
        shutdown.clone(),
    ));
    let fc_url = format!("http://{addr}/fundingcircle/api/v2/portfolio");
    let status = Client::new().get(&fc_url).send().await.unwrap().status();
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "serving before the cancel"
    );
    shutdown.cancel();
    let stopped = tokio::time::timeout(Duration::from_secs(10), server).await;
    assert!(matches!(stopped, Ok(Ok(Ok(())))), "{stopped:?}");
}
