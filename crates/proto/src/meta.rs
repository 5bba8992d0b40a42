//! `GET /v1/meta`: what a client needs to know before the user types anything.

use serde::{Deserialize, Serialize};

use crate::password::PasswordPolicy;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Meta {
    pub server_name: String,
    pub api_version: String,
    /// The server's own version.
    pub server_version: String,
    /// Clients older than this get `client_outdated`; `None` when no minimum is set.
    pub min_client_version: Option<String>,
    /// Where to download a current client, when IT configured it.
    pub download_url: Option<String>,
    /// Present while the server is in maintenance.
    pub maintenance: Option<Maintenance>,
    pub support: Support,
    pub password_policy: PasswordPolicy,
    pub offline: OfflinePolicy,
    /// Channels the server can send recovery codes through (`email`, `sms`).
    pub recovery_channels: Vec<Channel>,
    /// Country of phone numbers typed without `+` (ISO 3166 alpha-2, such as `CN`), so
    /// that a client reads identifiers as the server does. Absent from older servers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_region: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Maintenance {
    pub message: String,
    /// Announced end, RFC 3339.
    pub until: Option<String>,
}

/// Who to call when sign-in fails: shown on every error screen.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct Support {
    pub phone: Option<String>,
    pub email: Option<String>,
    pub url: Option<String>,
}

/// How long a client may sign in offline with a cached verifier.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct OfflinePolicy {
    /// Days since the last online sign-in; 0 turns offline sign-in off.
    pub days: u32,
    /// Wrong offline passwords before the server is needed again.
    pub max_attempts: u32,
}

impl Default for OfflinePolicy {
    fn default() -> Self {
        Self {
            days: 7,
            max_attempts: 5,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Email,
    Sms,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn meta_json() {
        let meta = Meta {
            server_name: "Corp".into(),
            api_version: "v1".into(),
            server_version: "0.1.0".into(),
            min_client_version: Some("1.2.0".into()),
            download_url: None,
            maintenance: Some(Maintenance {
                message: "upgrade".into(),
                until: Some("2026-01-01T00:00:00Z".into()),
            }),
            support: Support {
                phone: Some("+86 10 1234 5678".into()),
                email: None,
                url: None,
            },
            password_policy: PasswordPolicy::default(),
            offline: OfflinePolicy::default(),
            recovery_channels: vec![Channel::Email, Channel::Sms],
            default_region: Some("CN".into()),
        };
        let v = serde_json::to_value(&meta).unwrap();
        assert_eq!(
            v["maintenance"],
            json!({"message": "upgrade", "until": "2026-01-01T00:00:00Z"})
        );
        assert_eq!(v["offline"], json!({"days": 7, "max_attempts": 5}));
        assert_eq!(v["recovery_channels"], json!(["email", "sms"]));
        assert_eq!(v["support"]["email"], json!(null));
        let back: Meta = serde_json::from_value(v).unwrap();
        assert_eq!(back, meta);
    }
}

/// `GET /v1/client/update/{target}/{arch}/{current_version}`: the release a client should
/// install, in the Tauri updater's dynamic-server format (204 when there is none).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UpdateManifest {
    /// The release's version (semver).
    pub version: String,
    /// What changed, as IT wrote it.
    pub notes: Option<String>,
    /// When it was published, RFC 3339.
    pub pub_date: String,
    /// Where the artifact is downloaded from (https).
    pub url: String,
    /// Base64 of the artifact's minisign signature; the app checks it against the public
    /// key built into it, and installs nothing that does not match.
    pub signature: String,
    /// Every client must install it: its version is the minimum client version.
    pub required: bool,
}
