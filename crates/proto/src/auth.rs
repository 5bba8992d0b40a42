//! Sign-in: `/v1/auth/*` bodies and the session a successful sign-in returns.

use serde::{Deserialize, Serialize};

use crate::{Channel, Secret};

/// The device a client signs in from. `id` is a random id the client keeps.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct Device {
    pub id: String,
    pub name: String,
    pub platform: String,
}

/// `POST /v1/auth/login` body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoginRequest {
    /// E-mail address, phone number or username.
    pub identifier: String,
    pub password: Secret,
    #[serde(default)]
    pub device: Device,
    /// Semantic version of the client, checked against the server's minimum.
    #[serde(default)]
    pub client_version: Option<String>,
}

/// `POST /v1/auth/login` answer (200): what happens next, by `status`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "status", rename_all = "snake_case")]
#[allow(clippy::large_enum_variant)] // a wire type, built once per sign-in
pub enum LoginResponse {
    /// Signed in.
    Ok { session: Session },
    /// The password was right; give a second factor to `POST /v1/auth/mfa`.
    MfaRequired {
        mfa_token: Secret,
        methods: Vec<MfaMethod>,
    },
    /// A device the account never used: a code was sent to `destination`; give it to
    /// `POST /v1/auth/device/verify`.
    DeviceVerificationRequired {
        challenge_token: Secret,
        /// Masked destination, such as `z***@corp.cn` or `138****0000`.
        destination: String,
        /// How the code travels.
        channel: Channel,
        /// Seconds the code stays valid.
        expires_in: u64,
    },
    /// The password must be changed first: `POST /v1/auth/password`.
    PasswordChangeRequired {
        change_token: Secret,
        reason: PasswordChangeReason,
        /// Non-empty when the account has two-factor authentication: the change must
        /// then also carry a `totp_code` or a `recovery_code`.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        mfa_methods: Vec<MfaMethod>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum MfaMethod {
    Totp,
    RecoveryCode,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PasswordChangeReason {
    /// An administrator set a temporary password.
    Temporary,
    /// The password is older than the policy allows.
    Expired,
}

/// `POST /v1/auth/password` body: the forced change after `password_change_required`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
/// (`ForcedPasswordChangeRequest` in the OpenAPI document, whose names are a contract.)
#[cfg_attr(
    feature = "openapi",
    derive(utoipa::ToSchema),
    schema(as = ForcedPasswordChangeRequest)
)]
pub struct ForcedChangeRequest {
    pub change_token: Secret,
    pub new_password: Secret,
    /// Required (this or `recovery_code`) when the account has two-factor
    /// authentication, so that a temporary password does not bypass it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub totp_code: Option<Secret>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery_code: Option<Secret>,
    /// The device the new session runs on, as in `LoginRequest` (added after v1's
    /// first form: optional, and an empty device when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<Device>,
}

/// `POST /v1/auth/device/verify` body: the code sent after
/// `device_verification_required`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeviceVerifyRequest {
    pub challenge_token: Secret,
    /// The six digits from the message.
    pub code: Secret,
}

/// `POST /v1/auth/refresh` body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RefreshRequest {
    pub refresh_token: Secret,
}

/// `POST /v1/auth/logout` body (optional): `all` ends every session of the account.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct LogoutRequest {
    pub all: bool,
}

/// A signed-in session: a short-lived access token for `Authorization: Bearer`, and a
/// refresh token that is rotated on every use.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Session {
    pub session_id: String,
    pub access_token: Secret,
    pub refresh_token: Secret,
    /// Seconds the access token stays valid.
    pub expires_in: u64,
    /// Seconds the refresh token stays valid.
    pub refresh_expires_in: u64,
    pub user: User,
}

