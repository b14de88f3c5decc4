//! Why the FundAmerica emulator refuses a request, answered in the platform's own
//! shapes: 422 `{object: {field: [messages]}}` (errors not tied to a field under
//! `base`), and `{"status_message": ..}` for 401, 403 and 404.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::collections::BTreeMap;

/// Field → messages, in field order (as the 422 body prints them).
pub(crate) type FieldErrors = BTreeMap<&'static str, Vec<String>>;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub(crate) enum FaError {
    /// No usable API key (HTTP basic, the key as user).
    #[error("Authentication failed: a valid API key is required")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0} not found")]
    NotFound(String),
    /// Validation failures of one object (`investment`, …), every field at once.
    #[error("{object} is invalid")]
    Invalid {
        object: &'static str,
        fields: FieldErrors,
    },
    #[error("bad request: {0}")]
    BadRequest(String),
}

impl FaError {
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            FaError::Unauthorized => StatusCode::UNAUTHORIZED,
            FaError::Forbidden(_) => StatusCode::FORBIDDEN,
            FaError::NotFound(_) => StatusCode::NOT_FOUND,
            FaError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            FaError::BadRequest(_) => StatusCode::BAD_REQUEST,
        }
    }

    /// One invalid field.
    pub(crate) fn invalid(object: &'static str, field: &'static str, message: &str) -> FaError {
        FaError::Invalid {
            object,
            fields: BTreeMap::from([(field, vec![message.to_string()])]),
        }
    }
}

impl IntoResponse for FaError {
    fn into_response(self) -> Response {
        let body = match &self {
            FaError::Invalid { object, fields } => json!({ *object: fields }),
            other => json!({ "status_message": other.to_string() }),
        };
        (self.status(), axum::Json(body)).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body(error: FaError) -> (StatusCode, serde_json::Value) {
        let response = error.into_response();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn errors_use_the_platforms_shapes() {
        let mut fields = FieldErrors::new();
        fields.insert("amount", vec!["must be greater than 0".into()]);
        fields.insert("base", vec!["x".into(), "y".into()]);
        assert_eq!(
            body(FaError::Invalid {
                object: "investment",
                fields
            })
            .await,
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                json!({"investment": {"amount": ["must be greater than 0"], "base": ["x", "y"]}})
            )
        );
        assert_eq!(
            body(FaError::NotFound("Investment".into())).await,
            (
                StatusCode::NOT_FOUND,
                json!({"status_message": "Investment not found"})
            )
        );
        assert_eq!(
            body(FaError::Forbidden(
                "Offering is not accepting investments".into()
            ))
            .await
            .0,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            body(FaError::Unauthorized).await.0,
            StatusCode::UNAUTHORIZED
        );
    }
}
