//! `/admin/v1/*`: IT's admin API (issue 18), for the console and IT's scripts. Every
//! route takes the bearer token of a session of an account with a console role
//! (`latchkey-server admin grant`) and two-factor authentication on; *helpdesk* looks
//! users up, unlocks, sets temporary passwords, resets two-factor authentication, signs
//! users out and reads activity; *admin* also disables and enables accounts and reads
//! the audit trail. Every action is in the audit trail (`crate::audit`).
//!
//! These routes are not behind the maintenance guard: IT must be able to act while the
//! sign-in routes are closed.

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::Json;
use latchkey_proto::{
    AdminMe, AdminRole, AdminUserDetail, AdminUserPage, AdminUserSummary, AuditChange, AuditPage,
    CreateUserRequest, CreatedUser, ErrorBody, ErrorCode, ImportLine, ImportReport, ImportRequest,
    ImportStatus, Maintenance, MinClientVersion, Secret, TemporaryPassword, UpdateUserRequest,
    UserStatus,
};
use rand::rngs::OsRng;
use rand::Rng;
use serde::Deserialize;
use sqlx::Row;

use super::extract::{ApiJson, ApiPath, ApiQuery, ClientIp};
use crate::admin::{self, AdminError};
use crate::audit::{self, Actor};
use crate::config::TwoFactorRequired;
use crate::db::{rfc3339, secs};
use crate::error::{ApiError, ApiResult};
use crate::identifier::Identifier;
use crate::session::{self, Authed};
use crate::state::AppState;
use crate::users::{self, UserRow, COLUMNS};
use crate::{account, activity, lockout, policy, recovery_codes, roles, settings, totp};

/// The signed-in admin of a request: an account with a role and two-factor
/// authentication on.
pub struct Admin {
    pub user: UserRow,
    pub role: AdminRole,
    pub ip: Option<String>,
}

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, ApiError> {
        let authed = Authed::from_request_parts(parts, app).await?;
        let ip = ClientIp::from_request_parts(parts, app).await?;
        Self::for_user(app, &authed.user_id, ip.0).await
    }
}

impl Admin {
    /// The account `user_id` as an admin: refused unless it is enabled, has a role and
    /// has two-step verification on.
    pub async fn for_user(app: &AppState, user_id: &str, ip: Option<String>) -> ApiResult<Self> {
        let user = users::by_id(&app.db, user_id)
            .await?
            .filter(|u| !u.is_disabled())
            .ok_or_else(|| ApiError::new(ErrorCode::Unauthenticated))?;
        let Some(role) = roles::of(&app.db, &user.id).await? else {
            return Err(ApiError::new(ErrorCode::Forbidden)
                .message("This account has no role in the console."));
        };
        if !user.mfa_on() {
            return Err(ApiError::new(ErrorCode::TwoFactorRequired).message(
                "Turn on two-step verification for this account before acting in the console.",
            ));
        }
        Ok(Self { user, role, ip })
    }

    /// Refuses (`forbidden`) unless the admin's role allows what `needed` may do.
    pub fn needs(&self, needed: AdminRole) -> ApiResult<()> {
        if self.role.allows(needed) {
            Ok(())
        } else {
            Err(ApiError::new(ErrorCode::Forbidden)
                .message(format!("This needs the {} role.", needed.as_str())))
        }
    }

    fn actor(&self) -> Actor {
        Actor::admin(&self.user, self.role, self.ip.as_deref())
    }
}

impl From<AdminError> for ApiError {
    fn from(e: AdminError) -> Self {
        match e {
            AdminError::NotFound(_) => ApiError::new(ErrorCode::ResourceNotFound),
            AdminError::Exists => ApiError::new(ErrorCode::Conflict),
            // The command line's messages name its flags (`--email: …`): here the
            // field is the body's.
            AdminError::Invalid(m) => match m.strip_prefix("--").and_then(|r| r.split_once(':')) {
                Some((field, why)) => ApiError::invalid(field, format!("{field}:{why}")),
                None => ApiError::new(ErrorCode::InvalidRequest).message(m),
            },
            AdminError::Refused(r) => ApiError::rejected("password", r.reasons, r.suggestions),
            AdminError::Hash(e) => ApiError::internal(e),
            AdminError::Db(e) => e.into(),
        }
    }
}

/// Who the console is signed in as, and with which role.
#[utoipa::path(get, path = "/admin/v1/me", tag = "admin", security(("bearer" = [])),
    responses(
        (status = 200, body = AdminMe),
        (status = 401, description = "`unauthenticated` or `token_expired`", body = ErrorBody),
        (status = 403, description = "`forbidden` (no console role) or `two_factor_required` (the admin has no two-step verification)", body = ErrorBody),
    ))]
