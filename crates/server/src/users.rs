//! Accounts in the `users` table.

use latchkey_proto::User;
use sqlx::{Any, AnyConnection, Executor};

use crate::db::{Db, Flag};
use crate::identifier::Identifier;
use crate::tokens::new_id;

/// A row of `users`. `Debug` leaves out the password hash.
#[derive(Clone, PartialEq, sqlx::FromRow, serde::Deserialize)]
pub struct UserRow {
    pub id: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub username: Option<String>,
    pub name: Option<String>,
    pub organisation: Option<String>,
    pub locale: Option<String>,
    pub password_hash: String,
    pub password_changed_at: i64,
    /// Set: a temporary password (see [`Self::has_temporary_password`]).
    pub must_change_password: Flag,
    pub disabled: Flag,
    pub mfa_enabled: Flag,
    pub created_at: i64,
    /// The stable id of the directory entry the account is linked to (issue 19):
    /// its password is the directory's. `None`: a Latchkey account.
    pub directory_id: Option<String>,
    /// The entry's DN at the last sign-in or sync (it may change; the id does not).
    pub directory_dn: Option<String>,
}

impl std::fmt::Debug for UserRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRow")
            .field("id", &self.id)
            .field("email", &self.email)
            .field("phone", &self.phone)
            .field("username", &self.username)
            .field("disabled", &self.is_disabled())
            .field("directory_id", &self.directory_id)
            .finish_non_exhaustive()
    }
}

pub(crate) const COLUMNS: &str =
    "id, email, phone, username, name, organisation, locale, password_hash, \
     password_changed_at, must_change_password, disabled, mfa_enabled, created_at, \
     directory_id, directory_dn";

impl UserRow {
    pub fn to_proto(&self) -> User {
        User {
            id: self.id.clone(),
            email: self.email.clone(),
            phone: self.phone.clone(),
            username: self.username.clone(),
            name: self.name.clone(),
            organisation: self.organisation.clone(),
            locale: self.locale.clone(),
            mfa_enabled: self.mfa_on(),
        }
    }

    /// Two-factor authentication is on.
    pub fn mfa_on(&self) -> bool {
        self.mfa_enabled.is_set()
    }

    /// The account's password is the company directory's (see [`crate::directory`]).
    pub fn in_directory(&self) -> bool {
        self.directory_id.is_some()
    }

    /// An admin disabled the account.
    pub fn is_disabled(&self) -> bool {
        self.disabled.is_set()
    }

    /// The password is temporary (set by an administrator): the forced change comes
    /// at the next sign-in.
    pub fn has_temporary_password(&self) -> bool {
        self.must_change_password.is_set()
    }

    /// The lockout subject of an existing account: all its identifiers share it.
    pub fn subject(&self) -> String {
        format!("user:{}", self.id)
    }

    /// Every sign-in lockout subject of the account: its identifiers as typed (in their
    /// canonical form, as [`crate::identifier::Identifier::subject`] makes them) and the
    /// account's own. What an unlock or a new password clears.
    pub fn lockout_subjects(&self) -> Vec<String> {
        let mut subjects = vec![self.subject()];
        for (column, value) in [
            ("email", &self.email),
            ("phone", &self.phone),
            ("username", &self.username),
        ] {
            if let Some(v) = value {
                subjects.push(format!("{column}:{v}"));
            }
        }
        subjects
    }

    /// Personal context for the password policy.
    pub fn context(&self) -> latchkey_policy::UserContext {
        latchkey_policy::UserContext {
            identifier: self.username.clone(),
            name: self.name.clone(),
            email: self.email.clone(),
            phone: self.phone.clone(),
            organisation: self.organisation.clone(),
        }
    }

    /// A short label for admin output and logs (never a secret).
    pub fn label(&self) -> &str {
        self.email
            .as_deref()
            .or(self.username.as_deref())
            .or(self.phone.as_deref())
            .unwrap_or(&self.id)
    }
}

