//! The Funding Circle client against local fake servers (mockito; wiremock where a
//! delayed answer is needed): exact wire shapes from the seed document, paging,
//! token handling, error classification, no hidden retries, no leaked secrets.

use autoinvest::opportunity::{OpportunityKind, PlatformId, PlatformKind, PurchaseMode};
use autoinvest::order::{IdempotencyKey, OrderIntent, OrderState, PlatformOrder};
use autoinvest::platform::fundingcircle::{FundingCircleClient, FundingCircleSettings, MAX_PAGES};
use autoinvest::platform::{ApprovedOrder, PlatformClient, PlatformError};
use autoinvest::secret::Secret;
use autoinvest::telemetry::Metrics;
use chrono::Utc;
use mockito::{Matcher, Mock, Server, ServerGuard};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde_json::json;
use std::num::NonZeroU32;
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const USERNAME: &str = "investor@example.com";
const PASSWORD: &str = "hunter2-distinctive-password";

/// The seed's whole-loan order answer, verbatim.
const SEED_WHOLE_ORDER: &str = r#"{
"transaction_id": 238699,
"purchased_amount_cents": 1000000,
"cashback_rate": 0,
"fund_managed": false,
"updated_at": "2015-07-02T12:16:00-07:00",
"interest_rate": 0.08990000000000001,
"status": "pending",
"id": "dde0l929-842a-64e9-a618-03feo4a4alca",
"truncated": false,
"listing_id": "dde0l929-842a-64e9-a618-03feo4a4alca",
"investor_postfunded": false,
"investor_id": "1feb837e-c38f-4f19-b349-04a85af2e3ca",
"investor_servicer_code": "orion",
"accrued_interest_cents": 0,
"original_purchase_amount_cents": 100000,
"created_at": "2015-07-02T12:16:00-07:00",
"payment_due_at": null
}"#;

/// The seed's fractional order answer, verbatim.
const SEED_FRACTIONAL_ORDER: &str = r#"{
"transaction_id": 238699,
"purchased_amount_cents": 150000,
"cashback_rate": 0,
"fund_managed": false,
"updated_at": "2015-07-02T12:16:00-07:00",
"interest_rate": 0.08990000000000001,
"status": "pending",
"id": "dde0l929-842a-64e9-a618-03feo4a4alca",
"truncated": false,
"listing_id": "dde0l929-842a-64e9-a618-03feo4a4alca",
"investor_postfunded": false,
"investor_id": "1fob897e-c380-4fl9-b379-04a85af5e3ca",
"investor_servicer_code": "orion",
"accrued_interest_cents": 0,
"original_purchase_amount_cents": 100000,
"created_at": "2015-07-02T12:16:00-07:00",
"payment_due_at": null
}"#;

/// The listing id the seed's answers name (not a valid UUID: ids are opaque).
const SEED_LISTING: &str = "dde0l929-842a-64e9-a618-03feo4a4alca";

fn settings(base_url: &str) -> FundingCircleSettings {
    FundingCircleSettings {
        id: PlatformId::new("fc"),
        base_url: base_url.to_string(),
        username: Secret::new(USERNAME),
        password: Secret::new(PASSWORD),
        max_posts_per_second: NonZeroU32::new(40).unwrap(),
        max_gets_per_second: NonZeroU32::new(1_000).unwrap(),
        request_timeout: Duration::from_secs(5),
    }
}

fn client(server: &ServerGuard) -> (FundingCircleClient, Arc<Metrics>) {
    let metrics = Metrics::new();
    let client = FundingCircleClient::new(settings(&server.url()), metrics.clone()).unwrap();
    (client, metrics)
}

fn order(listing: &str, purchase: PurchaseMode, amount: Decimal) -> ApprovedOrder {
    let platform = PlatformId::new("fc");
    let now = Utc::now();
    ApprovedOrder {
        intent: OrderIntent {
            key: IdempotencyKey::derive(&platform, "prime", listing, "once"),
            platform,
            strategy: "prime".into(),
            opportunity_id: listing.into(),
            opportunity_kind: OpportunityKind::Loan,
            purchase,
            amount,
            shares: None,
            grade: Some("A".into()),
            reason: "test".into(),
            slot: "once".into(),
            created_at: now,
            updated_at: now,
            state: OrderState::Sending,
            dry_run: false,
        },
    }
}

