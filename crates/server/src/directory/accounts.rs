//! Latchkey accounts linked to directory entries: created at the first sign-in (or by
//! `directory sync`), found again by the entry's stable id, their profile and console
//! role copied from the entry every time the directory is read.

use latchkey_proto::identifier::{parse_email, parse_phone, parse_username};

use super::{Entry, Found, Standing};
use crate::db::Db;
use crate::identifier::Identifier;
use crate::roles;
use crate::tokens::new_id;
use crate::users::{self, UserRow, COLUMNS};

/// The `password_hash` of a linked account: not a PHC string, so no password matches
/// it here; the directory checks passwords.
pub const NO_LOCAL_PASSWORD: &str = "!directory";

/// The profile fields of an entry in Latchkey's canonical forms; a value that is not
/// a valid identifier of its kind is left out (the directory may hold anything).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Profile {
    pub email: Option<String>,
    pub phone: Option<String>,
    pub username: Option<String>,
    pub name: Option<String>,
    pub organisation: Option<String>,
}

impl Profile {
    pub fn of(entry: &Entry, region: &str) -> Self {
        let canonical =
            |r: Result<Identifier, _>| r.ok().map(|i: Identifier| i.as_str().to_owned());
        Self {
            email: entry
                .email
                .as_deref()
                .and_then(|v| canonical(parse_email(v))),
            phone: entry
                .phone
                .as_deref()
                .and_then(|v| canonical(parse_phone(v, region))),
            username: entry
                .username
                .as_deref()
                .and_then(|v| canonical(parse_username(v))),
            name: entry.name.clone(),
            organisation: entry.organisation.clone(),
        }
    }

    /// What differs from the account, as `(field, account's, entry's)`.
    pub fn differences(
        &self,
        user: &UserRow,
    ) -> Vec<(&'static str, Option<String>, Option<String>)> {
        [
            ("email", &user.email, &self.email),
            ("phone", &user.phone, &self.phone),
            ("username", &user.username, &self.username),
            ("name", &user.name, &self.name),
            ("organisation", &user.organisation, &self.organisation),
        ]
        .into_iter()
        .filter(|(_, a, b)| a != b)
        .map(|(f, a, b)| (f, a.clone(), b.clone()))
        .collect()
    }
}

/// The account linked to the entry with this stable id.
pub async fn by_directory_id(db: &Db, id: &str) -> Result<Option<UserRow>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE directory_id = $1");
    sqlx::query_as(&sql).bind(id).fetch_optional(db).await
}

/// Every linked account.
pub async fn linked(db: &Db) -> Result<Vec<UserRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM users WHERE directory_id IS NOT NULL ORDER BY created_at, id"
    );
    sqlx::query_as(&sql).fetch_all(db).await
}

/// Identifiers of the profile another account already has (Latchkey's identifiers
/// are unique): they are left off the linked account, and `directory check` says so.
pub async fn taken(
    db: &Db,
    profile: &Profile,
    own: Option<&str>,
) -> Result<Vec<&'static str>, sqlx::Error> {
    let mut taken = Vec::new();
    for (column, value) in [
        ("email", &profile.email),
        ("phone", &profile.phone),
        ("username", &profile.username),
    ] {
        let Some(value) = value else { continue };
        // The column name comes from this closed list, never from input.
        let holder: Option<String> =
            sqlx::query_scalar(&format!("SELECT id FROM users WHERE {column} = $1"))
                .bind(value)
                .fetch_optional(db)
                .await?;
        if holder.is_some_and(|h| Some(h.as_str()) != own) {
            taken.push(column);
        }
    }
    Ok(taken)
}

fn without(mut profile: Profile, taken: &[&str]) -> Profile {
    for column in taken {
        match *column {
            "email" => profile.email = None,
            "phone" => profile.phone = None,
            "username" => profile.username = None,
            _ => {}
        }
    }
    profile
}

/// The account linked to `found`, created or brought up to date with the entry's
/// profile, DN and (when group roles are configured) console role.
pub async fn link(db: &Db, found: &Found, region: &str, now: i64) -> Result<UserRow, sqlx::Error> {
    let entry = &found.entry;
    let existing = by_directory_id(db, &entry.id).await?;
    let own = existing.as_ref().map(|u| u.id.as_str());
    let profile = Profile::of(entry, region);
    let taken = taken(db, &profile, own).await?;
    if !taken.is_empty() {
        tracing::warn!(
            fields = ?taken,
            "another Latchkey account has this directory entry's identifiers; they are left off the linked account"
        );
    }
    let profile = without(profile, &taken);
    let id = match existing {
        Some(user) => {
            sqlx::query(
                "UPDATE users SET email = $1, phone = $2, username = $3, name = $4, \
                 organisation = $5, directory_dn = $6 WHERE id = $7",
            )
            .bind(&profile.email)
            .bind(&profile.phone)
            .bind(&profile.username)
            .bind(&profile.name)
            .bind(&profile.organisation)
            .bind(&entry.dn)
            .bind(&user.id)
            .execute(db)
            .await?;
            user.id
        }
        None => {
            let id = new_id();
            sqlx::query(
                "INSERT INTO users (id, email, phone, username, name, organisation, locale, \
                 password_hash, password_changed_at, must_change_password, disabled, \
                 mfa_enabled, created_at, directory_id, directory_dn) \
                 VALUES ($1, $2, $3, $4, $5, $6, NULL, $7, $8, 0, 0, 0, $9, $10, $11)",
            )
            .bind(&id)
            .bind(&profile.email)
            .bind(&profile.phone)
            .bind(&profile.username)
            .bind(&profile.name)
            .bind(&profile.organisation)
            .bind(NO_LOCAL_PASSWORD)
            .bind(now)
            .bind(now)
            .bind(&entry.id)
            .bind(&entry.dn)
            .execute(db)
            .await?;
            tracing::info!(user = %id, "account created for a directory entry");
            id
        }
    };
    if let Some(role) = found.role {
        sync_role(db, &id, role, now).await?;
    }
    users::by_id(db, &id).await?.ok_or(sqlx::Error::RowNotFound)
}

/// Gives or takes the console role the directory's groups say.
async fn sync_role(
    db: &Db,
    user_id: &str,
    role: Option<latchkey_proto::AdminRole>,
    now: i64,
) -> Result<(), sqlx::Error> {
    let current = roles::of(db, user_id).await?;
    if current == role {
        return Ok(());
    }
    match role {
        Some(role) => {
            roles::grant(db, user_id, role, now).await?;
        }
        None => {
            roles::revoke(db, user_id).await?;
        }
    }
    tracing::info!(user = %user_id, ?role, "console role set from the directory's groups");
    Ok(())
}

/// Whether the account may use Latchkey by the directory's word.
pub fn may_sign_in(found: &Found) -> bool {
    found.standing == Standing::Active
}
