//! Why the issuer-portal emulator refuses a request, answered the way Django REST
//! framework does: `{"detail": ".."}` for authentication, permission, parsing and
//! not-found errors, and `{"field": ["message", ..], ..}` (with `non_field_errors`
//! for the request as a whole) for validation errors, all fields at once.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// DRF's message for a validation error on a field that was left out.
pub(crate) const REQUIRED: &str = "This field is required.";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum IpError {
    /// The body is not JSON (DRF's `ParseError`).
    #[error("JSON parse error - {0}")]
    Parse(String),
    /// Validation errors by field name; `non_field_errors` for the request as a whole.
    #[error("invalid request: {0:?}")]
    Invalid(BTreeMap<String, Vec<String>>),
    /// Third-party API without a token.
    #[error("Authentication credentials were not provided.")]
    NotAuthenticated,
    /// Unknown, logged-out or expired token.
    #[error("Invalid token.")]
    InvalidToken,
    /// Issuer API without an `Api-Key`.
    #[error("Authentication credentials were not provided.")]
    ApiKeyMissing,
    /// Issuer API with a refused key.
    #[error("You do not have permission to perform this action.")]
    ApiKeyRefused,
    #[error("Not found.")]
    NotFound,
    /// A page number past the last page.
    #[error("Invalid page.")]
    InvalidPage,
}

impl IpError {
    /// One validation message on one field.
    pub(crate) fn field(name: &str, message: impl Into<String>) -> IpError {
        IpError::Invalid(BTreeMap::from([(name.to_string(), vec![message.into()])]))
    }

    pub(crate) fn status(&self) -> StatusCode {
        match self {
            IpError::Parse(_) | IpError::Invalid(_) => StatusCode::BAD_REQUEST,
            IpError::NotAuthenticated | IpError::InvalidToken => StatusCode::UNAUTHORIZED,
            IpError::ApiKeyMissing | IpError::ApiKeyRefused => StatusCode::FORBIDDEN,
            IpError::NotFound | IpError::InvalidPage => StatusCode::NOT_FOUND,
        }
    }

    /// The DRF error body.
    pub(crate) fn body(&self) -> Value {
        match self {
            IpError::Invalid(fields) => json!(fields),
            other => json!({"detail": other.to_string()}),
        }
    }
}

impl IntoResponse for IpError {
    fn into_response(self) -> Response {
        let body = axum::Json(self.body());
        match self {
            // DRF names the scheme a 401 wants (token authentication).
            IpError::NotAuthenticated | IpError::InvalidToken => {
                (self.status(), [(header::WWW_AUTHENTICATE, "Token")], body).into_response()
            }
            _ => (self.status(), body).into_response(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_have_drf_shapes() {
        assert_eq!(
            IpError::field("quantity", REQUIRED).body(),
            json!({"quantity": ["This field is required."]})
        );
        assert_eq!(
            IpError::InvalidToken.body(),
            json!({"detail": "Invalid token."})
        );
        assert_eq!(IpError::ApiKeyRefused.status(), StatusCode::FORBIDDEN);
        assert_eq!(IpError::InvalidPage.status(), StatusCode::NOT_FOUND);
    }
}