pub async fn me(admin: Admin) -> Json<AdminMe> {
    Json(AdminMe {
        user: admin.user.to_proto(),
        role: admin.role,
    })
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct UserQuery {
    /// Part of an e-mail, phone number, username or name (case-insensitive), or an
    /// identifier in any form people type it (`138 0013 8000`). Empty: everyone.
    q: Option<String>,
    /// The page, from 1 (default 1).
    page: Option<u32>,
    /// Accounts per page, 1–100 (default 20).
    per_page: Option<u32>,
}

/// The longest search accepted.
const MAX_QUERY_CHARS: usize = 200;

/// `%`, `_` and `\` of a search are matched as themselves.
fn like_pattern(q: &str) -> String {
    let mut p = String::from("%");
    for c in q.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

/// Finds accounts by any identifier or name, a page at a time.
#[utoipa::path(get, path = "/admin/v1/users", tag = "admin", security(("bearer" = [])),
    params(UserQuery),
    responses(
        (status = 200, body = AdminUserPage),
        (status = 400, description = "`invalid_request`: a bad page, size or search", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
    ))]
pub async fn search(
    State(app): State<AppState>,
    admin: Admin,
    ApiQuery(q): ApiQuery<UserQuery>,
) -> ApiResult<Json<AdminUserPage>> {
    admin.needs(AdminRole::Helpdesk)?;
    let found = find(
        &app,
        q.q.as_deref().unwrap_or(""),
        q.page.unwrap_or(1),
        q.per_page.unwrap_or(20),
    )
    .await?;
    Ok(Json(found))
}

/// A page of the accounts matching `text` (the search of the API and the console).
pub async fn find(
    app: &AppState,
    text: &str,
    page: u32,
    per_page: u32,
) -> ApiResult<AdminUserPage> {
    if page == 0 || page > 1_000_000 {
        return Err(ApiError::invalid("page", "`page` starts at 1."));
    }
    if !(1..=100).contains(&per_page) {
        return Err(ApiError::invalid(
            "per_page",
            "`per_page` must be between 1 and 100.",
        ));
    }
    let text = text.trim();
    if text.chars().count() > MAX_QUERY_CHARS || text.contains('\0') {
        return Err(ApiError::invalid("q", "The search is too long."));
    }
    // An identifier typed as people type it matches its canonical form too.
    let canonical = Identifier::parse(text, &app.config().default_region)
        .ok()
        .map(|i| i.as_str().to_owned())
        .unwrap_or_default();
    let pattern = like_pattern(text);
    let filter = "WHERE ($1 = '' OR LOWER(COALESCE(email, '')) LIKE $2 ESCAPE '\\' \
                  OR LOWER(COALESCE(username, '')) LIKE $2 ESCAPE '\\' \
                  OR LOWER(COALESCE(name, '')) LIKE $2 ESCAPE '\\' \
                  OR COALESCE(phone, '') LIKE $2 ESCAPE '\\' \
                  OR email = $3 OR phone = $3 OR username = $3)";
    let total: i64 = sqlx::query(&format!("SELECT COUNT(*) AS n FROM users {filter}"))
        .bind(text)
        .bind(&pattern)
        .bind(&canonical)
        .fetch_one(&app.db)
        .await?
        .get("n");
    let rows: Vec<UserRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM users {filter} ORDER BY created_at DESC, id LIMIT $4 OFFSET $5"
    ))
    .bind(text)
    .bind(&pattern)
    .bind(&canonical)
    .bind(i64::from(per_page))
    .bind(i64::from(page - 1) * i64::from(per_page))
    .fetch_all(&app.db)
    .await?;
    let mut users = Vec::with_capacity(rows.len());
    for user in &rows {
        users.push(summary(app, user).await?);
    }
    Ok(AdminUserPage {
        users,
        page,
        per_page,
        total: u64::try_from(total).unwrap_or(0),
    })
}

