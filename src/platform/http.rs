//! The HTTP layer every platform client sends through: timeouts, pacing, 429
//! back-off, metrics, and error classification into [`PlatformError`].
//!
//! Two reqwest clients: reads may be retried by reqwest itself; state-changing
//! requests go through a client with retries and redirects off, so an order can
//! never be resent behind the caller's back.
//!
//! How failures are classified depends on the request's [`Effect`]:
//!
//! | what happened                         | `Harmless` (GET, login) | `StateChanging` (order) |
//! |---------------------------------------|-------------------------|-------------------------|
//! | connect failed (never sent)           | `Connectivity`          | `Connectivity`          |
//! | timeout, dropped connection, body I/O | `Connectivity`          | `Ambiguous`             |
//! | 5xx                                   | `Connectivity`          | `Ambiguous`             |
//! | 401                                   | [`CallError::Unauthorized`] (the client renews its token once) ||
//! | 429                                   | `RateLimited` (and the pacer holds the account) ||
//! | other 4xx                             | `Rejected{status, message}` ||
//! | 2xx with an unusable body             | `BadResponse`           | `Ambiguous`             |
//! | 1xx/3xx                               | `BadResponse`           | `Ambiguous`             |
//!
//! For a harmless request every failure to get an answer is `Connectivity`: nothing
//! happened that needs reconciling, and retrying later is safe. Messages never carry
//! secrets: the request's credentials (and any secret registered with
//! [`Request::redact`]) are masked in everything taken from the platform's answer.

use crate::opportunity::PlatformId;
use crate::pacing::{Pacer, RequestClass};
use crate::platform::PlatformError;
use crate::secret::Secret;
use crate::telemetry::Metrics;
use bytes::{Bytes, BytesMut};
use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use reqwest::{Client, Method, StatusCode, Url};
use serde::de::DeserializeOwned;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// Sent with every request.
pub const USER_AGENT: &str = concat!("autoinvest/", env!("CARGO_PKG_VERSION"));

/// Bodies larger than this are refused: no platform answer we read is anywhere near
/// it, and an unbounded read would let a broken proxy exhaust memory.
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// The response header naming the platform's id for an exchange (Fundrise documents it;
/// it is logged at debug level whenever a platform sends it).
pub const REQUEST_ID: &str = "request-id";

/// Error messages taken from a platform's answer are cut to this many characters.
pub const MAX_MESSAGE_CHARS: usize = 300;

/// Connect and total request timeouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// TCP + TLS connection set-up.
    pub connect: Duration,
    /// The whole exchange, from sending to the last byte of the body.
    pub request: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(5),
            request: Duration::from_secs(15),
        }
    }
}

/// What the platform may have done when a request fails without a usable answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Changes nothing that needs reconciling (GETs, logins): a failure is just a failure.
    Harmless,
    /// May have been acted on (orders, cancellations): no clear answer means the
    /// outcome is unknown.
    StateChanging,
}

/// How a request authenticates.
#[derive(Clone)]
pub enum Auth {
    None,
    /// `Authorization: <scheme> <credential>` ("Bearer", "Token", "Api-Key").
    Scheme {
        scheme: &'static str,
        credential: Secret,
    },
    /// HTTP basic authentication.
    Basic {
        user: Secret,
        password: Option<Secret>,
    },
}

impl Auth {
    /// `Authorization: Bearer <token>`.
    pub fn bearer(token: Secret) -> Auth {
        Auth::Scheme {
            scheme: "Bearer",
            credential: token,
        }
    }

    fn secrets(&self) -> Vec<Secret> {
        match self {
            Auth::None => Vec::new(),
            Auth::Scheme { credential, .. } => vec![credential.clone()],
            Auth::Basic { user, password } => std::iter::once(user.clone())
                .chain(password.clone())
                .collect(),
        }
    }
}

/// One request, described independently of reqwest so it can be rebuilt (e.g. with a
/// renewed token). `Debug` shows only the method and path.
#[derive(Clone)]
pub struct Request {
    method: Method,
    url: Url,
    query: Vec<(String, String)>,
    auth: Auth,
    json: Option<serde_json::Value>,
    form: Option<Vec<(String, String)>>,
    class: RequestClass,
    effect: Effect,
    secrets: Vec<Secret>,
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Request({} {})", self.method, self.url.path())
    }
}

