//! Why the Fundrise emulator refuses a request: the status, the documented error code
//! (where the spec gives one) and the message of each refusal.
//!
//! A refusal becomes a response carrying the error itself as an extension; the
//! request-id middleware then writes the `FundriseConnectError` body with the
//! request's `referenceId` (the same value as its `Request-Id` header), so every
//! error — from a handler, an auth check or an unknown path — has one shape.

use crate::sandbox::rate_window::retry_after_seconds;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use std::collections::BTreeMap;
use std::time::Duration;

/// Field name → problems, as `validationErrors` lists them.
pub(crate) type FieldErrors = BTreeMap<String, Vec<String>>;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub(crate) enum FrError {
    /// The body is not JSON (or not an object).
    #[error("Malformed request body: {0}")]
    MalformedBody(String),
    /// Field validation (`validationErrors`, no message: as the spec's examples).
    #[error("validation failed: {0:?}")]
    Validation(FieldErrors),
    #[error("Invalid grant type")]
    InvalidGrantType,
    /// The spec's 401 description; it documents no body, so no code.
    #[error("Unauthorized request to server, Invalid access token or Partner credentials")]
    Unauthorized,
    #[error("Customer is not permitted to access the resource")]
    Forbidden,
    #[error("Invalid offeringId provided")]
    InvalidOfferingId,
    #[error("Documents not found for provided offeringId")]
    DocumentsNotFound,
    #[error("Acknowledgments not found for provided offeringIds")]
    AcknowledgmentsNotFound,
    #[error("Transaction does not exist or account does not own transaction")]
    TransactionNotFound,
    #[error("Invalid investmentId provided")]
    InvestmentNotFound,
    #[error("acknowledgedDocumentIds do not match those required")]
    DocumentIdsMismatch,
    #[error("Investment must have a PENDING status to cancel")]
    NotPending,
    #[error("Cancellation window is closed for this Investment")]
    CancellationWindowClosed,
    /// Not in the spec for investments: modelled on its 409 for a Client whose
    /// `partnerReferenceId` was already used (code 200100), without inventing a code.
    #[error("Investment already created for supplied partnerReferenceId")]
    DuplicateReference,
    /// Not in the spec (it documents no answer for a CLOSED offering): assumed 400.
    #[error("Offering {0} is CLOSED and does not accept investments")]
    OfferingClosed(String),
    #[error("No such endpoint")]
    UnknownEndpoint,
    /// Fundrise documents rate limits per Client and per HTTP method, not their size.
    #[error("Too many {method} requests: at most {limit} per second per Client")]
    RateLimited {
        method: &'static str,
        limit: usize,
        retry_after: Duration,
    },
}

impl FrError {
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            FrError::MalformedBody(_)
            | FrError::Validation(_)
            | FrError::InvalidGrantType
            | FrError::DocumentIdsMismatch
            | FrError::NotPending
            | FrError::CancellationWindowClosed
            | FrError::OfferingClosed(_) => StatusCode::BAD_REQUEST,
            FrError::Unauthorized => StatusCode::UNAUTHORIZED,
            FrError::Forbidden => StatusCode::FORBIDDEN,
            FrError::InvalidOfferingId
            | FrError::DocumentsNotFound
            | FrError::AcknowledgmentsNotFound
            | FrError::TransactionNotFound
            | FrError::InvestmentNotFound
            | FrError::UnknownEndpoint => StatusCode::NOT_FOUND,
            FrError::DuplicateReference => StatusCode::CONFLICT,
            FrError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
        }
    }

    /// The spec's error code, where it documents one.
    pub(crate) fn code(&self) -> Option<&'static str> {
        match self {
            FrError::InvalidOfferingId => Some("200101"),
            FrError::DocumentsNotFound => Some("200102"),
            FrError::AcknowledgmentsNotFound => Some("200103"),
            FrError::TransactionNotFound => Some("200105"),
            FrError::DocumentIdsMismatch => Some("100502"),
            FrError::NotPending => Some("100510"),
            FrError::CancellationWindowClosed => Some("100511"),
            FrError::InvestmentNotFound => Some("100512"),
            _ => None,
        }
    }

    /// The human-readable message; validation errors carry none (their fields say it).
    pub(crate) fn message(&self) -> Option<String> {
        match self {
            FrError::Validation(_) => None,
            other => Some(other.to_string()),
        }
    }

    pub(crate) fn validation_errors(&self) -> Option<&FieldErrors> {
        match self {
            FrError::Validation(fields) => Some(fields),
            _ => None,
        }
    }

    /// A validation error on one field.
    pub(crate) fn field(name: &str, problems: &[&str]) -> FrError {
        let mut fields = FieldErrors::new();
        fields.insert(
            name.to_string(),
            problems.iter().map(|p| p.to_string()).collect(),
        );
        FrError::Validation(fields)
    }
}

impl IntoResponse for FrError {
    /// Status (and `Retry-After`) now; the body is written by the request-id middleware.
    fn into_response(self) -> Response {
        let mut response = self.status().into_response();
        if let FrError::RateLimited { retry_after, .. } = &self {
            if let Ok(value) = retry_after_seconds(*retry_after).to_string().parse() {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
        }
        response.extensions_mut().insert(self);
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_refusals_keep_the_spec_codes_and_messages() {
        let cases = [
            (
                FrError::InvalidOfferingId,
                404,
                Some("200101"),
                "Invalid offeringId provided",
            ),
            (
                FrError::DocumentIdsMismatch,
                400,
                Some("100502"),
                "acknowledgedDocumentIds do not match those required",
            ),
            (
                FrError::NotPending,
                400,
                Some("100510"),
                "Investment must have a PENDING status to cancel",
            ),
            (
                FrError::CancellationWindowClosed,
                400,
                Some("100511"),
                "Cancellation window is closed for this Investment",
            ),
            (
                FrError::InvestmentNotFound,
                404,
                Some("100512"),
                "Invalid investmentId provided",
            ),
            (
                FrError::TransactionNotFound,
                404,
                Some("200105"),
                "Transaction does not exist or account does not own transaction",
            ),
            (FrError::InvalidGrantType, 400, None, "Invalid grant type"),
            (
                FrError::DuplicateReference,
                409,
                None,
                "Investment already created for supplied partnerReferenceId",
            ),
        ];
        for (error, status, code, message) in cases {
            assert_eq!(error.status().as_u16(), status, "{error:?}");
            assert_eq!(error.code(), code, "{error:?}");
            assert_eq!(error.message().as_deref(), Some(message));
        }
        let validation = FrError::field("amount", &["must not be null"]);
        assert_eq!(validation.message(), None);
        assert_eq!(
            validation.validation_errors().unwrap()["amount"],
            ["must not be null"]
        );
    }

    #[test]
    fn a_rate_limit_answer_says_when_to_retry() {
        let response = FrError::RateLimited {
            method: "POST",
            limit: 20,
            retry_after: Duration::from_millis(1200),
        }
        .into_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[header::RETRY_AFTER], "2");
        assert!(response.extensions().get::<FrError>().is_some());
    }
}
