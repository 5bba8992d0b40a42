//! `/admin/v1/*`: IT's admin API (issue 18), which the console and IT's scripts call
//! with the bearer token of an admin's session. Roles are given from the server's
//! command line (`latchkey-server admin grant`).

use serde::{Deserialize, Serialize};

use crate::{ActivityEntry, Secret, SessionInfo, User};

/// A role in the console. *Helpdesk* looks users up, unlocks, sets temporary
/// passwords, resets two-factor authentication, signs users out and reads activity;
/// *admin* does everything.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AdminRole {
    Helpdesk,
    Admin,
}

impl AdminRole {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Helpdesk => "helpdesk",
            Self::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "helpdesk" => Some(Self::Helpdesk),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }

    /// Whether this role may do what `needed` may.
    pub fn allows(self, needed: AdminRole) -> bool {
        self >= needed
    }
}

/// `GET /admin/v1/me`: who the console is signed in as.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AdminMe {
    pub user: User,
    pub role: AdminRole,
}

/// Why an account can or cannot sign in, at a glance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserStatus {
    /// IT disabled the account.
    pub disabled: bool,
    /// Locked by failed sign-ins until then, RFC 3339.
    pub locked_until: Option<String>,
    /// A temporary password: a new one is chosen at the next sign-in.
    pub must_change_password: bool,
    /// When the password expires under the policy, RFC 3339 (absent: never).
    pub password_expires_at: Option<String>,
    /// The password has expired.
    pub password_expired: bool,
    /// Two-factor authentication is on.
    pub mfa_enabled: bool,
    /// Unused recovery codes, when two-factor authentication is on.
    pub recovery_codes_left: Option<u32>,
    /// The server is in maintenance: nobody signs in.
    pub maintenance: bool,
    /// A new-device code was sent and is still waiting to be typed (until then, RFC
    /// 3339): the person is in the middle of a sign-in from a new device.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_code_waiting_until: Option<String>,
    /// The organisation requires two-step verification and this account lacks it: set
    /// up by then (RFC 3339; in the past: at the next sign-in, before anything else).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub two_factor_required_by: Option<String>,
}

/// One account in a search.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AdminUserSummary {
    pub user: User,
    pub status: UserStatus,
    /// The account's console role, if it has one.
    pub role: Option<AdminRole>,
    pub created_at: String,
    /// Whether the account can sign in now (not disabled, not locked, no maintenance).
    pub can_sign_in: bool,
}

/// `GET /admin/v1/users`: one page of a search.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AdminUserPage {
    pub users: Vec<AdminUserSummary>,
    /// The page (from 1) and its size.
    pub page: u32,
    pub per_page: u32,
    /// Accounts matching the search, on every page.
    pub total: u64,
}

/// `GET /admin/v1/users/{id}`: an account with its sessions and recent activity.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AdminUserDetail {
    #[serde(flatten)]
    pub summary: AdminUserSummary,
    /// Its live sessions (signed-in devices); `current` is always false.
    pub sessions: Vec<SessionInfo>,
    /// Its newest activity, newest first.
    pub activity: Vec<ActivityEntry>,
}

/// `POST /admin/v1/users/{id}/temporary-password`: the password to give the person,
/// shown this once; they choose their own at the next sign-in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TemporaryPassword {
    pub password: Secret,
}

/// One field an admin action changed. Secrets are never recorded: a password change
/// is an action without fields.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditChange {
    pub field: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// One admin action of the audit trail (`GET /admin/v1/audit`, `latchkey-server audit
/// export`, one JSON line each).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    pub id: String,
    /// When, RFC 3339.
    pub at: String,
    /// Who: the admin's account id and label (e-mail, username or phone), and role.
    /// Absent for the server's command line.
    pub actor_id: Option<String>,
    pub actor: Option<String>,
    pub role: Option<AdminRole>,
    /// From which address.
    pub ip: Option<String>,
    /// What: `unlock`, `temporary_password`, `reset_two_factor`, `revoke_sessions`,
    /// `disable`, `enable`, `update`, `delete`, `grant_role`, `revoke_role`, …
    pub action: String,
    /// On which account: its id, and its label at the time (erased when the account
    /// is deleted).
    pub target_id: Option<String>,
    pub target: Option<String>,
    /// What changed, before and after.
    pub changes: Vec<AuditChange>,
    /// The id of the HTTP request that did it (its `X-Request-Id`, on every log line of
    /// that request); absent for the command line and older records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// `GET /admin/v1/audit`: newest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
}

/// `PATCH /admin/v1/users/{id}`: the fields to change; absent ones stay, an empty
/// string removes an e-mail, phone or username (one identifier must remain).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UpdateUserRequest {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub username: Option<String>,
}

/// `POST /admin/v1/users`: a new account. At least one of `email`, `phone`,
/// `username`; its first password is made by the server and returned once.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateUserRequest {
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub organisation: Option<String>,
    /// `zh-CN` or `en`: the language of messages to the person.
    #[serde(default)]
    pub locale: Option<String>,
}

/// The answer to `POST /admin/v1/users`: the account, and its temporary password
/// (shown this once; the person chooses their own at the first sign-in).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatedUser {
    pub user: User,
    pub password: Secret,
}

/// `POST /admin/v1/users/import`: accounts from CSV text with a header line naming
/// its columns, of `email`, `phone`, `username`, `name`, `organisation`, `locale`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ImportRequest {
    pub csv: String,
    /// Only check: say what would be created, create nothing.
    #[serde(default)]
    pub dry_run: bool,
}

/// What became of one line of an import.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ImportStatus {
    /// The account was made (its temporary password is in the line).
    Created,
    /// The account would be made (a dry run, or an import refused for other lines).
    WouldCreate,
    /// An account with these identifiers exists already: nothing to do (an import can
    /// be run again).
    Exists,
    /// The line is wrong; `field` and `message` say why.
    Error,
}

/// One line of an import's report (its line number in the text, from 1: the header).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportLine {
    pub line: u64,
    pub status: ImportStatus,
    /// The account's e-mail, username or phone, as in the file.
    pub label: Option<String>,
    pub field: Option<String>,
    pub message: Option<String>,
    /// The temporary password of a created account, shown this once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<Secret>,
}

/// The answer to an import. An import with an error in any line creates nothing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportReport {
    pub dry_run: bool,
    pub created: u32,
    pub existing: u32,
    pub errors: u32,
    pub lines: Vec<ImportLine>,
}

/// `PUT /admin/v1/min-client-version`: apps older than `min_version` are asked to
/// update (`client_outdated`), with `download_url` (https) if given.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MinClientVersion {
    /// `X.Y.Z`, such as `1.4.0`.
    pub min_version: String,
    #[serde(default)]
    pub download_url: Option<String>,
}