/// The account, as the client shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct User {
    pub id: String,
    pub email: Option<String>,
    /// E.164.
    pub phone: Option<String>,
    pub username: Option<String>,
    pub name: Option<String>,
    pub organisation: Option<String>,
    /// Preferred language for messages (`zh-CN`, `en`).
    pub locale: Option<String>,
    pub mfa_enabled: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user() -> User {
        User {
            id: "u1".into(),
            email: Some("zhang@corp.cn".into()),
            phone: None,
            username: None,
            name: Some("张伟".into()),
            organisation: None,
            locale: Some("zh-CN".into()),
            mfa_enabled: false,
        }
    }

    #[test]
    fn login_request_defaults_device_and_version() {
        let r: LoginRequest =
            serde_json::from_value(json!({"identifier": "a@b.c", "password": "p"})).unwrap();
        assert_eq!(r.device, Device::default());
        assert_eq!(r.client_version, None);
        assert!(!format!("{r:?}").contains("\"p\""));
    }

    #[test]
    fn login_ok_json() {
        let ok = LoginResponse::Ok {
            session: Session {
                session_id: "s1".into(),
                access_token: "at".into(),
                refresh_token: "rt".into(),
                expires_in: 900,
                refresh_expires_in: 2_592_000,
                user: user(),
            },
        };
        let v = serde_json::to_value(&ok).unwrap();
        assert_eq!(v["status"], "ok");
        assert_eq!(v["session"]["access_token"], "at");
        assert_eq!(v["session"]["user"]["name"], "张伟");
        assert_eq!(serde_json::from_value::<LoginResponse>(v).unwrap(), ok);
        let dbg = format!("{ok:?}");
        assert!(!dbg.contains("\"at\"") && !dbg.contains("\"rt\""));
    }

    #[test]
    fn login_other_statuses_json() {
        let change = LoginResponse::PasswordChangeRequired {
            change_token: "ct".into(),
            reason: PasswordChangeReason::Temporary,
            mfa_methods: vec![],
        };
        assert_eq!(
            serde_json::to_value(&change).unwrap(),
            json!({"status": "password_change_required", "change_token": "ct", "reason": "temporary"})
        );
        let change_mfa = LoginResponse::PasswordChangeRequired {
            change_token: "ct".into(),
            reason: PasswordChangeReason::Expired,
            mfa_methods: vec![MfaMethod::Totp, MfaMethod::RecoveryCode],
        };
        assert_eq!(
            serde_json::to_value(&change_mfa).unwrap(),
            json!({"status": "password_change_required", "change_token": "ct", "reason": "expired",
                   "mfa_methods": ["totp", "recovery_code"]})
        );
        let mfa = LoginResponse::MfaRequired {
            mfa_token: "mt".into(),
            methods: vec![MfaMethod::Totp, MfaMethod::RecoveryCode],
        };
        assert_eq!(
            serde_json::to_value(&mfa).unwrap(),
            json!({"status": "mfa_required", "mfa_token": "mt", "methods": ["totp", "recovery_code"]})
        );
        let dev = LoginResponse::DeviceVerificationRequired {
            challenge_token: "c".into(),
            destination: "z***@corp.cn".into(),
            channel: Channel::Email,
            expires_in: 600,
        };
        assert_eq!(
            serde_json::to_value(&dev).unwrap(),
            json!({"status": "device_verification_required", "challenge_token": "c",
                   "destination": "z***@corp.cn", "channel": "email", "expires_in": 600})
        );
    }

    #[test]
    fn logout_body_is_optional_fields() {
        let l: LogoutRequest = serde_json::from_value(json!({})).unwrap();
        assert!(!l.all);
    }

    #[test]
    fn token_requests_json() {
        let f: ForcedChangeRequest =
            serde_json::from_value(json!({"change_token": "c", "new_password": "n"})).unwrap();
        assert_eq!(
            serde_json::to_value(&f).unwrap(),
            json!({"change_token": "c", "new_password": "n"})
        );
        let r = RefreshRequest {
            refresh_token: "r".into(),
        };
        assert_eq!(
            serde_json::to_value(&r).unwrap(),
            json!({"refresh_token": "r"})
        );
        assert_eq!(format!("{f:?}{r:?}").matches("<redacted>").count(), 3);
        let with_code: ForcedChangeRequest = serde_json::from_value(
            json!({"change_token": "c", "new_password": "n", "totp_code": "123456"}),
        )
        .unwrap();
        assert_eq!(
            with_code.totp_code.as_ref().map(Secret::expose),
            Some("123456")
        );
        assert!(!format!("{with_code:?}").contains("123456"));
        let with_device: ForcedChangeRequest = serde_json::from_value(json!({
            "change_token": "c", "new_password": "n",
            "device": {"id": "i", "name": "n", "platform": "p"}
        }))
        .unwrap();
        assert_eq!(with_device.device.map(|d| d.platform), Some("p".into()));
        let d = Device {
            id: "i".into(),
            name: "n".into(),
            platform: "p".into(),
        };
        assert_eq!(
            serde_json::to_value(&d).unwrap(),
            json!({"id": "i", "name": "n", "platform": "p"})
        );
        assert_eq!(
            serde_json::to_value(LogoutRequest { all: true }).unwrap(),
            json!({"all": true})
        );
        assert_eq!(
            serde_json::to_value(user()).unwrap(),
            json!({
                "id": "u1", "email": "zhang@corp.cn", "phone": null, "username": null,
                "name": "张伟", "organisation": null, "locale": "zh-CN", "mfa_enabled": false
            })
        );
    }
}
