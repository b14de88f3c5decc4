//! The Fundrise Connect client against local fake servers: exact request shapes
//! (mockito), request bodies validated against the official OpenAPI spec's own schemas,
//! every example answer of the spec parsed, the resend-once-on-ambiguity rule and the
//! 409 lookup (wiremock, which can answer a sequence), reconciliation, cancellation,
//! error classification, sizing of the offerings it produces, and no leaked secrets.

mod fundrise_spec;

use autoinvest::opportunity::{OpportunityKind, PlatformId, PlatformKind, PurchaseMode};
use autoinvest::order::{IdempotencyKey, OrderIntent, OrderState, PlatformOrder};
use autoinvest::platform::fundrise::{FundriseClient, FundriseSettings};
use autoinvest::platform::{ApprovedOrder, PlatformClient, PlatformError};
use autoinvest::portfolio::Portfolio;
use autoinvest::secret::Secret;
use autoinvest::sizing::{size, BudgetRules, PlatformRules, Rules, StrategyRules};
use autoinvest::telemetry::Metrics;
use chrono::{DateTime, Utc};
use fundrise_spec::Spec;
use mockito::{Matcher, Server, ServerGuard};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde_json::{json, Value};
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const PARTNER_USER: &str = "partner-co";
const PARTNER_PASSWORD: &str = "p4rtner-distinctive-password";
/// base64("partner-co:p4rtner-distinctive-password")
const PARTNER_BASIC: &str = "Basic cGFydG5lci1jbzpwNHJ0bmVyLWRpc3RpbmN0aXZlLXBhc3N3b3Jk";
/// The spec's sample refresh token.
const REFRESH_TOKEN: &str = "a1929bbf-acb1-430f-a87f-9b79a8cff1f4";
const ACCOUNT: &str = "12";

const INVESTMENT_PATH: &str = "/v1/account/12/investment";
const TRANSACTIONS_PATH: &str = "/v1/account/12/transactions";

/// The seed document's Get Access Token response sample, verbatim.
const SEED_TOKEN_ANSWER: &str = r#"{
  "accessToken": "HgHaJimFLx5WbPTWwvrw4ktJApo",
  "refreshToken": "HnGMTF2gVKQU-7IrCwhlXEEU0EY",
  "scope": "PARTNER:READ PARTNER:WRITE",
  "tokenType": "Bearer",
  "expiresIn": "3598"
}"#;
const SEED_ACCESS_TOKEN: &str = "HgHaJimFLx5WbPTWwvrw4ktJApo";

fn settings(base_url: &str) -> FundriseSettings {
    FundriseSettings {
        id: PlatformId::new("fr"),
        base_url: base_url.to_string(),
        partner_user: Secret::new(PARTNER_USER),
        partner_password: Secret::new(PARTNER_PASSWORD),
        refresh_token: Secret::new(REFRESH_TOKEN),
        account_id: ACCOUNT.into(),
        acknowledge_documents: true,
        max_posts_per_second: NonZeroU32::new(100).unwrap(),
        max_gets_per_second: NonZeroU32::new(1_000).unwrap(),
        request_timeout: Duration::from_secs(5),
    }
}

fn client(base_url: &str) -> (FundriseClient, Arc<Metrics>) {
    let metrics = Metrics::new();
    let client = FundriseClient::new(settings(base_url), metrics.clone()).unwrap();
    (client, metrics)
}

fn intent_at(offering: &str, amount: Decimal, created_at: DateTime<Utc>) -> OrderIntent {
    let platform = PlatformId::new("fr");
    OrderIntent {
        key: IdempotencyKey::derive(&platform, "dca", offering, "2023-02"),
        platform,
        strategy: "dca".into(),
        opportunity_id: offering.into(),
        opportunity_kind: OpportunityKind::Offering,
        purchase: PurchaseMode::Fractional,
        amount,
        shares: None,
        grade: None,
        reason: "test".into(),
        slot: "2023-02".into(),
        created_at,
        updated_at: created_at,
        state: OrderState::Sending,
        dry_run: false,
    }
}

/// An intent created on the day of the spec's sample transactions (2023-02-15).
fn intent(offering: &str, amount: Decimal) -> OrderIntent {
    intent_at(offering, amount, "2023-02-15T14:00:00Z".parse().unwrap())
}

fn order(offering: &str, amount: Decimal) -> ApprovedOrder {
    ApprovedOrder {
        intent: intent(offering, amount),
    }
}

fn parse_errors(metrics: &Metrics) -> u64 {
    metrics.parse_errors_total.with_label_values(&["fr"]).get()
}

fn requests(metrics: &Metrics, method: &str, status: &str) -> u64 {
    metrics
        .http_requests_total
        .with_label_values(&["fr", method, status])
        .get()
}

fn assert_no_secret(shown: &str) {
    for secret in [
        PARTNER_PASSWORD,
        REFRESH_TOKEN,
        "p4rtner",
        SEED_ACCESS_TOKEN,
    ] {
        assert!(!shown.contains(secret), "secret leaked: {shown}");
    }
}

fn spec_investment_answer(spec: &Spec) -> Value {
    spec.response_examples("/v1/account/{accountId}/investment", "post", "200")
        .remove(0)
}

fn spec_documents(spec: &Spec) -> Value {
    spec.response_examples("/v1/offering/{offeringId}/documents", "get", "200")
        .remove(0)
}

fn spec_acknowledgments(spec: &Spec) -> Value {
    spec.response_examples("/v1/offering/{offeringId}/acknowledgments", "get", "200")
        .remove(0)
}

// ---------------------------------------------------------------- token and offerings (mockito)

async fn token_mock(server: &mut ServerGuard, expected: usize) -> mockito::Mock {
    server
        .mock("POST", "/v1/oauth/token")
        .match_header("authorization", PARTNER_BASIC)
        .match_header("content-type", "application/json")
        .match_body(Matcher::Json(
            json!({"grantType": "refresh_token", "refreshToken": REFRESH_TOKEN}),
        ))
        .with_status(200)
        .with_header("content-type", "application/json")
        .with_body(SEED_TOKEN_ANSWER)
        .expect(expected)
        .create_async()
        .await
}

