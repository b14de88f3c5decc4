//! The Fundrise emulator through real HTTP on loopback: every answer checked against
//! the official OpenAPI spec's schemas, the security schemes, the investment rules and
//! their `FundriseConnectError` bodies (with `Request-Id`), `partnerReferenceId`
//! deduplication, offerings over time, rate limits per Client and method, faults, the
//! admin ledger — and the daemon's own Fundrise client against it, including an
//! accepted-then-dropped investment resolved by the resend and the 409 lookup.

mod fundrise_spec;

use autoinvest::opportunity::{OpportunityKind, PlatformId, PurchaseMode};
use autoinvest::order::{IdempotencyKey, OrderIntent, OrderState};
use autoinvest::platform::fundrise::{FundriseClient, FundriseSettings};
use autoinvest::platform::{ApprovedOrder, PlatformClient, PlatformError};
use autoinvest::sandbox::{self, SandboxHandle, SandboxOptions};
use autoinvest::secret::Secret;
use autoinvest::telemetry::Metrics;
use chrono::{TimeZone, Utc};
use fundrise_spec::Spec;
use reqwest::{Client, Method, StatusCode};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde_json::{json, Value};
use std::num::NonZeroU32;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const PARTNER: (&str, &str) = ("partner", "sandbox");
const ACCOUNT: &str = "12";

/// With seed 1 the first four funds are released at once: 1, 2 and 4 are OPEN with
/// the documented $10 – $100,000 limits, 3 is CLOSED. The account's seeded history holds
/// a $100.00 investment in fund 1 from long ago.
fn options() -> SandboxOptions {
    SandboxOptions {
        seed: 1,
        listing_interval: Duration::from_secs(3600),
        start_time: Some(Utc.with_ymd_and_hms(2026, 11, 20, 15, 0, 0).unwrap()),
        ..SandboxOptions::default()
    }
}

/// A sandbox and an HTTP client holding a Client access token.
struct Fr {
    handle: SandboxHandle,
    http: Client,
    token: String,
    spec: Spec,
    _shutdown: tokio_util::sync::DropGuard,
}

impl Fr {
    async fn start(options: SandboxOptions) -> Fr {
        let shutdown = CancellationToken::new();
        let handle = sandbox::spawn("127.0.0.1:0".parse().unwrap(), options, shutdown.clone())
            .await
            .unwrap();
        let mut fr = Fr {
            handle,
            http: Client::builder()
                .timeout(Duration::from_secs(20))
                .build()
                .unwrap(),
            token: String::new(),
            spec: Spec::load(),
            _shutdown: shutdown.drop_guard(),
        };
        let (status, _, answer) = fr.token_request("sandbox").await;
        assert_eq!(status, StatusCode::OK);
        fr.token = answer["accessToken"].as_str().unwrap().to_string();
        fr
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}/fundrise{path}", self.handle.addr)
    }

    fn base_url(&self) -> String {
        format!("http://{}/fundrise", self.handle.addr)
    }

    async fn token_request(&self, refresh_token: &str) -> (StatusCode, String, Value) {
        let request = self
            .http
            .post(self.url("/v1/oauth/token"))
            .basic_auth(PARTNER.0, Some(PARTNER.1))
            .json(&json!({"grantType": "refresh_token", "refreshToken": refresh_token}));
        answer(request).await
    }

    async fn partner_get(&self, path: &str) -> (StatusCode, String, Value) {
        answer(
            self.http
                .get(self.url(path))
                .basic_auth(PARTNER.0, Some(PARTNER.1)),
        )
        .await
    }

    async fn client_send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, String, Value) {
        let mut request = self
            .http
            .request(method, self.url(path))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        answer(request).await
    }

    async fn invest(&self, body: Value) -> (StatusCode, String, Value) {
        self.client_send(Method::POST, "/v1/account/12/investment", Some(body))
            .await
    }

    async fn ledger(&self) -> Value {
        let all: Value = self
            .http
            .get(format!("http://{}/__sandbox/ledger", self.handle.addr))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(
            all.get("fundingcircle").is_some(),
            "the other emulator's key stays"
        );
        all["fundrise"].clone()
    }

    async fn set_faults(&self, faults: Value) {
        let response = self
            .http
            .put(format!("http://{}/__sandbox/faults", self.handle.addr))
            .json(&faults)
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success());
    }

    /// Checks `body` against the spec's schema for this operation's answer.
    fn assert_answer(&self, path: &str, method: &str, status: &str, body: &Value) {
        let schema = self.spec.response_schema(path, method, status);
        assert!(schema.is_object(), "no schema for {method} {path} {status}");
        self.spec
            .assert_valid(&schema, body, &format!("{method} {path} {status}"));
    }

    /// Checks an error answer: a `FundriseConnectError` whose `referenceId` is the
    /// response's `Request-Id`.
    fn assert_error(
        &self,
        (status, request_id, body): &(StatusCode, String, Value),
        expected: StatusCode,
    ) {
        assert_eq!(*status, expected, "{body}");
        let schema = self.spec.component("FundriseConnectError");
        self.spec.assert_valid(&schema, body, "an error body");
        assert_eq!(body["referenceId"], request_id.as_str());
    }
}