/// What the console shows about an account at a glance.
pub async fn summary(app: &AppState, user: &UserRow) -> ApiResult<AdminUserSummary> {
    let now = app.now();
    let mut locked_for = None;
    for subject in user.lockout_subjects() {
        locked_for = locked_for.max(lockout::locked_for(&app.db, &subject, now).await?);
    }
    let expires = account::password_expires_at(&app.config().password, user);
    let maintenance = app.switches().await?.maintenance.is_some();
    let recovery_codes_left = if user.mfa_on() {
        Some(recovery_codes::left(&app.db, &user.id).await?)
    } else {
        None
    };
    let waiting: Option<i64> = sqlx::query_scalar(
        "SELECT MAX(expires_at) FROM challenges \
         WHERE user_id = $1 AND kind = $2 AND used_at IS NULL AND expires_at > $3",
    )
    .bind(&user.id)
    .bind(crate::http::device::DEVICE)
    .bind(now)
    .fetch_one(&app.db)
    .await?;
    let two_factor = crate::two_factor::due(app, &user.id, now).await?;
    let status = UserStatus {
        device_code_waiting_until: waiting.map(rfc3339),
        two_factor_required_by: two_factor.map(|d| rfc3339(d.by)),
        disabled: user.is_disabled(),
        locked_until: locked_for.map(|s| rfc3339(now + secs(s))),
        must_change_password: user.has_temporary_password(),
        password_expires_at: expires.map(rfc3339),
        password_expired: expires.is_some_and(|e| e <= now),
        mfa_enabled: user.mfa_on(),
        recovery_codes_left,
        maintenance,
    };
    Ok(AdminUserSummary {
        can_sign_in: !status.disabled && status.locked_until.is_none() && !maintenance,
        user: user.to_proto(),
        status,
        role: roles::of(&app.db, &user.id).await?,
        created_at: rfc3339(user.created_at),
    })
}

/// The account of a path's `{id}`.
pub async fn target(app: &AppState, id: &str) -> ApiResult<UserRow> {
    let plausible =
        !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric());
    if !plausible {
        return Err(ApiError::new(ErrorCode::ResourceNotFound));
    }
    users::by_id(&app.db, id)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::ResourceNotFound))
}

/// An account with its live sessions and its newest activity.
#[utoipa::path(get, path = "/admin/v1/users/{id}", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "The account's id")),
    responses(
        (status = 200, body = AdminUserDetail),
        (status = 404, description = "`resource_not_found`", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
    ))]
pub async fn show(
    State(app): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<AdminUserDetail>> {
    Ok(Json(detail(&app, &admin, &id).await?))
}

/// An account with its sessions and activity (the API's and the console's).
pub async fn detail(app: &AppState, admin: &Admin, id: &str) -> ApiResult<AdminUserDetail> {
    admin.needs(AdminRole::Helpdesk)?;
    let user = target(app, id).await?;
    let summary = summary(app, &user).await?;
    let sessions = session::list(&app.db, &user.id, "", app.now()).await?;
    let activity = activity::recent(&app.db, &user.id, 50).await?;
    Ok(AdminUserDetail {
        summary,
        sessions,
        activity,
    })
}

/// Lifts the account's sign-in lock (every identifier of it).
#[utoipa::path(post, path = "/admin/v1/users/{id}/unlock", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "The account's id")),
    responses(
        (status = 204, description = "Unlocked (or was not locked)"),
        (status = 404, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ))]
pub async fn unlock(
    State(app): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    run(&app, &admin, &id, Action::Unlock).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An action on one account, as the admin API and the console run it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Unlock,
    TemporaryPassword,
    ResetTwoFactor,
    RevokeSessions,
    Disable,
    Enable,
}

impl Action {
    pub const ALL: [Action; 6] = [
        Self::Unlock,
        Self::TemporaryPassword,
        Self::ResetTwoFactor,
        Self::RevokeSessions,
        Self::Disable,
        Self::Enable,
    ];

    /// Its path segment (`/admin/v1/users/{id}/<path>`).
    pub fn path(self) -> &'static str {
        match self {
            Self::Unlock => "unlock",
            Self::TemporaryPassword => "temporary-password",
            Self::ResetTwoFactor => "reset-two-factor",
            Self::RevokeSessions => "revoke-sessions",
            Self::Disable => "disable",
            Self::Enable => "enable",
        }
    }

    pub fn parse(path: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.path() == path)
    }

    /// The least role that may run it.
    pub fn role(self) -> AdminRole {
        match self {
            Self::Disable | Self::Enable => AdminRole::Admin,
            _ => AdminRole::Helpdesk,
        }
    }
}

