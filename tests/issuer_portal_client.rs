//! The issuer portal client against local fake servers (mockito; wiremock where a
//! delayed answer is needed): both authorization schemes, exact paths, queries and
//! JSON bodies, every sample answer of the seed documents (kept verbatim under
//! `tests/fixtures/issuer_portal/`), DRF paging and error bodies, token renewal and
//! logout, error classification, no hidden retries, no leaked secrets.

use autoinvest::opportunity::{OpportunityKind, PlatformId, PlatformKind, PurchaseMode};
use autoinvest::order::{IdempotencyKey, OrderIntent, OrderState, PlatformOrder};
use autoinvest::platform::issuer_portal::wire::{self, Investment, LoginResponse, Offering, Page};
use autoinvest::platform::issuer_portal::{IssuerPortalClient, IssuerPortalSettings, MAX_PAGES};
use autoinvest::platform::{ApprovedOrder, PlatformClient, PlatformError};
use autoinvest::secret::Secret;
use autoinvest::telemetry::Metrics;
use chrono::{DateTime, Duration as ChronoDuration, Utc};
use mockito::{Matcher, Mock, Server, ServerGuard};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

const API_KEY: &str = "ak-distinctive-offering-key";
const EMAIL: &str = "partner@example.com";
const PASSWORD: &str = "hunter2-distinctive-password";
const INVESTOR: u64 = 7;

const SEED_LOGIN_REQUEST: &str = include_str!("fixtures/issuer_portal/login_request.json");
const SEED_LOGIN_RESPONSE: &str = include_str!("fixtures/issuer_portal/login_response.json");
const SEED_OFFERINGS_PAGE: &str = include_str!("fixtures/issuer_portal/offerings_page.json");
const SEED_OFFERING: &str = include_str!("fixtures/issuer_portal/offering.json");
const SEED_INVESTMENT_REQUEST: &str =
    include_str!("fixtures/issuer_portal/investment_request.json");
const SEED_INVESTMENT_CREATED: &str =
    include_str!("fixtures/issuer_portal/investment_created.json");
const SEED_THIRD_PARTY_PAGE: &str =
    include_str!("fixtures/issuer_portal/third_party_investments_page.json");
const SEED_THIRD_PARTY_INVESTMENT: &str =
    include_str!("fixtures/issuer_portal/third_party_investment.json");
const SEED_ISSUER_INVESTMENTS_PAGE: &str =
    include_str!("fixtures/issuer_portal/issuer_investments_page.json");
const SEED_ISSUER_INVESTMENT: &str = include_str!("fixtures/issuer_portal/issuer_investment.json");

fn settings(base_url: &str) -> IssuerPortalSettings {
    IssuerPortalSettings {
        id: PlatformId::new("ip"),
        base_url: base_url.to_string(),
        api_key: Secret::new(API_KEY),
        email: Secret::new(EMAIL),
        password: Secret::new(PASSWORD),
        investor_id: INVESTOR,
        payment_method: "wire".to_string(),
        max_posts_per_second: NonZeroU32::new(100).unwrap(),
        max_gets_per_second: NonZeroU32::new(1_000).unwrap(),
        request_timeout: Duration::from_secs(5),
    }
}

fn client(server: &ServerGuard) -> (IssuerPortalClient, Arc<Metrics>) {
    let metrics = Metrics::new();
    let client = IssuerPortalClient::new(settings(&server.url()), metrics.clone()).unwrap();
    (client, metrics)
}

/// An intent for `shares` whole shares of `offering` at `unit_price`.
fn intent(offering: &str, shares: Option<u64>, amount: Decimal) -> OrderIntent {
    let platform = PlatformId::new("ip");
    let now = Utc::now();
    OrderIntent {
        key: IdempotencyKey::derive(&platform, "reg-cf", offering, "once"),
        platform,
        strategy: "reg-cf".into(),
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
    }
}

fn order(offering: &str, shares: u64, unit_price: Decimal) -> ApprovedOrder {
    ApprovedOrder {
        intent: intent(offering, Some(shares), Decimal::from(shares) * unit_price),
    }
}

fn expiry_in(lifetime: ChronoDuration) -> String {
    (Utc::now() + lifetime).to_rfc3339()
}

/// A login that checks the exact body and headers and answers `token`; expected once.
async fn login_mock(server: &mut ServerGuard, token: &str) -> Mock {
    server
        .mock("POST", "/api_third_party/auth/login/")
        .match_header("content-type", "application/json")
        .match_header("authorization", format!("Api-Key {API_KEY}").as_str())
        .match_body(Matcher::Json(json!({"email": EMAIL, "password": PASSWORD})))
        .with_status(200)
        .with_header("content-type", "application/json")
        .with_body(
            json!({"token": token, "expiry": expiry_in(ChronoDuration::hours(10))}).to_string(),
        )
        .expect(1)
        .create_async()
        .await
}

/// A login that hands out "tok-1", "tok-2", … on successive calls.
async fn counting_login_mock(server: &mut ServerGuard, expected_logins: usize) -> Mock {
    let logins = AtomicUsize::new(0);
    server
        .mock("POST", "/api_third_party/auth/login/")
        .with_status(200)
        .with_header("content-type", "application/json")
        .with_body_from_request(move |_| {
            let n = logins.fetch_add(1, Ordering::SeqCst) + 1;
            json!({"token": format!("tok-{n}"), "expiry": expiry_in(ChronoDuration::hours(10))})
                .to_string()
                .into_bytes()
        })
        .expect(expected_logins)
        .create_async()
        .await
}

