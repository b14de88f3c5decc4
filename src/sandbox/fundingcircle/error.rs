//! Why the Funding Circle emulator refuses a request, with the status and error code
//! each refusal is answered with.

use super::wire::error_body;
use crate::sandbox::rate_window::retry_after_seconds;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub(crate) enum FcError {
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error("missing bearer token")]
    MissingToken,
    #[error("invalid token")]
    InvalidToken,
    #[error("token expired")]
    ExpiredToken,
    #[error("no such endpoint")]
    UnknownEndpoint,
    #[error("listing {0} not found")]
    ListingNotFound(String),
    #[error("listing_id is required")]
    MissingListingId,
    #[error("listing is {status}, not live")]
    NotLive { status: &'static str },
    #[error("amount_cents must not be given for a whole loan: it is bought whole")]
    AmountOnWholeLoan,
    #[error("amount_cents is required for a fractional loan")]
    AmountRequired,
    #[error("amount_cents must be a positive whole number of cents, got {0:?}")]
    InvalidAmount(String),
    #[error("amount_cents {amount} is below the minimum order of {min}")]
    BelowMinimum { amount: i64, min: i64 },
    #[error("amount_cents {amount} is above the maximum order of {max}")]
    AboveMaximum { amount: i64, max: i64 },
    #[error("amount_cents {amount} exceeds the {remaining} remaining on the listing")]
    ExceedsRemaining { amount: i64, remaining: i64 },
    #[error("insufficient funds: {amount} cents requested, {available} available")]
    InsufficientFunds { amount: i64, available: i64 },
    #[error("rate limit exceeded: at most 40 order requests per second")]
    RateLimited { retry_after: Duration },
}

impl FcError {
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            FcError::BadRequest(_) => StatusCode::BAD_REQUEST,
            FcError::InvalidCredentials
            | FcError::MissingToken
            | FcError::InvalidToken
            | FcError::ExpiredToken => StatusCode::UNAUTHORIZED,
            FcError::UnknownEndpoint | FcError::ListingNotFound(_) => StatusCode::NOT_FOUND,
            FcError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            FcError::MissingListingId
            | FcError::NotLive { .. }
            | FcError::AmountOnWholeLoan
            | FcError::AmountRequired
            | FcError::InvalidAmount(_)
            | FcError::BelowMinimum { .. }
            | FcError::AboveMaximum { .. }
            | FcError::ExceedsRemaining { .. }
            | FcError::InsufficientFunds { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        }
    }

    /// The machine-readable code in the error body.
    pub(crate) fn code(&self) -> &'static str {
        match self {
            FcError::BadRequest(_) => "bad_request",
            FcError::InvalidCredentials => "invalid_credentials",
            FcError::MissingToken | FcError::InvalidToken => "unauthorized",
            FcError::ExpiredToken => "token_expired",
            FcError::UnknownEndpoint | FcError::ListingNotFound(_) => "not_found",
            FcError::MissingListingId => "listing_id_required",
            FcError::NotLive { .. } => "listing_not_live",
            FcError::AmountOnWholeLoan => "amount_not_allowed",
            FcError::AmountRequired => "amount_required",
            FcError::InvalidAmount(_) => "invalid_amount",
            FcError::BelowMinimum { .. } => "below_minimum",
            FcError::AboveMaximum { .. } => "above_maximum",
            FcError::ExceedsRemaining { .. } => "exceeds_remaining",
            FcError::InsufficientFunds { .. } => "insufficient_funds",
            FcError::RateLimited { .. } => "rate_limited",
        }
    }
}

impl IntoResponse for FcError {
    fn into_response(self) -> Response {
        let body = axum::Json(error_body(self.code(), &self.to_string()));
        match self {
            FcError::RateLimited { retry_after } => (
                self.status(),
                [(
                    header::RETRY_AFTER,
                    retry_after_seconds(retry_after).to_string(),
                )],
                body,
            )
                .into_response(),
            _ => (self.status(), body).into_response(),
        }
    }
}