/// Runs `action` on the account `id` for `admin`, with its audit record; a temporary
/// password is returned (to be shown once).
pub async fn run(
    app: &AppState,
    admin: &Admin,
    id: &str,
    action: Action,
) -> ApiResult<Option<Secret>> {
    admin.needs(action.role())?;
    let user = target(app, id).await?;
    let now = app.now();
    let (name, changes, secret) = match action {
        Action::Unlock => {
            let before = summary(app, &user).await?.status.locked_until;
            admin::unlock(app, &user.id).await?;
            let change = audit::change("locked_until", before.as_deref(), None);
            ("unlock", vec![change], None)
        }
        Action::TemporaryPassword => {
            let password = set_temporary(app, &user).await?;
            let change = audit::change("must_change_password", Some("false"), Some("true"));
            ("temporary_password", vec![change], Some(password))
        }
        Action::ResetTwoFactor => {
            let mut conn = app.db.acquire().await?;
            totp::remove(&mut conn, &user.id).await?;
            drop(conn);
            if user.mfa_on() {
                crate::mfa::notify_totp_change(app, &user, false).await;
            }
            let was = if user.mfa_on() { "true" } else { "false" };
            let change = audit::change("mfa_enabled", Some(was), Some("false"));
            ("reset_two_factor", vec![change], None)
        }
        Action::RevokeSessions => {
            let live = session::list(&app.db, &user.id, "", now).await?.len();
            let mut conn = app.db.acquire().await?;
            session::revoke_all(&mut conn, &user.id, None, now).await?;
            drop(conn);
            let change = audit::change("sessions", Some(&live.to_string()), Some("0"));
            ("revoke_sessions", vec![change], None)
        }
        Action::Disable | Action::Enable => {
            let disabled = action == Action::Disable;
            if disabled && user.id == admin.user.id {
                return Err(ApiError::new(ErrorCode::Conflict)
                    .message("An admin cannot disable their own account."));
            }
            admin::set_disabled(app, &user.id, disabled).await?;
            let before = if user.is_disabled() { "true" } else { "false" };
            let after = if disabled { "true" } else { "false" };
            let name = if disabled { "disable" } else { "enable" };
            let change = audit::change("disabled", Some(before), Some(after));
            (name, vec![change], None)
        }
    };
    audit::record(&app.db, &admin.actor(), name, Some(&user), &changes, now).await?;
    Ok(secret)
}

/// Characters of a temporary password: no look-alikes (0/O, 1/l/I), since it is read
/// out over the phone.
const TEMPORARY_ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789";

/// Four groups of four: `Hk7q-9xTr-Wp4n-Z2hd` (about 95 bits).
fn temporary_password() -> Secret {
    let mut rng = OsRng;
    let groups: Vec<String> = (0..4)
        .map(|_| {
            (0..4)
                .map(|_| char::from(TEMPORARY_ALPHABET[rng.gen_range(0..TEMPORARY_ALPHABET.len())]))
                .collect()
        })
        .collect();
    Secret::from(groups.join("-"))
}

/// Sets a temporary password, shown this once: the person chooses their own at the
/// next sign-in. Every session of the account ends, outstanding reset links and codes
/// are void, and any lock is lifted.
#[utoipa::path(post, path = "/admin/v1/users/{id}/temporary-password", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "The account's id")),
    responses(
        (status = 200, body = TemporaryPassword),
        (status = 404, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ))]
pub async fn set_temporary_password(
    State(app): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<TemporaryPassword>> {
    let password = run(&app, &admin, &id, Action::TemporaryPassword)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::Internal))?;
    Ok(Json(TemporaryPassword { password }))
}

/// A temporary password for `user`: set, every session ended, reset links void, locks
/// lifted. A random password of this shape meets any sane policy; a policy that refuses
/// one (say, one that wants a symbol) gets another try before the refusal is passed on.
async fn set_temporary(app: &AppState, user: &UserRow) -> ApiResult<Secret> {
    let mut last = None;
    for _ in 0..3 {
        let password = temporary_password();
        match admin::reset_password(app, &user.id, &password).await {
            Ok(_) => return Ok(password),
            Err(AdminError::Refused(r)) => last = Some(AdminError::Refused(r)),
            Err(e) => return Err(e.into()),
        }
    }
    Err(last
        .map(ApiError::from)
        .unwrap_or_else(|| ApiError::new(ErrorCode::Internal)))
}

/// Turns the account's two-factor authentication off and deletes its recovery codes
/// (the person lost the phone and the codes); they set it up again after signing in.
/// The account's sessions are left as they are; revoke them too if the phone was a
/// signed-in device.
#[utoipa::path(post, path = "/admin/v1/users/{id}/reset-two-factor", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "The account's id")),
    responses(
        (status = 204, description = "Two-factor authentication is off"),
        (status = 404, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ))]
