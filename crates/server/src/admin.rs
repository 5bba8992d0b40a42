//! The admin commands IT runs (`latchkey-server user add`, `maintenance on`, …). They
//! work on the database directly, with the same configuration as the server, so they
//! act on every server process at once.

use latchkey_policy::UserContext;
use latchkey_proto::{Maintenance, PasswordReason, Secret};

use crate::account::{self, NewPasswordError, Refusal};
use crate::hasher::HashError;
use crate::identifier::{self, Identifier};
use crate::state::AppState;
use crate::users::{self, InsertError, NewUser, UserRow};
use crate::{lockout, session, settings};

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("no account matches {0:?}")]
    NotFound(String),
    #[error("an account with this e-mail, phone or username already exists")]
    Exists,
    #[error("{0}")]
    Invalid(String),
    #[error("the password does not meet the policy: {}", reasons(.0))]
    Refused(Refusal),
    #[error("password hashing failed: {0}")]
    Hash(#[from] HashError),
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
}

fn reasons(r: &Refusal) -> String {
    let mut out: Vec<String> = r.reasons.iter().map(snake).collect();
    if !r.suggestions.is_empty() {
        let s: Vec<String> = r.suggestions.iter().map(snake).collect();
        out.push(format!("(suggestions: {})", s.join(", ")));
    }
    out.join(", ")
}

fn snake<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

impl From<NewPasswordError> for AdminError {
    fn from(e: NewPasswordError) -> Self {
        match e {
            NewPasswordError::Refused(r) => Self::Refused(r),
            NewPasswordError::Hash(e) => Self::Hash(e),
            NewPasswordError::Db(e) => Self::Db(e),
        }
    }
}

/// What `user add` is given.
#[derive(Debug, Default, Clone)]
pub struct AddUser {
    pub email: Option<String>,
    pub phone: Option<String>,
    pub username: Option<String>,
    pub name: Option<String>,
    pub organisation: Option<String>,
    pub locale: Option<String>,
    /// The password is temporary: it must be changed at the first sign-in.
    pub temporary: bool,
}

pub async fn add_user(
    app: &AppState,
    add: AddUser,
    password: &Secret,
) -> Result<UserRow, AdminError> {
    let new = prepare(app, add)?;
    insert_user(app, &new, password).await
}

/// Checks what `user add` (or an import line) is given and puts it in canonical form,
/// without touching the database.
pub fn prepare(app: &AppState, add: AddUser) -> Result<NewUser, AdminError> {
    let region = &app.config().default_region;
    let bad =
        |what: &str, e: identifier::IdentifierError| AdminError::Invalid(format!("--{what}: {e}"));
    let email = match add.email.as_deref() {
        Some(e) => Some(identifier::parse_email(e.trim()).map_err(|x| bad("email", x))?),
        None => None,
    };
    let phone = match add.phone.as_deref() {
        Some(p) => Some(identifier::parse_phone(p.trim(), region).map_err(|x| bad("phone", x))?),
        None => None,
    };
    let username = match add.username.as_deref() {
        Some(u) => Some(identifier::parse_username(u.trim()).map_err(|x| bad("username", x))?),
        None => None,
    };
    if email.is_none() && phone.is_none() && username.is_none() {
        return Err(AdminError::Invalid(
            "give at least --email, --phone or --username".into(),
        ));
    }
    if let Some(locale) = &add.locale {
        if !matches!(locale.as_str(), "zh-CN" | "en") {
            return Err(AdminError::Invalid("--locale: zh-CN or en".into()));
        }
    }
    Ok(NewUser {
        email: email.map(|i| i.as_str().to_owned()),
        phone: phone.map(|i| i.as_str().to_owned()),
        username: username.map(|i| i.as_str().to_owned()),
        name: clean(add.name),
        organisation: clean(add.organisation),
        locale: add.locale,
        temporary_password: add.temporary,
    })
}

