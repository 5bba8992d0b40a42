//! ID-token signing keys: RS256 (what every relying party supports) and EdDSA
//! (Ed25519, for those that ask for it).
//!
//! A key is made the first time one is needed, and by `latchkey-server keys rotate`.
//! Its private half is sealed with `LATCHKEY_SECRET_KEY` (the kid as associated data,
//! so a sealed key copied under another kid does not open); its public half is a JWK.
//! The newest key of each algorithm signs; a key replaced by a rotation stays in the
//! JWKS for the lifetime of an ID token, so tokens it signed still verify. Every
//! server process reads the keys from the database, so several processes sign with the
//! same key; each keeps them for [`CACHE_TTL_MS`].

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;
use serde_json::{json, Value};
use sqlx::Row;

use crate::db::Db;
use crate::secret_box::SecretKey;
use crate::state::AppState;
use crate::tokens::new_id;

/// How long a process keeps the keys it read before reading them again (a rotation
/// by another process is seen within this time; the replaced key keeps verifying).
pub const CACHE_TTL_MS: i64 = 10_000;
/// Size of a new RSA key.
pub const RSA_BITS: usize = 2048;

/// A signing algorithm the provider offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Alg {
    Rs256,
    EdDsa,
}

impl Alg {
    pub const ALL: [Alg; 2] = [Alg::Rs256, Alg::EdDsa];

    pub fn name(self) -> &'static str {
        match self {
            Alg::Rs256 => "RS256",
            Alg::EdDsa => "EdDSA",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.name() == name)
    }

    fn jwt(self) -> Algorithm {
        match self {
            Alg::Rs256 => Algorithm::RS256,
            Alg::EdDsa => Algorithm::EdDSA,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("the OpenID Connect provider needs LATCHKEY_SECRET_KEY to keep its signing keys")]
    NoSecretKey,
    #[error("a signing key cannot be opened with the configured LATCHKEY_SECRET_KEY")]
    Sealed,
    #[error("a signing key could not be made: {0}")]
    Generate(String),
    #[error("signing failed: {0}")]
    Sign(#[from] jsonwebtoken::errors::Error),
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
}

/// The key that signs for one algorithm. `Debug` prints its kid only.
pub struct Signer {
    pub kid: String,
    pub alg: Alg,
    key: EncodingKey,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Signer({} {})", self.alg.name(), self.kid)
    }
}

impl Signer {
    /// A signed JWT of `claims`.
    pub fn sign<T: Serialize>(&self, claims: &T) -> Result<String, KeyError> {
        let mut header = Header::new(self.alg.jwt());
        header.kid = Some(self.kid.clone());
        Ok(jsonwebtoken::encode(&header, claims, &self.key)?)
    }
}

/// What one read of the keys gives: the signer of each algorithm and the JWKS.
#[derive(Debug)]
pub struct KeySet {
    signers: BTreeMap<Alg, Signer>,
    pub jwks: Value,
}

impl KeySet {
    pub fn signer(&self, alg: Alg) -> Option<&Signer> {
        self.signers.get(&alg)
    }
}

/// The keys as this process last read them.
#[derive(Default)]
pub struct Cache {
    current: tokio::sync::Mutex<Option<(i64, Arc<KeySet>)>>,
}

impl Cache {
    /// The keys, made if there are none yet, read again after [`CACHE_TTL_MS`].
    pub async fn get(&self, app: &AppState) -> Result<Arc<KeySet>, KeyError> {
        let now = app.now();
        let mut current = self.current.lock().await;
        if let Some((at, set)) = current.as_ref() {
            if now - at < CACHE_TTL_MS && now >= *at {
                return Ok(set.clone());
            }
        }
        let set = Arc::new(load(app, now).await?);
        *current = Some((now, set.clone()));
        Ok(set)
    }

    /// Forgets the keys read, so that the next use reads them again.
    pub async fn clear(&self) {
        *self.current.lock().await = None;
    }
}

