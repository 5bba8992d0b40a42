//! Applications registered by IT (`latchkey-server client add|list|show|remove|
//! rotate-secret`).
//!
//! A confidential client (a web application with a back end) authenticates at the
//! token endpoint with its secret: 256 random bits, printed once, stored as its
//! SHA-256. A public client (`--public`: a native or single-page application) has no
//! secret and must use PKCE. Redirect URIs match exactly, except that a registered
//! `http://127.0.0.1/…` or `http://[::1]/…` accepts any port (RFC 8252 §7.3).

use latchkey_proto::Secret;
use sqlx::Row;
use subtle::ConstantTimeEq;

use super::keys::Alg;
use crate::db::{Db, Flag};
use crate::tokens::{hash_token, new_token};

/// Prefix of client secrets (`lkcs_…`), for humans and secret scanners.
pub const SECRET_PREFIX: &str = "lkcs";
/// Longest client id, name or redirect URI; most redirect URIs per client.
pub const MAX_ID_CHARS: usize = 64;
pub const MAX_NAME_CHARS: usize = 100;
pub const MAX_URI_CHARS: usize = 2000;
pub const MAX_REDIRECT_URIS: usize = 20;

#[derive(Clone, Debug)]
pub struct Client {
    pub id: String,
    pub name: String,
    secret_hash: Option<String>,
    pub redirect_uris: Vec<String>,
    pub first_party: bool,
    pub require_2fa: bool,
    /// How its ID tokens are signed (`RS256` unless registered `--id-token-alg EdDSA`).
    pub id_token_alg: Alg,
    /// Where the desktop app's launcher opens it (`--launch-url`); not in the launcher
    /// without one.
    pub launch_url: Option<String>,
    /// Its icon as a `data:` URL (`--icon FILE`).
    pub icon: Option<String>,
    pub created_at: i64,
}

/// What `client add` is given.
#[derive(Clone, Debug, Default)]
pub struct NewClient {
    pub id: String,
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub public: bool,
    pub first_party: bool,
    pub require_2fa: bool,
    pub id_token_alg: Option<Alg>,
    pub launch_url: Option<String>,
    /// A `data:image/png;base64,…` or `data:image/svg+xml;base64,…` URL
    /// ([`icon_data_url`]).
    pub icon: Option<String>,
}

/// Largest icon accepted.
pub const MAX_ICON_BYTES: usize = 64 * 1024;

