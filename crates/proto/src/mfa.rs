//! Two-factor authentication: TOTP enrolment (`/v1/me/totp/*`), recovery codes
//! (`/v1/me/recovery-codes`) and the second step of sign-in (`/v1/auth/mfa`).
//!
//! The TOTP secret, the `otpauth://` URI (which contains it), one-time codes and
//! recovery codes are all [`Secret`]s: none of them may reach a log.

use serde::{Deserialize, Serialize};

use crate::{MfaMethod, Secret};

/// `POST /v1/me/totp/enroll` answer: a new secret, pending until confirmed with a code.
///
/// The parameters are always SHA1, 6 digits, 30 seconds (what every authenticator app
/// supports); they are given so a client can show them next to the key for manual entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TotpEnrollment {
    /// The secret in unpadded RFC 4648 base32, for typing into an authenticator app.
    pub secret: Secret,
    /// `otpauth://totp/Issuer:account?secret=…&issuer=…&algorithm=SHA1&digits=6&period=30`,
    /// to render as a QR code locally (it contains the secret: never send it elsewhere).
    pub otpauth_uri: Secret,
    /// The issuer shown by the authenticator app (the server's name).
    pub issuer: String,
    /// The account label shown by the authenticator app (e-mail, username or phone).
    pub account: String,
    /// `SHA1`.
    pub algorithm: String,
    pub digits: u32,
    /// Seconds per code.
    pub period: u64,
}

/// `POST /v1/me/totp/enroll` body: the account's password again, so that a stolen
/// access token alone cannot tie the account to someone else's authenticator.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TotpEnrollRequest {
    pub password: Secret,
}

/// `POST /v1/me/totp/confirm` body: the first code from the authenticator app.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TotpConfirmRequest {
    pub code: Secret,
}

/// `POST /v1/me/totp/disable` body. `code` is a current TOTP code (six digits) or one
/// of the account's unused recovery codes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TotpDisableRequest {
    pub password: Secret,
    pub code: Secret,
}

/// `POST /v1/me/recovery-codes` body: the password confirms the regeneration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecoveryCodesRequest {
    pub password: Secret,
}

/// Ten single-use recovery codes (`xxxx-xxxx-xxxx`), shown once: the server keeps
/// only their hashes. Any earlier set is void.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecoveryCodes {
    pub recovery_codes: Vec<Secret>,
}

/// `POST /v1/auth/mfa` body: the second step after `mfa_required`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MfaRequest {
    pub mfa_token: Secret,
    pub method: MfaMethod,
    pub code: Secret,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn enrollment_json_and_debug() {
        let e = TotpEnrollment {
            secret: "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP".into(),
            otpauth_uri: "otpauth://totp/Corp:a%40b.c?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
                .into(),
            issuer: "Corp".into(),
            account: "a@b.c".into(),
            algorithm: "SHA1".into(),
            digits: 6,
            period: 30,
        };
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(
            v,
            json!({
                "secret": "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
                "otpauth_uri": "otpauth://totp/Corp:a%40b.c?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
                "issuer": "Corp", "account": "a@b.c", "algorithm": "SHA1",
                "digits": 6, "period": 30
            })
        );
        assert_eq!(serde_json::from_value::<TotpEnrollment>(v).unwrap(), e);
        let dbg = format!("{e:?}");
        assert!(!dbg.contains("JBSWY3DP"), "{dbg}");
    }

    #[test]
    fn requests_json_and_debug() {
        let c: TotpConfirmRequest = serde_json::from_value(json!({"code": "123456"})).unwrap();
        assert_eq!(c.code.expose(), "123456");
        let d: TotpDisableRequest =
            serde_json::from_value(json!({"password": "pw-secret", "code": "654321"})).unwrap();
        assert_eq!(
            serde_json::to_value(&d).unwrap(),
            json!({"password": "pw-secret", "code": "654321"})
        );
        let r: RecoveryCodesRequest =
            serde_json::from_value(json!({"password": "pw-secret"})).unwrap();
        let m: MfaRequest = serde_json::from_value(
            json!({"mfa_token": "lkc_x", "method": "recovery_code", "code": "abcd-efgh-jkmn"}),
        )
        .unwrap();
        assert_eq!(m.method, MfaMethod::RecoveryCode);
        assert_eq!(
            serde_json::to_value(&m).unwrap(),
            json!({"mfa_token": "lkc_x", "method": "recovery_code", "code": "abcd-efgh-jkmn"})
        );
        let dbg = format!("{c:?}{d:?}{r:?}{m:?}");
        for secret in ["123456", "pw-secret", "654321", "lkc_x", "abcd-efgh-jkmn"] {
            assert!(!dbg.contains(secret), "{dbg}");
        }
        assert!(serde_json::from_value::<MfaRequest>(
            json!({"mfa_token": "t", "method": "sms", "code": "1"})
        )
        .is_err());
    }

    #[test]
    fn recovery_codes_json_and_debug() {
        let r = RecoveryCodes {
            recovery_codes: vec!["abcd-efgh-jkmn".into(), "pqrs-tvwx-yz01".into()],
        };
        assert_eq!(
            serde_json::to_value(&r).unwrap(),
            json!({"recovery_codes": ["abcd-efgh-jkmn", "pqrs-tvwx-yz01"]})
        );
        let dbg = format!("{r:?}");
        assert!(!dbg.contains("abcd") && !dbg.contains("pqrs"), "{dbg}");
    }
}