#[tokio::test]
async fn offerings_use_partner_basic_auth_and_only_open_ones_become_opportunities() {
    let spec = Spec::load();
    let mut server = Server::new_async().await;
    let offerings = server
        .mock("GET", "/v1/offerings")
        .match_query(Matcher::Exact(String::new()))
        .match_header("authorization", PARTNER_BASIC)
        .match_header("user-agent", Matcher::Regex(r"^autoinvest/".into()))
        .with_status(200)
        .with_header("content-type", "application/json")
        .with_body(spec.response_examples("/v1/offerings", "get", "200")[0].to_string())
        .expect(1)
        .create_async()
        .await;
    let token = token_mock(&mut server, 0).await;
    let (client, metrics) = client(&server.url());

    let found = client.poll().await.unwrap();

    offerings.assert_async().await;
    token.assert_async().await;
    // The spec's sample: offerings 1 and 2 are OPEN, 3 is CLOSED.
    let ids: Vec<&str> = found.iter().map(|o| o.id.as_str()).collect();
    assert_eq!(ids, ["1", "2"]);
    let income = &found[0];
    assert_eq!(income.platform, PlatformId::new("fr"));
    assert_eq!(income.platform_kind, PlatformKind::Fundrise);
    assert_eq!(income.kind, OpportunityKind::Offering);
    assert_eq!(income.purchase, PurchaseMode::Fractional);
    assert_eq!(income.name.as_deref(), Some("Income Interval Fund"));
    assert_eq!(income.asset_class.as_deref(), Some("private_credit"));
    assert_eq!(income.extra["asset_class_type"], "PRIVATE_CREDIT");
    assert_eq!(income.status, "OPEN");
    assert_eq!(income.min_investment, Some(dec!(10.00)));
    assert_eq!(income.max_investment, Some(dec!(100000.00)));
    assert_eq!(income.increment, Some(dec!(0.01)));
    assert_eq!(income.unit_price, None);
    assert_eq!((income.amount, income.remaining), (None, None));
    assert_eq!(income.extra["asset_class_label"], "Private Credit");
    assert_eq!(income.extra["primary_objective"], "Cash flow");
    assert_eq!(
        income.extra["current_distribution_rate"].to_string(),
        "0.41"
    );
    assert_eq!(income.extra["share_price"].to_string(), "10.0");
    assert_eq!(income.extra["price_date"], "2020-01-01T00:00:00Z");
    assert!(
        !found[1].extra.contains_key("share_price"),
        "no currentPrice"
    );
    assert_eq!(found[1].asset_class.as_deref(), Some("real_estate"));
    assert_eq!(parse_errors(&metrics), 0);
}

#[tokio::test]
async fn a_malformed_offering_is_skipped_and_counted_not_the_whole_poll() {
    let mut server = Server::new_async().await;
    let body = json!([
        {"offeringId": "1", "offeringName": "Good", "status": "OPEN",
         "minimumInvestmentAmount": "10.00", "maximumInvestmentAmount": "100000.00"},
        {"offeringId": "2", "status": "OPEN"},
        {"offeringId": "3", "offeringName": "Negative", "status": "OPEN",
         "minimumInvestmentAmount": "-10.00", "maximumInvestmentAmount": "100000.00"},
        {"offeringId": "4", "offeringName": "Bad number", "status": "OPEN",
         "minimumInvestmentAmount": "ten"}
    ]);
    let _offerings = server
        .mock("GET", "/v1/offerings")
        .with_status(200)
        .with_body(body.to_string())
        .create_async()
        .await;
    let (client, metrics) = client(&server.url());

    let found = client.poll().await.unwrap();

    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, "1");
    assert_eq!(parse_errors(&metrics), 3);
}

#[tokio::test]
async fn unusable_offering_answers_fail_the_poll() {
    for (status, body, html) in [
        (200, "{\"not\": \"a list\"}", false),
        (200, "[{\"offeringId\": \"1\"", false),
        (502, "<html><body>Bad Gateway</body></html>", true),
        (
            500,
            r#"{"referenceId":"ed8583b9-6cd9-43ed-ad46-c7c52fff0c35","message":"Internal service error"}"#,
            false,
        ),
    ] {
        let mut server = Server::new_async().await;
        let mut mock = server.mock("GET", "/v1/offerings").with_status(status);
        if html {
            mock = mock.with_header("content-type", "text/html");
        }
        let _mock = mock.with_body(body).create_async().await;
        let (client, _) = client(&server.url());
        let error = client.poll().await.unwrap_err();
        match status {
            200 => assert!(
                matches!(error, PlatformError::BadResponse { .. }),
                "{error:?}"
            ),
            _ => assert!(
                matches!(error, PlatformError::Connectivity { .. }),
                "{error:?}"
            ),
        }
        if status == 500 {
            assert!(
                error.to_string().contains(
                    "referenceId ed8583b9-6cd9-43ed-ad46-c7c52fff0c35: Internal service error"
                ),
                "{error}"
            );
        }
    }
}

#[tokio::test]
async fn refused_partner_credentials_are_an_auth_error_without_secrets() {
    let mut server = Server::new_async().await;
    let _offerings = server
        .mock("GET", "/v1/offerings")
        .with_status(401)
        .with_body(format!("bad credentials {PARTNER_PASSWORD}"))
        .create_async()
        .await;
    let (client, _) = client(&server.url());
    let error = client.poll().await.unwrap_err();
    assert!(matches!(error, PlatformError::Auth { .. }), "{error:?}");
    assert_no_secret(&format!("{error} {error:?} {client:?}"));
}

