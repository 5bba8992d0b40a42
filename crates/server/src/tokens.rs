//! Opaque tokens and ids. A token is 256 random bits (base64url) with a short prefix
//! that tells a human — and secret scanners — what it is; the database keeps only its
//! SHA-256, so a database dump cannot be replayed as a session.

use base64::Engine;
use latchkey_proto::Secret;
use rand::rngs::OsRng;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// A new token and the hash to store.
pub fn new_token(prefix: &str) -> (Secret, String) {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    let token = format!(
        "{prefix}_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    );
    let hash = hash_token(&token);
    (Secret::from(token), hash)
}

/// The stored form of a token.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A random 128-bit id, hex.
pub fn new_id() -> String {
    let mut bytes = [0u8; 16];
    OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_hashed() {
        let (a, ha) = new_token("lka");
        let (b, _) = new_token("lka");
        assert_ne!(a, b);
        assert!(a.expose().starts_with("lka_"));
        assert_eq!(a.expose().len(), 4 + 43);
        assert_eq!(ha, hash_token(a.expose()));
        assert_eq!(ha.len(), 64);
        assert_ne!(new_id(), new_id());
    }
}