impl Request {
    /// A GET: read lane, harmless.
    pub fn get(url: Url) -> Request {
        Request::new(Method::GET, url, RequestClass::Read, Effect::Harmless)
    }

    /// A login or token request: paced with the writes (platforms count every POST)
    /// but harmless, so a failure is never "outcome unknown".
    pub fn session(method: Method, url: Url) -> Request {
        Request::new(method, url, RequestClass::Write, Effect::Harmless)
    }

    /// An order or other state-changing request: write lane, no retries, and any
    /// failure after sending is ambiguous.
    pub fn state_changing(method: Method, url: Url) -> Request {
        Request::new(method, url, RequestClass::Write, Effect::StateChanging)
    }

    fn new(method: Method, url: Url, class: RequestClass, effect: Effect) -> Request {
        Request {
            method,
            url,
            query: Vec::new(),
            auth: Auth::None,
            json: None,
            form: None,
            class,
            effect,
            secrets: Vec::new(),
        }
    }

    /// Appends a query parameter (percent-encoded on sending).
    pub fn query(mut self, name: &str, value: impl ToString) -> Request {
        self.query.push((name.to_string(), value.to_string()));
        self
    }

    /// Replaces the authentication; its credentials are masked in every message.
    pub fn auth(mut self, auth: Auth) -> Request {
        self.auth = auth;
        self
    }

    /// A JSON body. Register any secret it holds with [`Request::redact`].
    pub fn json(mut self, body: serde_json::Value) -> Request {
        self.json = Some(body);
        self
    }

    /// A form-encoded body (`application/x-www-form-urlencoded`), fields in this
    /// order. A request has one body: a form replaces any JSON body. Register any
    /// secret it holds with [`Request::redact`].
    pub fn form(mut self, fields: Vec<(String, String)>) -> Request {
        self.json = None;
        self.form = Some(fields);
        self
    }

    /// Masks this secret wherever it shows up in a message about this request.
    pub fn redact(mut self, secret: Secret) -> Request {
        self.secrets.push(secret);
        self
    }

    /// "POST /api/v2/orders": how messages name the request (no host, no query).
    fn describe(&self) -> String {
        format!("{} {}", self.method, self.url.path())
    }

    fn all_secrets(&self) -> Vec<Secret> {
        let mut secrets = self.auth.secrets();
        secrets.extend(self.secrets.iter().cloned());
        secrets
    }
}

/// A failed call: either a [`PlatformError`], or a 401 the caller may answer by
/// renewing its credentials once.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CallError {
    #[error("{platform} answered 401 Unauthorized: {message}")]
    Unauthorized { platform: String, message: String },
    #[error(transparent)]
    Failed(#[from] PlatformError),
}

impl From<CallError> for PlatformError {
    /// A 401 nobody handled means the credentials were refused.
    fn from(error: CallError) -> PlatformError {
        match error {
            CallError::Unauthorized { platform, message } => {
                PlatformError::Auth { platform, message }
            }
            CallError::Failed(error) => error,
        }
    }
}

/// Why no complete answer arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TransportKind {
    /// The connection was never established: the request was not sent.
    Connect,
    Timeout,
    /// The answer's body broke off or could not be read.
    Body,
    /// The answer's body exceeded [`MAX_BODY_BYTES`].
    TooLarge,
    /// Anything else after the request may have left (e.g. connection reset).
    Request,
}

impl TransportKind {
    /// The `status` label of `autoinvest_http_requests_total`.
    fn label(self) -> &'static str {
        match self {
            TransportKind::Connect => "connect",
            TransportKind::Timeout => "timeout",
            TransportKind::Body => "body",
            TransportKind::TooLarge => "too_large",
            TransportKind::Request => "request",
        }
    }

    fn of(error: &reqwest::Error) -> TransportKind {
        if error.is_connect() {
            TransportKind::Connect
        } else if error.is_timeout() {
            TransportKind::Timeout
        } else if error.is_body() || error.is_decode() {
            TransportKind::Body
        } else {
            TransportKind::Request
        }
    }
}