fn requests(metrics: &Metrics, method: &str, status: &str) -> u64 {
    metrics
        .http_requests_total
        .with_label_values(&["ip", method, status])
        .get()
}

fn parse_errors(metrics: &Metrics) -> u64 {
    metrics.parse_errors_total.with_label_values(&["ip"]).get()
}

fn assert_no_secret(error: &PlatformError) {
    let shown = format!("{error} {error:?}");
    for secret in [PASSWORD, "hunter2", API_KEY, EMAIL] {
        assert!(!shown.contains(secret), "{secret} leaked: {shown}");
    }
}

/// The seed's offering with usable figures in place of its `"text"` placeholders.
fn offering(id: u64, overrides: Value) -> Value {
    let mut offering: Value = serde_json::from_str(SEED_OFFERING).unwrap();
    offering["id"] = id.into();
    offering["status"] = "opened".into();
    offering["type"] = "reg_cf".into();
    offering["archived"] = false.into();
    offering["name"] = format!("Offering {id}").into();
    offering["unit_price"] = "12.50".into();
    offering["min_investment_amount"] = "100.00".into();
    offering["max_investment_amount"] = "5000.00".into();
    offering["investment_increment_amount"] = "25.00".into();
    offering["maximum_amount_raised"] = "1070000.00".into();
    offering["minimum_amount_raised"] = "10000.00".into();
    offering["administrative_fees"] = "0.00".into();
    offering["reg_cf_fee_percentage"] = "5.00".into();
    for (key, value) in overrides.as_object().unwrap() {
        offering[key] = value.clone();
    }
    offering
}

fn page(results: Vec<Value>, next: Option<String>) -> String {
    json!({"count": results.len(), "next": next, "previous": null, "results": results}).to_string()
}

/// The seed's third-party investment list entry with usable figures.
fn listed_investment(
    id: u64,
    offering: u64,
    investor: u64,
    quantity: u64,
    created_at: &str,
) -> Value {
    let seed: Value = serde_json::from_str(SEED_THIRD_PARTY_PAGE).unwrap();
    let mut entry = seed["results"][0].clone();
    entry["id"] = id.into();
    entry["offering"]["id"] = offering.into();
    entry["investor"]["id"] = investor.into();
    entry["quantity"] = quantity.into();
    entry["created_at"] = created_at.into();
    entry["status"] = "received".into();
    entry
}

// ---------------------------------------------------------------- seed samples

#[test]
fn every_seed_sample_answer_parses_into_the_wire_types() {
    let login: LoginResponse = serde_json::from_str(SEED_LOGIN_RESPONSE).unwrap();
    assert_eq!(login.token, "text");
    assert_eq!(
        login.expires_at(),
        Some("2025-07-25T14:28:10.580Z".parse::<DateTime<Utc>>().unwrap())
    );

    let offerings: Page = serde_json::from_str(SEED_OFFERINGS_PAGE).unwrap();
    assert_eq!(offerings.count, Some(123));
    assert_eq!(
        offerings.next.as_deref(),
        Some("http://api.example.org/accounts/?page=4")
    );
    assert_eq!(
        offerings.previous.as_deref(),
        Some("http://api.example.org/accounts/?page=2")
    );
    let entry: Offering = serde_json::from_value(offerings.results[0].clone()).unwrap();
    assert_eq!(
        (entry.id.as_str(), entry.status.as_str()),
        ("1", "incomplete")
    );
    assert_eq!(entry.offering_type.as_deref(), Some("reg_a"));
    let detail: Offering = serde_json::from_str(SEED_OFFERING).unwrap();
    assert!(
        !detail.is_buyable(),
        "an incomplete offering is not buyable"
    );

    let created: Investment = serde_json::from_str(SEED_INVESTMENT_CREATED).unwrap();
    assert_eq!(
        (
            created.id.as_str(),
            created.offering.as_str(),
            created.investor.as_deref()
        ),
        ("1", "1", Some("1"))
    );
    assert_eq!(
        (created.quantity, created.status.as_deref()),
        (Some(1), None)
    );

    for text in [SEED_THIRD_PARTY_PAGE, SEED_ISSUER_INVESTMENTS_PAGE] {
        let page: Page = serde_json::from_str(text).unwrap();
        let investment: Investment = serde_json::from_value(page.results[0].clone()).unwrap();
        assert_eq!(
            (investment.id.as_str(), investment.offering.as_str()),
            ("1", "1")
        );
        assert_eq!(investment.status.as_deref(), Some("started"));
        assert_eq!(investment.investor.as_deref(), Some("1"));
    }
    for text in [SEED_THIRD_PARTY_INVESTMENT, SEED_ISSUER_INVESTMENT] {
        let investment: Investment = serde_json::from_str(text).unwrap();
        assert_eq!(
            (investment.offering.as_str(), investment.quantity),
            ("1", Some(1))
        );
        let order = investment.to_platform_order(dec!(10)).unwrap();
        assert_eq!(
            order,
            PlatformOrder {
                order_id: "1".into(),
                opportunity_id: "1".into(),
                amount: dec!(10),
                status: "started".into(),
            }
        );
    }
}

