//! Authorization requests waiting for the sign-in pages, and what an authorization
//! issues: a grant, its single-use code, and the access and refresh tokens.
//!
//! A code lives at most [`super::OidcConfig::code_ttl_seconds`] (60 s) and is used
//! once: a second use revokes the grant, and with it every token the first use issued
//! (RFC 6749 §4.1.2). A refresh token is used once too: its successor is issued in the
//! same transaction that marks it used, and a second use revokes the grant. Tokens are
//! opaque (`lkoa_`/`lkor_`), stored as their SHA-256.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use latchkey_proto::Secret;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::Row;
use subtle::ConstantTimeEq;

use super::sso::Sso;
use super::{Amr, OidcConfig};
use crate::db::{Db, Flag};
use crate::tokens::{hash_token, new_id, new_token};

pub const CODE_PREFIX: &str = "lkoc";
pub const ACCESS_PREFIX: &str = "lkoa";
pub const REFRESH_PREFIX: &str = "lkor";

/// A checked authorization request, kept while the person signs in.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub scope: Vec<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    /// PKCE S256 challenge.
    pub code_challenge: Option<String>,
    /// `prompt` values (`login`, `none`, `consent`).
    pub prompt: Vec<String>,
    /// Seconds; a sign-in older than this is asked again.
    pub max_age: Option<i64>,
    /// The sign-in must have had a second factor (`acr_values=2`, or the client
    /// requires it).
    pub require_2fa: bool,
    /// Asked by `ui_locales`.
    pub ui_locales: Option<String>,
}