/// Status, `Request-Id` header and JSON body (Null when not JSON).
async fn answer(request: reqwest::RequestBuilder) -> (StatusCode, String, Value) {
    let response = request.send().await.unwrap();
    let status = response.status();
    let request_id = response
        .headers()
        .get("request-id")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, request_id, body)
}

/// A valid investment request for `fund`, acknowledging what the sandbox requires.
async fn investment(fr: &Fr, fund: &str, reference: &str, amount: &str) -> Value {
    let (_, _, documents) = fr
        .partner_get(&format!("/v1/offering/{fund}/documents"))
        .await;
    let (_, _, acknowledgments) = fr
        .client_send(
            Method::GET,
            &format!("/v1/offering/{fund}/acknowledgments"),
            None,
        )
        .await;
    let mut ids: Vec<Value> = documents
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["documentId"].clone())
        .collect();
    ids.extend(
        acknowledgments
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["acknowledgmentId"].clone()),
    );
    json!({"partnerReferenceId": reference, "offeringId": fund, "amount": amount, "acknowledgedDocumentIds": ids})
}

// ---------------------------------------------------------------- wire shapes

#[tokio::test]
async fn every_answer_satisfies_the_spec_and_carries_a_request_id() {
    let fr = Fr::start(options()).await;

    let (status, id, token) = fr.token_request("sandbox").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!id.is_empty());
    fr.assert_answer("/v1/oauth/token", "post", "200", &token);
    assert_eq!(token["tokenType"], "Bearer");
    assert_eq!(
        token["expiresIn"], "7200",
        "an int64 string, as in the spec"
    );
    assert_eq!(token["refreshToken"], "sandbox");

    let (status, id, offerings) = fr.partner_get("/v1/offerings").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!id.is_empty());
    fr.assert_answer("/v1/offerings", "get", "200", &offerings);
    let statuses: Vec<(&str, &str)> = offerings
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["offeringId"].as_str().unwrap(),
                o["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        [("1", "OPEN"), ("2", "OPEN"), ("3", "CLOSED"), ("4", "OPEN")]
    );
    assert_eq!(offerings[0]["minimumInvestmentAmount"], "10.00");
    // The schema check is not vacuous: a number amount or a missing status fails it.
    let schema = fr.spec.response_schema("/v1/offerings", "get", "200");
    let mut numeric = offerings.clone();
    numeric[0]["minimumInvestmentAmount"] = json!(10);
    assert!(!fr.spec.is_valid(&schema, &numeric));
    let mut no_status = offerings.clone();
    no_status[0].as_object_mut().unwrap().remove("status");
    assert!(!fr.spec.is_valid(&schema, &no_status));
    assert_eq!(offerings[0]["maximumInvestmentAmount"], "100000.00");

    let (_, _, documents) = fr.partner_get("/v1/offering/1/documents").await;
    fr.assert_answer(
        "/v1/offering/{offeringId}/documents",
        "get",
        "200",
        &documents,
    );
    let (_, _, acknowledgments) = fr
        .client_send(Method::GET, "/v1/offering/1/acknowledgments", None)
        .await;
    fr.assert_answer(
        "/v1/offering/{offeringId}/acknowledgments",
        "get",
        "200",
        &acknowledgments,
    );

    let (status, _, placed) = fr
        .invest(investment(&fr, "1", "ai-shapes", "250.00").await)
        .await;
    assert_eq!(status, StatusCode::OK, "{placed}");
    fr.assert_answer("/v1/account/{accountId}/investment", "post", "200", &placed);
    assert_eq!(placed["transactionType"], "INVESTMENT");
    assert_eq!(placed["amount"], "250.00");
    assert_eq!(placed["status"], "PENDING");
    assert_eq!(placed["isCancellable"], true);
    assert_eq!(placed["transactionDate"], "2026-11-20T00:00:00.000-05:00");
    assert!(
        placed.get("partnerReferenceId").is_none(),
        "the spec's TransactionResponse has none"
    );
    let id = placed["transactionId"].as_str().unwrap();

    let (_, _, listed) = fr
        .client_send(Method::GET, "/v1/account/12/transactions", None)
        .await;
    fr.assert_answer(
        "/v1/account/{accountId}/transactions",
        "get",
        "200",
        &listed,
    );
    assert_eq!(
        listed.as_array().unwrap().len(),
        3,
        "history investment, dividend, new one"
    );
    let (_, _, investments) = fr
        .client_send(
            Method::GET,
            "/v1/account/12/transactions?transactionType=INVESTMENT",
            None,
        )
        .await;
    assert_eq!(investments.as_array().unwrap().len(), 2);
    let (_, _, one) = fr
        .client_send(
            Method::GET,
            &format!("/v1/account/12/transaction/INVESTMENT/{id}"),
            None,
        )
        .await;
    fr.assert_answer(
        "/v1/account/{accountId}/transaction/{transactionType}/{transactionId}",
        "get",
        "200",
        &one,
    );
    assert_eq!(one, placed);

    let (status, _, cancelled) = fr
        .client_send(
            Method::PUT,
            &format!("/v1/account/12/investment/{id}/cancel"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    fr.assert_answer(
        "/v1/account/{accountId}/investment/{transactionId}/cancel",
        "put",
        "200",
        &cancelled,
    );
    assert_eq!(
        (
            cancelled["status"].as_str(),
            cancelled["isCancellable"].as_bool()
        ),
        (Some("FAILED"), Some(false))
    );
}

#[tokio::test]
async fn the_same_seed_gives_the_same_offerings_and_more_appear_over_time() {
    let quick = SandboxOptions {
        listing_interval: Duration::from_millis(10),
        ..options()
    };
    let a = Fr::start(quick.clone()).await;
    let b = Fr::start(quick).await;
    let (_, _, first) = a.partner_get("/v1/offerings").await;
    let (_, _, second) = b.partner_get("/v1/offerings").await;
    assert_eq!(
        first.as_array().unwrap()[..4],
        second.as_array().unwrap()[..4]
    );
    // One more every 10 ms × 30.
    tokio::time::sleep(Duration::from_millis(350)).await;
    let (_, _, later) = a.partner_get("/v1/offerings").await;
    assert!(later.as_array().unwrap().len() > 4, "{later}");
    let other_seed = Fr::start(SandboxOptions {
        seed: 2,
        ..options()
    })
    .await;
    let (_, _, different) = other_seed.partner_get("/v1/offerings").await;
    assert_ne!(
        first.as_array().unwrap()[..4],
        different.as_array().unwrap()[..4]
    );
}

// ---------------------------------------------------------------- security schemes

#[tokio::test]
async fn each_endpoint_wants_its_own_security_scheme() {
    let fr = Fr::start(options()).await;
    let unauthorized = StatusCode::UNAUTHORIZED;
    let no_auth = answer(fr.http.get(fr.url("/v1/offerings"))).await;
    fr.assert_error(&no_auth, unauthorized);
    let bearer_on_partner =
        answer(fr.http.get(fr.url("/v1/offerings")).bearer_auth(&fr.token)).await;
    fr.assert_error(&bearer_on_partner, unauthorized);
    let refused_password = answer(
        fr.http
            .get(fr.url("/v1/offerings"))
            .basic_auth("partner", Some("wrong")),
    )
    .await;
    fr.assert_error(&refused_password, unauthorized);
    let basic_on_client = answer(
        fr.http
            .get(fr.url("/v1/account/12/transactions"))
            .basic_auth(PARTNER.0, Some(PARTNER.1)),
    )
    .await;
    fr.assert_error(&basic_on_client, unauthorized);
    let forged = answer(
        fr.http
            .get(fr.url("/v1/account/12/transactions"))
            .bearer_auth("forged"),
    )
    .await;
    fr.assert_error(&forged, unauthorized);
    let refused_refresh = fr.token_request("wrong").await;
    fr.assert_error(&refused_refresh, unauthorized);
    let bad_grant = answer(
        fr.http
            .post(fr.url("/v1/oauth/token"))
            .basic_auth(PARTNER.0, Some(PARTNER.1))
            .json(&json!({"grantType": "password", "refreshToken": "sandbox"})),
    )
    .await;
    fr.assert_error(&bad_grant, StatusCode::BAD_REQUEST);
    assert_eq!(bad_grant.2["message"], "Invalid grant type");
    let other_account = fr
        .client_send(Method::GET, "/v1/account/13/transactions", None)
        .await;
    fr.assert_error(&other_account, StatusCode::FORBIDDEN);
    let unknown = fr.partner_get("/v1/nothing").await;
    fr.assert_error(&unknown, StatusCode::NOT_FOUND);
}

// ---------------------------------------------------------------- investment rules

#[tokio::test]
async fn investments_break_no_rule_and_refusals_use_the_spec_errors() {
    let fr = Fr::start(options()).await;
    let good = investment(&fr, "1", "ai-rules", "100.00").await;
    let with = |field: &str, value: Value| {
        let mut body = good.clone();
        body[field] = value;
        body
    };
    let cases: Vec<(Value, StatusCode, Value)> = vec![
        (
            json!({}),
            StatusCode::BAD_REQUEST,
            json!({"validationErrors": {
            "acknowledgedDocumentIds": ["must not be blank", "must not be null"],
            "amount": ["must not be blank", "must not be null"],
            "offeringId": ["must not be blank", "must not be null"],
            "partnerReferenceId": ["must not be blank", "must not be null"]}}),
        ),
        (
            with("amount", "10.001".into()),
            StatusCode::BAD_REQUEST,
            json!({"validationErrors": {"amount": ["decimal places must be less than or equal to 2"]}}),
        ),
        (
            with("amount", "9.99".into()),
            StatusCode::BAD_REQUEST,
            json!({"validationErrors": {"amount": ["must be greater than or equal to 10.00"]}}),
        ),
        (
            with("amount", "100000.01".into()),
            StatusCode::BAD_REQUEST,
            json!({"validationErrors": {"amount": ["must be less than or equal to 100000.00"]}}),
        ),
        (
            with("acknowledgedDocumentIds", json!(["1", "2"])),
            StatusCode::BAD_REQUEST,
            json!({"code": "100502", "message": "acknowledgedDocumentIds do not match those required"}),
        ),
        (
            with("offeringId", "77".into()),
            StatusCode::NOT_FOUND,
            json!({"code": "200101", "message": "Invalid offeringId provided"}),
        ),
        (
            with("offeringId", "3".into()),
            StatusCode::BAD_REQUEST,
            json!({"message": "Offering 3 is CLOSED and does not accept investments"}),
        ),
    ];
    for (body, status, expected) in cases {
        let refused = fr.invest(body.clone()).await;
        fr.assert_error(&refused, status);
        for (key, value) in expected.as_object().unwrap() {
            assert_eq!(&refused.2[key], value, "{body}");
        }
    }
    let not_json = answer(
        fr.http
            .post(fr.url("/v1/account/12/investment"))
            .bearer_auth(&fr.token)
            .header("content-type", "application/json")
            .body("{\"amount\":"),
    )
    .await;
    fr.assert_error(&not_json, StatusCode::BAD_REQUEST);

    let (status, _, placed) = fr.invest(good.clone()).await;
    assert_eq!(status, StatusCode::OK);
    // The same partnerReferenceId again — even with another amount — creates nothing.
    for again in [good.clone(), with("amount", "50.00".into())] {
        let duplicate = fr.invest(again).await;
        fr.assert_error(&duplicate, StatusCode::CONFLICT);
        assert_eq!(
            duplicate.2["message"],
            "Investment already created for supplied partnerReferenceId"
        );
    }
    let ledger = fr.ledger().await;
    assert_eq!(ledger["investments"].as_array().unwrap().len(), 1);
    assert_eq!(
        ledger["investments"][0]["transaction_id"],
        placed["transactionId"]
    );
    assert_eq!(ledger["investments"][0]["partner_reference_id"], "ai-rules");
    assert_eq!(ledger["posts"], 11);
    assert_eq!(ledger["duplicates"], 2);
    assert_eq!(ledger["rejected"], 8);
}

#[tokio::test]
async fn writes_are_rate_limited_per_client_and_method() {
    let fr = Fr::start(options()).await;
    let mut statuses = Vec::new();
    for _ in 0..25 {
        let (status, _, _) = fr
            .client_send(Method::PUT, "/v1/account/12/investment/1/cancel", None)
            .await;
        statuses.push(status);
    }
    let limited = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert!(limited >= 1, "{statuses:?}");
    assert!(
        statuses[..20].iter().all(|s| *s == StatusCode::BAD_REQUEST),
        "{statuses:?}"
    );
    // GETs of the same Client and the partner's POSTs have their own limits.
    let (status, _, _) = fr
        .client_send(Method::GET, "/v1/account/12/transactions", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = fr.token_request("sandbox").await;
    assert_eq!(status, StatusCode::OK);
    let response = fr
        .http
        .put(fr.url("/v1/account/12/investment/1/cancel"))
        .bearer_auth(&fr.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().get("retry-after").is_some());
}

#[tokio::test]
async fn faults_apply_to_investments_and_the_ledger_tells_the_truth() {
    let fr = Fr::start(options()).await;
    let body = investment(&fr, "2", "ai-dropped", "75.00").await;
    fr.set_faults(json!({"drop_after_accept_rate": 1.0})).await;
    let dropped = fr
        .http
        .post(fr.url("/v1/account/12/investment"))
        .bearer_auth(&fr.token)
        .json(&body)
        .send()
        .await;
    assert!(dropped.is_err(), "the answer was dropped: {dropped:?}");
    fr.set_faults(json!({"html_502_rate": 1.0})).await;
    let response = fr
        .http
        .get(fr.url("/v1/offerings"))
        .basic_auth(PARTNER.0, Some(PARTNER.1))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    assert!(response.text().await.unwrap().contains("<html>"));
    fr.set_faults(json!({})).await;
    // The dropped investment was executed: the resend is a duplicate.
    let resent = fr.invest(body).await;
    fr.assert_error(&resent, StatusCode::CONFLICT);
    let ledger = fr.ledger().await;
    assert_eq!(ledger["investments"].as_array().unwrap().len(), 1);
    assert_eq!(ledger["investments"][0]["amount"], "75.00");
    // A reset forgets it.
    let reset = fr
        .http
        .post(format!("http://{}/__sandbox/reset", fr.handle.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(reset.status(), StatusCode::NO_CONTENT);
    assert!(fr.ledger().await["investments"]
        .as_array()
        .unwrap()
        .is_empty());
}

// ---------------------------------------------------------------- the daemon's client

fn client_for(fr: &Fr, request_timeout: Duration) -> FundriseClient {
    FundriseClient::new(
        FundriseSettings {
            id: PlatformId::new("fr"),
            base_url: fr.base_url(),
            // What the daemon uses when the env vars are not set and the sandbox serves.
            partner_user: Secret::new("sandbox"),
            partner_password: Secret::new("sandbox"),
            refresh_token: Secret::new("sandbox"),
            account_id: ACCOUNT.into(),
            acknowledge_documents: true,
            max_posts_per_second: NonZeroU32::new(10).unwrap(),
            max_gets_per_second: NonZeroU32::new(20).unwrap(),
            request_timeout,
        },
        Metrics::new(),
    )
    .unwrap()
}

fn approved(offering: &str, amount: Decimal, slot: &str) -> ApprovedOrder {
    let platform = PlatformId::new("fr");
    let now = Utc::now();
    ApprovedOrder {
        intent: OrderIntent {
            key: IdempotencyKey::derive(&platform, "dca", offering, slot),
            platform,
            strategy: "dca".into(),
            opportunity_id: offering.into(),
            opportunity_kind: OpportunityKind::Offering,
            purchase: PurchaseMode::Fractional,
            amount,
            shares: None,
            grade: None,
            reason: "test".into(),
            slot: slot.into(),
            created_at: now,
            updated_at: now,
            state: OrderState::Sending,
            dry_run: false,
        },
    }
}

#[tokio::test]
async fn the_client_polls_invests_reconciles_and_cancels_against_the_sandbox() {
    // Today's date, so the sandbox dates investments on the intents' day.
    let fr = Fr::start(SandboxOptions {
        start_time: None,
        ..options()
    })
    .await;
    let client = client_for(&fr, Duration::from_secs(10));

    let open = client.poll().await.unwrap();
    let ids: Vec<&str> = open.iter().map(|o| o.id.as_str()).collect();
    assert_eq!(ids, ["1", "2", "4"]);
    assert!(open.iter().all(|o| o.min_investment == Some(dec!(10.00))));

    let order = approved("1", dec!(100.00), "2026-11");
    let placed = client.place_order(&order).await.unwrap();
    assert_eq!(placed.opportunity_id, "1");
    assert_eq!(placed.amount, dec!(100.00));
    assert_eq!(placed.status, "PENDING");
    let ledger = fr.ledger().await;
    assert_eq!(
        ledger["investments"][0]["partner_reference_id"],
        order.intent.key.partner_reference()
    );
    assert_eq!(
        ledger["investments"][0]["transaction_id"],
        placed.order_id.as_str()
    );

    // The history's old $100 investment in fund 1 is not this intent's.
    let found = client.find_orders(&order.intent).await.unwrap();
    assert_eq!(found, vec![placed.clone()]);

    let cancelled = client.cancel_investment(&placed.order_id).await.unwrap();
    assert_eq!(cancelled.status, "FAILED");
    assert_eq!(
        client.investment(&placed.order_id).await.unwrap().status,
        "FAILED"
    );
    let again = client
        .cancel_investment(&placed.order_id)
        .await
        .unwrap_err();
    assert!(
        matches!(again, PlatformError::Rejected { status: 0, .. }),
        "{again:?}"
    );
    assert_eq!(fr.ledger().await["cancels"], 1);
}

#[tokio::test]
async fn an_accepted_then_dropped_investment_is_found_by_the_resend_and_lookup() {
    let fr = Fr::start(SandboxOptions {
        start_time: None,
        ..options()
    })
    .await;
    let client = client_for(&fr, Duration::from_secs(10));
    client.poll().await.unwrap();
    fr.set_faults(json!({"drop_after_accept_rate": 1.0})).await;

    let order = approved("1", dec!(100.00), "2026-12");
    let placed = client.place_order(&order).await.unwrap();

    let ledger = fr.ledger().await;
    let investments = ledger["investments"].as_array().unwrap();
    assert_eq!(investments.len(), 1, "one investment, never two");
    assert_eq!(investments[0]["transaction_id"], placed.order_id.as_str());
    assert_eq!(
        investments[0]["partner_reference_id"],
        order.intent.key.partner_reference()
    );
    assert_eq!(ledger["posts"], 2, "the POST and one resend");
    assert_eq!(ledger["duplicates"], 1);

    // A second intent for the same fund (next month) is a new investment, and its own.
    fr.set_faults(json!({})).await;
    let next = approved("1", dec!(100.00), "2027-01");
    let second = client.place_order(&next).await.unwrap();
    assert_ne!(second.order_id, placed.order_id);
    assert_eq!(
        fr.ledger().await["investments"].as_array().unwrap().len(),
        2
    );
}

#[tokio::test]
async fn refusals_reach_the_client_as_rejections_with_the_reference_id() {
    let fr = Fr::start(options()).await;
    let client = client_for(&fr, Duration::from_secs(10));
    let error = client
        .place_order(&approved("3", dec!(100), "x"))
        .await
        .unwrap_err();
    match error {
        PlatformError::Rejected {
            status: 400,
            message,
            ..
        } => {
            assert!(
                message.starts_with("referenceId 00000000-0000-4000-8000-"),
                "{message}"
            );
            assert!(message.contains("Offering 3 is CLOSED"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    let unknown = client
        .place_order(&approved("77", dec!(100), "x"))
        .await
        .unwrap_err();
    assert!(
        matches!(unknown, PlatformError::Rejected { status: 404, .. }),
        "{unknown:?}"
    );
    assert!(fr.ledger().await["investments"]
        .as_array()
        .unwrap()
        .is_empty());
}
