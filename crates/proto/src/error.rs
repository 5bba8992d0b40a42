//! Error answers: `{ "code": "snake_case", "message": "...", ...details }`. The codes
//! themselves, with their statuses and messages, are declared once in `code.rs`.

use serde::{Deserialize, Serialize};

use crate::auth::{MfaMethod, PasswordChangeReason};
use crate::code::ErrorCode;
use crate::password::{PasswordReason, PasswordSuggestion};
use crate::Secret;

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
    fn error_body_omits_absent_details() {
        let mut body = ErrorBody::new(ErrorCode::AccountLocked, "locked");
        body.retry_after = Some(900);
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            json!({"code": "account_locked", "message": "locked", "retry_after": 900})
        );
    }
}