/// A login that checks the exact body and answers `token`; expected exactly once.
async fn login_mock(server: &mut ServerGuard, token: &str) -> Mock {
    server
        .mock("POST", "/api/v2/login")
        .match_header("content-type", "application/json")
        .match_body(Matcher::Json(
            json!({"username": USERNAME, "password": PASSWORD}),
        ))
        .with_status(200)
        .with_header("content-type", "application/json")
        .with_body(json!({"token": token, "expires_in": 7200}).to_string())
        .expect(1)
        .create_async()
        .await
}

/// A login that hands out "tok-1", "tok-2", … on successive calls.
async fn counting_login_mock(server: &mut ServerGuard, expected_logins: usize) -> Mock {
    let logins = AtomicUsize::new(0);
    server
        .mock("POST", "/api/v2/login")
        .with_status(200)
        .with_header("content-type", "application/json")
        .with_body_from_request(move |_| {
            let n = logins.fetch_add(1, Ordering::SeqCst) + 1;
            json!({"token": format!("tok-{n}"), "expires_in": 7200})
                .to_string()
                .into_bytes()
        })
        .expect(expected_logins)
        .create_async()
        .await
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

fn requests(metrics: &Metrics, method: &str, status: &str) -> u64 {
    metrics
        .http_requests_total
        .with_label_values(&["fc", method, status])
        .get()
}

fn parse_errors(metrics: &Metrics) -> u64 {
    metrics.parse_errors_total.with_label_values(&["fc"]).get()
}

fn assert_no_secret(error: &PlatformError) {
    let shown = format!("{error} {error:?}");
    assert!(!shown.contains(PASSWORD), "password leaked: {shown}");
    assert!(
        !shown.contains("hunter2"),
        "password fragment leaked: {shown}"
    );
}

// ---------------------------------------------------------------- login and orders

#[tokio::test]
async fn login_body_bearer_header_and_user_agent_are_exact_and_the_token_is_reused() {
    let mut server = Server::new_async().await;
    let login = login_mock(&mut server, "tok-abc").await;
    let portfolio = server
        .mock("GET", "/api/v2/portfolio")
        .match_query(Matcher::Exact(String::new()))
        .match_header("authorization", "Bearer tok-abc")
        .match_header(
            "user-agent",
            Matcher::Regex(r"^autoinvest/\d+\.\d+\.\d+$".into()),
        )
        .with_status(200)
        .with_header("content-type", "application/json")
        .with_body(r#"{"available_cash_cents": 123456}"#)
        .expect(2)
        .create_async()
        .await;
    let (client, metrics) = client(&server);

    assert_eq!(client.available_cash().await.unwrap(), Some(dec!(1234.56)));
    assert_eq!(client.available_cash().await.unwrap(), Some(dec!(1234.56)));

    login.assert_async().await;
    portfolio.assert_async().await;
    assert_eq!(requests(&metrics, "POST", "200"), 1);
    assert_eq!(requests(&metrics, "GET", "200"), 2);
    assert_eq!(client.id().as_str(), "fc");
    assert_eq!(client.kind(), PlatformKind::FundingCircle);
}

#[tokio::test]
async fn an_expired_token_is_renewed_before_the_next_request() {
    let mut server = Server::new_async().await;
    // expires_in 0: stale at once, so every request needs a fresh login first.
    let login = server
        .mock("POST", "/api/v2/login")
        .with_status(200)
        .with_body(r#"{"token": "short", "expires_in": 0}"#)
        .expect(2)
        .create_async()
        .await;
    let portfolio = server
        .mock("GET", "/api/v2/portfolio")
        .match_header("authorization", "Bearer short")
        .with_status(200)
        .with_body(r#"{"available_cash_cents": 0}"#)
        .expect(2)
        .create_async()
        .await;
    let (client, _) = client(&server);

    client.available_cash().await.unwrap();
    client.available_cash().await.unwrap();

    login.assert_async().await;
    portfolio.assert_async().await;
}

#[tokio::test]
async fn a_whole_loan_order_sends_only_the_listing_id_and_parses_the_seed_answer() {
    let mut server = Server::new_async().await;
    login_mock(&mut server, "tok-1").await;
    let post = server
        .mock("POST", "/api/v2/orders")
        .match_query(Matcher::Exact(format!("listing_id={SEED_LISTING}")))
        .match_header("authorization", "Bearer tok-1")
        .with_status(201)
        .with_header("content-type", "application/json")
        .with_body(SEED_WHOLE_ORDER)
        .expect(1)
        .create_async()
        .await;
    let (client, _) = client(&server);

    let placed = client
        .place_order(&order(SEED_LISTING, PurchaseMode::Whole, dec!(10000.00)))
        .await
        .unwrap();

    post.assert_async().await;
    assert_eq!(
        placed,
        PlatformOrder {
            order_id: "dde0l929-842a-64e9-a618-03feo4a4alca".into(),
            opportunity_id: SEED_LISTING.into(),
            amount: dec!(10000.00),
            status: "pending".into(),
        }
    );
}

#[tokio::test]
async fn a_fractional_order_sends_amount_cents_and_parses_the_seed_answer() {
    let mut server = Server::new_async().await;
    login_mock(&mut server, "tok-1").await;
    let post = server
        .mock("POST", "/api/v2/orders")
        .match_query(Matcher::Exact(format!(
            "listing_id={SEED_LISTING}&amount_cents=150000"
        )))
        .match_header("authorization", "Bearer tok-1")
        .with_status(200)
        .with_header("content-type", "application/json")
        .with_body(SEED_FRACTIONAL_ORDER)
        .expect(1)
        .create_async()
        .await;
    let (client, _) = client(&server);

    let placed = client
        .place_order(&order(
            SEED_LISTING,
            PurchaseMode::Fractional,
            dec!(1500.00),
        ))
        .await
        .unwrap();

    post.assert_async().await;
    assert_eq!(placed.amount, dec!(1500.00));
    assert_eq!(placed.order_id, "dde0l929-842a-64e9-a618-03feo4a4alca");
    assert_eq!(placed.status, "pending");
}

#[test]
fn the_seed_order_answers_parse_exactly() {
    use autoinvest::platform::fundingcircle::wire::OrderResponse;
    for (text, cents) in [
        (SEED_WHOLE_ORDER, 1_000_000),
        (SEED_FRACTIONAL_ORDER, 150_000),
    ] {
        let order: OrderResponse = serde_json::from_str(text).unwrap();
        assert_eq!(order.purchased_amount_cents, cents);
        assert_eq!(
            order.interest_rate,
            Some(Decimal::from_str("0.08990000000000001").unwrap())
        );
        assert_eq!(order.transaction_id.as_deref(), Some("238699"));
        assert_eq!(order.payment_due_at, None);
        assert_eq!(order.cashback_rate, Some(Decimal::ZERO));
        assert_eq!(order.original_purchase_amount_cents, Some(100_000));
        assert_eq!(order.investor_servicer_code.as_deref(), Some("orion"));
        assert_eq!(order.fund_managed, Some(false));
    }
}

#[tokio::test]
async fn an_amount_with_fractions_of_a_cent_is_refused_without_sending() {
    let mut server = Server::new_async().await;
    login_mock(&mut server, "tok-1").await;
    let post = server
        .mock("POST", "/api/v2/orders")
        .match_query(Matcher::Any)
        .expect(0)
        .create_async()
        .await;
    let (client, _) = client(&server);

    for amount in [dec!(25.005), dec!(0), dec!(-25)] {
        let error = client
            .place_order(&order("L1", PurchaseMode::Fractional, amount))
            .await
            .unwrap_err();
        assert!(
            matches!(error, PlatformError::Rejected { status: 0, .. }),
            "{amount}: {error:?}"
        );
        assert!(!error.order_outcome_unknown());
    }
    post.assert_async().await;
}

#[tokio::test]
async fn an_answer_about_another_listing_is_ambiguous() {
    let mut server = Server::new_async().await;
    login_mock(&mut server, "tok-1").await;
    server
        .mock("POST", "/api/v2/orders")
        .match_query(Matcher::Any)
        .with_status(200)
        .with_body(SEED_WHOLE_ORDER)
        .create_async()
        .await;
    let (client, metrics) = client(&server);

    let error = client
        .place_order(&order(
            "9f8c36b9-31e9-461e-bc57-cbb69fe8450",
            PurchaseMode::Whole,
            dec!(10000),
        ))
        .await
        .unwrap_err();

    assert!(
        matches!(error, PlatformError::Ambiguous { .. }),
        "{error:?}"
    );
    assert_eq!(parse_errors(&metrics), 1);
}

// ---------------------------------------------------------------- polling

fn summary(id: &str, status: &str) -> serde_json::Value {
    json!({"id": id, "status": status, "type": "fractional",
           "preview_date": "2026-11-20T20:00:00Z", "live_date": "2026-11-20T21:00:00Z",
           "expiry_date": "2026-11-27T21:00:00Z"})
}

fn page(total: u64, entries: Vec<serde_json::Value>) -> String {
    json!({"size": 100, "offset": 0, "total_count": total, "_embedded": {"listings": entries}})
        .to_string()
}

fn details(id: &str, kind: &str, overrides: serde_json::Value) -> String {
    let mut details = json!({
        "id": id, "status": "live", "type": kind, "loan_amount_cents": 5000000,
        "amount_remaining_cents": 1250000, "interest_rate": 0.0899, "term_months": 36,
        "risk_band": "A+", "purpose": "Working capital", "industry": "Construction",
        "years_in_business": 7, "state": "CA", "min_order_cents": 2500,
        "max_order_cents": 2500000, "live_date": "2026-11-20T21:00:00Z",
        "expiry_date": "2026-11-27T21:00:00Z"
    });
    for (key, value) in overrides.as_object().unwrap() {
        details[key] = value.clone();
    }
    details.to_string()
}

async fn listings_page_mock(server: &mut ServerGuard, offset: u64, body: String) -> Mock {
    server
        .mock("GET", "/api/v2/listings")
        .match_query(Matcher::Exact(format!(
            "status=live&size=100&offset={offset}"
        )))
        .match_header("authorization", "Bearer tok-1")
        .with_status(200)
        .with_header("content-type", "application/hal+json")
        .with_body(body)
        .expect(1)
        .create_async()
        .await
}

async fn details_mock(server: &mut ServerGuard, id: &str, body: String) -> Mock {
    server
        .mock("GET", format!("/api/v2/listings/{id}").as_str())
        .match_header("authorization", "Bearer tok-1")
        .with_status(200)
        .with_header("content-type", "application/json")
        .with_body(body)
        .expect(1)
        .create_async()
        .await
}

#[tokio::test]
async fn poll_reads_every_page_and_skips_malformed_or_absurd_listings() {
    let mut server = Server::new_async().await;
    let login = login_mock(&mut server, "tok-1").await;
    let first = page(5, vec![summary("A", "live"), summary("B", "live")]);
    let second = page(
        5,
        vec![
            summary("C", "live"),
            summary("D", "funded"),
            summary("E", "live"),
        ],
    );
    let pages = [
        listings_page_mock(&mut server, 0, first).await,
        listings_page_mock(&mut server, 2, second).await,
    ];
    let details = [
        details_mock(&mut server, "A", details("A", "fractional", json!({}))).await,
        // Malformed: the rate is text.
        details_mock(
            &mut server,
            "B",
            details("B", "fractional", json!({"interest_rate": "high"})),
        )
        .await,
        details_mock(
            &mut server,
            "C",
            details("C", "whole", json!({"interest_rate": 0.1234})),
        )
        .await,
        // Absurd: more remaining than the loan's amount.
        details_mock(
            &mut server,
            "E",
            details(
                "E",
                "fractional",
                json!({"amount_remaining_cents": 9000000}),
            ),
        )
        .await,
    ];
    let not_live = server
        .mock("GET", "/api/v2/listings/D")
        .expect(0)
        .create_async()
        .await;
    let (client, metrics) = client(&server);

    let opportunities = client.poll().await.unwrap();

    for mock in pages.iter().chain(&details) {
        mock.assert_async().await;
    }
    not_live.assert_async().await;
    login.assert_async().await;
    let ids: Vec<&str> = opportunities.iter().map(|o| o.id.as_str()).collect();
    assert_eq!(ids, vec!["A", "C"]);
    assert_eq!(parse_errors(&metrics), 2, "B and E are counted");

    let a = &opportunities[0];
    assert_eq!(a.platform, PlatformId::new("fc"));
    assert_eq!(a.platform_kind, PlatformKind::FundingCircle);
    assert_eq!(a.kind, OpportunityKind::Loan);
    assert_eq!(a.purchase, PurchaseMode::Fractional);
    assert_eq!(a.rate, Some(dec!(0.0899)));
    assert_eq!(a.amount, Some(dec!(50000.00)));
    assert_eq!(a.remaining, Some(dec!(12500.00)));
    assert_eq!(a.min_investment, Some(dec!(25.00)));
    assert_eq!(a.max_investment, Some(dec!(25000.00)));
    assert_eq!(a.increment, Some(dec!(0.01)));
    assert_eq!(a.grade.as_deref(), Some("A+"));
    assert_eq!(a.extra["industry"], "Construction");
    let c = &opportunities[1];
    assert_eq!(c.purchase, PurchaseMode::Whole);
    assert_eq!(c.rate, Some(dec!(0.1234)));
}

#[tokio::test]
async fn listing_ids_are_percent_encoded_in_the_path() {
    let mut server = Server::new_async().await;
    login_mock(&mut server, "tok-1").await;
    listings_page_mock(&mut server, 0, page(1, vec![summary("a/../b c", "live")])).await;
    let encoded = details_mock(
        &mut server,
        "a%2F..%2Fb%20c",
        details("a/../b c", "fractional", json!({})),
    )
    .await;
    let (client, _) = client(&server);

    let opportunities = client.poll().await.unwrap();

    encoded.assert_async().await;
    assert_eq!(opportunities.len(), 1);
    assert_eq!(opportunities[0].id, "a/../b c");
}

#[tokio::test]
async fn paging_stops_on_an_empty_page_whatever_total_count_claims() {
    let mut server = Server::new_async().await;
    login_mock(&mut server, "tok-1").await;
    let only = listings_page_mock(&mut server, 0, page(1_000_000, vec![])).await;
    let (client, _) = client(&server);

    assert!(client.poll().await.unwrap().is_empty());
    only.assert_async().await;
}

#[tokio::test]
async fn paging_is_capped_when_total_count_is_absurd() {
    let mut server = Server::new_async().await;
    login_mock(&mut server, "tok-1").await;
    // Every page repeats the same single listing and claims a million more.
    let pages = server
        .mock("GET", "/api/v2/listings")
        .match_query(Matcher::Regex(
            "^status=live&size=100&offset=[0-9]+$".into(),
        ))
        .with_status(200)
        .with_body(page(1_000_000, vec![summary("A", "live")]))
        .expect(MAX_PAGES)
        .create_async()
        .await;
    let detail = details_mock(&mut server, "A", details("A", "fractional", json!({}))).await;
    let (client, _) = client(&server);

    let opportunities = client.poll().await.unwrap();

    pages.assert_async().await;
    detail.assert_async().await;
    assert_eq!(opportunities.len(), 1, "repeated ids are fetched once");
}

#[tokio::test]
async fn a_malformed_listings_page_fails_the_poll_as_bad_response() {
    let mut server = Server::new_async().await;
    login_mock(&mut server, "tok-1").await;
    server
        .mock("GET", "/api/v2/listings")
        .match_query(Matcher::Any)
        .with_status(200)
        .with_body(r#"{"total_count": 3, "_embedded": {"listings": [{"id": "A""#)
        .create_async()
        .await;
    let (client, metrics) = client(&server);

    let error = client.poll().await.unwrap_err();

    assert!(
        matches!(error, PlatformError::BadResponse { .. }),
        "{error:?}"
    );
    assert_eq!(parse_errors(&metrics), 1);
}

#[tokio::test]
async fn an_html_502_page_fails_a_get_and_makes_a_post_ambiguous_without_panicking() {
    let mut server = Server::new_async().await;
    login_mock(&mut server, "tok-1").await;
    let html = "<html>\n<head><title>502 Bad Gateway</title></head>\n<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body>\n</html>";
    for method in ["GET", "POST"] {
        server
            .mock(method, Matcher::Regex("^/api/v2/(listings|orders)".into()))
            .with_status(502)
            .with_header("content-type", "text/html")
            .with_body(html)
            .create_async()
            .await;
    }
    let (client, metrics) = client(&server);

    let poll = client.poll().await.unwrap_err();
    assert!(
        matches!(poll, PlatformError::Connectivity { .. }),
        "{poll:?}"
    );
    assert!(poll.to_string().contains("HTML error page (502)"), "{poll}");
    assert!(!poll.to_string().contains("<html"), "{poll}");

    let post = client
        .place_order(&order("L1", PurchaseMode::Whole, dec!(100)))
        .await
        .unwrap_err();
    assert!(matches!(post, PlatformError::Ambiguous { .. }), "{post:?}");
    assert!(post.order_outcome_unknown());
    assert_eq!(requests(&metrics, "GET", "502"), 1);
    assert_eq!(requests(&metrics, "POST", "502"), 1);
}

// ---------------------------------------------------------------- errors

#[tokio::test]
async fn malformed_json_on_a_get_is_a_bad_response_and_counted() {
    let mut server = Server::new_async().await;
    login_mock(&mut server, "tok-1").await;
    server
        .mock("GET", "/api/v2/portfolio")
        .with_status(200)
        .with_body(r#"{"available_cash_cents": "lots"}"#)
        .create_async()
        .await;
    let (client, metrics) = client(&server);

    let error = client.available_cash().await.unwrap_err();

    assert!(
        matches!(error, PlatformError::BadResponse { .. }),
        "{error:?}"
    );
    assert_eq!(parse_errors(&metrics), 1);
}

#[tokio::test]
async fn a_500_on_an_order_post_is_ambiguous_and_sent_exactly_once() {
    let mut server = Server::new_async().await;
    login_mock(&mut server, "tok-1").await;
    let post = server
        .mock("POST", "/api/v2/orders")
        .match_query(Matcher::Any)
        .with_status(500)
        .with_body(r#"{"error": "internal error"}"#)
        .expect(1)
        .create_async()
        .await;
    let (client, metrics) = client(&server);

    let error = client
        .place_order(&order("L1", PurchaseMode::Fractional, dec!(25)))
        .await
        .unwrap_err();

    post.assert_async().await;
    assert!(
        matches!(error, PlatformError::Ambiguous { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("internal error"), "{error}");
    assert_eq!(requests(&metrics, "POST", "500"), 1);
}

#[tokio::test]
async fn an_unreadable_2xx_order_answer_is_ambiguous_and_sent_exactly_once() {
    let mut server = Server::new_async().await;
    login_mock(&mut server, "tok-1").await;
    let post = server
        .mock("POST", "/api/v2/orders")
        .match_query(Matcher::Any)
        .with_status(200)
        .with_body(r#"{"id": "o-1", "status": "pend"#)
        .expect(1)
        .create_async()
        .await;
    let (client, _) = client(&server);

    let error = client
        .place_order(&order("L1", PurchaseMode::Fractional, dec!(25)))
        .await
        .unwrap_err();

    post.assert_async().await;
    assert!(
        matches!(error, PlatformError::Ambiguous { .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_422_is_rejected_with_the_platforms_message() {
    let mut server = Server::new_async().await;
    login_mock(&mut server, "tok-1").await;
    let cases = [
        (
            r#"{"errors":[{"code":"max_order_exceeded","message":"Order exceeds the maximum of $25,000.00"}]}"#,
            "max_order_exceeded: Order exceeds the maximum of $25,000.00",
        ),
        (r#"{"error": "Listing is not live"}"#, "Listing is not live"),
        (r#"{"message": "Insufficient funds"}"#, "Insufficient funds"),
    ];
    let (client, _) = client(&server);
    for (body, expected) in cases {
        let post = server
            .mock("POST", "/api/v2/orders")
            .match_query(Matcher::Any)
            .with_status(422)
            .with_header("content-type", "application/json")
            .with_body(body)
            .expect(1)
            .create_async()
            .await;

        let error = client
            .place_order(&order("L1", PurchaseMode::Fractional, dec!(25)))
            .await
            .unwrap_err();

        post.assert_async().await;
        post.remove_async().await;
        match error {
            PlatformError::Rejected {
                status, message, ..
            } => {
                assert_eq!(status, 422);
                assert_eq!(message, expected);
            }
            other => panic!("expected Rejected, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_429_with_retry_after_is_rate_limited_and_holds_the_next_request() {
    let mut server = Server::new_async().await;
    login_mock(&mut server, "tok-1").await;
    let limited = server
        .mock("GET", "/api/v2/portfolio")
        .with_status(429)
        .with_header("retry-after", "1")
        .expect(1)
        .create_async()
        .await;
    let ok = server
        .mock("GET", "/api/v2/portfolio")
        .with_status(200)
        .with_body(r#"{"available_cash_cents": 100}"#)
        .expect(1)
        .create_async()
        .await;
    let (client, metrics) = client(&server);

    let error = client.available_cash().await.unwrap_err();
    match error {
        PlatformError::RateLimited { retry_after, .. } => {
            assert_eq!(retry_after, Some(Duration::from_secs(1)))
        }
        other => panic!("expected RateLimited, got {other:?}"),
    }
    assert!(client.pacer().hold_remaining() > Duration::from_millis(900));

    let started = Instant::now();
    assert_eq!(client.available_cash().await.unwrap(), Some(dec!(1.00)));
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );

    limited.assert_async().await;
    ok.assert_async().await;
    let waited = metrics
        .rate_limit_wait_seconds
        .with_label_values(&["fc"])
        .get_sample_sum();
    assert!(waited >= 0.9, "rate-limit wait recorded: {waited}");
    assert_eq!(requests(&metrics, "GET", "429"), 1);
}

#[tokio::test]
async fn a_401_renews_the_token_once_then_succeeds() {
    let mut server = Server::new_async().await;
    let login = counting_login_mock(&mut server, 2).await;
    let refused = server
        .mock("GET", "/api/v2/portfolio")
        .match_header("authorization", bearer("tok-1").as_str())
        .with_status(401)
        .with_body(r#"{"error": "token expired"}"#)
        .expect(1)
        .create_async()
        .await;
    let accepted = server
        .mock("GET", "/api/v2/portfolio")
        .match_header("authorization", bearer("tok-2").as_str())
        .with_status(200)
        .with_body(r#"{"available_cash_cents": 500}"#)
        .expect(1)
        .create_async()
        .await;
    let (client, _) = client(&server);

    assert_eq!(client.available_cash().await.unwrap(), Some(dec!(5.00)));

    login.assert_async().await;
    refused.assert_async().await;
    accepted.assert_async().await;
}

#[tokio::test]
async fn a_401_on_an_order_post_renews_the_token_and_resends_once() {
    let mut server = Server::new_async().await;
    let login = counting_login_mock(&mut server, 2).await;
    let refused = server
        .mock("POST", "/api/v2/orders")
        .match_query(Matcher::Any)
        .match_header("authorization", bearer("tok-1").as_str())
        .with_status(401)
        .expect(1)
        .create_async()
        .await;
    let accepted = server
        .mock("POST", "/api/v2/orders")
        .match_query(Matcher::Exact(format!(
            "listing_id={SEED_LISTING}&amount_cents=150000"
        )))
        .match_header("authorization", bearer("tok-2").as_str())
        .with_status(200)
        .with_body(SEED_FRACTIONAL_ORDER)
        .expect(1)
        .create_async()
        .await;
    let (client, _) = client(&server);

    let placed = client
        .place_order(&order(SEED_LISTING, PurchaseMode::Fractional, dec!(1500)))
        .await
        .unwrap();

    assert_eq!(placed.amount, dec!(1500.00));
    login.assert_async().await;
    refused.assert_async().await;
    accepted.assert_async().await;
}

#[tokio::test]
async fn a_second_401_is_an_auth_error() {
    let mut server = Server::new_async().await;
    let login = counting_login_mock(&mut server, 2).await;
    let refused = server
        .mock("GET", "/api/v2/portfolio")
        .with_status(401)
        .expect(2)
        .create_async()
        .await;
    let (client, _) = client(&server);

    let error = client.available_cash().await.unwrap_err();

    assert!(matches!(error, PlatformError::Auth { .. }), "{error:?}");
    login.assert_async().await;
    refused.assert_async().await;
}

#[tokio::test]
async fn a_refused_login_is_auth_and_never_shows_the_password() {
    let mut server = Server::new_async().await;
    // A careless platform echoing the credentials back in its error.
    let echo = format!(r#"{{"error": "invalid password {PASSWORD} for {USERNAME}"}}"#);
    for status in [401, 403, 422] {
        let login = server
            .mock("POST", "/api/v2/login")
            .with_status(status)
            .with_body(&echo)
            .expect(1)
            .create_async()
            .await;
        let portfolio = server
            .mock("GET", "/api/v2/portfolio")
            .expect(0)
            .create_async()
            .await;
        let (client, _) = client(&server);

        let error = client.available_cash().await.unwrap_err();

        assert!(
            matches!(error, PlatformError::Auth { .. }),
            "{status}: {error:?}"
        );
        assert!(error.to_string().contains("invalid password"), "{error}");
        assert_no_secret(&error);
        login.assert_async().await;
        portfolio.assert_async().await;
        login.remove_async().await;
        portfolio.remove_async().await;
    }
}

#[tokio::test]
async fn settings_and_client_debug_output_hide_the_credentials() {
    let server = Server::new_async().await;
    let (client, _) = client(&server);
    let shown = format!("{:?} {:?}", settings(&server.url()), client);
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(!shown.contains(USERNAME), "{shown}");
}

#[tokio::test]
async fn find_orders_follows_paging_and_keeps_only_the_intents_listing() {
    let mut server = Server::new_async().await;
    login_mock(&mut server, "tok-1").await;
    let entry = |id: &str, listing: &str| {
        let mut order: serde_json::Value = serde_json::from_str(SEED_FRACTIONAL_ORDER).unwrap();
        order["id"] = id.into();
        order["listing_id"] = listing.into();
        order
    };
    let orders_page = |entries: Vec<serde_json::Value>| {
        json!({"total_count": 3, "_embedded": {"orders": entries}}).to_string()
    };
    let first = server
        .mock("GET", "/api/v2/orders")
        .match_query(Matcher::Exact("listing_id=L1&size=100&offset=0".into()))
        .match_header("authorization", "Bearer tok-1")
        .with_status(200)
        .with_body(orders_page(vec![entry("o-1", "L1"), entry("o-2", "OTHER")]))
        .expect(1)
        .create_async()
        .await;
    let second = server
        .mock("GET", "/api/v2/orders")
        .match_query(Matcher::Exact("listing_id=L1&size=100&offset=2".into()))
        .with_status(200)
        .with_body(orders_page(vec![entry("o-3", "L1")]))
        .expect(1)
        .create_async()
        .await;
    let (client, _) = client(&server);

    let found = client
        .find_orders(&order("L1", PurchaseMode::Fractional, dec!(25)).intent)
        .await
        .unwrap();

    first.assert_async().await;
    second.assert_async().await;
    let ids: Vec<&str> = found.iter().map(|o| o.order_id.as_str()).collect();
    assert_eq!(ids, vec!["o-1", "o-3"]);
    assert!(found.iter().all(|o| o.amount == dec!(1500.00)));
}

#[tokio::test]
async fn a_bad_row_fails_the_order_lookup_instead_of_hiding_an_order() {
    let mut server = Server::new_async().await;
    login_mock(&mut server, "tok-1").await;
    server
        .mock("GET", "/api/v2/orders")
        .match_query(Matcher::Any)
        .with_status(200)
        .with_body(
            r#"{"total_count": 1, "_embedded": {"orders": [{"id": "o-1", "listing_id": "L1"}]}}"#,
        )
        .create_async()
        .await;
    let (client, _) = client(&server);

    let error = client
        .find_orders(&order("L1", PurchaseMode::Fractional, dec!(25)).intent)
        .await
        .unwrap_err();

    assert!(
        matches!(error, PlatformError::BadResponse { .. }),
        "{error:?}"
    );
}

// ---------------------------------------------------------------- transport failures

#[tokio::test]
async fn a_timeout_on_an_order_post_is_ambiguous_and_not_retried() {
    use wiremock::matchers::{method, path, query_param};
    use wiremock::{Mock as WireMock, MockServer, ResponseTemplate};

    let server = MockServer::start().await;
    WireMock::given(method("POST"))
        .and(path("/api/v2/login"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"token": "tok-1", "expires_in": 7200})),
        )
        .expect(1)
        .mount(&server)
        .await;
    WireMock::given(method("POST"))
        .and(path("/api/v2/orders"))
        .and(query_param("listing_id", SEED_LISTING))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(SEED_FRACTIONAL_ORDER, "application/json")
                .set_delay(Duration::from_secs(3)),
        )
        .expect(1)
        .mount(&server)
        .await;
    let metrics = Metrics::new();
    let mut short = settings(&server.uri());
    short.request_timeout = Duration::from_millis(300);
    let client = FundingCircleClient::new(short, metrics.clone()).unwrap();

    let error = client
        .place_order(&order(SEED_LISTING, PurchaseMode::Fractional, dec!(1500)))
        .await
        .unwrap_err();

    assert!(
        matches!(error, PlatformError::Ambiguous { .. }),
        "{error:?}"
    );
    assert!(error.order_outcome_unknown());
    assert_eq!(requests(&metrics, "POST", "timeout"), 1);
    server.verify().await;
}

#[tokio::test]
async fn a_refused_connection_is_connectivity_for_reads_and_orders() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let metrics = Metrics::new();
    let client = FundingCircleClient::new(
        settings(&format!("http://127.0.0.1:{port}")),
        metrics.clone(),
    )
    .unwrap();

    let poll = client.poll().await.unwrap_err();
    assert!(
        matches!(poll, PlatformError::Connectivity { .. }),
        "{poll:?}"
    );

    let post = client
        .place_order(&order("L1", PurchaseMode::Whole, dec!(100)))
        .await
        .unwrap_err();
    assert!(
        matches!(post, PlatformError::Connectivity { .. }),
        "{post:?}"
    );
    assert!(!post.order_outcome_unknown());
    assert_eq!(
        requests(&metrics, "POST", "connect"),
        2,
        "two failed logins"
    );
    assert_no_secret(&post);
}

#[test]
fn an_invalid_base_url_is_refused_at_construction() {
    for base in [
        "not a url",
        "mailto:someone@example.com",
        "ftp://example.com",
    ] {
        let error = FundingCircleClient::new(settings(base), Metrics::new()).unwrap_err();
        assert!(
            matches!(error, PlatformError::Connectivity { .. }),
            "{base}: {error:?}"
        );
    }
}