struct TransportFailure {
    kind: TransportKind,
    message: String,
}

impl TransportFailure {
    fn from_reqwest(error: reqwest::Error) -> TransportFailure {
        TransportFailure {
            kind: TransportKind::of(&error),
            message: error_chain(&error.without_url()),
        }
    }
}

/// A complete answer: status, the headers that matter, and the whole body.
struct Reply {
    status: StatusCode,
    retry_after: Option<Duration>,
    content_type: Option<String>,
    /// The platform's id for this exchange (`Request-Id`), for support requests.
    request_id: Option<String>,
    body: Bytes,
}

/// The shared HTTP layer of one platform account.
pub struct PlatformHttp {
    platform: PlatformId,
    reads: Client,
    writes: Client,
    pacer: Arc<Pacer>,
    metrics: Arc<Metrics>,
}

impl fmt::Debug for PlatformHttp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PlatformHttp")
            .field("platform", &self.platform)
            .field("pacer", &self.pacer)
            .finish()
    }
}

impl PlatformHttp {
    pub fn new(
        platform: PlatformId,
        timeouts: Timeouts,
        pacer: Arc<Pacer>,
        metrics: Arc<Metrics>,
    ) -> Result<PlatformHttp, PlatformError> {
        let build_failed = |error: reqwest::Error| PlatformError::Connectivity {
            platform: platform.to_string(),
            message: format!("cannot build the HTTP client: {}", error_chain(&error)),
        };
        let reads = client_builder(timeouts).build().map_err(build_failed)?;
        let writes = client_builder(timeouts)
            .retry(reqwest::retry::never())
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(build_failed)?;
        Ok(PlatformHttp {
            platform,
            reads,
            writes,
            pacer,
            metrics,
        })
    }

    /// The account's pacer (shared with anything else sending for this account).
    pub fn pacer(&self) -> &Arc<Pacer> {
        &self.pacer
    }

    /// Sends `request` (waiting for the pacer first) and decodes the JSON answer.
    pub async fn send_json<T: DeserializeOwned>(&self, request: Request) -> Result<T, CallError> {
        let body = self.exchange(&request).await?;
        self.decode(&request, &body)
    }

    /// Sends `request` like [`PlatformHttp::send_json`] for an answer without a body
    /// worth reading (`204 No Content`, e.g. a logout): any 2xx is success.
    pub async fn send_ignoring_body(&self, request: Request) -> Result<(), CallError> {
        self.exchange(&request).await.map(drop)
    }

    /// Pace, send, read the whole answer, count it, and turn anything but a 2xx into
    /// an error.
    async fn exchange(&self, request: &Request) -> Result<Bytes, CallError> {
        let outgoing = self.build(request)?;
        let waited = self.pacer.until_ready(request.class).await;
        self.metrics
            .rate_limit_wait_seconds
            .with_label_values(&[self.platform.as_str()])
            .observe(waited.as_secs_f64());

        let started = Instant::now();
        let outcome = match self.client(request.class).execute(outgoing).await {
            Ok(response) => read_reply(response).await,
            Err(error) => Err(TransportFailure::from_reqwest(error)),
        };
        let status_label = match &outcome {
            Ok(reply) => reply.status.as_str().to_string(),
            Err(failure) => failure.kind.label().to_string(),
        };
        let request_id = outcome
            .as_ref()
            .ok()
            .and_then(|reply| reply.request_id.as_deref());
        self.record(request, &status_label, started.elapsed(), request_id);

        match outcome {
            Ok(reply) => self.accept(request, reply),
            Err(failure) => Err(self.transport_error(request, failure).into()),
        }
    }

    /// Reads may be retried by reqwest; writes never are.
    fn client(&self, class: RequestClass) -> &Client {
        match class {
            RequestClass::Read => &self.reads,
            RequestClass::Write => &self.writes,
        }
    }

