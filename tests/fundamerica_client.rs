//! The FundAmerica client against local fake servers (mockito; wiremock where a delayed
//! answer is needed): exact request shapes (paths, basic auth with the key as user and
//! an empty password, form bodies field by field), every sample of the seed document
//! parsing, paging, error classification, no hidden retries, no leaked key — and the
//! sizing of the opportunities the client produces (null limits, whole shares).

use autoinvest::opportunity::{
    Opportunity, OpportunityKind, PlatformId, PlatformKind, PurchaseMode,
};
use autoinvest::order::{IdempotencyKey, OrderIntent, OrderState, PlatformOrder};
use autoinvest::platform::fundamerica::wire::{self, PaymentMethod};
use autoinvest::platform::fundamerica::{FundAmericaClient, FundAmericaSettings, MAX_PAGES};
use autoinvest::platform::{ApprovedOrder, PlatformClient, PlatformError};
use autoinvest::portfolio::PortfolioView;
use autoinvest::secret::Secret;
use autoinvest::sizing::{self, BudgetRules, PlatformRules, Rules, StrategyRules};
use autoinvest::telemetry::Metrics;
use chrono::Utc;
use mockito::{Matcher, Mock, Server, ServerGuard};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde_json::{json, Value};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

const API_KEY: &str = "fa-key-7c1d9e";
/// `Basic base64("fa-key-7c1d9e:")`: the key as user, an empty password.
const BASIC_AUTH: &str = "Basic ZmEta2V5LTdjMWQ5ZTo=";
/// The investor of the seed's investment example (and of DESIGN.md's config).
const INVESTOR: &str = "AcDqHluSTJy1nPjo7om1Ww";
const ACH_AUTHORIZATION: &str = "c1iNJPrgToCWwLOD3pAhgg";

/// The seed document's samples, verbatim.
const SEED_OFFERING: &str = include_str!("fixtures/fundamerica/offering.json");
const SEED_INVESTMENT: &str = include_str!("fixtures/fundamerica/investment.json");
const SEED_RESOURCE_LIST: &str = include_str!("fixtures/fundamerica/resource_list.json");
const SEED_422: &str = include_str!("fixtures/fundamerica/error_422.json");
/// The offering the seed's investment example belongs to.
const SEED_INVESTMENT_OFFERING: &str = "8KzwIcdfTLSL1igSP8tEXA";

fn settings(base_url: &str, payment_method: PaymentMethod) -> FundAmericaSettings {
    FundAmericaSettings {
        id: PlatformId::new("fa"),
        base_url: base_url.to_string(),
        api_key: Secret::new(API_KEY),
        investor_id: INVESTOR.to_string(),
        payment_method,
        max_posts_per_second: NonZeroU32::new(50).unwrap(),
        max_gets_per_second: NonZeroU32::new(1_000).unwrap(),
        request_timeout: Duration::from_secs(5),
    }
}

fn ach() -> PaymentMethod {
    PaymentMethod::Ach {
        authorization_id: ACH_AUTHORIZATION.into(),
    }
}

fn client_with(url: &str, payment_method: PaymentMethod) -> (FundAmericaClient, Arc<Metrics>) {
    let metrics = Metrics::new();
    let client = FundAmericaClient::new(settings(url, payment_method), metrics.clone()).unwrap();
    (client, metrics)
}

fn client(server: &ServerGuard) -> (FundAmericaClient, Arc<Metrics>) {
    client_with(&server.url(), ach())
}