/// Stores a prepared account with `password` (checked against the policy first).
pub async fn insert_user(
    app: &AppState,
    new: &NewUser,
    password: &Secret,
) -> Result<UserRow, AdminError> {
    let context = UserContext {
        identifier: new.username.clone(),
        name: new.name.clone(),
        email: new.email.clone(),
        phone: new.phone.clone(),
        organisation: new.organisation.clone(),
    };
    let hash = account::new_password_hash(
        &app.hasher,
        &app.db,
        &app.config().password,
        None,
        context,
        password,
    )
    .await?;
    let id = match users::insert(&app.db, new, &hash, app.now()).await {
        Ok(id) => id,
        Err(InsertError::Exists) => return Err(AdminError::Exists),
        Err(InsertError::Db(e)) => return Err(e.into()),
    };
    users::by_id(&app.db, &id)
        .await?
        .ok_or(AdminError::NotFound(id))
}

fn clean(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

/// Finds an account by e-mail, phone, username or id.
pub async fn find(app: &AppState, identifier: &str) -> Result<UserRow, AdminError> {
    if let Ok(id) = Identifier::parse(identifier, &app.config().default_region) {
        if let Some(user) = users::find(&app.db, &id).await? {
            return Ok(user);
        }
    }
    users::by_id(&app.db, identifier.trim())
        .await?
        .ok_or_else(|| AdminError::NotFound(identifier.to_owned()))
}

/// One line of `user list`.
#[derive(Debug)]
pub struct Listed {
    pub user: UserRow,
    /// Seconds left on a sign-in lock.
    pub locked_for: Option<u64>,
}

pub async fn list_users(app: &AppState) -> Result<Vec<Listed>, AdminError> {
    let now = app.now();
    let mut out = Vec::new();
    for user in users::list(&app.db).await? {
        let mut locked_for = None;
        for subject in user.lockout_subjects() {
            locked_for = locked_for.max(lockout::locked_for(&app.db, &subject, now).await?);
        }
        out.push(Listed { user, locked_for });
    }
    Ok(out)
}

/// Disables (and signs out everywhere) or re-enables an account.
pub async fn set_disabled(
    app: &AppState,
    identifier: &str,
    disabled: bool,
) -> Result<UserRow, AdminError> {
    let user = find(app, identifier).await?;
    users::set_disabled(&app.db, &user.id, disabled).await?;
    if disabled {
        let mut conn = app.db.acquire().await?;
        session::revoke_all(&mut conn, &user.id, None, app.now()).await?;
    }
    Ok(user)
}

/// Lifts a sign-in lock, whether or not an account has the identifier.
pub async fn unlock(app: &AppState, identifier: &str) -> Result<String, AdminError> {
    let mut subjects = Vec::new();
    if let Ok(id) = Identifier::parse(identifier, &app.config().default_region) {
        subjects.push(id.subject());
    }
    let label = match find(app, identifier).await {
        Ok(user) => {
            lockout::clear_account(&app.db, &user, true).await?;
            user.label().to_owned()
        }
        Err(AdminError::NotFound(_)) if !subjects.is_empty() => identifier.trim().to_owned(),
        Err(e) => return Err(e),
    };
    for s in subjects {
        lockout::clear(&app.db, &s).await?;
    }
    Ok(label)
}

/// `user reset-password` (named after the CLI verb; not the user's own password
/// reset): sets a temporary password, so the forced change comes at the next
/// sign-in. Every session ends and any lock is lifted.
pub async fn reset_password(
    app: &AppState,
    identifier: &str,
    password: &Secret,
) -> Result<UserRow, AdminError> {
    let user = find(app, identifier).await?;
    if user.in_directory() {
        return directory_temporary_password(app, user, password).await;
    }
    let hash = match account::new_password_hash(
        &app.hasher,
        &app.db,
        &app.config().password,
        None,
        user.context(),
        password,
    )
    .await
    {
        Ok(h) => h,
        Err(NewPasswordError::Refused(r)) if r.reasons == [PasswordReason::SameAsCurrent] => {
            return Err(AdminError::Refused(r))
        }
        Err(e) => return Err(e.into()),
    };
    let now = app.now();
    let mut tx = app.db.begin().await?;
    users::set_password(&mut tx, &user, &hash, true, now).await?;
    session::revoke_all(&mut tx, &user.id, None, now).await?;
    crate::replacement::void_resets(&mut tx, &user.id, now).await?;
    tx.commit().await?;
    lockout::clear_account(&app.db, &user, false).await?;
    Ok(user)
}

/// A temporary password for a directory account: Latchkey's policy first, then the
/// directory's, as the service account writes it; the forced change follows at the
/// next sign-in, and is written to the directory too.
async fn directory_temporary_password(
    app: &AppState,
    user: UserRow,
    password: &Secret,
) -> Result<UserRow, AdminError> {
    account::new_password_hash(
        &app.hasher,
        &app.db,
        &app.config().password,
        None,
        user.context(),
        password,
    )
    .await?;
    let (Some(dir), Some(dn)) = (&app.directory, user.directory_dn.as_deref()) else {
        return Err(AdminError::Invalid(
            "this account's password is in the company directory, and no [directory] is configured"
                .into(),
        ));
    };
    let normalized = Secret::new(latchkey_policy::normalize(password.expose()));
    dir.set_password(dn, None, &normalized)
        .await
        .map_err(|e| AdminError::Invalid(e.to_string()))?;
    let now = app.now();
    let mut tx = app.db.begin().await?;
    users::mark_password_changed(&mut tx, &user.id, true, now).await?;
    session::revoke_all(&mut tx, &user.id, None, now).await?;
    crate::replacement::void_resets(&mut tx, &user.id, now).await?;
    tx.commit().await?;
    lockout::clear_account(&app.db, &user, false).await?;
    Ok(user)
}

pub async fn maintenance(app: &AppState, on: Option<Maintenance>) -> Result<(), AdminError> {
    if let Some(m) = &on {
        if m.message.trim().is_empty() {
            return Err(AdminError::Invalid("--message must not be empty".into()));
        }
        if let Some(until) = &m.until {
            time::OffsetDateTime::parse(until, &time::format_description::well_known::Rfc3339)
                .map_err(|_| {
                    AdminError::Invalid(
                        "--until must be RFC 3339, e.g. 2026-12-01T08:00:00+08:00".into(),
                    )
                })?;
        }
    }
    settings::set_maintenance(&app.db, on.as_ref()).await?;
    app.switches.invalidate();
    Ok(())
}

pub async fn min_client_version(
    app: &AppState,
    version: Option<&str>,
    download_url: Option<&str>,
) -> Result<(), AdminError> {
    if let Some(v) = version {
        if settings::parse_version(v).is_none() {
            return Err(AdminError::Invalid(format!(
                "{v:?} is not a version like 1.4.0"
            )));
        }
    }
    if let Some(u) = download_url {
        let parsed = url::Url::parse(u).ok();
        let safe = parsed.as_ref().is_some_and(|p| {
            p.scheme() == "https" || (p.scheme() == "http" && crate::delivery::is_loopback(p))
        });
        if !safe {
            return Err(AdminError::Invalid(format!(
                "--download-url must be an https:// URL (plain http only to this machine), not {u:?}"
            )));
        }
    }
    settings::set_min_client_version(&app.db, version, download_url).await?;
    app.switches.invalidate();
    Ok(())
}

/// The demo organisation's account, printed by `latchkey-server demo`.
pub const DEMO_EMAIL: &str = "demo@latchkey.example";
pub const DEMO_USERNAME: &str = "demo";
pub const DEMO_PHONE: &str = "+8613800138000";
pub const DEMO_PASSWORD: &str = "Violet-harbor-lantern-42";
pub const DEMO_ORG: &str = "Demo Corp 示例公司";

/// Creates (or restores) the demo account: known password, unlocked, enabled, and
/// no reset link or code of the old password left working.
pub async fn demo(app: &AppState) -> Result<UserRow, AdminError> {
    let password = Secret::from(DEMO_PASSWORD);
    match find(app, DEMO_EMAIL).await {
        Ok(user) => {
            let hash = app.hasher.hash(&password).await?;
            let now = app.now();
            let mut tx = app.db.begin().await?;
            users::set_password(&mut tx, &user, &hash, false, now).await?;
            // A password set by any path voids the reset links and codes in flight.
            crate::replacement::void_resets(&mut tx, &user.id, now).await?;
            tx.commit().await?;
            users::set_disabled(&app.db, &user.id, false).await?;
            lockout::clear_account(&app.db, &user, false).await?;
            Ok(user)
        }
        Err(AdminError::NotFound(_)) => {
            let add = AddUser {
                email: Some(DEMO_EMAIL.into()),
                phone: Some(DEMO_PHONE.into()),
                username: Some(DEMO_USERNAME.into()),
                name: Some("Demo User 演示用户".into()),
                organisation: Some(DEMO_ORG.into()),
                locale: Some("zh-CN".into()),
                temporary: false,
            };
            add_user(app, add, &password).await
        }
        Err(e) => Err(e),
    }
}

/// What an admin changes of an account (`PATCH /admin/v1/users/{id}`): `None` keeps a
/// field, `Some("")` removes it (an e-mail, phone or username; one must remain).
#[derive(Debug, Default, Clone)]
pub struct UserUpdate {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub username: Option<String>,
}

/// One field changed by [`update_user`]: its name, the value before and after.
pub type Changed = (&'static str, Option<String>, Option<String>);

/// Changes an account's name and identifiers. The old e-mail address or phone number
/// is told (a notice) when it changes; a new identifier that another account has is
/// refused (`Exists`). Returns the account as it is now and what changed.
pub async fn update_user(
    app: &AppState,
    user: &UserRow,
    update: &UserUpdate,
) -> Result<(UserRow, Vec<Changed>), AdminError> {
    let region = &app.config().default_region;
    let bad =
        |what: &str, e: identifier::IdentifierError| AdminError::Invalid(format!("--{what}: {e}"));
    let parse = |what: &'static str, v: &str| -> Result<Option<String>, AdminError> {
        let v = v.trim();
        if v.is_empty() {
            return Ok(None);
        }
        let id = match what {
            "email" => identifier::parse_email(v),
            "phone" => identifier::parse_phone(v, region),
            _ => identifier::parse_username(v),
        }
        .map_err(|e| bad(what, e))?;
        Ok(Some(id.as_str().to_owned()))
    };
    let mut email = user.email.clone();
    let mut phone = user.phone.clone();
    let mut username = user.username.clone();
    let mut name = user.name.clone();
    if let Some(v) = &update.email {
        email = parse("email", v)?;
    }
    if let Some(v) = &update.phone {
        phone = parse("phone", v)?;
    }
    if let Some(v) = &update.username {
        username = parse("username", v)?;
    }
    if let Some(v) = &update.name {
        if v.chars().count() > 200 {
            return Err(AdminError::Invalid("--name: at most 200 characters".into()));
        }
        name = clean(Some(v.clone()));
    }
    if email.is_none() && phone.is_none() && username.is_none() {
        return Err(AdminError::Invalid(
            "an account keeps at least an e-mail, a phone or a username".into(),
        ));
    }
    let mut changed: Vec<Changed> = Vec::new();
    for (field, before, after) in [
        ("email", &user.email, &email),
        ("phone", &user.phone, &phone),
        ("username", &user.username, &username),
        ("name", &user.name, &name),
    ] {
        if before != after {
            changed.push((field, before.clone(), after.clone()));
        }
    }
    if changed.is_empty() {
        return Ok((user.clone(), changed));
    }
    let result = sqlx::query(
        "UPDATE users SET email = $1, phone = $2, username = $3, name = $4 WHERE id = $5",
    )
    .bind(&email)
    .bind(&phone)
    .bind(&username)
    .bind(&name)
    .bind(&user.id)
    .execute(&app.db)
    .await;
    match result {
        Ok(_) => {}
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => return Err(AdminError::Exists),
        Err(e) => return Err(e.into()),
    }
    // The old address hears of it (a change the person did not ask for is noticed).
    for (field, before, _) in &changed {
        let (channel, phone) = match *field {
            "email" => (crate::delivery::Channel::Email, false),
            "phone" => (crate::delivery::Channel::Sms, true),
            _ => continue,
        };
        if let Some(old) = before {
            let msg = crate::delivery::Outgoing {
                channel,
                recipient: old.clone(),
                locale: crate::notify::locale(app, user, None),
                kind: crate::delivery::MessageKind::ContactChanged { phone },
            };
            if let Err(e) = crate::delivery::enqueue(app, &msg).await {
                tracing::warn!(user = %user.id, error = %e, "could not queue the notice to the old address");
            }
        }
    }
    let now = users::by_id(&app.db, &user.id)
        .await?
        .ok_or_else(|| AdminError::NotFound(user.id.clone()))?;
    Ok((now, changed))
}

/// Deletes an account and the personal data kept about it: sessions and tokens,
/// activity, devices, second factors, pending resets and messages, grants of
/// applications, locks and send counts of its identifiers, its console role. The audit
/// trail keeps its records with the account's id only (labels erased).
pub async fn delete_user(app: &AppState, user: &UserRow) -> Result<(), AdminError> {
    let mut tx = app.db.begin().await?;
    let by_user = [
        "DELETE FROM refresh_tokens WHERE session_id IN (SELECT id FROM sessions WHERE user_id = $1)",
        "DELETE FROM oidc_codes WHERE grant_id IN (SELECT id FROM oidc_grants WHERE user_id = $1)",
        "DELETE FROM oidc_tokens WHERE grant_id IN (SELECT id FROM oidc_grants WHERE user_id = $1)",
        "DELETE FROM oidc_grants WHERE user_id = $1",
        "DELETE FROM oidc_consents WHERE user_id = $1",
        "DELETE FROM sso_sessions WHERE user_id = $1",
        "DELETE FROM launch_tickets WHERE user_id = $1",
        "DELETE FROM approvals WHERE user_id = $1",
        "DELETE FROM sessions WHERE user_id = $1",
        "DELETE FROM challenges WHERE user_id = $1",
        "DELETE FROM recoveries WHERE user_id = $1",
        "DELETE FROM password_history WHERE user_id = $1",
        "DELETE FROM totp_secrets WHERE user_id = $1",
        "DELETE FROM recovery_codes WHERE user_id = $1",
        "DELETE FROM known_devices WHERE user_id = $1",
        "DELETE FROM activity WHERE user_id = $1",
        "DELETE FROM admin_roles WHERE user_id = $1",
        "DELETE FROM users WHERE id = $1",
    ];
    for sql in by_user {
        sqlx::query(sql).bind(&user.id).execute(&mut *tx).await?;
    }
    for subject in user.lockout_subjects() {
        for sql in [
            "DELETE FROM lockouts WHERE subject = $1",
            "DELETE FROM sends WHERE subject = $1",
            "DELETE FROM send_limits WHERE subject = $1",
            "DELETE FROM recoveries WHERE subject = $1",
        ] {
            sqlx::query(sql).bind(&subject).execute(&mut *tx).await?;
        }
    }
    for address in [&user.email, &user.phone].into_iter().flatten() {
        sqlx::query("DELETE FROM messages WHERE recipient = $1")
            .bind(address)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    crate::audit::anonymise(&app.db, &user.id).await?;
    Ok(())
}

/// The columns an import may have.
pub const IMPORT_COLUMNS: [&str; 6] = [
    "email",
    "phone",
    "username",
    "name",
    "organisation",
    "locale",
];
/// The most lines an import takes (a larger file goes in parts).
pub const MAX_IMPORT_LINES: usize = 1000;

/// One line of an import, checked.
#[derive(Debug)]
pub enum ImportLine {
    /// A new account.
    New(Box<NewUser>),
    /// An account with these identifiers exists (the import ran before).
    Exists(String),
    /// What is wrong: the field (or `None` for the line) and why.
    Wrong(Option<String>, String),
}

/// Reads and checks an import's CSV text: each line (numbered in the text, the header
/// being 1) with what would become of it. Nothing is written.
pub async fn check_import(
    app: &AppState,
    text: &str,
) -> Result<Vec<(u64, Option<String>, ImportLine)>, AdminError> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(false)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| AdminError::Invalid(format!("--csv: the header line cannot be read: {e}")))?
        .iter()
        .map(|h| h.to_lowercase())
        .collect();
    if let Some(unknown) = headers
        .iter()
        .find(|h| !IMPORT_COLUMNS.contains(&h.as_str()))
    {
        return Err(AdminError::Invalid(format!(
            "--csv: unknown column {unknown:?} (the columns are {})",
            IMPORT_COLUMNS.join(", ")
        )));
    }
    if !headers
        .iter()
        .any(|h| matches!(h.as_str(), "email" | "phone" | "username"))
    {
        return Err(AdminError::Invalid(
            "--csv: a column email, phone or username is needed".into(),
        ));
    }
    let mut out = Vec::new();
    let mut seen: std::collections::HashMap<String, u64> = std::collections::HashMap::new();
    for record in reader.records() {
        if out.len() >= MAX_IMPORT_LINES {
            return Err(AdminError::Invalid(format!(
                "--csv: at most {MAX_IMPORT_LINES} accounts at a time"
            )));
        }
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = line_at(text, e.position().map_or(0, |p| p.byte()));
                out.push((
                    line,
                    None,
                    ImportLine::Wrong(None, format!("cannot be read: {e}")),
                ));
                continue;
            }
        };
        // The line in the text, counted here: the csv crate counts CRLF lines (what a
        // browser's form sends) one short.
        let line = line_at(text, record.position().map_or(0, |p| p.byte()));
        let get = |column: &str| {
            headers
                .iter()
                .position(|h| h == column)
                .and_then(|i| record.get(i))
                .map(str::to_owned)
                .filter(|v| !v.is_empty())
        };
        let add = AddUser {
            email: get("email"),
            phone: get("phone"),
            username: get("username"),
            name: get("name"),
            organisation: get("organisation"),
            locale: get("locale"),
            temporary: true,
        };
        let label = add
            .email
            .clone()
            .or(add.username.clone())
            .or(add.phone.clone());
        if [&add.name, &add.organisation]
            .into_iter()
            .flatten()
            .any(|v| v.chars().count() > 200)
        {
            out.push((
                line,
                label,
                ImportLine::Wrong(Some("name".into()), "at most 200 characters".into()),
            ));
            continue;
        }
        let new = match prepare(app, add) {
            Ok(n) => n,
            Err(AdminError::Invalid(m)) => {
                let (field, why) = match m.strip_prefix("--").and_then(|r| r.split_once(':')) {
                    Some((f, w)) => (Some(f.to_owned()), w.trim().to_owned()),
                    None => (None, m),
                };
                out.push((line, label, ImportLine::Wrong(field, why)));
                continue;
            }
            Err(e) => return Err(e),
        };
        // The same identifier twice in the file.
        let ids: Vec<(&str, &String)> = [
            ("email", &new.email),
            ("phone", &new.phone),
            ("username", &new.username),
        ]
        .into_iter()
        .filter_map(|(f, v)| v.as_ref().map(|v| (f, v)))
        .collect();
        if let Some((field, first)) = ids.iter().find_map(|(f, v)| seen.get(*v).map(|l| (*f, *l))) {
            out.push((
                line,
                label,
                ImportLine::Wrong(Some(field.into()), format!("also on line {first}")),
            ));
            continue;
        }
        for (_, v) in &ids {
            seen.insert((*v).clone(), line);
        }
        // Accounts that have these identifiers already.
        let mut owners = Vec::new();
        for (field, value) in &ids {
            let found: Option<String> =
                sqlx::query_scalar(&format!("SELECT id FROM users WHERE {field} = $1"))
                    .bind(*value)
                    .fetch_optional(&app.db)
                    .await?;
            owners.push((*field, found));
        }
        let existing: Vec<&String> = owners.iter().filter_map(|(_, o)| o.as_ref()).collect();
        let state = if existing.is_empty() {
            ImportLine::New(Box::new(new))
        } else if existing.len() == owners.len() && existing.iter().all(|o| *o == existing[0]) {
            ImportLine::Exists(existing[0].clone())
        } else {
            let (field, _) = owners
                .iter()
                .find(|(_, o)| o.is_some())
                .map(|(f, o)| (*f, o.clone()))
                .unwrap_or(("email", None));
            ImportLine::Wrong(
                Some(field.into()),
                "another account has it, with other identifiers".into(),
            )
        };
        out.push((line, label, state));
    }
    Ok(out)
}

/// The line (from 1) of a record that the csv crate says starts at byte `at` of
/// `text`. After a CRLF it names the `\n` (it ended the line at the `\r`), so that
/// byte counts too.
fn line_at(text: &str, at: u64) -> u64 {
    let end = usize::try_from(at)
        .unwrap_or(usize::MAX)
        .saturating_add(1)
        .min(text.len());
    1 + text.as_bytes()[..end]
        .iter()
        .filter(|b| **b == b'\n')
        .count() as u64
}

#[cfg(test)]
mod tests {
    #[test]
    fn lines_are_counted_alike_with_lf_and_crlf() {
        assert_eq!(super::line_at("a\nb\nc", 4), 3);
        // The csv crate's position of "c" after CRLFs: the last "\n".
        assert_eq!(super::line_at("a\r\nb\r\nc", 5), 3);
        assert_eq!(super::line_at("abc", 0), 1);
        assert_eq!(super::line_at("abc", 99), 1);
    }
}