pub async fn find<'c, E: Executor<'c, Database = Any>>(
    db: E,
    identifier: &Identifier,
) -> Result<Option<UserRow>, sqlx::Error> {
    // The column name comes from a closed enum, never from input.
    let sql = format!(
        "SELECT {COLUMNS} FROM users WHERE {} = $1",
        identifier.column()
    );
    sqlx::query_as(&sql)
        .bind(identifier.as_str())
        .fetch_optional(db)
        .await
}

pub async fn by_id<'c, E: Executor<'c, Database = Any>>(
    db: E,
    id: &str,
) -> Result<Option<UserRow>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE id = $1");
    sqlx::query_as(&sql).bind(id).fetch_optional(db).await
}

pub async fn list(db: &Db) -> Result<Vec<UserRow>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM users ORDER BY created_at, id");
    sqlx::query_as(&sql).fetch_all(db).await
}

/// A new account; the identifiers must already be canonical.
#[derive(Debug, Default, Clone)]
pub struct NewUser {
    pub email: Option<String>,
    pub phone: Option<String>,
    pub username: Option<String>,
    pub name: Option<String>,
    pub organisation: Option<String>,
    pub locale: Option<String>,
    /// A temporary password: the forced change comes at the first sign-in.
    pub temporary_password: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum InsertError {
    #[error("an account with this e-mail, phone or username already exists")]
    Exists,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

pub async fn insert(
    db: &Db,
    user: &NewUser,
    password_hash: &str,
    now: i64,
) -> Result<String, InsertError> {
    let id = new_id();
    let result = sqlx::query(
        "INSERT INTO users (id, email, phone, username, name, organisation, locale, \
         password_hash, password_changed_at, must_change_password, disabled, mfa_enabled, \
         created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0, 0, $11)",
    )
    .bind(&id)
    .bind(&user.email)
    .bind(&user.phone)
    .bind(&user.username)
    .bind(&user.name)
    .bind(&user.organisation)
    .bind(&user.locale)
    .bind(password_hash)
    .bind(now)
    .bind(Flag::from(user.temporary_password))
    .bind(now)
    .execute(db)
    .await;
    match result {
        Ok(_) => Ok(id),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Err(InsertError::Exists),
        Err(e) => Err(e.into()),
    }
}

/// Sets a new password, keeping the old hash in the history.
pub async fn set_password(
    conn: &mut AnyConnection,
    user: &UserRow,
    new_hash: &str,
    temporary: bool,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO password_history (user_id, password_hash, created_at) VALUES ($1, $2, $3)",
    )
    .bind(&user.id)
    .bind(&user.password_hash)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE users SET password_hash = $1, password_changed_at = $2, \
         must_change_password = $3 WHERE id = $4",
    )
    .bind(new_hash)
    .bind(now)
    .bind(Flag::from(temporary))
    .bind(&user.id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Records a password change made elsewhere (a directory account's, written to the
/// directory): the time, and whether the password is temporary.
pub async fn mark_password_changed(
    conn: &mut AnyConnection,
    id: &str,
    temporary: bool,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE users SET password_changed_at = $1, must_change_password = $2 WHERE id = $3",
    )
    .bind(now)
    .bind(i64::from(temporary))
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Replaces the hash with one of the current parameters (same password).
pub async fn upgrade_hash(db: &Db, id: &str, new_hash: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
        .bind(new_hash)
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

/// The last `n` previous hashes, newest first.
pub async fn history(db: &Db, id: &str, n: u32) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT password_hash FROM password_history WHERE user_id = $1 \
         ORDER BY created_at DESC LIMIT $2",
    )
    .bind(id)
    .bind(i64::from(n))
    .fetch_all(db)
    .await
}

pub async fn set_disabled(db: &Db, id: &str, disabled: bool) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET disabled = $1 WHERE id = $2")
        .bind(Flag::from(disabled))
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}