/// Stores `req`; returns the id the sign-in pages carry.
pub async fn save_request(
    db: &Db,
    req: &AuthRequest,
    config: &OidcConfig,
    now: i64,
) -> Result<String, sqlx::Error> {
    let id = new_id();
    sqlx::query(
        "INSERT INTO oidc_requests (id, client_id, params, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&id)
    .bind(&req.client_id)
    .bind(serde_json::to_string(req).unwrap_or_default())
    .bind(now)
    .bind(now + (config.request_ttl_seconds as i64) * 1000)
    .execute(db)
    .await?;
    Ok(id)
}

/// The request `id`, if it has not expired.
pub async fn load_request(db: &Db, id: &str, now: i64) -> Result<Option<AuthRequest>, sqlx::Error> {
    if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    let row = sqlx::query("SELECT params FROM oidc_requests WHERE id = $1 AND expires_at > $2")
        .bind(id)
        .bind(now)
        .fetch_optional(db)
        .await?;
    Ok(row.and_then(|r| serde_json::from_str(&r.get::<String, _>("params")).ok()))
}

/// The request is answered (a code or an error went back): it cannot be used again.
pub async fn finish_request(db: &Db, id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM oidc_requests WHERE id = $1")
        .bind(id)
        .execute(db)
        .await
        .map(drop)
}

/// An authorization: who, for which application, with which scopes, and how they
/// signed in.
#[derive(Clone, Debug)]
pub struct Grant {
    pub id: String,
    pub client_id: String,
    pub user_id: String,
    pub scope: Vec<String>,
    pub nonce: Option<String>,
    pub auth_time: i64,
    pub amr: Amr,
    pub sso_token: Option<String>,
}

impl Grant {
    pub fn has_scope(&self, s: &str) -> bool {
        self.scope.iter().any(|x| x == s)
    }
}

const GRANT_COLUMNS: &str =
    "g.id, g.client_id, g.user_id, g.sso_token, g.scope, g.nonce, g.auth_time, g.amr";

fn grant_from(r: &sqlx::any::AnyRow) -> Grant {
    Grant {
        id: r.get("id"),
        client_id: r.get("client_id"),
        user_id: r.get("user_id"),
        scope: r
            .get::<String, _>("scope")
            .split_whitespace()
            .map(str::to_owned)
            .collect(),
        nonce: r.get("nonce"),
        auth_time: r.get("auth_time"),
        amr: Amr::parse(&r.get::<String, _>("amr")),
        sso_token: r.get("sso_token"),
    }
}

/// Makes the grant of `req` for the person signed in on `sso`, and its code.
pub async fn issue_code(
    db: &Db,
    config: &OidcConfig,
    req: &AuthRequest,
    sso: &Sso,
    now: i64,
) -> Result<Secret, sqlx::Error> {
    let grant_id = new_id();
    let (code, code_hash) = new_token(CODE_PREFIX);
    let mut tx = db.begin().await?;
    sqlx::query(
        "INSERT INTO oidc_grants (id, client_id, user_id, sso_token, scope, nonce, auth_time, \
         amr, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&grant_id)
    .bind(&req.client_id)
    .bind(&sso.user_id)
    .bind(&sso.token_hash)
    .bind(req.scope.join(" "))
    .bind(&req.nonce)
    .bind(sso.auth_time)
    .bind(sso.amr.stored())
    .bind(now)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO oidc_codes (code_hash, grant_id, redirect_uri, code_challenge, expires_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(code_hash)
    .bind(&grant_id)
    .bind(&req.redirect_uri)
    .bind(&req.code_challenge)
    .bind(now + (config.code_ttl_seconds.min(60) as i64) * 1000)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(code)
}

/// Tokens issued by the token endpoint.
#[derive(Debug)]
pub struct Issued {
    pub access_token: Secret,
    pub expires_in: u64,
    pub refresh_token: Option<Secret>,
}

/// Why a code or a refresh token was refused (`invalid_grant`'s description).
pub type Refusal = &'static str;

/// Whether `verifier` answers the S256 `challenge` (RFC 7636 §4.6).
pub fn pkce_matches(challenge: &str, verifier: &str) -> bool {
    let valid = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
    valid
        && bool::from(
            URL_SAFE_NO_PAD
                .encode(Sha256::digest(verifier.as_bytes()))
                .as_bytes()
                .ct_eq(challenge.as_bytes()),
        )
}

/// Exchanges a code: the grant and its tokens, or why not. A code used twice revokes
/// its grant.
pub async fn redeem_code(
    db: &Db,
    config: &OidcConfig,
    code: &str,
    client_id: &str,
    redirect_uri: Option<&str>,
    verifier: Option<&str>,
    now: i64,
) -> Result<Result<(Grant, Issued), Refusal>, sqlx::Error> {
    let hash = hash_token(code);
    let mut tx = db.begin().await?;
    let row = sqlx::query(&format!(
        "SELECT {GRANT_COLUMNS}, g.revoked_at, c.redirect_uri, c.code_challenge, c.expires_at, \
         c.used_at FROM oidc_codes c JOIN oidc_grants g ON g.id = c.grant_id \
         WHERE c.code_hash = $1"
    ))
    .bind(&hash)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else {
        return Ok(Err("the code is not valid"));
    };
    let grant = grant_from(&row);
    if grant.client_id != client_id {
        return Ok(Err("the code was issued to another client"));
    }
    if row.get::<Option<i64>, _>("used_at").is_some() {
        revoke_grant(&mut tx, &grant.id, now).await?;
        tx.commit().await?;
        tracing::warn!(grant = %grant.id, client = %client_id, "authorization code used twice: grant revoked");
        return Ok(Err("the code was already used; what it issued is revoked"));
    }
    if row.get::<i64, _>("expires_at") <= now {
        return Ok(Err("the code has expired"));
    }
    if row.get::<Option<i64>, _>("revoked_at").is_some() {
        return Ok(Err("the grant was revoked"));
    }
    if redirect_uri != Some(row.get::<String, _>("redirect_uri").as_str()) {
        return Ok(Err("redirect_uri differs from the authorization request's"));
    }
    match (row.get::<Option<String>, _>("code_challenge"), verifier) {
        (Some(challenge), Some(v)) if pkce_matches(&challenge, v) => {}
        (Some(_), _) => return Ok(Err("code_verifier does not match the code_challenge")),
        (None, Some(_)) => return Ok(Err("code_verifier without a code_challenge")),
        (None, None) => {}
    }
    let used =
        sqlx::query("UPDATE oidc_codes SET used_at = $1 WHERE code_hash = $2 AND used_at IS NULL")
            .bind(now)
            .bind(&hash)
            .execute(&mut *tx)
            .await?
            .rows_affected();
    if used == 0 {
        // Another request used it first, between the read and now.
        revoke_grant(&mut tx, &grant.id, now).await?;
        tx.commit().await?;
        return Ok(Err("the code was already used; what it issued is revoked"));
    }
    let issued = issue_tokens(&mut tx, config, &grant, now).await?;
    tx.commit().await?;
    Ok(Ok((grant, issued)))
}

async fn issue_tokens(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    config: &OidcConfig,
    grant: &Grant,
    now: i64,
) -> Result<Issued, sqlx::Error> {
    let insert = |kind: &'static str, hash: String, ttl: u64| {
        sqlx::query(
            "INSERT INTO oidc_tokens (token_hash, grant_id, kind, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(hash)
        .bind(grant.id.clone())
        .bind(kind)
        .bind(now)
        .bind(now + (ttl as i64) * 1000)
    };
    let (access, access_hash) = new_token(ACCESS_PREFIX);
    insert("access", access_hash, config.access_token_ttl_seconds)
        .execute(&mut **tx)
        .await?;
    let refresh_token = if grant.has_scope("offline_access") {
        let (refresh, refresh_hash) = new_token(REFRESH_PREFIX);
        insert("refresh", refresh_hash, config.refresh_token_ttl_seconds)
            .execute(&mut **tx)
            .await?;
        Some(refresh)
    } else {
        None
    };
    Ok(Issued {
        access_token: access,
        expires_in: config.access_token_ttl_seconds,
        refresh_token,
    })
}

async fn revoke_grant(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    grant_id: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE oidc_grants SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
        .bind(now)
        .bind(grant_id)
        .execute(&mut **tx)
        .await
        .map(drop)
}

/// Uses a refresh token: its grant and new tokens, or why not. A refresh token used
/// twice revokes its grant.
pub async fn refresh(
    db: &Db,
    config: &OidcConfig,
    token: &str,
    client_id: &str,
    now: i64,
) -> Result<Result<(Grant, Issued), Refusal>, sqlx::Error> {
    let hash = hash_token(token);
    let mut tx = db.begin().await?;
    let row = sqlx::query(&format!(
        "SELECT {GRANT_COLUMNS}, g.revoked_at, t.expires_at, t.used_at, u.disabled \
         FROM oidc_tokens t JOIN oidc_grants g ON g.id = t.grant_id \
         JOIN users u ON u.id = g.user_id \
         WHERE t.token_hash = $1 AND t.kind = 'refresh'"
    ))
    .bind(&hash)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else {
        return Ok(Err("the refresh token is not valid"));
    };
    let grant = grant_from(&row);
    if grant.client_id != client_id {
        return Ok(Err("the refresh token was issued to another client"));
    }
    if row.get::<Option<i64>, _>("revoked_at").is_some() || row.get::<Flag, _>("disabled").is_set()
    {
        return Ok(Err("the grant was revoked"));
    }
    if row.get::<Option<i64>, _>("used_at").is_some() {
        revoke_grant(&mut tx, &grant.id, now).await?;
        tx.commit().await?;
        tracing::warn!(grant = %grant.id, client = %client_id, "refresh token used twice: grant revoked");
        return Ok(Err(
            "the refresh token was already used; the grant is revoked",
        ));
    }
    if row.get::<i64, _>("expires_at") <= now {
        return Ok(Err("the refresh token has expired"));
    }
    let used = sqlx::query(
        "UPDATE oidc_tokens SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL",
    )
    .bind(now)
    .bind(&hash)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if used == 0 {
        revoke_grant(&mut tx, &grant.id, now).await?;
        tx.commit().await?;
        return Ok(Err(
            "the refresh token was already used; the grant is revoked",
        ));
    }
    let issued = issue_tokens(&mut tx, config, &grant, now).await?;
    tx.commit().await?;
    Ok(Ok((grant, issued)))
}

/// A live token: its grant, kind, when it was issued and when it expires.
#[derive(Debug)]
pub struct Live {
    pub grant: Grant,
    pub kind: String,
    pub issued_at: i64,
    pub expires_at: i64,
}

/// The token, if it is live: not expired, not used (refresh), its grant not revoked,
/// its account not disabled.
pub async fn live(db: &Db, token: &str, now: i64) -> Result<Option<Live>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "SELECT {GRANT_COLUMNS}, t.kind, t.created_at, t.expires_at FROM oidc_tokens t \
         JOIN oidc_grants g ON g.id = t.grant_id JOIN users u ON u.id = g.user_id \
         WHERE t.token_hash = $1 AND t.expires_at > $2 AND t.used_at IS NULL \
         AND g.revoked_at IS NULL AND u.disabled = 0"
    ))
    .bind(hash_token(token))
    .bind(now)
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| Live {
        grant: grant_from(&r),
        kind: r.get("kind"),
        issued_at: r.get("created_at"),
        expires_at: r.get("expires_at"),
    }))
}

