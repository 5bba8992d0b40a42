//! Password reset: `/v1/recovery/start`, `/verify` and `/complete`.
//!
//! The paths keep their v1 name, and so do the schemas of the OpenAPI document
//! (`Recovery…`): both are a public contract. The Rust types use the glossary's name.
//!
//! `start` answers the same for every identifier, known or not, so the answer says
//! nothing about whether an account exists or where the code went. The code (6 digits)
//! arrives by e-mail or SMS; an e-mail also carries a `latchkey://reset?token=…` link
//! whose token works as a `reset_token` directly.

use serde::{Deserialize, Serialize};

use crate::{Channel, MfaMethod, Secret};

/// `POST /v1/recovery/start` body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "openapi",
    derive(utoipa::ToSchema),
    schema(as = RecoveryStartRequest)
)]
pub struct ResetStartRequest {
    /// E-mail address, phone number or username.
    pub identifier: String,
    /// Where to send the code when the account has both; the other one otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<Channel>,
    /// Language of the message (`zh-CN`, `en`); the account's own setting otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
}

/// `POST /v1/recovery/start` answer (202), identical in shape for unknown identifiers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "openapi",
    derive(utoipa::ToSchema),
    schema(as = RecoveryStarted)
)]
pub struct ResetStarted {
    /// Names this attempt in `POST /v1/recovery/verify`.
    pub recovery_id: String,
    /// Seconds before another code may be asked for.
    pub resend_after: u64,
    /// Seconds the code stays valid.
    pub expires_in: u64,
}

/// `POST /v1/recovery/verify` body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "openapi",
    derive(utoipa::ToSchema),
    schema(as = RecoveryVerifyRequest)
)]
pub struct ResetVerifyRequest {
    pub recovery_id: String,
    /// The six digits from the message.
    pub code: Secret,
}

/// `POST /v1/recovery/verify` answer: the code was right.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "openapi",
    derive(utoipa::ToSchema),
    schema(as = RecoveryVerified)
)]
pub struct ResetVerified {
    /// Single use, for `POST /v1/recovery/complete`.
    pub reset_token: Secret,
    /// Seconds the reset token stays valid.
    pub expires_in: u64,
    /// The account has two-factor authentication: `complete` also needs a
    /// `totp_code` or a `recovery_code`.
    pub second_factor_required: bool,
    /// The second factors `complete` accepts; empty when none is required.
    #[serde(default)]
    pub mfa_methods: Vec<MfaMethod>,
}

/// `POST /v1/recovery/link` body: the token of an e-mail's `latchkey://reset?token=…`
/// link, to learn which account it resets before asking the user anything. The token
/// is not used up.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "openapi",
    derive(utoipa::ToSchema),
    schema(as = RecoveryLinkRequest)
)]
pub struct ResetLinkRequest {
    pub reset_token: Secret,
}

/// `POST /v1/recovery/link` answer: the account the link resets, as the mail hides it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "openapi",
    derive(utoipa::ToSchema),
    schema(as = RecoveryLink)
)]
pub struct ResetLinkAccount {
    /// The account, masked as in messages (`z***@corp.cn`, `138****8000`).
    pub account_hint: String,
    /// Seconds the link still works.
    pub expires_in: u64,
    /// As in [`ResetVerified`]: `complete` also needs a second factor.
    pub second_factor_required: bool,
    #[serde(default)]
    pub mfa_methods: Vec<MfaMethod>,
}

/// `POST /v1/recovery/complete` body. Answers 204; every session of the account is
/// then signed out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "openapi",
    derive(utoipa::ToSchema),
    schema(as = RecoveryCompleteRequest)
)]
pub struct ResetCompleteRequest {
    /// From `verify`, or the token of the e-mail's `latchkey://reset?token=…` link.
    pub reset_token: Secret,
    pub new_password: Secret,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub totp_code: Option<Secret>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery_code: Option<Secret>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn start_json() {
        let r: ResetStartRequest =
            serde_json::from_value(json!({"identifier": "zhang@corp.cn"})).unwrap();
        assert_eq!(r.channel, None);
        let r: ResetStartRequest = serde_json::from_value(
            json!({"identifier": "13800138000", "channel": "sms", "locale": "zh-CN"}),
        )
        .unwrap();
        assert_eq!(r.channel, Some(Channel::Sms));
        let s = ResetStarted {
            recovery_id: "r1".into(),
            resend_after: 60,
            expires_in: 600,
        };
        assert_eq!(
            serde_json::to_value(&s).unwrap(),
            json!({"recovery_id": "r1", "resend_after": 60, "expires_in": 600})
        );
    }

    #[test]
    fn verify_and_complete_json_and_debug() {
        let v: ResetVerifyRequest =
            serde_json::from_value(json!({"recovery_id": "r1", "code": "493817"})).unwrap();
        assert!(!format!("{v:?}").contains("493817"));
        let done = ResetVerified {
            reset_token: "lkc_t".into(),
            expires_in: 1800,
            second_factor_required: true,
            mfa_methods: vec![MfaMethod::Totp, MfaMethod::RecoveryCode],
        };
        let j = serde_json::to_value(&done).unwrap();
        assert_eq!(
            j,
            json!({"reset_token": "lkc_t", "expires_in": 1800, "second_factor_required": true,
                   "mfa_methods": ["totp", "recovery_code"]})
        );
        assert!(!format!("{done:?}").contains("lkc_t"));
        let c: ResetCompleteRequest = serde_json::from_value(
            json!({"reset_token": "lkc_t", "new_password": "Violet-harbor-lantern-42", "totp_code": "123456"}),
        )
        .unwrap();
        assert_eq!(c.recovery_code, None);
        let d = format!("{c:?}");
        assert!(!d.contains("lkc_t") && !d.contains("Violet") && !d.contains("123456"));
    }
}