#[test]
fn the_seed_offerings_placeholder_figures_are_refused_by_name() {
    let mut opened: Value = serde_json::from_str(SEED_OFFERING).unwrap();
    opened["status"] = "opened".into();
    opened["archived"] = false.into();
    let parsed: Offering = serde_json::from_value(opened).unwrap();
    assert!(parsed.is_buyable());
    let error = parsed.to_opportunity(&PlatformId::new("ip")).unwrap_err();
    assert_eq!(error.id, "1");
    assert!(error.reason.contains("unit_price"), "{error}");
}

#[test]
fn an_offering_maps_to_an_opportunity_exactly() {
    let parsed: Offering = serde_json::from_value(offering(42, json!({}))).unwrap();
    let o = parsed.to_opportunity(&PlatformId::new("ip")).unwrap();
    assert_eq!(o.platform.as_str(), "ip");
    assert_eq!(o.platform_kind, PlatformKind::IssuerPortal);
    assert_eq!(o.id, "42");
    assert_eq!(o.kind, OpportunityKind::Offering);
    assert_eq!(o.purchase, PurchaseMode::Fractional);
    assert_eq!(o.name.as_deref(), Some("Offering 42"));
    assert_eq!(o.asset_class.as_deref(), Some("reg_cf"));
    assert_eq!(o.status, "opened");
    assert_eq!(o.unit_price, Some(dec!(12.50)));
    assert_eq!(o.min_investment, Some(dec!(100.00)));
    assert_eq!(o.max_investment, Some(dec!(5000.00)));
    assert_eq!(o.increment, Some(dec!(25.00)));
    assert_eq!(o.amount, Some(dec!(1070000.00)));
    assert_eq!(o.remaining, None, "the seed gives no amount raised");
    assert_eq!((o.grade.clone(), o.rate, o.term_months), (None, None, None));
    assert_eq!(
        o.listed_at.unwrap().to_rfc3339(),
        "2025-07-25T20:29:23.787+00:00"
    );
    assert_eq!(o.extra["type"], "reg_cf");
    assert_eq!(o.extra["security_type"], "text");
    assert_eq!(o.extra["accredited_investors"], true);
    assert_eq!(o.extra["non_accredited_investors"], true);
    assert_eq!(o.extra["reg_cf_fee_percentage"], "5.00");
    assert_eq!(o.extra["deadline_date"], "2025-07-25");
    assert_eq!(o.extra["investors_included_countries"], json!(["US"]));
    assert_eq!(o.extra["issuer"], 1);
    // Numbers are accepted as well as strings, exactly; null limits stay None.
    let numeric = offering(
        43,
        json!({"unit_price": serde_json::from_str::<Value>("0.1").unwrap(),
               "min_investment_amount": null, "max_investment_amount": null,
               "investment_increment_amount": null, "maximum_amount_raised": null}),
    );
    let o = serde_json::from_value::<Offering>(numeric)
        .unwrap()
        .to_opportunity(&PlatformId::new("ip"))
        .unwrap();
    assert_eq!(o.unit_price, Some(dec!(0.1)));
    assert_eq!(
        (o.min_investment, o.max_investment, o.increment, o.amount),
        (None, None, None, None)
    );
    assert!(!o.extra.contains_key("maximum_amount_raised"));
}

#[test]
fn our_investment_body_uses_only_keys_of_the_seed_request() {
    let seed: Value = serde_json::from_str(SEED_INVESTMENT_REQUEST).unwrap();
    let body = wire::investment_body(3, "17", INVESTOR, "wire");
    for (key, value) in body.as_object().unwrap() {
        let sample = &seed[key];
        assert!(!sample.is_null(), "{key} is not in the seed's request");
        assert_eq!(
            std::mem::discriminant(sample),
            std::mem::discriminant(value),
            "{key}: JSON type differs from the seed's"
        );
    }
    let login: Value = serde_json::from_str(SEED_LOGIN_REQUEST).unwrap();
    let ours = wire::login_body(&Secret::new(EMAIL), &Secret::new(PASSWORD));
    let keys = |value: &Value| {
        value
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect::<BTreeSet<_>>()
    };
    assert_eq!(keys(&ours), keys(&login));
}

// ---------------------------------------------------------------- offerings

