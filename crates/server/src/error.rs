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

/// The HTTP status of each code.
pub fn status_of(code: ErrorCode) -> StatusCode {
    use ErrorCode::*;
    match code {
        InvalidRequest | CodeInvalid | CodeExpired => StatusCode::BAD_REQUEST,
        PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        NotFound | ResourceNotFound => StatusCode::NOT_FOUND,
        MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        InvalidCredentials | MfaRequired | Unauthenticated | TokenExpired | TokenInvalid
        | RefreshTokenReused => StatusCode::UNAUTHORIZED,
        AccountLocked => StatusCode::LOCKED,
        AccountDisabled | PasswordChangeRequired | CurrentPasswordInvalid => StatusCode::FORBIDDEN,
        TooManyAttempts | RateLimited => StatusCode::TOO_MANY_REQUESTS,
        PasswordRejected => StatusCode::UNPROCESSABLE_ENTITY,
        Maintenance | TotpUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        ClientOutdated => StatusCode::UPGRADE_REQUIRED,
        Conflict => StatusCode::CONFLICT,
        Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The default English message of each code.
fn default_message(code: ErrorCode) -> &'static str {
    use ErrorCode::*;
    match code {
        InvalidRequest => "The request is malformed.",
        PayloadTooLarge => "The request body is too large (64 KiB at most).",
        UnsupportedMediaType => "The request body must be JSON (Content-Type: application/json).",
        NotFound => "No such endpoint.",
        MethodNotAllowed => "This endpoint does not accept that method.",
        InvalidCredentials => "The identifier or the password is wrong.",
        AccountLocked => "Too many failed sign-ins. The account is locked for a while.",
        AccountDisabled => "This account has been disabled. Contact your administrator.",
        MfaRequired => "A second factor is required.",
        PasswordChangeRequired => "The password must be changed first.",
        CodeInvalid => "The code is wrong.",
        CodeExpired => "The code has expired.",
        TooManyAttempts => "Too many wrong codes. Start again.",
        PasswordRejected => "The new password does not meet the password policy.",
        Maintenance => "The server is under maintenance.",
        ClientOutdated => "This version of the app is too old. Please update it.",
        RateLimited => "Too many requests. Try again later.",
        Unauthenticated => "Sign in first.",
        TokenExpired => "The access token has expired; refresh the session.",
        TokenInvalid => "The token is unknown, used or expired.",
        RefreshTokenReused => {
            "This refresh token was already used; the session has been ended for safety."
        }
        CurrentPasswordInvalid => "The current password is wrong.",
        ResourceNotFound => "Not found.",
        Conflict => "It already exists.",
        TotpUnavailable => "Two-factor setup is not configured on this server.",
        Internal => "Something went wrong on the server.",
    }
}

impl ApiError {
    pub fn new(code: ErrorCode) -> Self {
        Self {
            status: status_of(code),
            body: Box::new(ErrorBody::new(code, default_message(code))),
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
    fn from(e: sqlx::Error) -> Self {
        Self::internal(format_args!("database: {e}"))
    }
}

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
                    ErrorCode::Internal | ErrorCode::Maintenance | ErrorCode::TotpUnavailable
                )
            );
        }
    }
}
