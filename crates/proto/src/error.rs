//! Error answers: `{ "code": "snake_case", "message": "...", ...details }`.
//!
//! The codes are a public contract: IT scripts and other clients branch on them, so a
//! code is never renamed or reused for something else. Add a code only when a consumer
//! branches on it.

use serde::{Deserialize, Serialize};

use crate::auth::{MfaMethod, PasswordChangeReason};
use crate::password::{PasswordReason, PasswordSuggestion};
use crate::Secret;

/// Every error code the v1 API answers with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The body is not valid JSON of the expected shape (malformed, wrong type, missing
    /// field, not UTF-8, or a field too long). `field` names the culprit when known.
    InvalidRequest,
    /// The body is larger than the server accepts (64 KiB).
    PayloadTooLarge,
    /// The request is not `application/json`.
    UnsupportedMediaType,
    /// No such route.
    NotFound,
    /// The route exists but not with this method.
    MethodNotAllowed,
    /// Wrong identifier or password; the same answer whether or not the account exists.
    InvalidCredentials,
    /// Too many failed sign-ins for this identifier; `retry_after` says when to try again.
    AccountLocked,
    /// An administrator disabled the account.
    AccountDisabled,
    /// The password was right; a second factor is needed.
    MfaRequired,
    /// The password must be changed before the account can be used. From
    /// `POST /v1/auth/device/verify` it carries `change_token`, `reason` and
    /// `mfa_methods`: the device is verified, and the sign-in goes on at
    /// `POST /v1/auth/password`.
    PasswordChangeRequired,
    /// A one-time code is wrong.
    CodeInvalid,
    /// A one-time code has expired.
    CodeExpired,
    /// Too many wrong codes for this challenge; start again.
    TooManyAttempts,
    /// The new password does not meet the policy; `reasons` and `suggestions` say why.
    PasswordRejected,
    /// The server is in maintenance; `message` and `until` say more.
    Maintenance,
    /// This client is older than the server accepts; `min_version` and `download_url`.
    ClientOutdated,
    /// Too many requests (from this address, or the server is saturated); `retry_after`.
    RateLimited,
    /// No valid access token was presented.
    Unauthenticated,
    /// The access token has expired: refresh the session.
    TokenExpired,
    /// A change token, refresh token or other single-use token is unknown, used or
    /// expired.
    TokenInvalid,
    /// A refresh token was presented a second time: the whole session was revoked.
    RefreshTokenReused,
    /// The current password given to confirm a change is wrong.
    CurrentPasswordInvalid,
    /// The addressed object does not exist (or is not the caller's).
    ResourceNotFound,
    /// The account already exists (admin commands), or the request does not fit the
    /// current state (enrolling TOTP when it is already on, confirming none pending).
    Conflict,
    /// Two-factor setup is not configured on this server (no `LATCHKEY_SECRET_KEY`), or
    /// the configured key cannot read the stored TOTP secrets; recovery codes still work.
    TotpUnavailable,
    /// Something failed inside the server; details are in its log, never in the answer.
    Internal,
}

impl ErrorCode {
    /// The snake_case string of the code, as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::PayloadTooLarge => "payload_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::NotFound => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::InvalidCredentials => "invalid_credentials",
            Self::AccountLocked => "account_locked",
            Self::AccountDisabled => "account_disabled",
            Self::MfaRequired => "mfa_required",
            Self::PasswordChangeRequired => "password_change_required",
            Self::CodeInvalid => "code_invalid",
            Self::CodeExpired => "code_expired",
            Self::TooManyAttempts => "too_many_attempts",
            Self::PasswordRejected => "password_rejected",
            Self::Maintenance => "maintenance",
            Self::ClientOutdated => "client_outdated",
            Self::RateLimited => "rate_limited",
            Self::Unauthenticated => "unauthenticated",
            Self::TokenExpired => "token_expired",
            Self::TokenInvalid => "token_invalid",
            Self::RefreshTokenReused => "refresh_token_reused",
            Self::CurrentPasswordInvalid => "current_password_invalid",
            Self::ResourceNotFound => "resource_not_found",
            Self::Conflict => "conflict",
            Self::TotpUnavailable => "totp_unavailable",
            Self::Internal => "internal",
        }
    }

    /// Every code, for documentation and exhaustive tests.
    pub const ALL: [ErrorCode; 26] = [
        Self::InvalidRequest,
        Self::PayloadTooLarge,
        Self::UnsupportedMediaType,
        Self::NotFound,
        Self::MethodNotAllowed,
        Self::InvalidCredentials,
        Self::AccountLocked,
        Self::AccountDisabled,
        Self::MfaRequired,
        Self::PasswordChangeRequired,
        Self::CodeInvalid,
        Self::CodeExpired,
        Self::TooManyAttempts,
        Self::PasswordRejected,
        Self::Maintenance,
        Self::ClientOutdated,
        Self::RateLimited,
        Self::Unauthenticated,
        Self::TokenExpired,
        Self::TokenInvalid,
        Self::RefreshTokenReused,
        Self::CurrentPasswordInvalid,
        Self::ResourceNotFound,
        Self::Conflict,
        Self::TotpUnavailable,
        Self::Internal,
    ];
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The body of every error answer. Details that do not apply are omitted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub code: ErrorCode,
    /// A human-readable English explanation; clients translate by `code`.
    pub message: String,
    /// The request field at fault (`invalid_request`, `password_rejected`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Seconds until trying again makes sense (`account_locked`, `rate_limited`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
    /// End of maintenance, RFC 3339 (`maintenance`), when announced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
    /// The oldest client version the server accepts (`client_outdated`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_version: Option<String>,
    /// Where to get a newer client (`client_outdated`), when configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub download_url: Option<String>,
    /// Why a password was refused (`password_rejected`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasons: Option<Vec<PasswordReason>>,
    /// How to choose a better one (`password_rejected`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suggestions: Option<Vec<PasswordSuggestion>>,
    /// The token for `POST /v1/auth/password` (`password_change_required` after a
    /// verified new device).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change_token: Option<Secret>,
    /// Why the password must be changed (`password_change_required`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<PasswordChangeReason>,
    /// The second factors the change must carry one of (`password_change_required` on
    /// an account with two-factor authentication); absent or empty when none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mfa_methods: Option<Vec<MfaMethod>>,
}

impl ErrorBody {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            field: None,
            retry_after: None,
            until: None,
            min_version: None,
            download_url: None,
            reasons: None,
            suggestions: None,
            change_token: None,
            reason: None,
            mfa_methods: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_code_serialises_as_its_string() {
        for code in ErrorCode::ALL {
            let json = serde_json::to_value(code).unwrap();
            assert_eq!(json, json!(code.as_str()));
            let back: ErrorCode = serde_json::from_value(json).unwrap();
            assert_eq!(back, code);
        }
    }

    #[test]
    fn error_body_omits_absent_details() {
        let mut body = ErrorBody::new(ErrorCode::AccountLocked, "locked");
        body.retry_after = Some(900);
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            json!({"code": "account_locked", "message": "locked", "retry_after": 900})
        );
    }
}