#[tokio::test]
async fn poll_sends_the_api_key_follows_next_and_keeps_only_buyable_usable_offerings() {
    let mut server = Server::new_async().await;
    // DRF builds `next` from its own idea of the host: only its query is used, and
    // the request still goes to the configured base URL.
    let next = "https://elsewhere.example/api/offerings/?page=2&page_size=100&status=opened";
    let first = server
        .mock("GET", "/api/offerings/")
        .match_query(Matcher::Exact("status=opened&page_size=100".into()))
        .match_header("authorization", format!("Api-Key {API_KEY}").as_str())
        .match_header(
            "user-agent",
            Matcher::Regex(r"^autoinvest/\d+\.\d+\.\d+$".into()),
        )
        .with_status(200)
        .with_header("content-type", "application/json")
        .with_body(page(
            vec![
                offering(1, json!({})),
                offering(2, json!({"status": "closed"})),
                offering(3, json!({"type": "test_the_waters"})),
                offering(4, json!({"archived": true})),
                offering(5, json!({"unit_price": "text"})),
                json!({"id": "", "status": "opened"}),
            ],
            Some(next.into()),
        ))
        .expect(1)
        .create_async()
        .await;
    let second = server
        .mock("GET", "/api/offerings/")
        .match_query(Matcher::Exact("page=2&page_size=100&status=opened".into()))
        .match_header("authorization", format!("Api-Key {API_KEY}").as_str())
        .with_status(200)
        .with_body(page(
            vec![
                offering(6, json!({"unit_price": null})),
                offering(
                    7,
                    json!({"min_investment_amount": "900", "max_investment_amount": "100"}),
                ),
                offering(
                    8,
                    json!({"type": "reg_a", "investment_increment_amount": null}),
                ),
                offering(1, json!({})),
            ],
            None,
        ))
        .expect(1)
        .create_async()
        .await;
    let (client, metrics) = client(&server);

    let opportunities = client.poll().await.unwrap();

    first.assert_async().await;
    second.assert_async().await;
    let ids: Vec<&str> = opportunities.iter().map(|o| o.id.as_str()).collect();
    assert_eq!(
        ids,
        vec!["1", "8"],
        "closed, test-the-waters, archived and unusable left out"
    );
    assert_eq!(opportunities[1].asset_class.as_deref(), Some("reg_a"));
    assert_eq!(opportunities[1].increment, None);
    // The bad id, "text" unit price, no unit price, min above max.
    assert_eq!(parse_errors(&metrics), 4);
    assert_eq!(client.kind(), PlatformKind::IssuerPortal);
    assert_eq!(client.id().as_str(), "ip");
}