    fn build(&self, request: &Request) -> Result<reqwest::Request, PlatformError> {
        let mut builder = self
            .client(request.class)
            .request(request.method.clone(), request.url.clone())
            .query(&request.query);
        match &request.auth {
            Auth::None => {}
            Auth::Scheme { scheme, credential } => {
                let mut value = HeaderValue::from_str(&format!("{scheme} {}", credential.expose()))
                    .map_err(|_| PlatformError::Auth {
                        platform: self.platform.to_string(),
                        message: "the credential holds characters not allowed in a header"
                            .to_string(),
                    })?;
                value.set_sensitive(true);
                builder = builder.header(AUTHORIZATION, value);
            }
            Auth::Basic { user, password } => {
                builder = builder.basic_auth(user.expose(), password.as_ref().map(Secret::expose));
            }
        }
        if let Some(json) = &request.json {
            builder = builder.json(json);
        }
        if let Some(fields) = &request.form {
            builder = builder.form(fields);
        }
        builder
            .build()
            .map_err(|error| PlatformError::Connectivity {
                platform: self.platform.to_string(),
                message: self.message(
                    request,
                    &format!(
                        "{}: cannot build the request: {}",
                        request.describe(),
                        error_chain(&error.without_url())
                    ),
                ),
            })
    }

    fn record(&self, request: &Request, status: &str, elapsed: Duration, request_id: Option<&str>) {
        let platform = self.platform.as_str();
        let method = request.method.as_str();
        self.metrics
            .http_requests_total
            .with_label_values(&[platform, method, status])
            .inc();
        self.metrics
            .http_request_seconds
            .with_label_values(&[platform, method])
            .observe(elapsed.as_secs_f64());
        tracing::debug!(platform, request = %request.describe(), status, elapsed_ms = elapsed.as_millis() as u64, request_id = request_id.unwrap_or(""), "platform request");
    }

    /// Feeds the pacer and classifies the status of a complete answer.
    fn accept(&self, request: &Request, reply: Reply) -> Result<Bytes, CallError> {
        if reply.status == StatusCode::TOO_MANY_REQUESTS {
            self.pacer.rate_limited(reply.retry_after);
        } else if reply.status.is_success() {
            self.pacer.succeeded();
        }
        let platform = self.platform.to_string();
        let status = reply.status;
        if status.is_success() {
            return Ok(reply.body);
        }
        let summary = self.message(
            request,
            &platform_message(status, reply.content_type.as_deref(), &reply.body),
        );
        let error = match status.as_u16() {
            401 => {
                return Err(CallError::Unauthorized {
                    platform,
                    message: summary,
                })
            }
            429 => PlatformError::RateLimited {
                platform,
                retry_after: reply.retry_after,
            },
            400..=499 => PlatformError::Rejected {
                platform,
                status: status.as_u16(),
                message: summary,
            },
            code => {
                let message = format!("HTTP {code} on {}: {summary}", request.describe());
                match (request.effect, status.is_server_error()) {
                    (Effect::StateChanging, _) => PlatformError::Ambiguous { platform, message },
                    (Effect::Harmless, true) => PlatformError::Connectivity { platform, message },
                    (Effect::Harmless, false) => PlatformError::BadResponse { platform, message },
                }
            }
        };
        if status.is_server_error() {
            tracing::warn!(platform = %self.platform, request = %request.describe(), %error, "platform error");
        }
        Err(error.into())
    }

    fn transport_error(&self, request: &Request, failure: TransportFailure) -> PlatformError {
        let platform = self.platform.to_string();
        let message = self.message(
            request,
            &format!(
                "{}: {}: {}",
                request.describe(),
                failure.kind.label(),
                failure.message
            ),
        );
        tracing::warn!(platform = %self.platform, %message, "platform request failed");
        match (failure.kind, request.effect) {
            (TransportKind::Connect, _) => PlatformError::Connectivity { platform, message },
            (_, Effect::StateChanging) => PlatformError::Ambiguous { platform, message },
            (TransportKind::TooLarge, Effect::Harmless) => {
                PlatformError::BadResponse { platform, message }
            }
            (_, Effect::Harmless) => PlatformError::Connectivity { platform, message },
        }
    }