pub async fn reset_two_factor(
    State(app): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    run(&app, &admin, &id, Action::ResetTwoFactor).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Signs the account out on every device (and out of every application signed in
/// through Latchkey).
#[utoipa::path(post, path = "/admin/v1/users/{id}/revoke-sessions", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "The account's id")),
    responses(
        (status = 204, description = "Signed out everywhere"),
        (status = 404, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ))]
pub async fn revoke_sessions(
    State(app): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    run(&app, &admin, &id, Action::RevokeSessions).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Disables the account (admin only): it is signed out everywhere and cannot sign in.
#[utoipa::path(post, path = "/admin/v1/users/{id}/disable", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "The account's id")),
    responses(
        (status = 204, description = "Disabled"),
        (status = 409, description = "`conflict`: the admin's own account", body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ))]
pub async fn disable(
    State(app): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    run(&app, &admin, &id, Action::Disable).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Enables a disabled account again (admin only).
#[utoipa::path(post, path = "/admin/v1/users/{id}/enable", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "The account's id")),
    responses(
        (status = 204, description = "Enabled"),
        (status = 404, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ))]
pub async fn enable(
    State(app): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    run(&app, &admin, &id, Action::Enable).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct AuditQuery {
    /// Only the records about this account.
    user_id: Option<String>,
    /// How many, newest first (1–500, default 100).
    limit: Option<u32>,
}

/// The audit trail, newest first (admin only).
#[utoipa::path(get, path = "/admin/v1/audit", tag = "admin", security(("bearer" = [])),
    params(AuditQuery),
    responses(
        (status = 200, body = AuditPage),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ))]
pub async fn audit_trail(
    State(app): State<AppState>,
    admin: Admin,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> ApiResult<Json<AuditPage>> {
    admin.needs(AdminRole::Admin)?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::invalid(
            "limit",
            "`limit` must be between 1 and 500.",
        ));
    }
    let user_id = q.user_id.as_deref().filter(|u| !u.is_empty());
    if user_id.is_some_and(|u| u.len() > 64 || !u.bytes().all(|b| b.is_ascii_alphanumeric())) {
        return Err(ApiError::invalid(
            "user_id",
            "`user_id` is not an account id.",
        ));
    }
    let entries = audit::recent(&app.db, user_id, limit).await?;
    Ok(Json(AuditPage { entries }))
}

fn changes(changed: &[admin::Changed]) -> Vec<AuditChange> {
    changed
        .iter()
        .map(|(field, before, after)| audit::change(field, before.as_deref(), after.as_deref()))
        .collect()
}

/// Creates an account (admin only) with a temporary password, returned this once: the
/// person chooses their own at the first sign-in.
#[utoipa::path(post, path = "/admin/v1/users", tag = "admin", security(("bearer" = [])),
    request_body = CreateUserRequest,
    responses(
        (status = 201, body = CreatedUser),
        (status = 400, description = "`invalid_request` with the `field` at fault", body = ErrorBody),
        (status = 409, description = "`conflict`: another account has this e-mail, phone or username", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ))]
pub async fn create(
    State(app): State<AppState>,
    admin: Admin,
    ApiJson(req): ApiJson<CreateUserRequest>,
) -> ApiResult<(StatusCode, Json<CreatedUser>)> {
    let created = create_account(&app, &admin, req).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// Creates an account with a temporary password (the API's and the console's).
pub async fn create_account(
    app: &AppState,
    admin: &Admin,
    req: CreateUserRequest,
) -> ApiResult<CreatedUser> {
    admin.needs(AdminRole::Admin)?;
    let add = admin::AddUser {
        email: req.email.filter(|v| !v.trim().is_empty()),
        phone: req.phone.filter(|v| !v.trim().is_empty()),
        username: req.username.filter(|v| !v.trim().is_empty()),
        name: req.name,
        organisation: req.organisation,
        locale: req.locale,
        temporary: true,
    };
    if [&add.name, &add.organisation]
        .into_iter()
        .flatten()
        .any(|v| v.chars().count() > 200)
    {
        return Err(ApiError::invalid(
            "name",
            "Names are at most 200 characters.",
        ));
    }
    let mut last = None;
    for _ in 0..3 {
        let password = temporary_password();
        match admin::add_user(app, add.clone(), &password).await {
            Ok(user) => {
                let made: Vec<AuditChange> = [
                    ("email", &user.email),
                    ("phone", &user.phone),
                    ("username", &user.username),
                    ("name", &user.name),
                ]
                .into_iter()
                .filter_map(|(f, v)| v.as_deref().map(|v| audit::change(f, None, Some(v))))
                .collect();
                audit::record(
                    &app.db,
                    &admin.actor(),
                    "create",
                    Some(&user),
                    &made,
                    app.now(),
                )
                .await?;
                return Ok(CreatedUser {
                    user: user.to_proto(),
                    password,
                });
            }
            Err(AdminError::Refused(r)) => last = Some(AdminError::Refused(r)),
            Err(e) => return Err(e.into()),
        }
    }
    Err(last
        .map(ApiError::from)
        .unwrap_or_else(|| ApiError::new(ErrorCode::Internal)))
}

/// Changes an account's name, e-mail, phone or username (admin only): absent fields
/// stay, an empty one is removed (one identifier must remain). The old e-mail address
/// or phone number is told of the change.
#[utoipa::path(patch, path = "/admin/v1/users/{id}", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "The account's id")),
    request_body = UpdateUserRequest,
    responses(
        (status = 200, body = AdminUserSummary),
        (status = 400, description = "`invalid_request` with the `field` at fault", body = ErrorBody),
        (status = 409, description = "`conflict`: another account has this e-mail, phone or username", body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ))]