#[tokio::test]
async fn without_acknowledge_documents_nothing_is_offered_or_sent() {
    let spec = Spec::load();
    let mut server = Server::new_async().await;
    let _offerings = server
        .mock("GET", "/v1/offerings")
        .with_status(200)
        .with_body(spec.response_examples("/v1/offerings", "get", "200")[0].to_string())
        .expect(2)
        .create_async()
        .await;
    let anything_else = server
        .mock("POST", Matcher::Any)
        .expect(0)
        .create_async()
        .await;
    let mut unacknowledged = settings(&server.url());
    unacknowledged.acknowledge_documents = false;
    let client = FundriseClient::new(unacknowledged, Metrics::new()).unwrap();

    assert!(client.poll().await.unwrap().is_empty());
    assert!(client.poll().await.unwrap().is_empty());
    let error = client
        .place_order(&order("1", dec!(100)))
        .await
        .unwrap_err();

    match &error {
        PlatformError::Rejected {
            status, message, ..
        } => {
            assert_eq!(*status, 0);
            assert!(
                message.contains("acknowledge_documents is false"),
                "{message}"
            );
        }
        other => panic!("expected a local refusal, got {other:?}"),
    }
    anything_else.assert_async().await;
}

#[tokio::test]
async fn the_token_is_requested_with_the_refresh_grant_and_reused() {
    let spec = Spec::load();
    let mut server = Server::new_async().await;
    let token = token_mock(&mut server, 1).await;
    let transactions = server
        .mock("GET", TRANSACTIONS_PATH)
        .match_query(Matcher::Exact("transactionType=INVESTMENT".into()))
        .match_header("authorization", "Bearer HgHaJimFLx5WbPTWwvrw4ktJApo")
        .with_status(200)
        .with_body("[]")
        .expect(2)
        .create_async()
        .await;
    let (client, metrics) = client(&server.url());

    assert!(client
        .find_orders(&intent("24", dec!(10)))
        .await
        .unwrap()
        .is_empty());
    assert!(client
        .find_orders(&intent("24", dec!(10)))
        .await
        .unwrap()
        .is_empty());

    token.assert_async().await;
    transactions.assert_async().await;
    assert_eq!(requests(&metrics, "POST", "200"), 1);
    // The body the client sends is exactly the spec's own request example, and valid.
    let schema = spec.request_schema("/v1/oauth/token", "post");
    let sent = json!({"grantType": "refresh_token", "refreshToken": REFRESH_TOKEN});
    spec.assert_valid(&schema, &sent, "the token request");
    assert_eq!(spec.request_examples("/v1/oauth/token", "post"), vec![sent]);
}

#[tokio::test]
async fn token_refusals_are_auth_errors_with_the_reference_id() {
    let spec = Spec::load();
    let examples = spec.response_examples("/v1/oauth/token", "post", "400");
    assert_eq!(examples.len(), 2);
    for example in examples {
        let mut server = Server::new_async().await;
        let _token = server
            .mock("POST", "/v1/oauth/token")
            .with_status(400)
            .with_header("content-type", "application/json")
            .with_body(example.to_string())
            .create_async()
            .await;
        let (client, _) = client(&server.url());
        let error = client
            .find_orders(&intent("24", dec!(10)))
            .await
            .unwrap_err();
        assert!(matches!(error, PlatformError::Auth { .. }), "{error:?}");
        assert!(
            error
                .to_string()
                .contains("referenceId ed8583b9-6cd9-43ed-ad46-c7c52fff0c35: "),
            "{error}"
        );
    }
}

// ---------------------------------------------------------------- the spec's examples parse

#[test]
fn every_example_answer_the_client_reads_parses() {
    use autoinvest::platform::fundrise::wire::{
        AccessTokenResponse, AcknowledgmentResponse, DocumentResponse, OfferingResponse,
        TransactionResponse,
    };
    let spec = Spec::load();
    let token: AccessTokenResponse = serde_json::from_str(SEED_TOKEN_ANSWER).unwrap();
    assert_eq!(token.expires_in, Some(3598));
    assert_eq!(token.access_token, SEED_ACCESS_TOKEN);

    let offerings = &spec.response_examples("/v1/offerings", "get", "200")[0];
    let parsed: Vec<OfferingResponse> = serde_json::from_value(offerings.clone()).unwrap();
    assert_eq!(parsed.len(), 3);
    assert_eq!(parsed[2].status, "CLOSED");
    for offering in &parsed {
        offering.to_opportunity(&PlatformId::new("fr")).unwrap();
    }

    let documents: Vec<DocumentResponse> = serde_json::from_value(spec_documents(&spec)).unwrap();
    assert_eq!(documents.len(), 2);
    assert_eq!(documents[1].document_type.as_deref(), Some("AGREEMENT"));
    let acknowledgments: Vec<AcknowledgmentResponse> =
        serde_json::from_value(spec_acknowledgments(&spec)).unwrap();
    assert_eq!(acknowledgments[0].acknowledgment_id, "1");

    let single = [
        ("/v1/account/{accountId}/investment", "post"),
        (
            "/v1/account/{accountId}/investment/{transactionId}/cancel",
            "put",
        ),
        (
            "/v1/account/{accountId}/transaction/{transactionType}/{transactionId}",
            "get",
        ),
    ];
    let mut transactions: Vec<TransactionResponse> = Vec::new();
    for (path, verb) in single {
        for example in spec.response_examples(path, verb, "200") {
            transactions.push(serde_json::from_value(example).unwrap());
        }
    }
    let listed = spec.response_examples("/v1/account/{accountId}/transactions", "get", "200");
    let listed: Vec<TransactionResponse> = serde_json::from_value(listed[0].clone()).unwrap();
    assert_eq!(listed.len(), 6);
    transactions.extend(listed);
    assert_eq!(transactions.len(), 11);
    for transaction in &transactions {
        transaction.date().unwrap();
        if transaction.transaction_type == "INVESTMENT" {
            let order = transaction.to_platform_order().unwrap();
            assert_eq!(order.amount, dec!(10000.00));
            assert_eq!(order.opportunity_id, "24");
        }
    }
}