fn seed(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

/// The seed's offering (an equity offering with every limit null), with its security
/// expanded at `price`.
fn seed_offering_priced(price: &str) -> Value {
    let mut offering = seed(SEED_OFFERING);
    offering["security_url"] =
        "https://apps.fundamerica.com/api/securities/LujDQne4R9GNbh2ogmiHgg".into();
    offering["security"] = json!({
        "object": "security", "id": "LujDQne4R9GNbh2ogmiHgg", "type": "equity",
        "equity_share_price": price
    });
    offering
}

/// A debt offering built on the seed's object.
fn debt_offering(id: &str, min: Value, max: Value, increment: Value) -> Value {
    let mut offering = seed(SEED_OFFERING);
    offering["id"] = id.into();
    offering["name"] = format!("Debt {id}").into();
    offering["type"] = "debt".into();
    offering["min_investment_amount"] = min;
    offering["max_investment_amount"] = max;
    offering["investment_increment_amount"] = increment;
    offering
}

fn page(resources: Vec<Value>, page: u64, more: bool) -> String {
    json!({
        "object": "resource_list", "total_resources": resources.len(), "more": more,
        "page": page, "per": 100, "resources": resources
    })
    .to_string()
}

fn offerings_query(page: u64) -> Matcher {
    Matcher::AllOf(vec![
        Matcher::UrlEncoded("page".into(), page.to_string()),
        Matcher::UrlEncoded("per".into(), "100".into()),
        Matcher::UrlEncoded("_expand[security]".into(), "1".into()),
    ])
}

async fn offerings_mock(server: &mut ServerGuard, page_number: u64, body: String) -> Mock {
    server
        .mock("GET", "/api/offerings")
        .match_query(offerings_query(page_number))
        .match_header("authorization", BASIC_AUTH)
        .with_status(200)
        .with_header("content-type", "application/json")
        .with_body(body)
        .expect(1)
        .create_async()
        .await
}

fn intent(offering: &str, amount: Decimal, shares: Option<u64>) -> ApprovedOrder {
    let platform = PlatformId::new("fa");
    let now = Utc::now();
    ApprovedOrder {
        intent: OrderIntent {
            key: IdempotencyKey::derive(&platform, "equity", offering, "once"),
            platform,
            strategy: "equity".into(),
            opportunity_id: offering.into(),
            opportunity_kind: OpportunityKind::Offering,
            purchase: PurchaseMode::Fractional,
            amount,
            shares,
            grade: None,
            reason: "test".into(),
            slot: "once".into(),
            created_at: now,
            updated_at: now,
            state: OrderState::Sending,
            dry_run: false,
        },
    }
}

fn parse_errors(metrics: &Metrics) -> u64 {
    metrics.parse_errors_total.with_label_values(&["fa"]).get()
}

fn assert_no_key(error: &PlatformError) {
    let shown = format!("{error} {error:?}");
    assert!(!shown.contains(API_KEY), "API key leaked: {shown}");
}

// ---------------------------------------------------------------- offerings

#[tokio::test]
async fn poll_pages_with_basic_auth_and_returns_only_offerings_accepting_investments() {
    let mut server = Server::new_async().await;
    let mut closed = debt_offering("closed1", Value::Null, Value::Null, Value::Null);
    closed["accept_investments"] = false.into();
    closed["escrow_status"] = "closed".into();
    let example_object = seed(SEED_RESOURCE_LIST)["resources"][0].clone();
    let first = offerings_mock(
        &mut server,
        1,
        page(
            vec![seed_offering_priced("500.0"), closed, example_object],
            1,
            true,
        ),
    )
    .await;
    let debt = debt_offering("debt1", json!("1000.0"), json!("25000.0"), json!("1000.0"));
    let second = offerings_mock(&mut server, 2, page(vec![debt], 2, false)).await;
    let (client, metrics) = client(&server);

    let opportunities = client.poll().await.unwrap();

    first.assert_async().await;
    second.assert_async().await;
    let ids: Vec<&str> = opportunities.iter().map(|o| o.id.as_str()).collect();
    assert_eq!(ids, ["CXamBIvwRneFrQnh1CjFuw", "debt1"]);
    assert_eq!(parse_errors(&metrics), 0);
    assert_eq!(
        metrics
            .http_requests_total
            .with_label_values(&["fa", "GET", "200"])
            .get(),
        2
    );
}

#[tokio::test]
async fn the_seed_offering_maps_exactly_with_its_share_price_as_unit_price() {
    let mut server = Server::new_async().await;
    offerings_mock(
        &mut server,
        1,
        page(vec![seed_offering_priced("500.0")], 1, false),
    )
    .await;
    let (client, _) = client(&server);

    let o = client.poll().await.unwrap().remove(0);

    assert_eq!(o.platform, PlatformId::new("fa"));
    assert_eq!(o.platform_kind, PlatformKind::FundAmerica);
    assert_eq!(o.id, "CXamBIvwRneFrQnh1CjFuw");
    assert_eq!(o.kind, OpportunityKind::Offering);
    assert_eq!(o.purchase, PurchaseMode::Fractional);
    assert_eq!(o.name.as_deref(), Some("Big Deal"));
    assert_eq!(o.asset_class.as_deref(), Some("equity"));
    assert_eq!(o.status, "opened");
    assert_eq!(o.amount, Some(dec!(5000000.0)));
    assert_eq!(o.remaining, None, "the platform does not say what is left");
    assert_eq!(o.min_investment, None);
    assert_eq!(o.max_investment, None);
    assert_eq!(o.increment, None);
    assert_eq!(o.unit_price, Some(dec!(500.0)));
    assert_eq!(
        o.listed_at.unwrap().to_rfc3339(),
        "2015-12-08T20:52:22.118+00:00"
    );
    assert_eq!(o.extra["type"], "equity");
    assert_eq!(o.extra["escrow_status"], "opened");
    assert_eq!(o.extra["regulatory_exemption"], "506c");
    assert_eq!(o.extra["max_amount"], "5500000.0");
    assert_eq!(o.extra["min_amount"], "4500000.0");
    assert_eq!(o.extra["funds_received"], "0.0");
    assert_eq!(o.extra["minimum_met"], false);
    assert_eq!(o.extra["accredited_investors"], true);
    assert_eq!(o.extra["non_us_investors"], false);
    assert_eq!(
        o.extra["funds_transfer_methods"],
        json!(["ach", "check", "wire"])
    );
    assert!(
        !o.extra.contains_key("escrow_closes_at"),
        "null is left out"
    );
}

#[tokio::test]
async fn an_unexpanded_security_is_looked_up_by_id_on_the_configured_host_only() {
    let mut server = Server::new_async().await;
    let mut offering = seed(SEED_OFFERING);
    // A URL on another host: the client takes the id and asks its own base URL.
    offering["security_url"] = "https://elsewhere.example.com/api/securities/SEC-1".into();
    offerings_mock(&mut server, 1, page(vec![offering], 1, false)).await;
    let security = server
        .mock("GET", "/api/securities/SEC-1")
        .match_header("authorization", BASIC_AUTH)
        .with_status(200)
        .with_body(
            r#"{"object":"security","id":"SEC-1","type":"equity","equity_share_price":"25.0"}"#,
        )
        .expect(1)
        .create_async()
        .await;
    let (client, _) = client(&server);

    let opportunities = client.poll().await.unwrap();

    security.assert_async().await;
    assert_eq!(opportunities.len(), 1);
    assert_eq!(opportunities[0].unit_price, Some(dec!(25.0)));
}

#[tokio::test]
async fn unusable_offerings_are_skipped_and_counted_and_the_rest_is_kept() {
    let mut server = Server::new_async().await;
    // Verbatim, the seed's equity offering names no security: no share price.
    let no_price = seed(SEED_OFFERING);
    let mut inverted = debt_offering("inverted", json!("5000"), json!("1000"), Value::Null);
    inverted["accept_investments"] = true.into();
    let mut no_id = debt_offering("x", Value::Null, Value::Null, Value::Null);
    no_id.as_object_mut().unwrap().remove("id");
    let mut odd_type = debt_offering("odd", Value::Null, Value::Null, Value::Null);
    odd_type["type"] = "revenue_share".into();
    let mut free_shares = seed_offering_priced("0.0");
    free_shares["id"] = "free".into();
    let good = debt_offering("good", Value::Null, Value::Null, Value::Null);
    offerings_mock(
        &mut server,
        1,
        page(
            vec![no_price, inverted, no_id, odd_type, free_shares, good],
            1,
            false,
        ),
    )
    .await;
    let (client, metrics) = client(&server);

    let opportunities = client.poll().await.unwrap();

    let ids: Vec<&str> = opportunities.iter().map(|o| o.id.as_str()).collect();
    assert_eq!(ids, ["good"]);
    assert_eq!(parse_errors(&metrics), 5);
}

#[tokio::test]
async fn paging_stops_on_an_empty_page_and_at_the_page_cap() {
    let mut server = Server::new_async().await;
    let empty = server
        .mock("GET", "/api/offerings")
        .match_query(Matcher::Any)
        .with_status(200)
        .with_body(page(vec![], 1, true))
        .expect(1)
        .create_async()
        .await;
    let (client, _) = client(&server);
    assert!(client.poll().await.unwrap().is_empty());
    empty.assert_async().await;
    empty.remove_async().await;

    let endless = server
        .mock("GET", "/api/offerings")
        .match_query(Matcher::Any)
        .with_status(200)
        .with_body(page(
            vec![debt_offering("d", Value::Null, Value::Null, Value::Null)],
            1,
            true,
        ))
        .expect(MAX_PAGES as usize)
        .create_async()
        .await;
    let opportunities = client.poll().await.unwrap();
    endless.assert_async().await;
    assert_eq!(opportunities.len(), 1, "the same offering is kept once");
}

#[tokio::test]
async fn poll_failures_are_errors_not_empty_results() {
    let mut server = Server::new_async().await;
    let cases: [(usize, &str, &str); 4] = [
        (500, "application/json", r#"{"error":"boom"}"#),
        (
            401,
            "application/json",
            r#"{"status_message":"Unauthorized"}"#,
        ),
        (
            200,
            "application/json",
            r#"{"object":"resource_list","resour"#,
        ),
        (
            502,
            "text/html",
            "<html><body>502 Bad Gateway</body></html>",
        ),
    ];
    let expected = ["connectivity", "auth", "bad_response", "connectivity"];
    for ((status, content_type, body), kind) in cases.into_iter().zip(expected) {
        let mock = server
            .mock("GET", "/api/offerings")
            .match_query(Matcher::Any)
            .with_status(status)
            .with_header("content-type", content_type)
            .with_body(body)
            .create_async()
            .await;
        let (client, _) = client(&server);
        let error = client.poll().await.unwrap_err();
        assert_eq!(error.kind(), kind, "{status}: {error}");
        assert_no_key(&error);
        mock.remove_async().await;
    }
}

// ---------------------------------------------------------------- investments

#[tokio::test]
async fn an_equity_order_posts_the_exact_form_with_ach_and_the_share_count() {
    let mut server = Server::new_async().await;
    let post = server
        .mock("POST", "/api/investments")
        .match_query(Matcher::Exact(String::new()))
        .match_header("authorization", BASIC_AUTH)
        .match_header("content-type", "application/x-www-form-urlencoded")
        .match_body(Matcher::Exact(format!(
            "amount=50000.00&offering_id={SEED_INVESTMENT_OFFERING}&investor_id={INVESTOR}\
             &payment_method=ach&ach_authorization_id={ACH_AUTHORIZATION}&equity_share_count=10"
        )))
        .with_status(200)
        .with_header("content-type", "application/json")
        .with_body(SEED_INVESTMENT)
        .expect(1)
        .create_async()
        .await;
    let (client, metrics) = client(&server);

    let order = client
        .place_order(&intent(SEED_INVESTMENT_OFFERING, dec!(50000.00), Some(10)))
        .await
        .unwrap();

    post.assert_async().await;
    assert_eq!(
        order,
        PlatformOrder {
            order_id: "Tj0DEEYGSzCLqU6RFkfI7g".into(),
            opportunity_id: SEED_INVESTMENT_OFFERING.into(),
            amount: dec!(50000.0),
            status: "not_received".into(),
        }
    );
    assert_eq!(
        metrics
            .http_requests_total
            .with_label_values(&["fa", "POST", "200"])
            .get(),
        1
    );
}

#[tokio::test]
async fn a_wire_debt_order_sends_neither_ach_authorization_nor_share_count() {
    let mut server = Server::new_async().await;
    let mut answer = seed(SEED_INVESTMENT);
    answer["offering_url"] = "https://apps.fundamerica.com/api/offerings/debt1".into();
    answer["amount"] = "1234.5".into();
    let post = server
        .mock("POST", "/api/investments")
        .match_body(Matcher::Exact(format!(
            "amount=1234.50&offering_id=debt1&investor_id={INVESTOR}&payment_method=wire"
        )))
        .with_status(201)
        .with_body(answer.to_string())
        .expect(1)
        .create_async()
        .await;
    let (client, _) = client_with(&server.url(), PaymentMethod::Wire);

    let order = client
        .place_order(&intent("debt1", dec!(1234.5), None))
        .await
        .unwrap();

    post.assert_async().await;
    assert_eq!(order.amount, dec!(1234.5));
    assert_eq!(order.opportunity_id, "debt1");
}

#[tokio::test]
async fn amounts_that_are_not_whole_cents_are_refused_before_sending() {
    let mut server = Server::new_async().await;
    let never = server
        .mock("POST", "/api/investments")
        .expect(0)
        .create_async()
        .await;
    let (client, _) = client(&server);
    for (amount, shares) in [
        (dec!(10.001), None),
        (dec!(0), None),
        (dec!(-5), None),
        (dec!(100), Some(0)),
    ] {
        let error = client
            .place_order(&intent("o1", amount, shares))
            .await
            .unwrap_err();
        assert!(
            matches!(error, PlatformError::Rejected { status: 0, .. }),
            "{amount}: {error}"
        );
    }
    never.assert_async().await;
}

#[tokio::test]
async fn an_answer_about_another_offering_or_unreadable_is_ambiguous() {
    let mut server = Server::new_async().await;
    let mock = server
        .mock("POST", "/api/investments")
        .with_status(200)
        .with_body(SEED_INVESTMENT)
        .create_async()
        .await;
    let (client, metrics) = client(&server);
    let error = client
        .place_order(&intent("another-offering", dec!(50000), Some(10)))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), "ambiguous", "{error}");
    assert!(error.order_outcome_unknown());
    assert_eq!(parse_errors(&metrics), 1);
    mock.remove_async().await;

    let mut negative = seed(SEED_INVESTMENT);
    negative["amount"] = "-1.0".into();
    server
        .mock("POST", "/api/investments")
        .with_status(200)
        .with_body(negative.to_string())
        .create_async()
        .await;
    let error = client
        .place_order(&intent(SEED_INVESTMENT_OFFERING, dec!(50000), Some(10)))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), "ambiguous", "{error}");
}

