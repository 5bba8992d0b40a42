//! Stored answers for the `Idempotency-Key` header (issue 21): a sign-in step or an
//! account action sent again after its answer was lost gets the first answer, and the
//! action is not done twice (no second password hash, no second failure counted, no
//! second e-mail or SMS). The HTTP side is `http::idempotency`; this module holds the
//! keys, the seal and the table.
//!
//! Nothing stored is usable without the client's key, which never reaches the
//! database:
//! - a row is found by `lookup`, the SHA-256 of the route and the key;
//! - `fingerprint` is an HMAC of the request (route, account, body) under a key derived
//!   from the Idempotency-Key (HKDF-SHA-256): a key sent again with another request is
//!   refused, and a database reader cannot test guesses of a password against it;
//! - `answer` is the answer (tokens, for a sign-in) sealed with ChaCha20-Poly1305 under
//!   another key derived from it.
//!
//! A row is `running` while one request runs the action (leased for [`LEASE_MS`], in
//! case its process dies), then `done` with the sealed answer until it expires.

use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use hmac::{Hmac, Mac};
use latchkey_proto::{IDEMPOTENCY_KEY_MAX_CHARS, IDEMPOTENCY_KEY_MIN_CHARS};
use rand::rngs::OsRng;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::db::Db;
use crate::tokens::new_id;

/// How long a request may run the action before another with the same key may take
/// it over (its process died): longer than any handler takes.
pub const LEASE_MS: i64 = 60_000;

/// A client's `Idempotency-Key`. `Debug` prints nothing of it: it unseals an answer.
#[derive(Clone)]
pub struct IdempotencyKey(String);

impl std::fmt::Debug for IdempotencyKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IdempotencyKey(<redacted>)")
    }
}

/// Why a header value is not a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("The Idempotency-Key header is given more than once.")]
    Repeated,
    #[error("The Idempotency-Key is empty.")]
    Empty,
    #[error("The Idempotency-Key is shorter than 16 characters.")]
    TooShort,
    #[error("The Idempotency-Key is longer than 128 characters.")]
    TooLong,
    #[error("The Idempotency-Key must be printable ASCII without spaces.")]
    NotAscii,
}

impl IdempotencyKey {
    /// The key of a header value: printable ASCII without spaces, 16 to 128
    /// characters (a UUID, or 128 random bits in base64url or hex, fit).
    pub fn parse(value: &[u8]) -> Result<Self, KeyError> {
        if value.is_empty() {
            return Err(KeyError::Empty);
        }
        if !value.iter().all(|b| (0x21..=0x7e).contains(b)) {
            return Err(KeyError::NotAscii);
        }
        if value.len() < IDEMPOTENCY_KEY_MIN_CHARS {
            return Err(KeyError::TooShort);
        }
        if value.len() > IDEMPOTENCY_KEY_MAX_CHARS {
            return Err(KeyError::TooLong);
        }
        // Only printable ASCII: the bytes are UTF-8.
        Ok(Self(String::from_utf8_lossy(value).into_owned()))
    }
}

/// What is derived from a key for one route.
pub struct Keys {
    /// The row's id: SHA-256 of the route and the key (hex).
    pub lookup: String,
    mac: Hmac<Sha256>,
    seal: Key,
}

impl Keys {
    /// The keys of `key` on `route` (`"POST /v1/auth/login"`). `None` only if HKDF or
    /// HMAC refused their input, which they do not for these lengths.
    pub fn derive(key: &IdempotencyKey, route: &str) -> Option<Self> {
        let mut h = Sha256::new();
        h.update(b"latchkey idempotency lookup v1\0");
        h.update(route.as_bytes());
        h.update(b"\0");
        h.update(key.0.as_bytes());
        let lookup = hex::encode(h.finalize());
        let hk = hkdf::Hkdf::<Sha256>::new(Some(b"latchkey idempotency v1"), key.0.as_bytes());
        let mut mac = [0u8; 32];
        let mut seal = [0u8; 32];
        hk.expand(b"fingerprint", &mut mac).ok()?;
        hk.expand(b"answer", &mut seal).ok()?;
        Some(Self {
            lookup,
            mac: <Hmac<Sha256> as Mac>::new_from_slice(&mac).ok()?,
            seal: *Key::from_slice(&seal),
        })
    }