// ---------------------------------------------------------------- placing an investment

/// Mounts the token endpoint, and the documents and acknowledgments of `offering`
/// (the spec's examples), on a wiremock server.
async fn mount_preliminaries(server: &MockServer, spec: &Spec, offering: &str) {
    Mock::given(method("POST"))
        .and(path("/v1/oauth/token"))
        .and(header("authorization", PARTNER_BASIC))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(SEED_TOKEN_ANSWER, "application/json"),
        )
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/v1/offering/{offering}/documents")))
        .and(header("authorization", PARTNER_BASIC))
        .respond_with(ResponseTemplate::new(200).set_body_json(spec_documents(spec)))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/v1/offering/{offering}/acknowledgments")))
        .and(header(
            "authorization",
            "Bearer HgHaJimFLx5WbPTWwvrw4ktJApo",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(spec_acknowledgments(spec)))
        .mount(server)
        .await;
}

/// Answers investment POSTs with `answers` in turn (the last one repeats).
async fn mount_investment_answers(server: &MockServer, answers: Vec<ResponseTemplate>) {
    let count = answers.len();
    for (index, answer) in answers.into_iter().enumerate() {
        let mut mock = Mock::given(method("POST"))
            .and(path(INVESTMENT_PATH))
            .and(header(
                "authorization",
                "Bearer HgHaJimFLx5WbPTWwvrw4ktJApo",
            ))
            .respond_with(answer)
            .with_priority(u8::try_from(index + 1).unwrap());
        if index + 1 < count {
            mock = mock.up_to_n_times(1);
        }
        mock.mount(server).await;
    }
}

/// The bodies of every investment POST the server received, in order.
async fn investment_bodies(server: &MockServer) -> Vec<Value> {
    server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.method.as_str() == "POST" && r.url.path() == INVESTMENT_PATH)
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect()
}

fn json_answer(status: u16, body: Value) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(body)
}

#[tokio::test]
async fn an_investment_sends_a_spec_valid_body_with_documents_and_acknowledgments() {
    let spec = Spec::load();
    let server = MockServer::start().await;
    mount_preliminaries(&server, &spec, "24").await;
    mount_investment_answers(
        &server,
        vec![json_answer(200, spec_investment_answer(&spec))],
    )
    .await;
    let (client, _) = client(&server.uri());
    let approved = order("24", dec!(24187.5));

    let placed = client.place_order(&approved).await.unwrap();

    assert_eq!(
        placed,
        PlatformOrder {
            order_id: "11".into(),
            opportunity_id: "24".into(),
            amount: dec!(10000.00),
            status: "PENDING".into(),
        }
    );
    let bodies = investment_bodies(&server).await;
    assert_eq!(bodies.len(), 1);
    let body = &bodies[0];
    let reference = approved.intent.key.partner_reference();
    assert_eq!(
        body,
        &json!({
            "partnerReferenceId": reference,
            "offeringId": "24",
            "acknowledgedDocumentIds": ["1", "2"],
            "amount": "24187.50",
        })
    );
    // Validated against the spec's own InvestmentPlacementRequest ($ref resolved).
    let schema = spec.request_schema("/v1/account/{accountId}/investment", "post");
    assert_eq!(
        schema["$ref"],
        "#/components/schemas/InvestmentPlacementRequest"
    );
    spec.assert_valid(&schema, body, "the investment request");
    let declared = spec.properties(&schema);
    for key in body.as_object().unwrap().keys() {
        assert!(declared.contains(key), "{key} is not in the spec's schema");
    }
    let required = spec.follow(&schema)["required"].as_array().unwrap().clone();
    for key in required {
        assert!(body.get(key.as_str().unwrap()).is_some(), "{key} missing");
    }
    // The same shape as the spec's own request example, key for key.
    let example = &spec.request_examples("/v1/account/{accountId}/investment", "post")[0];
    let keys = |v: &Value| {
        let mut keys: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        keys
    };
    assert_eq!(keys(body), keys(example));
    spec.assert_valid(&schema, example, "the spec's own example");
    // The validator is not vacuous: a number amount or a missing field is refused.
    let mut numeric = body.clone();
    numeric["amount"] = json!(24187.5);
    assert!(!spec.is_valid(&schema, &numeric));
    let mut missing = body.clone();
    missing
        .as_object_mut()
        .unwrap()
        .remove("acknowledgedDocumentIds");
    assert!(!spec.is_valid(&schema, &missing));
}

#[tokio::test]
async fn amounts_are_checked_before_anything_is_sent() {
    let server = MockServer::start().await;
    let (client, _) = client(&server.uri());
    for amount in [dec!(10.005), dec!(9.99), dec!(100000.01), dec!(0)] {
        let error = client.place_order(&order("24", amount)).await.unwrap_err();
        match error {
            PlatformError::Rejected {
                status: 0, message, ..
            } => {
                assert!(message.starts_with("order not sent"), "{message}")
            }
            other => panic!("{amount}: {other:?}"),
        }
    }
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn unusable_documents_mean_not_sent_rather_than_unknown() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/oauth/token"))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(SEED_TOKEN_ANSWER, "application/json"),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/offering/24/documents"))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw("[{\"documentId\":", "application/json"),
        )
        .mount(&server)
        .await;
    let (client, _) = client(&server.uri());

    let error = client
        .place_order(&order("24", dec!(100)))
        .await
        .unwrap_err();

    assert!(
        matches!(error, PlatformError::Connectivity { .. }),
        "{error:?}"
    );
    assert!(!error.order_outcome_unknown());
    assert!(investment_bodies(&server).await.is_empty());
}