#[tokio::test]
async fn order_errors_are_classified_by_status_and_never_retried() {
    let cases: [(usize, &str, String, &str, &str); 9] = [
        (
            422,
            "application/json",
            r#"{"investment":{"amount":["must be at least 1000.0"],"equity_share_count":["must match the amount"]}}"#.into(),
            "rejected",
            "investment.amount: must be at least 1000.0; investment.equity_share_count: must match the amount",
        ),
        (422, "application/json", SEED_422.into(), "rejected", "offering.name: is already in use"),
        (
            403,
            "application/json",
            r#"{"status_message":"Offering is not accepting investments"}"#.into(),
            "rejected",
            "Offering is not accepting investments",
        ),
        (404, "application/json", r#"{"status_message":"Not found"}"#.into(), "rejected", "Not found"),
        (401, "application/json", r#"{"status_message":"Unauthorized"}"#.into(), "auth", "Unauthorized"),
        (429, "application/json", "{}".into(), "rate_limited", ""),
        (500, "application/json", r#"{"error":"boom"}"#.into(), "ambiguous", "HTTP 500"),
        (502, "text/html", "<html>bad gateway</html>".into(), "ambiguous", "HTML error page (502)"),
        (200, "application/json", r#"{"object":"investment","id":"#.into(), "ambiguous", "unusable"),
    ];
    for (status, content_type, body, kind, message) in cases {
        let mut server = Server::new_async().await;
        let mock = server
            .mock("POST", "/api/investments")
            .with_status(status)
            .with_header("content-type", content_type)
            .with_header("retry-after", "3")
            .with_body(body)
            .expect(1)
            .create_async()
            .await;
        let (client, _) = client(&server);
        let error = client
            .place_order(&intent("o1", dec!(1000), None))
            .await
            .unwrap_err();
        mock.assert_async().await;
        assert_eq!(error.kind(), kind, "{status}: {error}");
        assert!(error.to_string().contains(message), "{status}: {error}");
        if let PlatformError::RateLimited { retry_after, .. } = &error {
            assert_eq!(*retry_after, Some(Duration::from_secs(3)));
        }
    }
}

#[tokio::test]
async fn a_timeout_after_sending_an_order_is_ambiguous_and_not_resent() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock as WireMock, MockServer, ResponseTemplate};
    let server = MockServer::start().await;
    WireMock::given(method("POST"))
        .and(path("/api/investments"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_string(SEED_INVESTMENT)
                .set_delay(Duration::from_secs(3)),
        )
        .expect(1)
        .mount(&server)
        .await;
    let mut short = settings(&server.uri(), ach());
    short.request_timeout = Duration::from_millis(300);
    let client = FundAmericaClient::new(short, Metrics::new()).unwrap();

    let error = client
        .place_order(&intent(SEED_INVESTMENT_OFFERING, dec!(50000), Some(10)))
        .await
        .unwrap_err();

    assert_eq!(error.kind(), "ambiguous", "{error}");
    server.verify().await;
}

#[tokio::test]
async fn the_api_key_is_masked_in_errors() {
    let mut server = Server::new_async().await;
    server
        .mock("POST", "/api/investments")
        .with_status(422)
        .with_body(format!(
            r#"{{"investment":{{"base":["key {API_KEY} is not allowed"]}}}}"#
        ))
        .create_async()
        .await;
    let (client, _) = client(&server);
    let error = client
        .place_order(&intent("o1", dec!(1000), None))
        .await
        .unwrap_err();
    assert_no_key(&error);
    assert!(error.to_string().contains("**REDACTED**"), "{error}");
    assert!(!format!("{client:?}").contains(API_KEY));
}

// ---------------------------------------------------------------- reconciliation

fn investment(id: &str, offering: &str, investor: &str, amount: &str, status: &str) -> Value {
    let mut investment = seed(SEED_INVESTMENT);
    investment["id"] = id.into();
    investment["url"] = format!("https://apps.fundamerica.com/api/investments/{id}").into();
    investment["offering_url"] =
        format!("https://apps.fundamerica.com/api/offerings/{offering}").into();
    investment["investor_url"] =
        format!("https://apps.fundamerica.com/api/investors/{investor}").into();
    investment["amount"] = amount.into();
    investment["status"] = status.into();
    investment
}

#[tokio::test]
async fn find_orders_reads_every_page_of_the_offerings_investments_and_keeps_ours() {
    let mut server = Server::new_async().await;
    let list = |page_number: u64| {
        Matcher::AllOf(vec![
            Matcher::UrlEncoded("page".into(), page_number.to_string()),
            Matcher::UrlEncoded("per".into(), "100".into()),
        ])
    };
    let first = server
        .mock("GET", "/api/offerings/off-1/investments")
        .match_query(list(1))
        .match_header("authorization", BASIC_AUTH)
        .with_status(200)
        .with_body(page(
            vec![
                investment("i1", "off-1", INVESTOR, "1000.0", "not_received"),
                investment("theirs", "off-1", "someone-else", "1000.0", "received"),
            ],
            1,
            true,
        ))
        .expect(1)
        .create_async()
        .await;
    let second = server
        .mock("GET", "/api/offerings/off-1/investments")
        .match_query(list(2))
        .with_status(200)
        .with_body(page(
            vec![investment("i2", "off-1", INVESTOR, "500.00", "voided")],
            2,
            false,
        ))
        .expect(1)
        .create_async()
        .await;
    let (client, _) = client(&server);

    let orders = client
        .find_orders(&intent("off-1", dec!(1000), None).intent)
        .await
        .unwrap();

    first.assert_async().await;
    second.assert_async().await;
    assert_eq!(
        orders,
        vec![
            PlatformOrder {
                order_id: "i1".into(),
                opportunity_id: "off-1".into(),
                amount: dec!(1000.0),
                status: "not_received".into(),
            },
            PlatformOrder {
                order_id: "i2".into(),
                opportunity_id: "off-1".into(),
                amount: dec!(500.00),
                status: "voided".into(),
            },
        ]
    );
}

#[tokio::test]
async fn the_seed_investment_is_found_and_a_bad_row_fails_the_lookup() {
    let mut server = Server::new_async().await;
    let path = format!("/api/offerings/{SEED_INVESTMENT_OFFERING}/investments");
    let mock = server
        .mock("GET", path.as_str())
        .match_query(Matcher::Any)
        .with_status(200)
        .with_body(page(vec![seed(SEED_INVESTMENT)], 1, false))
        .create_async()
        .await;
    let (client, _) = client(&server);
    let lookup = intent(SEED_INVESTMENT_OFFERING, dec!(50000), Some(10)).intent;
    let orders = client.find_orders(&lookup).await.unwrap();
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0].order_id, "Tj0DEEYGSzCLqU6RFkfI7g");
    mock.remove_async().await;

    let mut broken = seed(SEED_INVESTMENT);
    broken["amount"] = "a lot".into();
    server
        .mock("GET", path.as_str())
        .match_query(Matcher::Any)
        .with_status(200)
        .with_body(page(vec![broken], 1, false))
        .create_async()
        .await;
    let error = client.find_orders(&lookup).await.unwrap_err();
    assert_eq!(error.kind(), "bad_response", "{error}");
}

#[tokio::test]
async fn investment_status_and_cancellation_use_the_investment_endpoints() {
    let mut server = Server::new_async().await;
    let status = server
        .mock("GET", "/api/investments/i1")
        .match_header("authorization", BASIC_AUTH)
        .with_status(200)
        .with_body(investment("i1", "off-1", INVESTOR, "1000.0", "received").to_string())
        .expect(1)
        .create_async()
        .await;
    let cancel = server
        .mock("DELETE", "/api/investments/i1")
        .match_header("authorization", BASIC_AUTH)
        .with_status(200)
        .with_body(investment("i1", "off-1", INVESTOR, "1000.0", "voided").to_string())
        .expect(1)
        .create_async()
        .await;
    let refused = server
        .mock("DELETE", "/api/investments/i2")
        .with_status(403)
        .with_body(r#"{"status_message":"Investment cannot be cancelled once invested"}"#)
        .expect(1)
        .create_async()
        .await;
    let (client, _) = client(&server);

    let current = client.investment_status("i1").await.unwrap();
    assert_eq!(current.status, "received");
    assert_eq!(
        wire::InvestmentStatus::parse(&current.status),
        Some(wire::InvestmentStatus::Received)
    );
    let cancelled = client.cancel_investment("i1").await.unwrap();
    assert_eq!(cancelled.status, "voided");
    let error = client.cancel_investment("i2").await.unwrap_err();
    assert!(
        matches!(&error, PlatformError::Rejected { status: 403, message, .. } if message.contains("cannot be cancelled")),
        "{error}"
    );

    status.assert_async().await;
    cancel.assert_async().await;
    refused.assert_async().await;
}

#[tokio::test]
async fn an_answer_about_another_investment_is_refused() {
    let mut server = Server::new_async().await;
    server
        .mock("GET", "/api/investments/i1")
        .with_status(200)
        .with_body(investment("i9", "off-1", INVESTOR, "1.0", "received").to_string())
        .create_async()
        .await;
    server
        .mock("DELETE", "/api/investments/i1")
        .with_status(200)
        .with_body(investment("i9", "off-1", INVESTOR, "1.0", "voided").to_string())
        .create_async()
        .await;
    let (client, metrics) = client(&server);
    let error = client.investment_status("i1").await.unwrap_err();
    assert_eq!(error.kind(), "bad_response", "{error}");
    // After a DELETE the platform may have acted: look before doing anything else.
    let error = client.cancel_investment("i1").await.unwrap_err();
    assert_eq!(error.kind(), "ambiguous", "{error}");
    assert_eq!(parse_errors(&metrics), 2);
}

#[tokio::test]
async fn no_cash_balance_is_reported() {
    let server = Server::new_async().await;
    let (client, _) = client(&server);
    assert_eq!(client.available_cash().await.unwrap(), None);
    assert_eq!(client.id().as_str(), "fa");
    assert_eq!(client.kind(), PlatformKind::FundAmerica);
}

// ---------------------------------------------------------------- sizing

/// The opportunities the client makes of `offerings` (one poll).
async fn polled(offerings: Vec<Value>) -> Vec<Opportunity> {
    let mut server = Server::new_async().await;
    offerings_mock(&mut server, 1, page(offerings, 1, false)).await;
    let (client, _) = client(&server);
    client.poll().await.unwrap()
}

fn equity_offering(id: &str, price: &str, min: Value, max: Value, increment: Value) -> Value {
    let mut offering = seed_offering_priced(price);
    offering["id"] = id.into();
    offering["min_investment_amount"] = min;
    offering["max_investment_amount"] = max;
    offering["investment_increment_amount"] = increment;
    offering
}

/// A sized amount and share count, or the rule that refused.
type Expected = Result<(Decimal, Option<u64>), &'static str>;

#[tokio::test]
async fn sizing_table_for_fundamerica_offerings() {
    let opportunities = polled(vec![
        // The seed's offering: every limit null, shares at $500.
        seed_offering_priced("500.0"),
        // The seed's "Example Create" limits: min 1000, max 25000, increment 1000.
        equity_offering(
            "eq-limits",
            "500.0",
            json!("1000"),
            json!("25000"),
            json!("1000"),
        ),
        // An increment that whole shares of $300 rarely meet.
        equity_offering("eq-odd", "300.0", Value::Null, Value::Null, json!("1000")),
        debt_offering("debt-null", Value::Null, Value::Null, Value::Null),
        debt_offering(
            "debt-limits",
            json!("1000.0"),
            json!("25000.0"),
            json!("1000.0"),
        ),
        debt_offering("debt-min", json!(5000), Value::Null, Value::Null),
    ])
    .await;
    let by_id = |id: &str| opportunities.iter().find(|o| o.id == id).unwrap().clone();
    let budget = BudgetRules::default();
    let platform = PlatformRules::default();
    let strategy = StrategyRules {
        name: "table".into(),
        ..StrategyRules::default()
    };
    let rules = Rules {
        budget: &budget,
        platform: &platform,
        strategy: &strategy,
    };
    let portfolio = PortfolioView::default();
    // (offering, requested, Ok((amount, shares)) or Err(rule))
    let table: [(&str, Decimal, Expected); 14] = [
        (
            "CXamBIvwRneFrQnh1CjFuw",
            dec!(1234.56),
            Ok((dec!(1000), Some(2))),
        ),
        (
            "CXamBIvwRneFrQnh1CjFuw",
            dec!(500),
            Ok((dec!(500), Some(1))),
        ),
        ("CXamBIvwRneFrQnh1CjFuw", dec!(499.99), Err("minimum")),
        ("eq-limits", dec!(30000), Ok((dec!(25000), Some(50)))),
        ("eq-limits", dec!(1999.99), Ok((dec!(1000), Some(2)))),
        ("eq-limits", dec!(999), Err("minimum")),
        ("eq-odd", dec!(3000), Ok((dec!(3000), Some(10)))),
        ("eq-odd", dec!(2000), Err("increment")),
        ("debt-null", dec!(1234.567), Ok((dec!(1234.56), None))),
        ("debt-null", dec!(0.01), Ok((dec!(0.01), None))),
        ("debt-limits", dec!(2500), Ok((dec!(2000), None))),
        ("debt-limits", dec!(26000), Ok((dec!(25000), None))),
        ("debt-limits", dec!(900), Err("minimum")),
        ("debt-min", dec!(4999.99), Err("minimum")),
    ];
    for (id, requested, expected) in table {
        let opportunity = by_id(id);
        let sized = sizing::size(requested, &opportunity, rules, &portfolio);
        match (expected, sized) {
            (Ok((amount, shares)), Ok(sized)) => {
                assert_eq!(
                    (sized.amount, sized.shares),
                    (amount, shares),
                    "{id} {requested}"
                );
                if let (Some(shares), Some(price)) = (sized.shares, opportunity.unit_price) {
                    assert_eq!(
                        Decimal::from(shares) * price,
                        sized.amount,
                        "{id}: whole shares"
                    );
                }
            }
            (Err(rule), Err(refusal)) => {
                assert_eq!(refusal.rule, rule, "{id} {requested}: {refusal}")
            }
            (expected, got) => panic!("{id} {requested}: expected {expected:?}, got {got:?}"),
        }
    }
}

// ---------------------------------------------------------------- shipped strategy

#[tokio::test]
async fn the_shipped_equity_strategy_buys_whole_shares_of_small_ticket_equity() {
    use autoinvest::strategy::{Strategy, StrategyAnswer};
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("strategies/fundamerica_equity.rhai");
    let strategy = Strategy::compile_file("fundamerica_equity.rhai", &path).unwrap();
    let opportunities = polled(vec![
        equity_offering("eq-25", "25.0", json!("250.0"), Value::Null, Value::Null),
        equity_offering(
            "eq-high-min",
            "25.0",
            json!("1000.0"),
            Value::Null,
            Value::Null,
        ),
        equity_offering("eq-dear", "750.0", Value::Null, Value::Null, Value::Null),
        debt_offering("debt", Value::Null, Value::Null, Value::Null),
    ])
    .await;
    let portfolio = PortfolioView::default();
    let answer = |id: &str| {
        let o = opportunities.iter().find(|o| o.id == id).unwrap();
        strategy.decide(o, &portfolio).unwrap()
    };
    assert_eq!(
        answer("eq-25"),
        StrategyAnswer::Buy {
            amount: dec!(500.00),
            reason: Some("equity at 25.0 a share".into()),
            slot: None
        }
    );
    let skipped = |id: &str| match answer(id) {
        StrategyAnswer::Skip { reason } => reason.unwrap_or_default(),
        other => panic!("{id}: expected a skip, got {other:?}"),
    };
    assert_eq!(skipped("eq-high-min"), "minimum 1000.0 is over 500.00");
    assert_eq!(skipped("eq-dear"), "one share costs 750.0, over 500.00");
    assert_eq!(skipped("debt"), "debt offering, not equity");

    let budget = BudgetRules::default();
    let platform = PlatformRules::default();
    let rules = Rules {
        budget: &budget,
        platform: &platform,
        strategy: &StrategyRules::default(),
    };
    let eq = opportunities.iter().find(|o| o.id == "eq-25").unwrap();
    let sized = sizing::size(dec!(500.00), eq, rules, &portfolio).unwrap();
    assert_eq!((sized.amount, sized.shares), (dec!(500.0), Some(20)));
}