    /// The fingerprint of a request: what it was sent to, by whom, with what body.
    pub fn fingerprint(&self, route: &str, caller: &str, body: &[u8]) -> String {
        let mut m = self.mac.clone();
        for part in [route.as_bytes(), caller.as_bytes(), body] {
            m.update(&(part.len() as u64).to_be_bytes());
            m.update(part);
        }
        hex::encode(m.finalize().into_bytes())
    }

    /// Seals an answer (a fresh random nonce, the row's id as associated data).
    pub fn seal(&self, answer: &Answer) -> Option<String> {
        let plain = serde_json::to_vec(answer).ok()?;
        let mut nonce = [0u8; 12];
        OsRng.fill_bytes(&mut nonce);
        let sealed = ChaCha20Poly1305::new(&self.seal)
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: &plain,
                    aad: self.lookup.as_bytes(),
                },
            )
            .ok()?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Some(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(out))
    }

    /// Opens an answer sealed by [`Keys::seal`] with the same key.
    pub fn open(&self, stored: &str) -> Option<Answer> {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(stored)
            .ok()?;
        if bytes.len() < 12 {
            return None;
        }
        let (nonce, sealed) = bytes.split_at(12);
        let plain = ChaCha20Poly1305::new(&self.seal)
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: self.lookup.as_bytes(),
                },
            )
            .ok()?;
        serde_json::from_slice(&plain).ok()
    }
}

/// An answer as stored: status, the headers a client reads, the body. `Debug` leaves
/// the body out (a sign-in's tokens).
#[derive(Clone, Serialize, Deserialize)]
pub struct Answer {
    pub status: u16,
    pub content_type: Option<String>,
    pub retry_after: Option<String>,
    #[serde(with = "body_base64")]
    pub body: Vec<u8>,
}

impl std::fmt::Debug for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Answer")
            .field("status", &self.status)
            .field("body", &format_args!("<{} bytes>", self.body.len()))
            .finish()
    }
}

mod body_base64 {
    use base64::Engine;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(serde::de::Error::custom)
    }
}

/// A row found for a key.
#[derive(Debug)]
pub struct Row {
    pub fingerprint: String,
    pub running: bool,
    pub answer: Option<String>,
}

/// What [`claim`] found.
#[derive(Debug)]
pub enum Claim {
    /// This request runs the action; `attempt` names its lease.
    Mine { attempt: String },
    /// A request with this key ran or runs it.
    Taken(Row),
}

/// Takes the key for this request, or tells who has it. An expired row, or one whose
/// lease ran out (its request's process died), is taken over.
pub async fn claim(
    db: &Db,
    lookup: &str,
    fingerprint: &str,
    now: i64,
    ttl_ms: i64,
) -> Result<Claim, sqlx::Error> {
    let attempt = new_id();
    let inserted = sqlx::query(
        "INSERT INTO idempotency_keys \
           (lookup, fingerprint, state, attempt, answer, lease_until, created_at, expires_at) \
         VALUES ($1, $2, 'running', $3, NULL, $4, $5, $6) ON CONFLICT (lookup) DO NOTHING",
    )
    .bind(lookup)
    .bind(fingerprint)
    .bind(&attempt)
    .bind(now.saturating_add(LEASE_MS))
    .bind(now)
    .bind(now.saturating_add(ttl_ms))
    .execute(db)
    .await?
    .rows_affected();
    if inserted == 1 {
        return Ok(Claim::Mine { attempt });
    }
    let taken_over = sqlx::query(
        "UPDATE idempotency_keys SET fingerprint = $2, state = 'running', attempt = $3, \
           answer = NULL, lease_until = $4, created_at = $5, expires_at = $6 \
         WHERE lookup = $1 AND (expires_at <= $5 OR (state = 'running' AND lease_until <= $5))",
    )
    .bind(lookup)
    .bind(fingerprint)
    .bind(&attempt)
    .bind(now.saturating_add(LEASE_MS))
    .bind(now)
    .bind(now.saturating_add(ttl_ms))
    .execute(db)
    .await?
    .rows_affected();
    if taken_over == 1 {
        return Ok(Claim::Mine { attempt });
    }
    let row: Option<(String, String, Option<String>)> =
        sqlx::query_as("SELECT fingerprint, state, answer FROM idempotency_keys WHERE lookup = $1")
            .bind(lookup)
            .fetch_optional(db)
            .await?;
    match row {
        Some((fingerprint, state, answer)) => Ok(Claim::Taken(Row {
            fingerprint,
            running: state == "running",
            answer,
        })),
        // Deleted in between (the first request gave its key back): a fresh claim.
        None => Box::pin(claim(db, lookup, fingerprint, now, ttl_ms)).await,
    }
}

