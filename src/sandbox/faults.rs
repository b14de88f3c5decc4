//! Faults the emulators inject on purpose, switchable at run time, so the daemon's
//! handling of slow, failing, lying and vanishing platforms can be exercised: latency,
//! 5xx, HTML error pages, spurious 429s, malformed bodies, and orders that are executed
//! but whose response never arrives.
//!
//! Decisions come from a seeded RNG, so a run with the same seed and the same request
//! sequence meets the same faults. Rates are probabilities, not money: f64 is fine.

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// Which faults to inject, as `GET`/`PUT /__sandbox/faults` show and take them.
/// Fields left out of a `PUT` are off (0).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Delay before every platform response.
    pub latency_ms: u64,
    /// Probability of a 500/503 JSON error instead of handling the request.
    pub error_5xx_rate: f64,
    /// Probability of a spurious 429 (with `Retry-After`) instead of handling it.
    pub rate_limit_rate: f64,
    /// Probability that a successful response's body is cut short (invalid JSON, status
    /// 200). An order is executed first: the outcome is ambiguous to the client.
    pub malformed_rate: f64,
    /// Probability (order POSTs only) that the order is executed and recorded, then the
    /// connection is dropped before the response is complete.
    pub drop_after_accept_rate: f64,
    /// Probability of an HTML 502 page (as a proxy would send) instead of handling it.
    pub html_502_rate: f64,
}

/// A rate outside 0..=1.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{field} must be a probability between 0 and 1, got {value}")]
pub struct InvalidFaultRate {
    pub field: &'static str,
    pub value: f64,
}

impl Faults {
    /// Checks every rate is a probability.
    pub fn validate(&self) -> Result<(), InvalidFaultRate> {
        let rates = [
            ("error_5xx_rate", self.error_5xx_rate),
            ("rate_limit_rate", self.rate_limit_rate),
            ("malformed_rate", self.malformed_rate),
            ("drop_after_accept_rate", self.drop_after_accept_rate),
            ("html_502_rate", self.html_502_rate),
        ];
        match rates
            .into_iter()
            .find(|(_, value)| !(0.0..=1.0).contains(value))
        {
            Some((field, value)) => Err(InvalidFaultRate { field, value }),
            None => Ok(()),
        }
    }
}

/// Answers instead of handling the request (nothing is done).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Interruption {
    ServerError(StatusCode),
    HtmlBadGateway,
    RateLimited,
}

/// Spoils the answer of a request that was handled (and succeeded).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Corruption {
    DropConnection,
    Malformed,
}

/// What happens to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FaultPlan {
    latency: Duration,
    interruption: Option<Interruption>,
    corruption: Option<Corruption>,
}

#[derive(Debug)]
struct FaultState {
    initial: Faults,
    current: Faults,
    seed: u64,
    rng: ChaCha8Rng,
}

/// The shared, switchable fault settings and their RNG.
#[derive(Debug, Clone)]
pub(crate) struct FaultInjector {
    state: Arc<Mutex<FaultState>>,
}

/// The fault RNG's stream, so its draws never overlap the listing generator's.
const FAULT_RNG_STREAM: u64 = 0xFA17;

fn fault_rng(seed: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(FAULT_RNG_STREAM);
    rng
}

impl FaultInjector {
    pub(crate) fn new(initial: Faults, seed: u64) -> Self {
        FaultInjector {
            state: Arc::new(Mutex::new(FaultState {
                initial,
                current: initial,
                seed,
                rng: fault_rng(seed),
            })),
        }
    }