fn secret_key(app: &AppState) -> Result<&SecretKey, KeyError> {
    app.secret_key.as_deref().ok_or(KeyError::NoSecretKey)
}

fn aad(kid: &str) -> String {
    format!("oidc-key:{kid}")
}

/// Reads the keys, making one for each algorithm that has none.
async fn load(app: &AppState, now: i64) -> Result<KeySet, KeyError> {
    let sealer = secret_key(app)?;
    // Another process may sign with a replaced key for up to `CACHE_TTL_MS` more.
    let published_since =
        now - (app.config().oidc.id_token_ttl_seconds as i64) * 1000 - CACHE_TTL_MS;
    let mut rows = read(&app.db, published_since).await?;
    for alg in Alg::ALL {
        if !rows.iter().any(|r| r.alg == alg && r.retired_at.is_none()) {
            insert(&app.db, sealer, alg, now).await?;
            rows = read(&app.db, published_since).await?;
        }
    }
    let mut signers = BTreeMap::new();
    let mut keys = Vec::new();
    // Newest first: the first live key of an algorithm signs.
    for row in rows {
        keys.push(row.public_jwk.clone());
        if row.retired_at.is_some() || signers.contains_key(&row.alg) {
            continue;
        }
        let der = sealer
            .open(&aad(&row.kid), &row.private_sealed)
            .map_err(|_| KeyError::Sealed)?;
        let key = match row.alg {
            Alg::Rs256 => EncodingKey::from_rsa_der(&der),
            Alg::EdDsa => EncodingKey::from_ed_der(&der),
        };
        signers.insert(
            row.alg,
            Signer {
                kid: row.kid,
                alg: row.alg,
                key,
            },
        );
    }
    Ok(KeySet {
        signers,
        jwks: json!({ "keys": keys }),
    })
}

struct KeyRow {
    kid: String,
    alg: Alg,
    private_sealed: String,
    public_jwk: Value,
    retired_at: Option<i64>,
}

/// The live keys and those retired after `published_since`, newest first.
async fn read(db: &Db, published_since: i64) -> Result<Vec<KeyRow>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT kid, alg, private_sealed, public_jwk, retired_at FROM oidc_keys \
         WHERE retired_at IS NULL OR retired_at > $1 ORDER BY created_at DESC, kid",
    )
    .bind(published_since)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            Some(KeyRow {
                kid: r.get("kid"),
                alg: Alg::parse(&r.get::<String, _>("alg"))?,
                private_sealed: r.get("private_sealed"),
                public_jwk: serde_json::from_str(&r.get::<String, _>("public_jwk")).ok()?,
                retired_at: r.get("retired_at"),
            })
        })
        .collect())
}

/// Makes a key pair: the private key as DER (PKCS#1 for RSA, PKCS#8 for Ed25519) and
/// the public JWK.
fn generate(alg: Alg, kid: &str) -> Result<(Vec<u8>, Value), KeyError> {
    let b64 = |b: &[u8]| URL_SAFE_NO_PAD.encode(b);
    match alg {
        Alg::Rs256 => {
            use rsa::pkcs1::EncodeRsaPrivateKey;
            use rsa::traits::PublicKeyParts;
            let key = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, RSA_BITS)
                .map_err(|e| KeyError::Generate(e.to_string()))?;
            let der = key
                .to_pkcs1_der()
                .map_err(|e| KeyError::Generate(e.to_string()))?;
            let jwk = json!({
                "kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid,
                "n": b64(&key.n().to_bytes_be()), "e": b64(&key.e().to_bytes_be()),
            });
            Ok((der.as_bytes().to_vec(), jwk))
        }
        Alg::EdDsa => {
            use ring::signature::KeyPair;
            let rng = ring::rand::SystemRandom::new();
            let pkcs8 = ring::signature::Ed25519KeyPair::generate_pkcs8(&rng)
                .map_err(|e| KeyError::Generate(e.to_string()))?;
            let pair = ring::signature::Ed25519KeyPair::from_pkcs8(pkcs8.as_ref())
                .map_err(|e| KeyError::Generate(e.to_string()))?;
            let jwk = json!({
                "kty": "OKP", "crv": "Ed25519", "use": "sig", "alg": "EdDSA", "kid": kid,
                "x": b64(pair.public_key().as_ref()),
            });
            Ok((pkcs8.as_ref().to_vec(), jwk))
        }
    }
}

