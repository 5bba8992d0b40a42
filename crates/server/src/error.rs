//! `ApiError`: every failure a handler can answer with, turned into the JSON error body
//! of the contract. Internal details (SQL errors, hashing failures) are logged here,
//! once, and never sent to the client.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use latchkey_proto::{
    ErrorBody, ErrorCode, MfaMethod, PasswordChangeReason, PasswordReason, PasswordSuggestion,
    Secret,
};

/// An error answer: a code from `proto`, its HTTP status and the details.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    /// Boxed: errors travel through every `Result` of the request path.
    pub body: Box<ErrorBody>,
}

pub type ApiResult<T> = Result<T, ApiError>;

/// The HTTP status of each code (declared with the code in `latchkey_proto`).
pub fn status_of(code: ErrorCode) -> StatusCode {
    StatusCode::from_u16(code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

impl ApiError {
    pub fn new(code: ErrorCode) -> Self {
        Self {
            status: status_of(code),
            body: Box::new(ErrorBody::new(code, code.default_message())),
        }
    }

    pub fn code(&self) -> ErrorCode {
        self.body.code
    }

    pub fn message(mut self, message: impl Into<String>) -> Self {
        self.body.message = message.into();
        self
    }

    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.body.field = Some(field.into());
        self
    }

    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.body.retry_after = Some(seconds.max(1));
        self
    }

    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidRequest)
            .field(field)
            .message(message)
    }

    pub fn rejected(
        field: &str,
        reasons: Vec<PasswordReason>,
        suggestions: Vec<PasswordSuggestion>,
    ) -> Self {
        let mut e = Self::new(ErrorCode::PasswordRejected).field(field);
        e.body.reasons = Some(reasons);
        e.body.suggestions = Some(suggestions);
        e
    }

    /// `password_change_required` with what the next step needs: the device is verified,
    /// and the sign-in goes on at `POST /v1/auth/password` with `token`.
    pub fn change_required(
        token: Secret,
        reason: PasswordChangeReason,
        mfa_methods: Vec<MfaMethod>,
    ) -> Self {
        let mut e = Self::new(ErrorCode::PasswordChangeRequired)
            .message("The device is verified; now the password must be changed.");
        e.body.change_token = Some(token);
        e.body.reason = Some(reason);
        e.body.mfa_methods = Some(mfa_methods);
        e
    }

    /// An unexpected failure: logged with its cause, answered as `internal`.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(ErrorCode::Internal)
    }
}

impl From<sqlx::Error> for ApiError {
    /// A database that cannot be used right now (see [`crate::db::is_unavailable`]) is
    /// `server_unavailable` with `Retry-After`, which a client may retry; anything else
    /// is a bug, `internal`.
    fn from(e: sqlx::Error) -> Self {
        if crate::db::is_unavailable(&e) {
            tracing::warn!(error = %e, "database unavailable");
            return Self::new(ErrorCode::ServerUnavailable).retry_after(UNAVAILABLE_RETRY_AFTER);
        }
        Self::internal(format_args!("database: {e}"))
    }
}

/// Seconds a client is asked to wait after `server_unavailable`: a PostgreSQL restart or
/// a failover takes a few seconds, and the pool reconnects by itself.
pub const UNAVAILABLE_RETRY_AFTER: u64 = 2;

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let retry = self.body.retry_after;
        let mut response = (self.status, Json(*self.body)).into_response();
        if let Some(secs) = retry {
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The HTTP status of every wire code, written out: the public contract (issue 14
    /// moved the table to proto; this snapshot was taken before: codes are only ever
    /// added to it, never changed). A slice, so that a new code is one new row here.
    const STATUSES: &[(&str, u16)] = &[
        ("invalid_request", 400),
        ("payload_too_large", 413),
        ("unsupported_media_type", 415),
        ("not_found", 404),
        ("method_not_allowed", 405),
        ("invalid_credentials", 401),
        ("account_locked", 423),
        ("account_disabled", 403),
        ("mfa_required", 401),
        ("password_change_required", 403),
        ("code_invalid", 400),
        ("code_expired", 400),
        ("too_many_attempts", 429),
        ("password_rejected", 422),
        ("maintenance", 503),
        ("client_outdated", 426),
        ("rate_limited", 429),
        ("unauthenticated", 401),
        ("token_expired", 401),
        ("token_invalid", 401),
        ("refresh_token_reused", 401),
        ("current_password_invalid", 403),
        ("resource_not_found", 404),
        ("conflict", 409),
        ("totp_unavailable", 503),
        ("approval_invalid", 404),
        ("approval_mismatch", 400),
        ("two_factor_required", 403),
        ("two_factor_setup_required", 403),
        ("forbidden", 403),
        ("internal", 500),
        ("server_unavailable", 503),
        ("idempotency_key_reused", 422),
        ("idempotency_key_in_use", 409),
        ("directory_unavailable", 503),
        ("server_busy", 429),
    ];

    #[test]
    fn every_code_keeps_its_wire_name_and_status() {
        let actual: Vec<(&str, u16)> = ErrorCode::ALL
            .iter()
            .map(|&code| (code.as_str(), ApiError::new(code).status.as_u16()))
            .collect();
        assert_eq!(actual, STATUSES);
    }

    #[test]
    fn every_code_has_a_status_and_message() {
        for code in ErrorCode::ALL {
            let e = ApiError::new(code);
            assert!(!e.body.message.is_empty());
            assert!(e.status.is_client_error() || e.status.is_server_error());
            assert_eq!(
                e.status.is_server_error(),
                matches!(
                    code,
                    ErrorCode::Internal
                        | ErrorCode::Maintenance
                        | ErrorCode::TotpUnavailable
                        | ErrorCode::ServerUnavailable
                        | ErrorCode::DirectoryUnavailable
                )
            );
        }
    }
}