    fn locked(&self) -> std::sync::MutexGuard<'_, FaultState> {
        // A panic while holding the lock cannot leave the settings half-written (they
        // are plain values), so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn current(&self) -> Faults {
        self.locked().current
    }

    pub(crate) fn set(&self, faults: Faults) -> Result<(), InvalidFaultRate> {
        faults.validate()?;
        self.locked().current = faults;
        Ok(())
    }

    /// Back to the faults the sandbox started with, and the RNG to its seed.
    pub(crate) fn reset(&self) {
        let mut state = self.locked();
        state.current = state.initial;
        state.rng = fault_rng(state.seed);
    }

    /// Draws the faults for one request. Every request draws the same number of values
    /// whatever the settings, so the sequence of faults depends only on the seed and on
    /// the order of requests.
    fn plan(&self, is_order_post: bool) -> FaultPlan {
        let mut state = self.locked();
        let faults = state.current;
        let rng = &mut state.rng;
        let mut hit = |rate: f64| rng.random::<f64>() < rate;
        let server_error = hit(faults.error_5xx_rate);
        let bad_gateway = hit(faults.html_502_rate);
        let rate_limited = hit(faults.rate_limit_rate);
        let dropped = hit(faults.drop_after_accept_rate) && is_order_post;
        let malformed = hit(faults.malformed_rate);
        let unavailable = hit(0.5);
        let interruption = if server_error {
            Some(Interruption::ServerError(if unavailable {
                StatusCode::SERVICE_UNAVAILABLE
            } else {
                StatusCode::INTERNAL_SERVER_ERROR
            }))
        } else if bad_gateway {
            Some(Interruption::HtmlBadGateway)
        } else if rate_limited {
            Some(Interruption::RateLimited)
        } else {
            None
        };
        let corruption = if dropped {
            Some(Corruption::DropConnection)
        } else if malformed {
            Some(Corruption::Malformed)
        } else {
            None
        };
        FaultPlan {
            latency: Duration::from_millis(faults.latency_ms),
            interruption,
            corruption,
        }
    }
}

/// The fault middleware's state: the injector and how this platform's order POSTs look
/// (paths as the platform's own router sees them).
#[derive(Debug, Clone)]
pub(crate) struct FaultScope {
    pub injector: FaultInjector,
    pub is_order_post: fn(&Method, &str) -> bool,
}

/// Middleware applying the current faults to one platform's requests.
pub(crate) async fn inject(
    State(scope): State<FaultScope>,
    request: Request,
    next: Next,
) -> Response {
    let is_order_post = (scope.is_order_post)(request.method(), request.uri().path());
    let plan = scope.injector.plan(is_order_post);
    if !plan.latency.is_zero() {
        tokio::time::sleep(plan.latency).await;
    }
    if let Some(interruption) = plan.interruption {
        tracing::debug!(?interruption, path = %request.uri().path(), "sandbox fault");
        return interrupted(interruption);
    }
    let response = next.run(request).await;
    match plan.corruption {
        Some(corruption) if response.status().is_success() => {
            tracing::debug!(?corruption, "sandbox fault");
            corrupted(response, corruption).await
        }
        _ => response,
    }
}

fn interrupted(interruption: Interruption) -> Response {
    match interruption {
        Interruption::ServerError(status) => (
            status,
            axum::Json(serde_json::json!({"error": "sandbox fault: injected server error"})),
        )
            .into_response(),
        Interruption::HtmlBadGateway => (
            StatusCode::BAD_GATEWAY,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            BAD_GATEWAY_PAGE,
        )
            .into_response(),
        Interruption::RateLimited => (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, HeaderValue::from_static("1"))],
            axum::Json(serde_json::json!({"error": "sandbox fault: rate limit exceeded"})),
        )
            .into_response(),
    }
}

const BAD_GATEWAY_PAGE: &str = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n\
<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n\
</body>\r\n</html>\r\n";

async fn corrupted(response: Response, corruption: Corruption) -> Response {
    let (mut parts, body) = response.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    match corruption {
        Corruption::DropConnection => {
            // An error from the body stream makes hyper abort the connection before the
            // buffered response head is flushed: the client sees the connection close
            // with no (or no complete) response, although the order was executed.
            let aborted = futures::stream::once(async {
                Err::<Bytes, _>(std::io::Error::new(
                    std::io::ErrorKind::ConnectionAborted,
                    "sandbox fault: connection dropped after accepting the order",
                ))
            });
            Response::from_parts(parts, Body::from_stream(aborted))
        }
        Corruption::Malformed => {
            // The handler's bodies are small in-memory JSON documents.
            let full = axum::body::to_bytes(body, usize::MAX)
                .await
                .unwrap_or_default();
            parts.status = StatusCode::OK;
            Response::from_parts(parts, Body::from(truncated_json(&full)))
        }
    }
}