#[tokio::test]
async fn refusals_keep_the_spec_code_message_and_reference_id() {
    let spec = Spec::load();
    let path_ = "/v1/account/{accountId}/investment";
    let mut cases: Vec<(u16, Value)> = Vec::new();
    for status in ["400", "403", "404"] {
        for example in spec.response_examples(path_, "post", status) {
            cases.push((status.parse().unwrap(), example));
        }
    }
    assert_eq!(
        cases.len(),
        5,
        "MalformedFields, InvalidDocumentIds, 2 × 403, InvalidOfferingId"
    );
    for (status, example) in cases {
        let server = MockServer::start().await;
        mount_preliminaries(&server, &spec, "24").await;
        mount_investment_answers(&server, vec![json_answer(status, example.clone())]).await;
        let (client, _) = client(&server.uri());

        let error = client
            .place_order(&order("24", dec!(100)))
            .await
            .unwrap_err();

        let PlatformError::Rejected {
            status: got,
            message,
            ..
        } = &error
        else {
            panic!("{status}: {error:?}");
        };
        assert_eq!(*got, status);
        let reference = example["referenceId"].as_str().unwrap();
        assert!(
            message.contains(&format!("referenceId {reference}: ")),
            "{message}"
        );
        if let Some(code) = example["code"].as_str() {
            let text = example["message"].as_str().unwrap();
            assert!(message.contains(&format!("{code}: {text}")), "{message}");
        } else {
            assert!(message.contains("amount: must not be blank, must not be null, must be greater than or equal to 10.00"), "{message}");
        }
        assert_eq!(
            investment_bodies(&server).await.len(),
            1,
            "a refusal is not resent"
        );
    }
}

#[tokio::test]
async fn an_ambiguous_post_is_resent_once_with_the_same_reference_and_its_answer_is_used() {
    let spec = Spec::load();
    let server = MockServer::start().await;
    mount_preliminaries(&server, &spec, "24").await;
    let outage = json!({"referenceId": "ed8583b9-6cd9-43ed-ad46-c7c52fff0c35", "message": "Internal service error"});
    mount_investment_answers(
        &server,
        vec![
            json_answer(500, outage),
            json_answer(200, spec_investment_answer(&spec)),
        ],
    )
    .await;
    let (client, _) = client(&server.uri());

    let placed = client.place_order(&order("24", dec!(10000))).await.unwrap();

    assert_eq!(placed.order_id, "11");
    let bodies = investment_bodies(&server).await;
    assert_eq!(bodies.len(), 2);
    assert_eq!(bodies[0], bodies[1], "the resend is the same request");
}

/// The spec's transactions example, plus `extra` rows.
fn transactions_with(spec: &Spec, extra: Vec<Value>) -> Value {
    let mut rows = spec.response_examples("/v1/account/{accountId}/transactions", "get", "200")[0]
        .as_array()
        .unwrap()
        .clone();
    rows.extend(extra);
    Value::Array(rows)
}

fn investment_row(id: &str, offering: &str, amount: &str, date: &str) -> Value {
    json!({
        "transactionId": id, "transactionType": "INVESTMENT",
        "description": "Investment into Fundrise Offering", "amount": amount,
        "transactionDate": date,
        "offerings": [{"offeringId": offering, "offeringName": "Flagship Fund"}],
        "status": "PENDING", "isCancellable": true, "debitCreditMemo": "CREDIT"
    })
}

async fn mount_transactions(server: &MockServer, rows: Value) {
    Mock::given(method("GET"))
        .and(path(TRANSACTIONS_PATH))
        .and(query_param("transactionType", "INVESTMENT"))
        .respond_with(ResponseTemplate::new(200).set_body_json(rows))
        .mount(server)
        .await;
}

#[tokio::test]
async fn a_409_on_the_resend_maps_to_the_existing_investment() {
    let spec = Spec::load();
    let server = MockServer::start().await;
    mount_preliminaries(&server, &spec, "24").await;
    let conflict = json!({"referenceId": "ed8583b9-6cd9-43ed-ad46-c7c52fff0c36",
        "message": "Investment already created for supplied partnerReferenceId"});
    mount_investment_answers(
        &server,
        vec![
            ResponseTemplate::new(200).set_delay(Duration::from_secs(3)),
            json_answer(409, conflict),
        ],
    )
    .await;
    // The spec's sample rows (11 and 12: $10,000 in offering 24 on 2023-02-15) plus an
    // old $250 investment in the same offering: only one row is for $250 and recent.
    mount_transactions(
        &server,
        transactions_with(
            &spec,
            vec![
                investment_row("40", "24", "250.00", "2023-02-15T00:00:00.000-05:00"),
                investment_row("7", "24", "250.00", "2022-01-03T00:00:00.000-05:00"),
            ],
        ),
    )
    .await;
    let mut short = settings(&server.uri());
    short.request_timeout = Duration::from_millis(300);
    let client = FundriseClient::new(short, Metrics::new()).unwrap();

    let placed = client.place_order(&order("24", dec!(250))).await.unwrap();

    assert_eq!(placed.order_id, "40");
    assert_eq!(placed.amount, dec!(250.00));
    let bodies = investment_bodies(&server).await;
    assert_eq!(bodies.len(), 2, "one resend, no more");
    assert_eq!(bodies[0], bodies[1]);
}

#[tokio::test]
async fn a_409_with_several_candidates_is_left_to_reconciliation() {
    let spec = Spec::load();
    let server = MockServer::start().await;
    mount_preliminaries(&server, &spec, "24").await;
    mount_investment_answers(&server, vec![json_answer(409, json!({"referenceId": "r"}))]).await;
    // Rows 11 and 12 are both $10,000 in offering 24 on the intent's day.
    mount_transactions(&server, transactions_with(&spec, vec![])).await;
    let (client, _) = client(&server.uri());

    let error = client
        .place_order(&order("24", dec!(10000)))
        .await
        .unwrap_err();

    assert!(
        matches!(error, PlatformError::Ambiguous { .. }),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("2 matching investments"),
        "{error}"
    );
    assert_eq!(
        investment_bodies(&server).await.len(),
        1,
        "a 409 is never resent"
    );
}