#[tokio::test]
async fn a_next_link_naming_the_page_just_read_fails_the_poll() {
    let mut server = Server::new_async().await;
    server
        .mock("GET", "/api/offerings/")
        .match_query(Matcher::Any)
        .with_status(200)
        .with_body(page(
            vec![offering(1, json!({}))],
            Some("http://x/api/offerings/?status=opened&page_size=100".into()),
        ))
        .expect(1)
        .create_async()
        .await;
    let (client, _) = client(&server);

    let error = client.poll().await.unwrap_err();

    assert!(
        matches!(error, PlatformError::BadResponse { .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn paging_is_capped_when_next_never_ends() {
    let mut server = Server::new_async().await;
    let pages = AtomicUsize::new(0);
    let mock = server
        .mock("GET", "/api/offerings/")
        .match_query(Matcher::Any)
        .with_status(200)
        .with_body_from_request(move |_| {
            let n = pages.fetch_add(1, Ordering::SeqCst) + 2;
            page(vec![], Some(format!("/api/offerings/?page={n}"))).into_bytes()
        })
        .expect(MAX_PAGES)
        .create_async()
        .await;
    let (client, _) = client(&server);

    assert!(client.poll().await.unwrap().is_empty());
    mock.assert_async().await;
}

#[tokio::test]
async fn a_refused_api_key_is_an_auth_error() {
    for (status, body) in [
        (
            403,
            r#"{"detail": "You do not have permission to perform this action."}"#,
        ),
        (
            401,
            r#"{"detail": "Authentication credentials were not provided."}"#,
        ),
    ] {
        let mut server = Server::new_async().await;
        server
            .mock("GET", "/api/offerings/")
            .match_query(Matcher::Any)
            .with_status(status)
            .with_header("content-type", "application/json")
            .with_body(body)
            .expect(1)
            .create_async()
            .await;
        let (client, _) = client(&server);

        let error = client.poll().await.unwrap_err();

        assert!(
            matches!(error, PlatformError::Auth { .. }),
            "{status}: {error:?}"
        );
        let detail = serde_json::from_str::<Value>(body).unwrap()["detail"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(error.to_string().contains(&detail), "{error}");
        assert_no_secret(&error);
    }
}

#[tokio::test]
async fn an_html_502_or_malformed_page_fails_the_poll_without_panicking() {
    let mut server = Server::new_async().await;
    let html = server
        .mock("GET", "/api/offerings/")
        .match_query(Matcher::Any)
        .with_status(502)
        .with_header("content-type", "text/html")
        .with_body("<html><body><h1>502 Bad Gateway</h1></body></html>")
        .expect(1)
        .create_async()
        .await;
    let (client, metrics) = client(&server);
    let error = client.poll().await.unwrap_err();
    html.assert_async().await;
    assert!(
        matches!(error, PlatformError::Connectivity { .. }),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("HTML error page (502)"),
        "{error}"
    );

    html.remove_async().await;
    server
        .mock("GET", "/api/offerings/")
        .match_query(Matcher::Any)
        .with_status(200)
        .with_body(r#"{"count": 1, "results": [{"id": 1"#)
        .create_async()
        .await;
    let error = client.poll().await.unwrap_err();
    assert!(
        matches!(error, PlatformError::BadResponse { .. }),
        "{error:?}"
    );
    assert_eq!(parse_errors(&metrics), 1);
}

// ---------------------------------------------------------------- investments

#[tokio::test]
async fn an_investment_logs_in_then_posts_whole_shares_with_the_token() {
    let mut server = Server::new_async().await;
    let login = login_mock(&mut server, "tok-abc").await;
    let mut answer: Value = serde_json::from_str(SEED_INVESTMENT_CREATED).unwrap();
    answer["id"] = 9001.into();
    answer["offering"] = 17.into();
    answer["investor"]["id"] = INVESTOR.into();
    answer["quantity"] = 8.into();
    let post = server
        .mock("POST", "/api_third_party/investments/")
        .match_query(Matcher::Exact(String::new()))
        .match_header("authorization", "Token tok-abc")
        .match_header("content-type", "application/json")
        .match_body(Matcher::Json(json!({
            "quantity": 8, "offering": 17, "investor": INVESTOR,
            "requested_payment_method": "wire"
        })))
        .with_status(201)
        .with_header("content-type", "application/json")
        .with_body(answer.to_string())
        .expect(2)
        .create_async()
        .await;
    let (client, metrics) = client(&server);

    let placed = client
        .place_order(&order("17", 8, dec!(12.50)))
        .await
        .unwrap();
    client
        .place_order(&order("17", 8, dec!(12.50)))
        .await
        .unwrap();

    login.assert_async().await;
    post.assert_async().await;
    assert_eq!(
        placed,
        PlatformOrder {
            order_id: "9001".into(),
            opportunity_id: "17".into(),
            amount: dec!(100.00),
            status: "started".into(),
        }
    );
    assert_eq!(requests(&metrics, "POST", "201"), 2);
    assert_eq!(requests(&metrics, "POST", "200"), 1, "one login");
}

#[tokio::test]
async fn an_intent_without_whole_shares_is_refused_without_sending() {
    let mut server = Server::new_async().await;
    let nothing = server
        .mock("POST", Matcher::Any)
        .expect(0)
        .create_async()
        .await;
    let (client, _) = client(&server);

    for shares in [None, Some(0)] {
        let error = client
            .place_order(&ApprovedOrder {
                intent: intent("17", shares, dec!(100)),
            })
            .await
            .unwrap_err();
        assert!(
            matches!(error, PlatformError::Rejected { status: 0, .. }),
            "{error:?}"
        );
        assert!(error.to_string().contains("whole shares"), "{error}");
    }
    nothing.assert_async().await;
}

#[tokio::test]
async fn drf_validation_errors_are_rejected_with_the_platforms_messages() {
    let mut server = Server::new_async().await;
    login_mock(&mut server, "tok-1").await;
    let (client, _) = client(&server);
    let cases = [
        (
            400,
            r#"{"quantity": ["The investment amount 50.00 is below the minimum investment amount of 100.00."]}"#,
            "below the minimum investment amount of 100.00",
        ),
        (
            400,
            r#"{"offering": ["This offering is not accepting investments."], "requested_payment_method": ["\"cash\" is not a valid choice."]}"#,
            "This offering is not accepting investments.",
        ),
        (404, r#"{"detail": "Not found."}"#, "Not found."),
        (
            403,
            r#"{"detail": "You do not have permission to perform this action."}"#,
            "permission",
        ),
    ];
    for (status, body, expected) in cases {
        let post = server
            .mock("POST", "/api_third_party/investments/")
            .with_status(status)
            .with_header("content-type", "application/json")
            .with_body(body)
            .expect(1)
            .create_async()
            .await;

        let error = client
            .place_order(&order("17", 4, dec!(12.50)))
            .await
            .unwrap_err();

        post.assert_async().await;
        post.remove_async().await;
        match &error {
            PlatformError::Rejected {
                status: got,
                message,
                ..
            } => {
                assert_eq!(usize::from(*got), status);
                assert!(message.contains(expected), "{message}");
            }
            other => panic!("{status}: expected Rejected, got {other:?}"),
        }
        assert!(!error.order_outcome_unknown());
    }
}

#[tokio::test]
async fn a_401_on_an_investment_post_logs_in_again_and_resends_once() {
    let mut server = Server::new_async().await;
    let logins = counting_login_mock(&mut server, 2).await;
    let refused = server
        .mock("POST", "/api_third_party/investments/")
        .match_header("authorization", "Token tok-1")
        .with_status(401)
        .with_header("www-authenticate", "Token")
        .with_body(r#"{"detail": "Invalid token."}"#)
        .expect(1)
        .create_async()
        .await;
    let accepted = server
        .mock("POST", "/api_third_party/investments/")
        .match_header("authorization", "Token tok-2")
        .with_status(201)
        .with_body(
            json!({"id": 5, "quantity": 4, "offering": 17, "investor": {"id": INVESTOR}})
                .to_string(),
        )
        .expect(1)
        .create_async()
        .await;
    let (client, _) = client(&server);

    let placed = client
        .place_order(&order("17", 4, dec!(12.50)))
        .await
        .unwrap();

    logins.assert_async().await;
    refused.assert_async().await;
    accepted.assert_async().await;
    assert_eq!(placed.amount, dec!(50.00));
}

#[tokio::test]
async fn a_second_401_is_an_auth_error() {
    let mut server = Server::new_async().await;
    counting_login_mock(&mut server, 2).await;
    let post = server
        .mock("POST", "/api_third_party/investments/")
        .with_status(401)
        .with_body(r#"{"detail": "Invalid token."}"#)
        .expect(2)
        .create_async()
        .await;
    let (client, _) = client(&server);

    let error = client
        .place_order(&order("17", 4, dec!(12.50)))
        .await
        .unwrap_err();

    post.assert_async().await;
    assert!(matches!(error, PlatformError::Auth { .. }), "{error:?}");
    assert!(error.to_string().contains("Invalid token."), "{error}");
}

#[tokio::test]
async fn a_refused_login_is_auth_and_never_shows_the_credentials() {
    let mut server = Server::new_async().await;
    server
        .mock("POST", "/api_third_party/auth/login/")
        .with_status(400)
        .with_header("content-type", "application/json")
        .with_body(format!(
            r#"{{"non_field_errors": ["Unable to log in with provided credentials."], "email": ["{EMAIL}"], "password": ["{PASSWORD}"]}}"#
        ))
        .expect(1)
        .create_async()
        .await;
    let post = server
        .mock("POST", "/api_third_party/investments/")
        .expect(0)
        .create_async()
        .await;
    let (client, _) = client(&server);

    let error = client
        .place_order(&order("17", 4, dec!(12.50)))
        .await
        .unwrap_err();

    post.assert_async().await;
    assert!(matches!(error, PlatformError::Auth { .. }), "{error:?}");
    assert!(error.to_string().contains("Unable to log in"), "{error}");
    assert_no_secret(&error);
}

#[tokio::test]
async fn a_token_near_its_expiry_is_renewed_before_the_next_request() {
    let mut server = Server::new_async().await;
    // Already expired: every request needs a fresh login first.
    let login = server
        .mock("POST", "/api_third_party/auth/login/")
        .with_status(200)
        .with_body(
            json!({"token": "short", "expiry": expiry_in(-ChronoDuration::seconds(1))}).to_string(),
        )
        .expect(2)
        .create_async()
        .await;
    let lookups = server
        .mock("GET", "/api_third_party/investments/")
        .match_query(Matcher::Any)
        .match_header("authorization", "Token short")
        .with_status(200)
        .with_body(page(vec![], None))
        .expect(2)
        .create_async()
        .await;
    let (client, _) = client(&server);
    let lookup = intent("17", Some(4), dec!(50));

    client.find_orders(&lookup).await.unwrap();
    client.find_orders(&lookup).await.unwrap();

    login.assert_async().await;
    lookups.assert_async().await;
}

#[tokio::test]
async fn a_500_or_an_unreadable_answer_to_an_investment_post_is_ambiguous_and_sent_once() {
    let cases: [(usize, &str); 3] = [
        (500, r#"{"detail": "A server error occurred."}"#),
        (201, r#"{"id": 5, "quantity": 4, "offe"#),
        (
            201,
            r#"{"id": 5, "quantity": 4, "offering": 99, "investor": {"id": 7}}"#,
        ),
    ];
    for (status, body) in cases {
        let mut server = Server::new_async().await;
        login_mock(&mut server, "tok-1").await;
        let post = server
            .mock("POST", "/api_third_party/investments/")
            .with_status(status)
            .with_body(body)
            .expect(1)
            .create_async()
            .await;
        let (client, _) = client(&server);

        let error = client
            .place_order(&order("17", 4, dec!(12.50)))
            .await
            .unwrap_err();

        post.assert_async().await;
        assert!(
            matches!(error, PlatformError::Ambiguous { .. }),
            "{body}: {error:?}"
        );
        assert!(error.order_outcome_unknown());
    }
}

#[tokio::test]
async fn an_answer_for_another_investor_is_ambiguous() {
    let mut server = Server::new_async().await;
    login_mock(&mut server, "tok-1").await;
    server
        .mock("POST", "/api_third_party/investments/")
        .with_status(201)
        .with_body(
            json!({"id": 5, "quantity": 4, "offering": 17, "investor": {"id": 8}}).to_string(),
        )
        .expect(1)
        .create_async()
        .await;
    let (client, _) = client(&server);

    let error = client
        .place_order(&order("17", 4, dec!(12.50)))
        .await
        .unwrap_err();

    assert!(
        matches!(error, PlatformError::Ambiguous { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("investor 8"), "{error}");
}

#[tokio::test]
async fn a_timeout_on_an_investment_post_is_ambiguous_and_not_retried() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock as WireMock, MockServer, ResponseTemplate};

    let server = MockServer::start().await;
    WireMock::given(method("POST"))
        .and(path("/api_third_party/auth/login/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"token": "tok-1", "expiry": expiry_in(ChronoDuration::hours(1))}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    WireMock::given(method("POST"))
        .and(path("/api_third_party/investments/"))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_raw(SEED_INVESTMENT_CREATED, "application/json")
                .set_delay(Duration::from_secs(3)),
        )
        .expect(1)
        .mount(&server)
        .await;
    let metrics = Metrics::new();
    let mut short = settings(&server.uri());
    short.request_timeout = Duration::from_millis(300);
    let client = IssuerPortalClient::new(short, metrics.clone()).unwrap();

    let error = client
        .place_order(&order("1", 1, dec!(10)))
        .await
        .unwrap_err();

    assert!(
        matches!(error, PlatformError::Ambiguous { .. }),
        "{error:?}"
    );
    assert_eq!(requests(&metrics, "POST", "timeout"), 1);
    server.verify().await;
}

#[tokio::test]
async fn a_refused_connection_is_connectivity_for_reads_and_investments() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let client = IssuerPortalClient::new(
        settings(&format!("http://127.0.0.1:{port}")),
        Metrics::new(),
    )
    .unwrap();

    let poll = client.poll().await.unwrap_err();
    assert!(
        matches!(poll, PlatformError::Connectivity { .. }),
        "{poll:?}"
    );
    let post = client
        .place_order(&order("1", 1, dec!(10)))
        .await
        .unwrap_err();
    assert!(
        matches!(post, PlatformError::Connectivity { .. }),
        "{post:?}"
    );
    assert!(!post.order_outcome_unknown());
    assert_no_secret(&post);
}

// ---------------------------------------------------------------- reconciliation

#[tokio::test]
async fn find_orders_asks_for_the_offering_and_investor_and_keeps_only_what_could_be_ours() {
    let mut server = Server::new_async().await;
    login_mock(&mut server, "tok-1").await;
    let lookup = intent("17", Some(4), dec!(50.00));
    let after = (lookup.created_at + ChronoDuration::seconds(2)).to_rfc3339();
    let long_before = (lookup.created_at - ChronoDuration::hours(2)).to_rfc3339();
    let slightly_before = (lookup.created_at - ChronoDuration::minutes(2)).to_rfc3339();
    let first = server
        .mock("GET", "/api_third_party/investments/")
        .match_query(Matcher::Exact(format!("offering=17&investor={INVESTOR}&page_size=100")))
        .match_header("authorization", "Token tok-1")
        .with_status(200)
        .with_body(page(
            vec![
                listed_investment(1, 17, INVESTOR, 4, &after),
                // Made by hand before the intent existed: never this intent's.
                listed_investment(2, 17, INVESTOR, 4, &long_before),
                // Another investor or offering (filters the server ignored).
                listed_investment(3, 17, 8, 4, &after),
                listed_investment(4, 18, INVESTOR, 4, &after),
            ],
            Some(format!("http://other.example/api_third_party/investments/?offering=17&investor={INVESTOR}&page=2")),
        ))
        .expect(1)
        .create_async()
        .await;
    let second = server
        .mock("GET", "/api_third_party/investments/")
        .match_query(Matcher::Exact(format!(
            "offering=17&investor={INVESTOR}&page=2"
        )))
        .match_header("authorization", "Token tok-1")
        .with_status(200)
        .with_body(page(
            vec![listed_investment(5, 17, INVESTOR, 2, &slightly_before)],
            None,
        ))
        .expect(1)
        .create_async()
        .await;
    let (client, _) = client(&server);

    let found = client.find_orders(&lookup).await.unwrap();

    first.assert_async().await;
    second.assert_async().await;
    let summary: Vec<(String, Decimal, String)> = found
        .into_iter()
        .map(|o| (o.order_id, o.amount, o.status))
        .collect();
    assert_eq!(
        summary,
        vec![
            ("1".to_string(), dec!(50.00), "received".to_string()),
            ("5".to_string(), dec!(25.00), "received".to_string()),
        ]
    );
}

#[tokio::test]
async fn a_row_that_cannot_be_read_fails_the_lookup_instead_of_hiding_an_investment() {
    let now = Utc::now().to_rfc3339();
    let mut no_investor = listed_investment(1, 17, INVESTOR, 4, &now);
    no_investor.as_object_mut().unwrap().remove("investor");
    let mut no_quantity = listed_investment(1, 17, INVESTOR, 4, &now);
    no_quantity["quantity"] = Value::Null;
    for row in [json!({"id": 1, "offering": null}), no_investor, no_quantity] {
        let mut server = Server::new_async().await;
        login_mock(&mut server, "tok-1").await;
        server
            .mock("GET", "/api_third_party/investments/")
            .match_query(Matcher::Any)
            .with_status(200)
            .with_body(page(vec![row.clone()], None))
            .create_async()
            .await;
        let (client, _) = client(&server);

        let error = client
            .find_orders(&intent("17", Some(4), dec!(50)))
            .await
            .unwrap_err();

        assert!(
            matches!(error, PlatformError::BadResponse { .. }),
            "{row}: {error:?}"
        );
    }
}

#[tokio::test]
async fn an_intent_without_shares_was_never_sent_so_nothing_is_looked_up() {
    let mut server = Server::new_async().await;
    let nothing = server
        .mock("GET", Matcher::Any)
        .expect(0)
        .create_async()
        .await;
    let (client, _) = client(&server);

    let found = client
        .find_orders(&intent("17", None, dec!(50)))
        .await
        .unwrap();

    assert!(found.is_empty());
    nothing.assert_async().await;
}

// ---------------------------------------------------------------- logout and the rest

#[tokio::test]
async fn logout_ends_the_session_with_its_token_once() {
    let mut server = Server::new_async().await;
    login_mock(&mut server, "tok-1").await;
    server
        .mock("GET", "/api_third_party/investments/")
        .match_query(Matcher::Any)
        .with_status(200)
        .with_body(page(vec![], None))
        .create_async()
        .await;
    let logout = server
        .mock("POST", "/api_third_party/auth/logout/")
        .match_header("authorization", "Token tok-1")
        .with_status(204)
        .expect(1)
        .create_async()
        .await;
    let (client, _) = client(&server);

    client.logout().await.unwrap();
    client
        .find_orders(&intent("17", Some(4), dec!(50)))
        .await
        .unwrap();
    client.logout().await.unwrap();
    client.logout().await.unwrap();

    logout.assert_async().await;
}

#[tokio::test]
async fn logout_with_a_token_the_platform_already_forgot_succeeds_and_other_failures_show() {
    for (status, ok) in [(401, true), (500, false)] {
        let mut server = Server::new_async().await;
        login_mock(&mut server, "tok-1").await;
        server
            .mock("GET", "/api_third_party/investments/")
            .match_query(Matcher::Any)
            .with_status(200)
            .with_body(page(vec![], None))
            .create_async()
            .await;
        server
            .mock("POST", "/api_third_party/auth/logout/")
            .with_status(status)
            .with_body(r#"{"detail": "Invalid token."}"#)
            .expect(1)
            .create_async()
            .await;
        let (client, _) = client(&server);
        client
            .find_orders(&intent("17", Some(4), dec!(50)))
            .await
            .unwrap();

        assert_eq!(client.logout().await.is_ok(), ok, "{status}");
    }
}

#[tokio::test]
async fn the_platform_reports_no_cash_and_debug_output_hides_the_credentials() {
    let server = Server::new_async().await;
    let (client, _) = client(&server);
    assert_eq!(client.available_cash().await.unwrap(), None);
    let shown = format!("{client:?} {:?}", settings("http://x"));
    for secret in [API_KEY, PASSWORD, EMAIL] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
}

#[test]
fn an_invalid_base_url_is_refused_at_construction() {
    for base in [
        "not a url",
        "mailto:someone@example.com",
        "ftp://example.com",
    ] {
        let error = IssuerPortalClient::new(settings(base), Metrics::new()).unwrap_err();
        assert!(
            matches!(error, PlatformError::Connectivity { .. }),
            "{base}: {error:?}"
        );
    }
}

// ---------------------------------------------------------------- sizing

/// Offerings the client mapped from the seed's offering, sized through the one
/// sizing path: whole shares, the increment, null limits, fractional-cent prices.
#[test]
fn sizing_table_for_offerings_in_whole_shares() {
    use autoinvest::portfolio::Portfolio;
    use autoinvest::sizing::{size, BudgetRules, PlatformRules, Rules, StrategyRules};

    // (unit_price, min, max, increment, requested) → Ok((amount, shares)) or Err(rule)
    type Case = (
        &'static str,
        Value,
        Value,
        Value,
        Decimal,
        Result<(Decimal, u64), &'static str>,
    );
    let null = Value::Null;
    let cases: Vec<Case> = vec![
        (
            "12.50",
            json!("100.00"),
            json!("5000.00"),
            json!("25.00"),
            dec!(130),
            Ok((dec!(125.00), 10)),
        ),
        (
            "12.50",
            null.clone(),
            null.clone(),
            null.clone(),
            dec!(130),
            Ok((dec!(125.00), 10)),
        ),
        (
            "12.50",
            json!("100.00"),
            null.clone(),
            null.clone(),
            dec!(99.99),
            Err("minimum"),
        ),
        (
            "0.50",
            null.clone(),
            json!("1000.00"),
            null.clone(),
            dec!(2500),
            Ok((dec!(1000.00), 2000)),
        ),
        (
            "12.75",
            null.clone(),
            null.clone(),
            null.clone(),
            dec!(100),
            Ok((dec!(89.25), 7)),
        ),
        // 7 shares make 89.25, not a multiple of $25: refused, never rounded up.
        (
            "12.75",
            null.clone(),
            null.clone(),
            json!("25.00"),
            dec!(100),
            Err("increment"),
        ),
        (
            "12.75",
            null.clone(),
            null.clone(),
            json!("25.50"),
            dec!(100),
            Ok((dec!(76.50), 6)),
        ),
        (
            "1000.00",
            null.clone(),
            null.clone(),
            null.clone(),
            dec!(999.99),
            Err("minimum"),
        ),
        (
            "3.333",
            null.clone(),
            null.clone(),
            null.clone(),
            dec!(100),
            Ok((dec!(99.990), 30)),
        ),
        (
            "0.333",
            null.clone(),
            null.clone(),
            null.clone(),
            dec!(1),
            Err("increment"),
        ),
        (
            "10.00",
            json!("50.00"),
            json!("50.00"),
            null.clone(),
            dec!(1000),
            Ok((dec!(50.00), 5)),
        ),
    ];
    let budget = BudgetRules::default();
    let platform = PlatformRules::default();
    let strategy = StrategyRules {
        name: "reg-cf".into(),
        ..StrategyRules::default()
    };
    let rules = Rules {
        budget: &budget,
        platform: &platform,
        strategy: &strategy,
    };
    let portfolio = Portfolio::new(None);
    for (price, min, max, increment, requested, expected) in cases {
        let json = offering(
            1,
            json!({"unit_price": price, "min_investment_amount": min,
                   "max_investment_amount": max, "investment_increment_amount": increment}),
        );
        let opportunity = serde_json::from_value::<Offering>(json)
            .unwrap()
            .to_opportunity(&PlatformId::new("ip"))
            .unwrap();
        let sized = size(requested, &opportunity, rules, portfolio.view())
            .map(|s| (s.amount, s.shares.unwrap()))
            .map_err(|refusal| refusal.rule);
        assert_eq!(sized, expected, "price {price}, asked {requested}");
        if let Ok((amount, shares)) = sized {
            let unit = opportunity.unit_price.unwrap();
            assert_eq!(
                amount,
                Decimal::from(shares) * unit,
                "amount = shares × unit price"
            );
        }
    }
}