    /// Decodes a 2xx body; an unusable one is counted as a parse error.
    fn decode<T: DeserializeOwned>(&self, request: &Request, body: &[u8]) -> Result<T, CallError> {
        serde_json::from_slice(body).map_err(|error| {
            self.metrics
                .parse_errors_total
                .with_label_values(&[self.platform.as_str()])
                .inc();
            let platform = self.platform.to_string();
            let message = self.message(
                request,
                &format!("{}: unusable answer: {error}", request.describe()),
            );
            tracing::warn!(platform = %self.platform, %message, "cannot decode platform answer");
            let error = match request.effect {
                Effect::Harmless => PlatformError::BadResponse { platform, message },
                Effect::StateChanging => PlatformError::Ambiguous { platform, message },
            };
            error.into()
        })
    }

    /// Masks the request's secrets, then truncates.
    fn message(&self, request: &Request, text: &str) -> String {
        truncate(&redact(text, &request.all_secrets()), MAX_MESSAGE_CHARS)
    }
}

fn client_builder(timeouts: Timeouts) -> reqwest::ClientBuilder {
    Client::builder()
        .user_agent(USER_AGENT)
        .connect_timeout(timeouts.connect)
        .timeout(timeouts.request)
}

async fn read_reply(mut response: reqwest::Response) -> Result<Reply, TransportFailure> {
    let status = response.status();
    let headers = response.headers();
    let retry_after = retry_after(headers);
    let content_type = header_text(headers, CONTENT_TYPE.as_str());
    let request_id = header_text(headers, REQUEST_ID);
    let mut body = BytesMut::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(TransportFailure::from_reqwest)?
    {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(TransportFailure {
                kind: TransportKind::TooLarge,
                message: format!("body larger than {MAX_BODY_BYTES} bytes"),
            });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Reply {
        status,
        retry_after,
        content_type,
        request_id,
        body: body.freeze(),
    })
}

fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(str::to_string)
}

fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    header_text(headers, RETRY_AFTER.as_str())
        .and_then(|value| parse_retry_after(&value, SystemTime::now()))
}

/// A platform's configured `base_url`, checked once: an http(s) URL that can hold a
/// path, without query or fragment. Clients append their API paths to it.
pub fn parse_base_url(id: &PlatformId, base_url: &str) -> Result<Url, PlatformError> {
    let invalid = |why: &str| PlatformError::Connectivity {
        platform: id.to_string(),
        message: format!("base_url {base_url:?} {why}"),
    };
    let mut url = Url::parse(base_url.trim()).map_err(|_| invalid("is not a URL"))?;
    if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
        return Err(invalid("is not an http(s) URL"));
    }
    url.set_query(None);
    url.set_fragment(None);
    Ok(url)
}

/// `Retry-After` as delay-seconds or an HTTP date (a date in the past means now).
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
}

/// A short, single-line summary of an error answer: the platform's own message when
/// its JSON has one, "HTML error page (502)" for HTML, else the text itself.
pub fn platform_message(status: StatusCode, content_type: Option<&str>, body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return format!("empty body ({status})");
    }
    let is_html = content_type.is_some_and(|kind| kind.contains("html")) || text.starts_with('<');
    if is_html {
        return format!("HTML error page ({})", status.as_u16());
    }
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(json) => json_message(&json).unwrap_or_else(|| json.to_string()),
        Err(_) => single_line(text),
    }
}

/// The message in the error shapes platforms use: `{"errors":[{"code","message"}]}`,
/// `{"errors":["..."]}`, `{"error":".."}`, `{"error":{"message":..}}`, `{"message":..}`,
/// `{"status_message":..}`, `{"detail":..}`, and Fundrise's
/// `{"referenceId", "code", "message", "validationErrors": {field: [..]}}`.
fn json_message(json: &serde_json::Value) -> Option<String> {
    if let Some(text) = json.as_str() {
        return Some(single_line(text));
    }
    if let Some(reference) = json.get("referenceId").and_then(|id| id.as_str()) {
        return Some(fundrise_message(json, reference));
    }
    if let Some(errors) = json.get("errors").and_then(|errors| errors.as_array()) {
        let parts: Vec<String> = errors.iter().filter_map(error_entry).collect();
        if !parts.is_empty() {
            return Some(parts.join("; "));
        }
    }
    [
        "error",
        "message",
        "status_message",
        "detail",
        "error_description",
    ]
    .iter()
    .filter_map(|key| json.get(*key))
    .find_map(|value| {
        value
            .as_str()
            .map(single_line)
            .or_else(|| json_message(value))
    })
}