/// RFC 7009: a refresh token revokes its grant (and so every token of it); an access
/// token ends alone. A token of another client, or an unknown one, changes nothing.
pub async fn revoke(db: &Db, token: &str, client_id: &str, now: i64) -> Result<(), sqlx::Error> {
    let hash = hash_token(token);
    let row = sqlx::query(
        "SELECT t.kind, g.id, g.client_id FROM oidc_tokens t \
         JOIN oidc_grants g ON g.id = t.grant_id WHERE t.token_hash = $1",
    )
    .bind(&hash)
    .fetch_optional(db)
    .await?;
    let Some(row) = row else { return Ok(()) };
    if row.get::<String, _>("client_id") != client_id {
        return Ok(());
    }
    if row.get::<String, _>("kind") == "refresh" {
        let mut tx = db.begin().await?;
        revoke_grant(&mut tx, &row.get::<String, _>("id"), now).await?;
        tx.commit().await?;
    } else {
        sqlx::query("UPDATE oidc_tokens SET expires_at = $1 WHERE token_hash = $2")
            .bind(now)
            .bind(&hash)
            .execute(db)
            .await?;
    }
    Ok(())
}

/// Revokes the grants a browser's single sign-on made, except those the person gave
/// `offline_access` (they are meant to outlive the browser session).
pub async fn revoke_for_sso(db: &Db, sso_token_hash: &str, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE oidc_grants SET revoked_at = $1 WHERE sso_token = $2 AND revoked_at IS NULL \
         AND scope NOT LIKE '%offline_access%'",
    )
    .bind(now)
    .bind(sso_token_hash)
    .execute(db)
    .await
    .map(drop)
}

/// Revokes every grant of an account (password changed or reset, account disabled,
/// sign out everywhere).
pub async fn revoke_for_user(
    conn: &mut sqlx::AnyConnection,
    user_id: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE oidc_grants SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL")
        .bind(now)
        .bind(user_id)
        .execute(&mut *conn)
        .await
        .map(drop)
}

/// The janitor: expired requests, codes and tokens.
pub async fn prune(db: &Db, now: i64) -> Result<u64, sqlx::Error> {
    let mut n = 0;
    for sql in [
        "DELETE FROM oidc_requests WHERE expires_at <= $1",
        "DELETE FROM oidc_codes WHERE expires_at <= $1",
        "DELETE FROM oidc_tokens WHERE expires_at <= $1",
    ] {
        n += sqlx::query(sql)
            .bind(now)
            .execute(db)
            .await?
            .rows_affected();
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_s256_of_rfc_7636_appendix_b() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(pkce_matches(challenge, verifier));
        assert!(!pkce_matches(
            challenge,
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXj"
        ));
        assert!(!pkce_matches(challenge, "short"));
        assert!(!pkce_matches(verifier, verifier), "plain is not accepted");
    }
}
