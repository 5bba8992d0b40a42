//! `/v1/me/*`: the signed-in user's profile, password, sessions and activity.

use serde::{Deserialize, Serialize};

use crate::{Device, Secret, User};

/// `GET /v1/me`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Profile {
    pub user: User,
    /// When the password was last set, RFC 3339.
    pub password_changed_at: String,
    /// When the password expires under the policy, RFC 3339; `None` if it never does.
    pub password_expires_at: Option<String>,
    /// Unused recovery codes, when two-factor authentication is on (absent otherwise,
    /// and from servers before this field).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery_codes_left: Option<u32>,
    /// The organisation requires two-step verification of this account, which has none:
    /// until when it may still sign in without it (RFC 3339; in the past: it must be set
    /// up now, and other calls answer `two_factor_setup_required`). Absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub two_factor_required_by: Option<String>,
}

/// `POST /v1/me/password` body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChangePasswordRequest {
    pub current_password: Secret,
    pub new_password: Secret,
}

/// One signed-in device, from `GET /v1/me/sessions`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionInfo {
    pub id: String,
    pub device: Device,
    /// Address the session was last used from.
    pub ip: Option<String>,
    pub created_at: String,
    pub last_used_at: String,
    /// True for the session the request was made with.
    pub current: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionList {
    pub sessions: Vec<SessionInfo>,
}

/// One entry of `GET /v1/me/activity`: a sign-in attempt or a security event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActivityEntry {
    pub id: String,
    /// `login`, `password_changed`, `session_revoked`, `logout`, `refresh_reuse`, …
    pub kind: String,
    /// `ok` or the error code / login status the attempt ended with.
    pub result: String,
    pub at: String,
    pub device: Device,
    pub ip: Option<String>,
    /// The id of the request that did it (its `X-Request-Id`, on every server log line
    /// of that request): what to tell IT. Absent for older records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActivityList {
    pub entries: Vec<ActivityEntry>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn change_password_debug_hides_both() {
        let r: ChangePasswordRequest = serde_json::from_value(
            json!({"current_password": "old-secret", "new_password": "new-secret"}),
        )
        .unwrap();
        let dbg = format!("{r:?}");
        assert!(!dbg.contains("old-secret") && !dbg.contains("new-secret"));
    }

    #[test]
    fn session_info_json() {
        let s = SessionInfo {
            id: "s".into(),
            device: Device {
                id: "d".into(),
                name: "PC".into(),
                platform: "windows".into(),
            },
            ip: Some("127.0.0.1".into()),
            created_at: "2026-01-01T00:00:00Z".into(),
            last_used_at: "2026-01-01T00:00:00Z".into(),
            current: true,
        };
        assert_eq!(
            serde_json::to_value(&s).unwrap(),
            json!({"id": "s", "device": {"id": "d", "name": "PC", "platform": "windows"},
                   "ip": "127.0.0.1", "created_at": "2026-01-01T00:00:00Z",
                   "last_used_at": "2026-01-01T00:00:00Z", "current": true})
        );
    }

    #[test]
    fn profile_and_activity_json() {
        let user = crate::User {
            id: "u".into(),
            email: None,
            phone: Some("+8613800138000".into()),
            username: Some("zw".into()),
            name: None,
            organisation: None,
            locale: None,
            mfa_enabled: true,
        };
        let p = Profile {
            user,
            password_changed_at: "2026-01-01T00:00:00Z".into(),
            password_expires_at: None,
            recovery_codes_left: Some(7),
            two_factor_required_by: None,
        };
        let v = serde_json::to_value(&p).unwrap();
        assert_eq!(v["recovery_codes_left"], 7);
        assert_eq!(v["user"]["phone"], "+8613800138000");
        assert_eq!(v["password_expires_at"], serde_json::Value::Null);
        assert_eq!(serde_json::from_value::<Profile>(v).unwrap(), p);
        let a = ActivityList {
            entries: vec![ActivityEntry {
                id: "a".into(),
                kind: "login".into(),
                result: "invalid_credentials".into(),
                at: "2026-01-01T00:00:00Z".into(),
                device: Device::default(),
                ip: None,
                request_id: None,
            }],
        };
        assert_eq!(
            serde_json::to_value(&a).unwrap(),
            json!({"entries": [{"id": "a", "kind": "login", "result": "invalid_credentials",
                    "at": "2026-01-01T00:00:00Z", "device": {"id": "", "name": "", "platform": ""},
                    "ip": null}]})
        );
        let l = SessionList { sessions: vec![] };
        assert_eq!(serde_json::to_value(&l).unwrap(), json!({"sessions": []}));
    }
}