/// "referenceId …: code: message; field: problem, problem": every part Fundrise gave,
/// the reference its support asks for first (so truncation never cuts it off).
fn fundrise_message(json: &serde_json::Value, reference: &str) -> String {
    let mut parts = Vec::new();
    if let Some(headline) = error_entry(json) {
        parts.push(headline);
    }
    if let Some(fields) = json.get("validationErrors").and_then(|v| v.as_object()) {
        for (field, problems) in fields {
            let problems: Vec<&str> = problems
                .as_array()
                .map(|list| list.iter().filter_map(|p| p.as_str()).collect())
                .unwrap_or_default();
            parts.push(single_line(&format!("{field}: {}", problems.join(", "))));
        }
    }
    if parts.is_empty() {
        parts.push("no message".to_string());
    }
    format!(
        "referenceId {}: {}",
        single_line(reference),
        parts.join("; ")
    )
}

/// One entry of an `errors` array: "code: message", or either alone.
fn error_entry(entry: &serde_json::Value) -> Option<String> {
    if let Some(text) = entry.as_str() {
        return Some(single_line(text));
    }
    let field = |key: &str| entry.get(key).and_then(|value| value.as_str());
    match (field("code"), field("message")) {
        (Some(code), Some(message)) => Some(single_line(&format!("{code}: {message}"))),
        (None, Some(message)) => Some(single_line(message)),
        (Some(code), None) => Some(single_line(code)),
        (None, None) => None,
    }
}

fn single_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn redact(text: &str, secrets: &[Secret]) -> String {
    secrets
        .iter()
        .map(Secret::expose)
        .filter(|secret| !secret.is_empty())
        .fold(text.to_string(), |text, secret| {
            text.replace(secret, "**REDACTED**")
        })
}