pub async fn update(
    State(app): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<UpdateUserRequest>,
) -> ApiResult<Json<AdminUserSummary>> {
    Ok(Json(update_account(&app, &admin, &id, req).await?))
}

/// Changes an account (the API's and the console's).
pub async fn update_account(
    app: &AppState,
    admin: &Admin,
    id: &str,
    req: UpdateUserRequest,
) -> ApiResult<AdminUserSummary> {
    admin.needs(AdminRole::Admin)?;
    let user = target(app, id).await?;
    let update = admin::UserUpdate {
        name: req.name,
        email: req.email,
        phone: req.phone,
        username: req.username,
    };
    let (now, changed) = admin::update_user(app, &user, &update).await?;
    if !changed.is_empty() {
        audit::record(
            &app.db,
            &admin.actor(),
            "update",
            Some(&now),
            &changes(&changed),
            app.now(),
        )
        .await?;
    }
    summary(app, &now).await
}

/// Deletes an account and the personal data kept about it (admin only); the audit
/// trail keeps its records with the account's id only.
#[utoipa::path(delete, path = "/admin/v1/users/{id}", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "The account's id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 409, description = "`conflict`: the admin's own account", body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ))]
pub async fn delete(
    State(app): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    delete_account(&app, &admin, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Deletes an account (the API's and the console's).
pub async fn delete_account(app: &AppState, admin: &Admin, id: &str) -> ApiResult<()> {
    admin.needs(AdminRole::Admin)?;
    let user = target(app, id).await?;
    if user.id == admin.user.id {
        return Err(
            ApiError::new(ErrorCode::Conflict).message("An admin cannot delete their own account.")
        );
    }
    admin::delete_user(app, &user).await?;
    audit::record_about(
        &app.db,
        &admin.actor(),
        "delete",
        (Some(&user.id), None),
        &[],
        app.now(),
    )
    .await?;
    Ok(())
}

/// Turns maintenance on (admin only): the sign-in and account routes answer
/// `maintenance` with this message; the admin API goes on working.
#[utoipa::path(put, path = "/admin/v1/maintenance", tag = "admin", security(("bearer" = [])),
    request_body = Maintenance,
    responses(
        (status = 204, description = "Maintenance is on"),
        (status = 400, description = "`invalid_request`: an empty message or a bad `until`", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ))]
pub async fn maintenance_on(
    State(app): State<AppState>,
    admin: Admin,
    ApiJson(req): ApiJson<Maintenance>,
) -> ApiResult<StatusCode> {
    change_maintenance(&app, &admin, Some(req)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Maintenance on (with its message) or off, audited: for the API and the console.
pub async fn change_maintenance(
    app: &AppState,
    admin: &Admin,
    on: Option<Maintenance>,
) -> ApiResult<()> {
    admin.needs(AdminRole::Admin)?;
    if let Some(req) = &on {
        if req.message.chars().count() > 500 {
            return Err(ApiError::invalid(
                "message",
                "The message is at most 500 characters.",
            ));
        }
    }
    let (action, change) = match &on {
        Some(req) => (
            "maintenance_on",
            vec![audit::change("maintenance", None, Some(&req.message))],
        ),
        None => ("maintenance_off", vec![]),
    };
    admin::maintenance(app, on).await?;
    audit::record(&app.db, &admin.actor(), action, None, &change, app.now()).await?;
    Ok(())
}

/// Turns maintenance off (admin only).
#[utoipa::path(delete, path = "/admin/v1/maintenance", tag = "admin", security(("bearer" = [])),
    responses(
        (status = 204, description = "Maintenance is off"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ))]
pub async fn maintenance_off(State(app): State<AppState>, admin: Admin) -> ApiResult<StatusCode> {
    change_maintenance(&app, &admin, None).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sets the oldest app version the server accepts (admin only), as `latchkey-server
/// version set`: older apps are asked to update, with the download address if given.
#[utoipa::path(put, path = "/admin/v1/min-client-version", tag = "admin", security(("bearer" = [])),
    request_body = MinClientVersion,
    responses(
        (status = 204, description = "Set"),
        (status = 400, description = "`invalid_request`: not a version like 1.4.0, or a download address that is not https", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ))]
pub async fn min_client_version_set(
    State(app): State<AppState>,
    admin: Admin,
    ApiJson(req): ApiJson<MinClientVersion>,
) -> ApiResult<StatusCode> {
    admin.needs(AdminRole::Admin)?;
    set_min_client_version(&app, &admin, Some(&req)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Accepts every app version again (admin only).
#[utoipa::path(delete, path = "/admin/v1/min-client-version", tag = "admin", security(("bearer" = [])),
    responses(
        (status = 204, description = "Every version is accepted"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ))]
pub async fn min_client_version_clear(
    State(app): State<AppState>,
    admin: Admin,
) -> ApiResult<StatusCode> {
    admin.needs(AdminRole::Admin)?;
    set_min_client_version(&app, &admin, None).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn set_min_client_version(
    app: &AppState,
    admin: &Admin,
    req: Option<&MinClientVersion>,
) -> ApiResult<()> {
    let before = app.switches().await?.min_client_version.clone();
    let version = req.map(|r| r.min_version.trim());
    let url = req.and_then(|r| r.download_url.as_deref()).map(str::trim);
    admin::min_client_version(app, version, url.filter(|u| !u.is_empty()))
        .await
        .map_err(|e| match e {
            AdminError::Invalid(m) if m.starts_with("--download-url") => ApiError::invalid(
                "download_url",
                "The download address must be an https:// URL (plain http only to this machine).",
            ),
            AdminError::Invalid(_) => {
                ApiError::invalid("min_version", "Expected a version like 1.4.0.")
            }
            other => other.into(),
        })?;
    let change = audit::change("min_client_version", before.as_deref(), version);
    audit::record(
        &app.db,
        &admin.actor(),
        "min_client_version",
        None,
        &[change],
        app.now(),
    )
    .await?;
    Ok(())
}

/// The policies IT may set in the console: each with the value in force, the
/// console's own value if it set one, and where the value in force comes from — the
/// configuration file and the environment win over the console.
#[utoipa::path(get, path = "/admin/v1/policies", tag = "admin", security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<policy::Entry>),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ))]
pub async fn policies(
    State(app): State<AppState>,
    admin: Admin,
) -> ApiResult<Json<Vec<policy::Entry>>> {
    admin.needs(AdminRole::Helpdesk)?;
    let stored = policy::parse(app.switches().await?.policy.as_deref());
    Ok(Json(app.live.describe(&stored)))
}

/// Sets policies (admin only): a JSON object of keys (`GET` lists them) and values; a
/// `null` value gives the key back to the default. Every server process applies the
/// change within a second; a key the file or the environment sets keeps their value.
/// Each key changed is in the audit trail, with its value before and after.
#[utoipa::path(put, path = "/admin/v1/policies", tag = "admin", security(("bearer" = [])),
    request_body(content = Object, description = "`{\"lockout.threshold\": 8, \"two_factor.required\": \"everyone\"}`"),
    responses(
        (status = 200, body = Vec<policy::Entry>),
        (status = 400, description = "`invalid_request`: a key the console cannot set, or a value that does not fit", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ))]
pub async fn set_policies(
    State(app): State<AppState>,
    admin: Admin,
    ApiJson(changes): ApiJson<policy::Stored>,
) -> ApiResult<Json<Vec<policy::Entry>>> {
    admin.needs(AdminRole::Admin)?;
    let entries = change_policies(&app, &admin, &changes).await?;
    Ok(Json(entries))
}

/// [`set_policies`], for the console's form too.
pub async fn change_policies(
    app: &AppState,
    admin: &Admin,
    changes: &policy::Stored,
) -> ApiResult<Vec<policy::Entry>> {
    admin.needs(AdminRole::Admin)?;
    let before = policy::parse(app.switches().await?.policy.as_deref());
    let after = policy::merge(&app.live, &before, changes)
        .map_err(|m| ApiError::new(ErrorCode::InvalidRequest).message(m))?;
    let json = serde_json::to_string(&after).map_err(ApiError::internal)?;
    settings::set_policy(&app.db, (!after.is_empty()).then_some(json.as_str())).await?;
    app.switches.invalidate();
    app.switches().await?;
    if app.config().two_factor.required == TwoFactorRequired::Off {
        // Turned on again later, the grace period starts again.
        settings::mark_two_factor_since(&app.db, None, 0).await?;
    }
    let shown = |v: Option<&serde_json::Value>| v.map(serde_json::Value::to_string);
    let audited: Vec<_> = policy::KEYS
        .iter()
        .filter(|k| before.get(**k) != after.get(**k))
        .map(|k| {
            let (b, a) = (shown(before.get(*k)), shown(after.get(*k)));
            audit::change(k, b.as_deref(), a.as_deref())
        })
        .collect();
    if !audited.is_empty() {
        audit::record(
            &app.db,
            &admin.actor(),
            "policies",
            None,
            &audited,
            app.now(),
        )
        .await?;
    }
    Ok(app.live.describe(&after))
}

/// Creates accounts from CSV (admin only): a header line naming the columns (`email`,
/// `phone`, `username`, `name`, `organisation`, `locale`), then one account a line, at
/// most 1,000. `dry_run` only says what would happen. An import with any wrong line
/// creates nothing; a line whose account exists already is left alone, so an import can
/// be run again. Each created account gets a temporary password, in this answer only.
#[utoipa::path(post, path = "/admin/v1/users/import", tag = "admin", security(("bearer" = [])),
    request_body = ImportRequest,
    responses(
        (status = 200, description = "The report, line by line", body = ImportReport),
        (status = 400, description = "`invalid_request`: the header, the columns or the size", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ))]
pub async fn import(
    State(app): State<AppState>,
    admin: Admin,
    ApiJson(req): ApiJson<ImportRequest>,
) -> ApiResult<Json<ImportReport>> {
    Ok(Json(import_accounts(&app, &admin, req).await?))
}

/// Imports accounts from CSV (the API's and the console's).
pub async fn import_accounts(
    app: &AppState,
    admin: &Admin,
    req: ImportRequest,
) -> ApiResult<ImportReport> {
    admin.needs(AdminRole::Admin)?;
    let checked = admin::check_import(app, &req.csv).await?;
    let errors = checked
        .iter()
        .filter(|(_, _, l)| matches!(l, admin::ImportLine::Wrong(..)))
        .count();
    let create = !req.dry_run && errors == 0;
    let mut report = ImportReport {
        dry_run: req.dry_run,
        created: 0,
        existing: 0,
        errors: u32::try_from(errors).unwrap_or(u32::MAX),
        lines: Vec::with_capacity(checked.len()),
    };
    for (line, label, state) in checked {
        let mut out = ImportLine {
            line,
            status: ImportStatus::Error,
            label,
            field: None,
            message: None,
            password: None,
        };
        match state {
            admin::ImportLine::Wrong(field, message) => {
                out.field = field;
                out.message = Some(message);
            }
            admin::ImportLine::Exists(_) => {
                out.status = ImportStatus::Exists;
                report.existing += 1;
            }
            admin::ImportLine::New(_) if !create => out.status = ImportStatus::WouldCreate,
            admin::ImportLine::New(new) => {
                let password = temporary_password();
                match admin::insert_user(app, &new, &password).await {
                    Ok(user) => {
                        let made: Vec<AuditChange> = [
                            ("email", &user.email),
                            ("phone", &user.phone),
                            ("username", &user.username),
                            ("name", &user.name),
                        ]
                        .into_iter()
                        .filter_map(|(f, v)| v.as_deref().map(|v| audit::change(f, None, Some(v))))
                        .collect();
                        audit::record(
                            &app.db,
                            &admin.actor(),
                            "import",
                            Some(&user),
                            &made,
                            app.now(),
                        )
                        .await?;
                        out.status = ImportStatus::Created;
                        out.password = Some(password);
                        report.created += 1;
                    }
                    // Made by someone else meanwhile: as if it had been there.
                    Err(AdminError::Exists) => {
                        out.status = ImportStatus::Exists;
                        report.existing += 1;
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        }
        report.lines.push(out);
    }
    Ok(report)
}
