//! Encryption of secrets the server must read back (TOTP secrets), so that a database
//! dump alone does not reveal them.
//!
//! The key is `LATCHKEY_SECRET_KEY` (32 bytes, 64 hex characters). Each value is sealed
//! with XChaCha20-Poly1305 under a fresh random 192-bit nonce (random nonces of that
//! size never repeat in practice), with the owning user's id as associated data, so a
//! sealed value copied onto another account's row does not open. The stored form is
//! `x1.` + base64url(nonce ‖ ciphertext); the prefix leaves room for a later scheme or
//! key rotation.

use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use rand::rngs::OsRng;
use rand::RngCore;

const PREFIX: &str = "x1.";
const NONCE_BYTES: usize = 24;

/// The server's secret key. `Debug` prints nothing of it.
#[derive(Clone)]
pub struct SecretKey(Key);

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("LATCHKEY_SECRET_KEY (delivery.secret_key) must be 64 hex characters (32 bytes)")]
    Malformed,
}

/// A sealed value could not be opened: wrong key, another user's row, or damaged.
#[derive(Debug, thiserror::Error)]
#[error("a sealed secret cannot be opened with the configured key")]
pub struct OpenError;

impl SecretKey {
    pub fn from_hex(hex: &str) -> Result<Self, KeyError> {
        let bytes = hex::decode(hex.trim()).map_err(|_| KeyError::Malformed)?;
        if bytes.len() != 32 {
            return Err(KeyError::Malformed);
        }
        Ok(Self(*Key::from_slice(&bytes)))
    }

    /// The configured key, if any.
    pub fn from_config(secret_key: Option<&str>) -> Result<Option<Self>, KeyError> {
        secret_key
            .filter(|k| !k.trim().is_empty())
            .map(Self::from_hex)
            .transpose()
    }

    /// Seals `plaintext` for the account `user_id`.
    pub fn seal(&self, user_id: &str, plaintext: &[u8]) -> Result<String, OpenError> {
        let mut nonce = [0u8; NONCE_BYTES];
        OsRng.fill_bytes(&mut nonce);
        let sealed = XChaCha20Poly1305::new(&self.0)
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: user_id.as_bytes(),
                },
            )
            .map_err(|_| OpenError)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(format!(
            "{PREFIX}{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(out)
        ))
    }

    /// Opens a value sealed for `user_id`.
    pub fn open(&self, user_id: &str, stored: &str) -> Result<Vec<u8>, OpenError> {
        let body = stored.strip_prefix(PREFIX).ok_or(OpenError)?;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| OpenError)?;
        if bytes.len() < NONCE_BYTES {
            return Err(OpenError);
        }
        let (nonce, sealed) = bytes.split_at(NONCE_BYTES);
        XChaCha20Poly1305::new(&self.0)
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: user_id.as_bytes(),
                },
            )
            .map_err(|_| OpenError)
    }
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: &str) -> SecretKey {
        SecretKey::from_hex(&byte.repeat(32)).unwrap()
    }

    #[test]
    fn round_trip_is_bound_to_key_and_user() {
        let k = key("ab");
        let sealed = k.seal("u1", b"twenty bytes secret!").unwrap();
        assert!(sealed.starts_with("x1."));
        assert_eq!(k.open("u1", &sealed).unwrap(), b"twenty bytes secret!");
        assert_ne!(sealed, k.seal("u1", b"twenty bytes secret!").unwrap());
        assert!(k.open("u2", &sealed).is_err(), "another user's row");
        assert!(key("cd").open("u1", &sealed).is_err(), "another key");
        let mut damaged = sealed.clone();
        damaged.pop();
        damaged.push(if sealed.ends_with('A') { 'B' } else { 'A' });
        assert!(k.open("u1", &damaged).is_err());
        assert!(k.open("u1", "x1.").is_err() && k.open("u1", "plain").is_err());
    }

    #[test]
    fn keys_are_validated_and_never_printed() {
        assert!(SecretKey::from_hex("abc").is_err());
        assert!(SecretKey::from_hex(&"zz".repeat(32)).is_err());
        assert!(SecretKey::from_config(None).unwrap().is_none());
        assert!(SecretKey::from_config(Some(&"ab".repeat(32)))
            .unwrap()
            .is_some());
        assert_eq!(format!("{:?}", key("ab")), "SecretKey(<redacted>)");
    }
}