/// Stores the sealed answer of the request that holds the lease.
pub async fn finish(db: &Db, lookup: &str, attempt: &str, sealed: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE idempotency_keys SET state = 'done', answer = $3 \
         WHERE lookup = $1 AND attempt = $2",
    )
    .bind(lookup)
    .bind(attempt)
    .bind(sealed)
    .execute(db)
    .await?;
    Ok(())
}

/// Gives the key back without an answer (the action did not happen, or failed in a way
/// a retry should not be told again): a retry runs it.
pub async fn release(db: &Db, lookup: &str, attempt: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "DELETE FROM idempotency_keys WHERE lookup = $1 AND attempt = $2 AND state = 'running'",
    )
    .bind(lookup)
    .bind(attempt)
    .execute(db)
    .await?;
    Ok(())
}

/// The janitor's part: rows past their time.
pub async fn prune(db: &Db, now: i64) -> Result<u64, sqlx::Error> {
    Ok(
        sqlx::query("DELETE FROM idempotency_keys WHERE expires_at < $1")
            .bind(now)
            .execute(db)
            .await?
            .rows_affected(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> IdempotencyKey {
        IdempotencyKey::parse(s.as_bytes()).unwrap()
    }

    #[test]
    fn keys_are_printable_ascii_of_sensible_length() {
        assert_eq!(IdempotencyKey::parse(b"").unwrap_err(), KeyError::Empty);
        assert_eq!(
            IdempotencyKey::parse(b"short").unwrap_err(),
            KeyError::TooShort
        );
        assert_eq!(
            IdempotencyKey::parse(&[b'a'; 129]).unwrap_err(),
            KeyError::TooLong
        );
        assert!(IdempotencyKey::parse(&[b'a'; 128]).is_ok());
        assert_eq!(
            IdempotencyKey::parse("ключ-ключ-ключ-ключ".as_bytes()).unwrap_err(),
            KeyError::NotAscii
        );
        assert_eq!(
            IdempotencyKey::parse(b"with space 0123456789").unwrap_err(),
            KeyError::NotAscii
        );
        assert!(IdempotencyKey::parse(b"6f1c2e0a-8d4b-4f7e-9a51-3c0d2b7e9f10").is_ok());
        assert_eq!(
            format!("{:?}", key("a-secret-key-0123456789")),
            "IdempotencyKey(<redacted>)"
        );
    }

    #[test]
    fn answers_open_only_with_their_key_and_route() {
        let route = "POST /v1/auth/login";
        let keys = Keys::derive(&key("first-key-0123456789"), route).unwrap();
        let answer = Answer {
            status: 200,
            content_type: Some("application/json".into()),
            retry_after: None,
            body: br#"{"access_token":"lka_secret"}"#.to_vec(),
        };
        let sealed = keys.seal(&answer).unwrap();
        assert!(!sealed.contains("lka_secret"));
        assert!(!format!("{answer:?}").contains("lka_secret"));
        let opened = keys.open(&sealed).unwrap();
        assert_eq!(opened.body, answer.body);
        assert_eq!(opened.status, 200);
        // Another key, or the same key on another route, opens nothing.
        assert!(Keys::derive(&key("other-key-0123456789"), route)
            .unwrap()
            .open(&sealed)
            .is_none());
        let elsewhere = Keys::derive(&key("first-key-0123456789"), "POST /v1/auth/mfa").unwrap();
        assert_ne!(elsewhere.lookup, keys.lookup);
        assert!(elsewhere.open(&sealed).is_none());
    }

    #[test]
    fn fingerprints_tell_requests_apart() {
        let route = "POST /v1/me/password";
        let keys = Keys::derive(&key("first-key-0123456789"), route).unwrap();
        let a = keys.fingerprint(route, "user-a", b"{}");
        assert_eq!(a, keys.fingerprint(route, "user-a", b"{}"));
        assert_ne!(a, keys.fingerprint(route, "user-b", b"{}"));
        assert_ne!(a, keys.fingerprint(route, "user-a", b"{ }"));
        // Parts are length-prefixed: moving a byte between them changes the print.
        assert_ne!(
            keys.fingerprint(route, "ab", b"c"),
            keys.fingerprint(route, "a", b"bc")
        );
        let other = Keys::derive(&key("other-key-0123456789"), route).unwrap();
        assert_ne!(a, other.fingerprint(route, "user-a", b"{}"));
    }
}