fn truncate(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

/// An error and its causes, "a: b: c" (reqwest's own Display hides the cause).
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut parts = vec![error.to_string()];
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !parts.iter().any(|part| part.contains(&text)) {
            parts.push(text);
        }
        source = cause.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(status: u16, content_type: Option<&str>, body: &str) -> String {
        platform_message(
            StatusCode::from_u16(status).unwrap(),
            content_type,
            body.as_bytes(),
        )
    }

    #[test]
    fn extracts_the_platforms_error_message() {
        let cases = [
            (
                r#"{"errors":[{"code":"insufficient_funds","message":"Not enough cash"},{"code":"x","message":"y"}]}"#,
                "insufficient_funds: Not enough cash; x: y",
            ),
            (r#"{"errors":["amount too small"]}"#, "amount too small"),
            (r#"{"error":"listing closed"}"#, "listing closed"),
            (r#"{"error":{"message":"nested"}}"#, "nested"),
            (r#"{"message":"Validation failed"}"#, "Validation failed"),
            (r#"{"status_message":"Not found"}"#, "Not found"),
            (r#"{"detail":"Invalid token."}"#, "Invalid token."),
            (
                r#"{"referenceId":"ed85","code":"100502","message":"acknowledgedDocumentIds do not match those required"}"#,
                "referenceId ed85: 100502: acknowledgedDocumentIds do not match those required",
            ),
            (
                r#"{"referenceId":"ed86","validationErrors":{"amount":["must not be null","must be greater than or equal to 10.00"],"offeringId":["must not be blank"]}}"#,
                "referenceId ed86: amount: must not be null, must be greater than or equal to 10.00; offeringId: must not be blank",
            ),
            (
                r#"{"referenceId":"ed87"}"#,
                "referenceId ed87: no message",
            ),
            (r#"{"other":1}"#, r#"{"other":1}"#),
            ("plain\n  text", "plain text"),
            ("", "empty body (422 Unprocessable Entity)"),
        ];
        for (body, expected) in cases {
            assert_eq!(
                message(422, Some("application/json"), body),
                expected,
                "{body}"
            );
        }
    }

    #[test]
    fn summarises_html_pages() {
        let page = "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>";
        assert_eq!(
            message(502, Some("text/html"), page),
            "HTML error page (502)"
        );
        assert_eq!(message(502, None, page), "HTML error page (502)");
    }

    #[test]
    fn masks_secrets_before_truncating() {
        let secret = Secret::new("hunter2-pass");
        let text = format!("{}{}", "x".repeat(295), secret.expose());
        let masked = truncate(&redact(&text, &[secret]), MAX_MESSAGE_CHARS);
        assert!(!masked.contains("hunter2"));
        assert!(!masked.contains("hunter"));
        assert_eq!(masked.chars().count(), MAX_MESSAGE_CHARS + 1);
    }

    #[test]
    fn truncates_on_character_boundaries() {
        assert_eq!(truncate("ééé", 2), "éé…");
        assert_eq!(truncate("ab", 2), "ab");
    }

    #[test]
    fn reads_retry_after_as_seconds_or_date() {
        let now = httpdate::parse_http_date("Wed, 21 Oct 2026 07:28:00 GMT").unwrap();
        assert_eq!(parse_retry_after(" 2 ", now), Some(Duration::from_secs(2)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2026 07:28:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2026 07:27:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-1", now), None);
    }

    fn layer() -> PlatformHttp {
        let rate = std::num::NonZeroU32::MIN;
        PlatformHttp::new(
            PlatformId::new("p"),
            Timeouts::default(),
            Arc::new(Pacer::new(rate, rate)),
            Metrics::new(),
        )
        .unwrap()
    }

    #[test]
    fn builds_the_authorization_header_and_query() {
        let url = Url::parse("http://127.0.0.1:9/api/v2/orders").unwrap();
        let bearer = Request::state_changing(Method::POST, url.clone())
            .query("listing_id", "a b")
            .query("amount_cents", 2500)
            .auth(Auth::bearer(Secret::new("tok")));
        let built = layer().build(&bearer).unwrap();
        assert_eq!(
            built.url().query(),
            Some("listing_id=a+b&amount_cents=2500")
        );
        let header = &built.headers()[AUTHORIZATION];
        assert_eq!(header, "Bearer tok");
        assert!(header.is_sensitive());

        let basic = Request::get(url).auth(Auth::Basic {
            user: Secret::new("key"),
            password: None,
        });
        let built = layer().build(&basic).unwrap();
        // base64("key:")
        assert_eq!(built.headers()[AUTHORIZATION], "Basic a2V5Og==");
        assert_eq!(format!("{basic:?}"), "Request(GET /api/v2/orders)");
    }

    #[test]
    fn form_bodies_are_url_encoded_in_order_and_replace_json() {
        let url = Url::parse("http://127.0.0.1:9/api/investments").unwrap();
        let request = Request::state_changing(Method::POST, url)
            .json(serde_json::json!({"ignored": true}))
            .form(vec![
                ("amount".to_string(), "1000.00".to_string()),
                ("offering_id".to_string(), "a b&c=d".to_string()),
            ]);
        let built = layer().build(&request).unwrap();
        assert_eq!(
            built.headers()[CONTENT_TYPE],
            "application/x-www-form-urlencoded"
        );
        let body = built.body().and_then(|body| body.as_bytes()).unwrap();
        assert_eq!(body, b"amount=1000.00&offering_id=a+b%26c%3Dd");
    }

    #[test]
    fn auth_secrets_are_collected_for_masking() {
        let basic = Auth::Basic {
            user: Secret::new("key"),
            password: None,
        };
        assert_eq!(basic.secrets().len(), 1);
        assert_eq!(Auth::bearer(Secret::new("t")).secrets().len(), 1);
        assert!(Auth::None.secrets().is_empty());
    }
}