/// Makes and stores a key of `alg`; returns its kid.
async fn insert(db: &Db, sealer: &SecretKey, alg: Alg, now: i64) -> Result<String, KeyError> {
    let kid = new_id()[..16].to_owned();
    let k = kid.clone();
    let (der, jwk) = tokio::task::spawn_blocking(move || generate(alg, &k))
        .await
        .map_err(|e| KeyError::Generate(e.to_string()))??;
    let sealed = sealer
        .seal(&aad(&kid), &der)
        .map_err(|_| KeyError::Sealed)?;
    sqlx::query(
        "INSERT INTO oidc_keys (kid, alg, private_sealed, public_jwk, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&kid)
    .bind(alg.name())
    .bind(sealed)
    .bind(jwk.to_string())
    .bind(now)
    .execute(db)
    .await?;
    Ok(kid)
}

/// `latchkey-server keys rotate`: a new key for each algorithm; the keys it replaces
/// stop signing now and stay published for an ID token's lifetime. Returns the new
/// kids.
pub async fn rotate(app: &AppState) -> Result<Vec<(Alg, String)>, KeyError> {
    let sealer = secret_key(app)?;
    let now = app.now();
    let mut made = Vec::new();
    for alg in Alg::ALL {
        let kid = insert(&app.db, sealer, alg, now).await?;
        sqlx::query(
            "UPDATE oidc_keys SET retired_at = $1 \
             WHERE alg = $2 AND kid <> $3 AND retired_at IS NULL",
        )
        .bind(now)
        .bind(alg.name())
        .bind(&kid)
        .execute(&app.db)
        .await?;
        made.push((alg, kid));
    }
    app.oidc_keys.clear().await;
    Ok(made)
}

/// `latchkey-server keys list`: kid, algorithm, made at, retired at.
pub async fn list(db: &Db) -> Result<Vec<(String, String, i64, Option<i64>)>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT kid, alg, created_at, retired_at FROM oidc_keys ORDER BY created_at, kid",
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            (
                r.get("kid"),
                r.get("alg"),
                r.get("created_at"),
                r.get("retired_at"),
            )
        })
        .collect())
}

/// Removes keys retired longer ago than an ID token lives (the janitor).
pub async fn prune(app: &AppState, now: i64) -> Result<u64, sqlx::Error> {
    let before = now - (app.config().oidc.id_token_ttl_seconds as i64) * 1000 - CACHE_TTL_MS;
    Ok(
        sqlx::query("DELETE FROM oidc_keys WHERE retired_at IS NOT NULL AND retired_at < $1")
            .bind(before)
            .execute(&app.db)
            .await?
            .rows_affected(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_sign_and_their_jwk_names_them() {
        for alg in Alg::ALL {
            let (der, jwk) = generate(alg, "k1").unwrap();
            assert_eq!(jwk["kid"], "k1");
            assert_eq!(jwk["alg"], alg.name());
            let key = match alg {
                Alg::Rs256 => EncodingKey::from_rsa_der(&der),
                Alg::EdDsa => EncodingKey::from_ed_der(&der),
            };
            let signer = Signer {
                kid: "k1".into(),
                alg,
                key,
            };
            let jwt = signer.sign(&json!({"sub": "x"})).unwrap();
            assert_eq!(jwt.split('.').count(), 3);
            assert_eq!(format!("{signer:?}"), format!("Signer({} k1)", alg.name()));
        }
    }
}