/// An icon file as a `data:` URL: PNG, or SVG (shown by the app as an image, where
/// an SVG cannot run script).
pub fn icon_data_url(bytes: &[u8]) -> Result<String, ClientError> {
    use base64::Engine;
    if bytes.len() > MAX_ICON_BYTES {
        return Err(ClientError::Invalid(format!(
            "the icon is larger than {} KiB",
            MAX_ICON_BYTES / 1024
        )));
    }
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(256)]).to_ascii_lowercase();
    let mime = if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        "image/png"
    } else if head.trim_start().starts_with("<svg") || head.trim_start().starts_with("<?xml") {
        "image/svg+xml"
    } else {
        return Err(ClientError::Invalid(
            "the icon must be a PNG or an SVG file".into(),
        ));
    };
    Ok(format!(
        "data:{mime};base64,{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    ))
}

/// A launch URL: https, or http to a loopback address (a demo on one machine).
pub fn check_launch_url(uri: &str) -> Result<(), ClientError> {
    let bad = |why: &str| Err(ClientError::Invalid(format!("launch URL {uri:?}: {why}")));
    if uri.len() > MAX_URI_CHARS {
        return bad("too long");
    }
    let Ok(url) = url::Url::parse(uri) else {
        return bad("not an absolute URL");
    };
    match (url.scheme(), url.host()) {
        ("https", Some(_)) => Ok(()),
        ("http", Some(url::Host::Ipv4(ip))) if ip.is_loopback() => Ok(()),
        ("http", Some(url::Host::Ipv6(ip))) if ip.is_loopback() => Ok(()),
        _ => bad("use https (or http to 127.0.0.1)"),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("no application has the id {0:?}")]
    NotFound(String),
    #[error("an application with the id {0:?} already exists")]
    Exists(String),
    #[error("{0}")]
    Invalid(String),
    #[error("a public application has no secret to rotate")]
    Public,
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
}

impl Client {
    pub fn is_public(&self) -> bool {
        self.secret_hash.is_none()
    }

    /// Whether `presented` is this client's secret (compared in constant time).
    pub fn secret_matches(&self, presented: &str) -> bool {
        match &self.secret_hash {
            Some(stored) => bool::from(hash_token(presented).as_bytes().ct_eq(stored.as_bytes())),
            None => false,
        }
    }

    /// Whether `uri` is one of the registered redirect URIs.
    pub fn redirect_allowed(&self, uri: &str) -> bool {
        self.redirect_uris.iter().any(|r| redirect_matches(r, uri))
    }
}

/// Exact match, or the loopback rule: same scheme `http`, same loopback IP literal,
/// same path and query, any port.
pub fn redirect_matches(registered: &str, presented: &str) -> bool {
    if registered == presented {
        return true;
    }
    let (Ok(r), Ok(p)) = (url::Url::parse(registered), url::Url::parse(presented)) else {
        return false;
    };
    let loopback = |u: &url::Url| {
        u.scheme() == "http"
            && matches!(
                u.host(),
                Some(url::Host::Ipv4(ip)) if ip.is_loopback()
            )
            || u.scheme() == "http"
                && matches!(u.host(), Some(url::Host::Ipv6(ip)) if ip.is_loopback())
    };
    loopback(&r)
        && loopback(&p)
        && r.host() == p.host()
        && r.path() == p.path()
        && r.query() == p.query()
        && p.fragment().is_none()
        && p.username().is_empty()
        && p.password().is_none()
}

/// Checks a redirect URI to register: an absolute URL without a fragment; https, or
/// http to a loopback address, or (for native apps) a private-use scheme with a dot
/// (`com.example.app:/callback`, RFC 8252 §7.1).
pub fn check_redirect_uri(uri: &str) -> Result<(), ClientError> {
    let bad = |why: &str| Err(ClientError::Invalid(format!("redirect URI {uri:?}: {why}")));
    if uri.len() > MAX_URI_CHARS {
        return bad("too long");
    }
    let Ok(url) = url::Url::parse(uri) else {
        return bad("not an absolute URL");
    };
    if url.fragment().is_some() {
        return bad("a redirect URI has no #fragment");
    }
    if !url.username().is_empty() || url.password().is_some() {
        return bad("a redirect URI has no user name or password");
    }
    match url.scheme() {
        "https" => Ok(()),
        "http" => match url.host() {
            Some(url::Host::Ipv4(ip)) if ip.is_loopback() => Ok(()),
            Some(url::Host::Ipv6(ip)) if ip.is_loopback() => Ok(()),
            Some(url::Host::Domain("localhost")) => {
                bad("use http://127.0.0.1 rather than localhost (RFC 8252 §8.3)")
            }
            _ => bad("plain http is allowed to a loopback address only"),
        },
        "javascript" | "data" | "file" | "vbscript" => bad("this scheme is not allowed"),
        scheme if scheme.contains('.') => Ok(()),
        _ => bad("use https, http://127.0.0.1, or a private-use scheme such as com.example.app"),
    }
}

fn check_new(new: &NewClient) -> Result<(), ClientError> {
    let id_ok = !new.id.is_empty()
        && new.id.len() <= MAX_ID_CHARS
        && new
            .id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if !id_ok {
        return Err(ClientError::Invalid(format!(
            "the id must be 1 to {MAX_ID_CHARS} letters, digits, '-', '_' or '.'"
        )));
    }
    let name = new.name.trim();
    if name.is_empty()
        || name.chars().count() > MAX_NAME_CHARS
        || name.chars().any(char::is_control)
    {
        return Err(ClientError::Invalid(format!(
            "the name must be 1 to {MAX_NAME_CHARS} characters, without control characters"
        )));
    }
    if new.redirect_uris.is_empty() || new.redirect_uris.len() > MAX_REDIRECT_URIS {
        return Err(ClientError::Invalid(format!(
            "give 1 to {MAX_REDIRECT_URIS} --redirect-uri"
        )));
    }
    if let Some(u) = &new.launch_url {
        check_launch_url(u)?;
    }
    if new
        .icon
        .as_ref()
        .is_some_and(|i| !i.starts_with("data:image/") || i.len() > MAX_ICON_BYTES * 2)
    {
        return Err(ClientError::Invalid(
            "the icon must be a PNG or SVG data URL".into(),
        ));
    }
    for uri in &new.redirect_uris {
        check_redirect_uri(uri)?;
        if !new.public && !uri.starts_with("https://") && !uri.starts_with("http://") {
            return Err(ClientError::Invalid(format!(
                "redirect URI {uri:?}: a private-use scheme is for --public (native) applications"
            )));
        }
    }
    Ok(())
}

const COLUMNS: &str =
    "id, name, secret_hash, redirect_uris, first_party, require_2fa, id_token_alg, launch_url, \
     icon, created_at";

fn from_row(r: &sqlx::any::AnyRow) -> Client {
    Client {
        id: r.get("id"),
        name: r.get("name"),
        secret_hash: r.get("secret_hash"),
        redirect_uris: serde_json::from_str(&r.get::<String, _>("redirect_uris"))
            .unwrap_or_default(),
        first_party: r.get::<Flag, _>("first_party").is_set(),
        require_2fa: r.get::<Flag, _>("require_2fa").is_set(),
        id_token_alg: Alg::parse(&r.get::<String, _>("id_token_alg")).unwrap_or(Alg::Rs256),
        launch_url: r.get("launch_url"),
        icon: r.get("icon"),
        created_at: r.get("created_at"),
    }
}

/// Registers an application; returns its secret (confidential clients), to be shown
/// once.
pub async fn add(db: &Db, new: &NewClient, now: i64) -> Result<Option<Secret>, ClientError> {
    check_new(new)?;
    let secret = (!new.public).then(|| new_token(SECRET_PREFIX));
    let uris = serde_json::to_string(&new.redirect_uris).unwrap_or_else(|_| "[]".into());
    let result = sqlx::query(
        "INSERT INTO oidc_clients (id, name, secret_hash, redirect_uris, first_party, \
         require_2fa, id_token_alg, launch_url, icon, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(&new.id)
    .bind(new.name.trim())
    .bind(secret.as_ref().map(|(_, hash)| hash.clone()))
    .bind(uris)
    .bind(Flag::from(new.first_party))
    .bind(Flag::from(new.require_2fa))
    .bind(new.id_token_alg.unwrap_or(Alg::Rs256).name())
    .bind(&new.launch_url)
    .bind(&new.icon)
    .bind(now)
    .execute(db)
    .await;
    match result {
        Ok(_) => Ok(secret.map(|(s, _)| s)),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            Err(ClientError::Exists(new.id.clone()))
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn get(db: &Db, id: &str) -> Result<Option<Client>, sqlx::Error> {
    Ok(
        sqlx::query(&format!("SELECT {COLUMNS} FROM oidc_clients WHERE id = $1"))
            .bind(id)
            .fetch_optional(db)
            .await?
            .map(|r| from_row(&r)),
    )
}

pub async fn list(db: &Db) -> Result<Vec<Client>, sqlx::Error> {
    Ok(
        sqlx::query(&format!("SELECT {COLUMNS} FROM oidc_clients ORDER BY id"))
            .fetch_all(db)
            .await?
            .iter()
            .map(from_row)
            .collect(),
    )
}

/// Removes an application and ends everything issued to it.
pub async fn remove(db: &Db, id: &str, now: i64) -> Result<(), ClientError> {
    let mut tx = db.begin().await?;
    let gone = sqlx::query("DELETE FROM oidc_clients WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if gone == 0 {
        return Err(ClientError::NotFound(id.to_owned()));
    }
    sqlx::query(
        "UPDATE oidc_grants SET revoked_at = $1 WHERE client_id = $2 AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM oidc_consents WHERE client_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// A new secret; the old one stops working at once.
pub async fn rotate_secret(db: &Db, id: &str) -> Result<Secret, ClientError> {
    let client = get(db, id)
        .await?
        .ok_or_else(|| ClientError::NotFound(id.to_owned()))?;
    if client.is_public() {
        return Err(ClientError::Public);
    }
    let (secret, hash) = new_token(SECRET_PREFIX);
    sqlx::query("UPDATE oidc_clients SET secret_hash = $1 WHERE id = $2")
        .bind(hash)
        .bind(id)
        .execute(db)
        .await?;
    Ok(secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uris_match_exactly_except_loopback_ports() {
        let reg = "https://crm.corp.example/callback";
        assert!(redirect_matches(reg, reg));
        for other in [
            "https://crm.corp.example/callback/",
            "https://crm.corp.example/callback?x=1",
            "https://crm.corp.example:8443/callback",
            "https://evil.example/callback",
            "https://crm.corp.example.evil.example/callback",
            "http://crm.corp.example/callback",
            "https://CRM.corp.example/callback#x",
        ] {
            assert!(!redirect_matches(reg, other), "{other}");
        }
        let native = "http://127.0.0.1/cb";
        assert!(redirect_matches(native, "http://127.0.0.1:51234/cb"));
        assert!(redirect_matches(
            "http://127.0.0.1:8090/cb",
            "http://127.0.0.1:1/cb"
        ));
        assert!(redirect_matches("http://[::1]/cb", "http://[::1]:5000/cb"));
        assert!(!redirect_matches(native, "http://127.0.0.1:5000/other"));
        assert!(!redirect_matches(native, "http://[::1]:5000/cb"));
        assert!(!redirect_matches(native, "http://localhost:5000/cb"));
        assert!(!redirect_matches(native, "http://u:p@127.0.0.1:5000/cb"));
        assert!(!redirect_matches(native, "https://127.0.0.1:5000/cb"));
    }

    #[test]
    fn icons_and_launch_urls() {
        let png = b"\x89PNG\r\n\x1a\n rest of a png";
        assert!(icon_data_url(png)
            .unwrap()
            .starts_with("data:image/png;base64,"));
        let svg = b"<svg xmlns='http://www.w3.org/2000/svg'/>";
        assert!(icon_data_url(svg)
            .unwrap()
            .starts_with("data:image/svg+xml;base64,"));
        assert!(icon_data_url(b"GIF89a").is_err());
        assert!(icon_data_url(&vec![0x89; MAX_ICON_BYTES + 1]).is_err());
        assert!(check_launch_url("https://crm.corp.example/").is_ok());
        assert!(check_launch_url("http://127.0.0.1:8090/").is_ok());
        for bad in [
            "http://crm.corp.example/",
            "javascript:alert(1)",
            "crm",
            "file:///etc/passwd",
        ] {
            assert!(check_launch_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn what_may_be_registered() {
        for ok in [
            "https://crm.corp.example/cb",
            "http://127.0.0.1/cb",
            "http://[::1]:8080/cb",
            "com.corp.mail:/oauth",
        ] {
            assert!(check_redirect_uri(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "/relative",
            "http://crm.corp.example/cb",
            "http://localhost/cb",
            "https://crm.corp.example/cb#frag",
            "javascript:alert(1)",
            "data:text/html,x",
            "myapp:/cb",
            "https://u:p@crm.corp.example/cb",
        ] {
            assert!(check_redirect_uri(bad).is_err(), "{bad}");
        }
        let mut c = NewClient {
            id: "crm".into(),
            name: "CRM".into(),
            redirect_uris: vec!["https://crm.corp.example/cb".into()],
            ..NewClient::default()
        };
        assert!(check_new(&c).is_ok());
        c.id = "crm app".into();
        assert!(check_new(&c).is_err());
        c.id = "crm".into();
        c.redirect_uris = vec!["com.corp.crm:/cb".into()];
        assert!(
            check_new(&c).is_err(),
            "a private-use scheme needs --public"
        );
        c.public = true;
        assert!(check_new(&c).is_ok());
        c.name = " ".into();
        assert!(check_new(&c).is_err());
    }
}