#[tokio::test]
async fn whatever_the_resend_meets_the_outcome_stays_unknown() {
    let spec = Spec::load();
    let outage = || {
        json_answer(
            503,
            json!({"referenceId": "r1", "message": "Internal service error"}),
        )
    };
    let refusal = || {
        json_answer(
            400,
            json!({"referenceId": "r2", "code": "100502", "message": "acknowledgedDocumentIds do not match those required"}),
        )
    };
    let limited = || ResponseTemplate::new(429).insert_header("retry-after", "1");
    let html = || ResponseTemplate::new(502).set_body_raw("<html>Bad Gateway</html>", "text/html");
    for (name, second) in [
        ("5xx", outage()),
        ("400", refusal()),
        ("429", limited()),
        ("html", html()),
    ] {
        let server = MockServer::start().await;
        mount_preliminaries(&server, &spec, "24").await;
        mount_investment_answers(&server, vec![outage(), second]).await;
        let (client, _) = client(&server.uri());

        let error = client
            .place_order(&order("24", dec!(100)))
            .await
            .unwrap_err();

        assert!(
            matches!(error, PlatformError::Ambiguous { .. }),
            "{name}: {error:?}"
        );
        assert!(error.order_outcome_unknown());
        assert!(error.to_string().contains("resend:"), "{name}: {error}");
        assert_eq!(
            investment_bodies(&server).await.len(),
            2,
            "{name}: exactly one resend"
        );
    }
}

#[tokio::test]
async fn a_rate_limited_first_post_is_not_resent() {
    let spec = Spec::load();
    let server = MockServer::start().await;
    mount_preliminaries(&server, &spec, "24").await;
    mount_investment_answers(
        &server,
        vec![ResponseTemplate::new(429).insert_header("retry-after", "2")],
    )
    .await;
    let (client, _) = client(&server.uri());

    let error = client
        .place_order(&order("24", dec!(100)))
        .await
        .unwrap_err();

    assert!(
        matches!(error, PlatformError::RateLimited { retry_after: Some(d), .. } if d == Duration::from_secs(2)),
        "{error:?}"
    );
    assert_eq!(investment_bodies(&server).await.len(), 1);
}

#[tokio::test]
async fn a_401_renews_the_token_once_and_sends_again() {
    let spec = Spec::load();
    let server = MockServer::start().await;
    let tokens = Arc::new(Mutex::new(0));
    let issued = tokens.clone();
    Mock::given(method("POST"))
        .and(path("/v1/oauth/token"))
        .and(body_json(
            json!({"grantType": "refresh_token", "refreshToken": REFRESH_TOKEN}),
        ))
        .respond_with(move |_: &wiremock::Request| {
            let mut n = issued.lock().unwrap();
            *n += 1;
            ResponseTemplate::new(200)
                .set_body_json(json!({"accessToken": format!("tok-{n}"), "expiresIn": "3598"}))
        })
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/offering/24/documents"))
        .respond_with(ResponseTemplate::new(200).set_body_json(spec_documents(&spec)))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/offering/24/acknowledgments"))
        .respond_with(ResponseTemplate::new(200).set_body_json(spec_acknowledgments(&spec)))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(INVESTMENT_PATH))
        .and(header("authorization", "Bearer tok-1"))
        .respond_with(ResponseTemplate::new(401))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(INVESTMENT_PATH))
        .and(header("authorization", "Bearer tok-2"))
        .respond_with(json_answer(200, spec_investment_answer(&spec)))
        .expect(1)
        .mount(&server)
        .await;
    let (client, _) = client(&server.uri());

    let placed = client.place_order(&order("24", dec!(100))).await.unwrap();

    assert_eq!(placed.order_id, "11");
    assert_eq!(*tokens.lock().unwrap(), 2);
    server.verify().await;
}