/// The first half of a JSON document: never valid JSON (its closing bracket is gone).
fn truncated_json(full: &Bytes) -> Bytes {
    if full.len() < 2 {
        return Bytes::from_static(b"{");
    }
    full.slice(..full.len() / 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plans(injector: &FaultInjector, count: usize, is_order_post: bool) -> Vec<FaultPlan> {
        (0..count).map(|_| injector.plan(is_order_post)).collect()
    }

    #[test]
    fn no_faults_by_default() {
        let injector = FaultInjector::new(Faults::default(), 1);
        for plan in plans(&injector, 200, true) {
            assert_eq!(plan.interruption, None);
            assert_eq!(plan.corruption, None);
            assert_eq!(plan.latency, Duration::ZERO);
        }
    }

    #[test]
    fn a_rate_of_one_always_applies_and_drops_only_hit_order_posts() {
        let injector = FaultInjector::new(
            Faults {
                drop_after_accept_rate: 1.0,
                ..Faults::default()
            },
            1,
        );
        assert!(plans(&injector, 50, true)
            .iter()
            .all(|p| p.corruption == Some(Corruption::DropConnection)));
        assert!(plans(&injector, 50, false)
            .iter()
            .all(|p| p.corruption.is_none()));
    }

    #[test]
    fn server_errors_are_500_or_503_and_rates_are_roughly_honoured() {
        let injector = FaultInjector::new(
            Faults {
                error_5xx_rate: 0.3,
                ..Faults::default()
            },
            9,
        );
        let drawn = plans(&injector, 2_000, false);
        let statuses: Vec<StatusCode> = drawn
            .iter()
            .filter_map(|p| match p.interruption {
                Some(Interruption::ServerError(status)) => Some(status),
                _ => None,
            })
            .collect();
        assert!((500..=700).contains(&statuses.len()), "{}", statuses.len());
        assert!(statuses.contains(&StatusCode::INTERNAL_SERVER_ERROR));
        assert!(statuses.contains(&StatusCode::SERVICE_UNAVAILABLE));
    }

    #[test]
    fn same_seed_same_faults_and_reset_replays_them() {
        let faults = Faults {
            malformed_rate: 0.5,
            rate_limit_rate: 0.2,
            ..Faults::default()
        };
        let a = FaultInjector::new(faults, 3);
        let b = FaultInjector::new(faults, 3);
        let first = plans(&a, 100, false);
        assert_eq!(first, plans(&b, 100, false));
        a.set(Faults::default()).unwrap();
        a.reset();
        assert_eq!(a.current(), faults);
        assert_eq!(plans(&a, 100, false), first);
    }

    #[test]
    fn rates_outside_zero_to_one_are_refused() {
        for bad in [-0.1, 1.5, f64::NAN] {
            let faults = Faults {
                html_502_rate: bad,
                ..Faults::default()
            };
            let err = faults.validate().unwrap_err();
            assert_eq!(err.field, "html_502_rate");
        }
        let injector = FaultInjector::new(Faults::default(), 1);
        let refused = Faults {
            error_5xx_rate: 2.0,
            ..Faults::default()
        };
        assert!(injector.set(refused).is_err());
        assert_eq!(injector.current(), Faults::default());
    }

    #[test]
    fn truncated_json_never_parses() {
        for text in [r#"{"a":1}"#, r#"{"orders":[{"id":"x"}]}"#, "{}", ""] {
            let cut = truncated_json(&Bytes::from(text.to_string()));
            assert!(serde_json::from_slice::<serde_json::Value>(&cut).is_err());
        }
    }
}