#[tokio::test]
async fn an_answer_for_another_offering_is_ambiguous() {
    let spec = Spec::load();
    let server = MockServer::start().await;
    mount_preliminaries(&server, &spec, "25").await;
    mount_investment_answers(
        &server,
        vec![json_answer(200, spec_investment_answer(&spec))],
    )
    .await;
    let (client, metrics) = client(&server.uri());

    let error = client
        .place_order(&order("25", dec!(100)))
        .await
        .unwrap_err();

    assert!(
        matches!(error, PlatformError::Ambiguous { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("offering 24, not 25"), "{error}");
    assert_eq!(parse_errors(&metrics), 1);
}

// ---------------------------------------------------------------- reconciliation

#[tokio::test]
async fn find_orders_matches_offering_amount_and_date_or_the_reference_when_given() {
    let spec = Spec::load();
    let server = MockServer::start().await;
    mount_preliminaries(&server, &spec, "24").await;
    let own = intent("24", dec!(10000));
    let mut referenced = investment_row("50", "24", "99.00", "2023-02-16T00:00:00.000-05:00");
    referenced["partnerReferenceId"] = own.key.partner_reference().into();
    let mut someone_else = investment_row("51", "24", "10000.00", "2023-02-16T00:00:00.000-05:00");
    someone_else["partnerReferenceId"] = "ai-other".into();
    mount_transactions(
        &server,
        transactions_with(
            &spec,
            vec![
                referenced,
                someone_else,
                investment_row("52", "25", "10000.00", "2023-02-16T00:00:00.000-05:00"),
                investment_row("53", "24", "10000.00", "2023-02-12T00:00:00.000-05:00"),
            ],
        ),
    )
    .await;
    let (client, _) = client(&server.uri());

    let found = client.find_orders(&own).await.unwrap();

    // 11 and 12 by offering, amount and date; 50 by its reference; not 51 (another
    // reference), 52 (another offering), 53 (too old), nor the liquidations/dividend.
    let ids: Vec<&str> = found.iter().map(|o| o.order_id.as_str()).collect();
    assert_eq!(ids, ["11", "12", "50"]);
    let requests = server.received_requests().await.unwrap();
    let lookup = requests
        .iter()
        .find(|r| r.url.path() == TRANSACTIONS_PATH)
        .unwrap();
    assert_eq!(lookup.url.query(), Some("transactionType=INVESTMENT"));
}

#[tokio::test]
async fn a_bad_transaction_row_fails_the_lookup() {
    let spec = Spec::load();
    let server = MockServer::start().await;
    mount_preliminaries(&server, &spec, "24").await;
    mount_transactions(
        &server,
        json!([investment_row(
            "60",
            "24",
            "-5.00",
            "2023-02-15T00:00:00.000-05:00"
        )]),
    )
    .await;
    let (client, metrics) = client(&server.uri());

    let error = client
        .find_orders(&intent("24", dec!(10)))
        .await
        .unwrap_err();

    assert!(
        matches!(error, PlatformError::BadResponse { .. }),
        "{error:?}"
    );
    assert_eq!(parse_errors(&metrics), 1);
}

// ---------------------------------------------------------------- cancel and status

#[tokio::test]
async fn cancel_looks_the_investment_up_then_puts_when_cancellable() {
    let spec = Spec::load();
    let mut server = Server::new_async().await;
    let _token = token_mock(&mut server, 1).await;
    let pending = spec.response_examples(
        "/v1/account/{accountId}/transaction/{transactionType}/{transactionId}",
        "get",
        "200",
    );
    let pending = pending
        .into_iter()
        .find(|e| e["status"] == "PENDING" && e["transactionType"] == "INVESTMENT")
        .unwrap();
    let lookup = server
        .mock("GET", "/v1/account/12/transaction/INVESTMENT/11")
        .match_header("authorization", "Bearer HgHaJimFLx5WbPTWwvrw4ktJApo")
        .with_status(200)
        .with_body(pending.to_string())
        .expect(1)
        .create_async()
        .await;
    let cancelled = spec.response_examples(
        "/v1/account/{accountId}/investment/{transactionId}/cancel",
        "put",
        "200",
    );
    let cancel = server
        .mock("PUT", "/v1/account/12/investment/11/cancel")
        .match_header("authorization", "Bearer HgHaJimFLx5WbPTWwvrw4ktJApo")
        .match_body(Matcher::Exact(String::new()))
        .with_status(200)
        .with_body(cancelled[0].to_string())
        .expect(1)
        .create_async()
        .await;
    let (client, metrics) = client(&server.url());

    let result = client.cancel_investment("11").await.unwrap();

    assert_eq!(result.status, "FAILED");
    assert_eq!(result.order_id, "11");
    lookup.assert_async().await;
    cancel.assert_async().await;
    assert_eq!(requests(&metrics, "PUT", "200"), 1);
}

#[tokio::test]
async fn an_investment_that_is_not_cancellable_is_not_sent_a_cancel() {
    let spec = Spec::load();
    let mut server = Server::new_async().await;
    let _token = token_mock(&mut server, 1).await;
    let settling = spec
        .response_examples(
            "/v1/account/{accountId}/transaction/{transactionType}/{transactionId}",
            "get",
            "200",
        )
        .into_iter()
        .find(|e| e["status"] == "COMPLETE")
        .unwrap();
    let _lookup = server
        .mock("GET", "/v1/account/12/transaction/INVESTMENT/11")
        .with_status(200)
        .with_body(settling.to_string())
        .create_async()
        .await;
    let cancel = server
        .mock("PUT", Matcher::Any)
        .expect(0)
        .create_async()
        .await;
    let (client, _) = client(&server.url());

    let error = client.cancel_investment("11").await.unwrap_err();

    assert!(
        matches!(&error, PlatformError::Rejected { status: 0, message, .. } if message.contains("COMPLETE and not cancellable")),
        "{error:?}"
    );
    cancel.assert_async().await;
    // And its status is readable.
    assert_eq!(client.investment("11").await.unwrap().status, "COMPLETE");
}

#[tokio::test]
async fn cancel_refusals_carry_the_spec_codes() {
    let spec = Spec::load();
    let examples = spec.response_examples(
        "/v1/account/{accountId}/investment/{transactionId}/cancel",
        "put",
        "400",
    );
    assert_eq!(examples.len(), 2);
    for example in examples {
        let mut server = Server::new_async().await;
        let _token = token_mock(&mut server, 1).await;
        let _lookup = server
            .mock("GET", "/v1/account/12/transaction/INVESTMENT/11")
            .with_status(200)
            .with_body(
                investment_row("11", "24", "100.00", "2023-02-15T00:00:00.000-05:00").to_string(),
            )
            .create_async()
            .await;
        let _cancel = server
            .mock("PUT", "/v1/account/12/investment/11/cancel")
            .with_status(400)
            .with_body(example.to_string())
            .create_async()
            .await;
        let (client, _) = client(&server.url());
        let error = client.cancel_investment("11").await.unwrap_err();
        let code = example["code"].as_str().unwrap();
        assert!(
            matches!(&error, PlatformError::Rejected { status: 400, message, .. } if message.contains(code)),
            "{error:?}"
        );
    }
}

#[tokio::test]
async fn a_refused_connection_is_not_an_unknown_outcome() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let (client, _) = client(&format!("http://127.0.0.1:{port}"));
    for error in [
        client.poll().await.unwrap_err(),
        client
            .place_order(&order("24", dec!(100)))
            .await
            .unwrap_err(),
    ] {
        assert!(
            matches!(error, PlatformError::Connectivity { .. }),
            "{error:?}"
        );
        assert!(!error.order_outcome_unknown());
        assert_no_secret(&format!("{error} {error:?}"));
    }
}

#[tokio::test]
async fn fundrise_reports_no_cash() {
    let (client, _) = client("http://127.0.0.1:9");
    assert_eq!(client.available_cash().await.unwrap(), None);
    assert_eq!(client.kind(), PlatformKind::Fundrise);
    assert_eq!(client.id().as_str(), "fr");
}

// ---------------------------------------------------------------- sizing of Fundrise offerings

#[test]
fn sizing_keeps_fundrise_offerings_within_limits_and_two_decimals() {
    use autoinvest::platform::fundrise::wire::OfferingResponse;
    let offering = |min: Value, max: Value| {
        let parsed: OfferingResponse = serde_json::from_value(json!({
            "offeringId": "1", "offeringName": "Flagship Real Estate Fund", "status": "OPEN",
            "minimumInvestmentAmount": min, "maximumInvestmentAmount": max,
        }))
        .unwrap();
        parsed.to_opportunity(&PlatformId::new("fr")).unwrap()
    };
    let standard = offering("10.00".into(), "100000.00".into());
    let unlimited = offering(Value::Null, Value::Null);
    let loose = offering("5.00".into(), "250000.00".into());
    let narrow = offering("100.00".into(), "50000.00".into());
    let budget = BudgetRules::default();
    let platform = PlatformRules::default();
    let strategy = StrategyRules {
        name: "dca".into(),
        ..StrategyRules::default()
    };
    let rules = Rules {
        budget: &budget,
        platform: &platform,
        strategy: &strategy,
    };
    let portfolio = Portfolio::new(None);
    let cases: Vec<(
        &str,
        &autoinvest::opportunity::Opportunity,
        Decimal,
        Option<Decimal>,
    )> = vec![
        ("exact minimum", &standard, dec!(10), Some(dec!(10.00))),
        ("below the $10 minimum", &standard, dec!(9.99), None),
        (
            "third decimal dropped",
            &standard,
            dec!(123.456),
            Some(dec!(123.45)),
        ),
        (
            "half a cent above the minimum",
            &standard,
            dec!(10.005),
            Some(dec!(10.00)),
        ),
        (
            "clamped to $100,000",
            &standard,
            dec!(150000),
            Some(dec!(100000.00)),
        ),
        ("null limits: $10 floor", &unlimited, dec!(9), None),
        (
            "null limits: $100,000 ceiling",
            &unlimited,
            dec!(100000.01),
            Some(dec!(100000.00)),
        ),
        ("a $5 minimum still means $10", &loose, dec!(7.50), None),
        (
            "a $250,000 maximum still means $100,000",
            &loose,
            dec!(250000),
            Some(dec!(100000.00)),
        ),
        ("the fund's own $100 minimum", &narrow, dec!(99.99), None),
        (
            "the fund's own $50,000 maximum",
            &narrow,
            dec!(60000),
            Some(dec!(50000.00)),
        ),
        (
            "within the fund's limits",
            &narrow,
            dec!(100.10),
            Some(dec!(100.10)),
        ),
    ];
    for (name, opportunity, requested, expected) in cases {
        let sized = size(requested, opportunity, rules, portfolio.view());
        match expected {
            Some(amount) => {
                let sized = sized.unwrap_or_else(|r| panic!("{name}: refused: {r}"));
                assert_eq!(sized.amount, amount, "{name}");
                assert_eq!(sized.shares, None, "{name}");
                assert!(sized.amount.scale() <= 2, "{name}");
            }
            None => assert_eq!(sized.map_err(|r| r.rule), Err("minimum"), "{name}"),
        }
    }
}

// ---------------------------------------------------------------- the shipped DCA strategy

#[test]
fn the_shipped_dca_strategy_buys_chosen_funds_once_a_month_up_to_a_cap() {
    use autoinvest::platform::fundrise::wire::OfferingResponse;
    use autoinvest::strategy::{Strategy, StrategyAnswer};
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("strategies/fundrise_dca.rhai");
    let strategy = Strategy::compile_file("dca", &path).unwrap();
    let spec = Spec::load();
    let sample: Vec<OfferingResponse> =
        serde_json::from_value(spec.response_examples("/v1/offerings", "get", "200")[0].clone())
            .unwrap();
    let fund = |index: usize| {
        sample[index]
            .to_opportunity(&PlatformId::new("fr"))
            .unwrap()
    };
    let (credit, real_estate, venture) = (fund(0), fund(1), fund(2));
    let mut portfolio = Portfolio::new(None);
    portfolio.set_today(chrono::NaiveDate::from_ymd_opt(2026, 11, 20).unwrap());
    let decide = |o: &autoinvest::opportunity::Opportunity, p: &Portfolio| {
        strategy.decide(o, p.view()).unwrap()
    };

    assert_eq!(
        decide(&real_estate, &portfolio),
        StrategyAnswer::Buy {
            amount: dec!(100.00),
            reason: Some("2026-11: 100.00 into Flagship Real Estate Fund".into()),
            slot: Some("2026-11".into()),
        }
    );
    assert!(matches!(
        decide(&credit, &portfolio),
        StrategyAnswer::Buy { .. }
    ));
    let skipped = |answer: StrategyAnswer| match answer {
        StrategyAnswer::Skip { reason } => reason.unwrap_or_default(),
        other => panic!("expected a skip, got {other:?}"),
    };
    assert_eq!(
        skipped(decide(&venture, &portfolio)),
        "asset class venture is not in the plan"
    );
    let mut expensive = real_estate.clone();
    expensive.min_investment = Some(dec!(500.00));
    assert!(skipped(decide(&expensive, &portfolio)).contains("minimum 500.00"));
    // A fund that already holds $2,400 gets no more.
    let now = Utc::now();
    let mut held = intent_at("2", dec!(2400), now);
    held.state = OrderState::Placed {
        order_id: "t".into(),
        amount: dec!(2400),
        platform_status: "COMPLETE".into(),
    };
    portfolio.record(&held);
    assert_eq!(
        skipped(decide(&real_estate, &portfolio)),
        "the fund already holds 2400"
    );
}
