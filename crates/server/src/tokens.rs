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
    unstamped_token(prefix, &bytes)
}

/// `{prefix}_<base64url of body>` and its SHA-256: the form of [`new_token`], and of a
/// session's tokens made before stamps ([`stamped_token`]).
pub fn unstamped_token(prefix: &str, body: &[u8]) -> (Secret, String) {
    let token = format!(
        "{prefix}_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(body)
    );
    let hash = hash_token(&token);
    (Secret::from(token), hash)
}

/// The stored form of a token.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A session's access (`lka`) or refresh (`lkr`) token made at `at_ms`, from `body`
/// (32 random bytes, or an HMAC: see `session::successors`), and its stored key.
///
/// It carries the time it was made: `lkr_<12 hex digits of Unix ms>.<base64url>`. Its
/// stored key ([`session_token_key`]) starts with the same 12 digits, so the unique
/// indexes on these keys grow at their end, as a time-ordered id does, instead of at
/// a random leaf: at a million accounts a random leaf is a page read from the OS and
/// written back by every checkpoint, three of them per rotation (docs/benchmarks.md).
/// The time is no secret (the client was there); the 256 bits after it are.
pub fn stamped_token(prefix: &str, at_ms: i64, body: &[u8]) -> (Secret, String) {
    let token = format!(
        "{prefix}_{}.{}",
        stamp(at_ms),
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(body)
    );
    let key = session_token_key(&token);
    (Secret::from(token), key)
}

/// [`stamped_token`] with 256 fresh random bits.
pub fn new_session_token(prefix: &str, at_ms: i64) -> (Secret, String) {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    stamped_token(prefix, at_ms, &bytes)
}

/// Digits of the time in a stamped token.
const STAMP_LEN: usize = 12;

fn stamp(at_ms: i64) -> String {
    format!("{:012x}", at_ms.clamp(0, 0xffff_ffff_ffff))
}

/// The stored form of a session token: for a stamped one ([`stamped_token`]) its
/// stamp, then its SHA-256; for one made before stamps (`lkr_<base64url>`, whose
/// alphabet has no `.`), its SHA-256 alone, as [`hash_token`] gives it. Any text gets a
/// key; one that matches nothing is an unknown token.
pub fn session_token_key(token: &str) -> String {
    let bytes = token.as_bytes();
    let stamped = bytes.iter().position(|&b| b == b'_').and_then(|under| {
        let digits = bytes.get(under + 1..under + 1 + STAMP_LEN)?;
        let dot = bytes.get(under + 1 + STAMP_LEN)?;
        (*dot == b'.'
            && digits
                .iter()
                .all(|d| matches!(d, b'0'..=b'9' | b'a'..=b'f')))
        .then_some(&token[under + 1..under + 1 + STAMP_LEN])
    });
    match stamped {
        Some(stamp) => format!("{stamp}{}", hash_token(token)),
        None => hash_token(token),
    }
}

/// A 128-bit id, hex, that sorts by the time it was made: 48 bits of Unix ms, then 80
/// random bits (as a UUIDv7 does). For the rows written on every sign-in (sessions,
/// activity, audit, messages): an index on such ids grows at its end, where a random id
/// would dirty a random leaf of a table with millions of rows. Not for anything that
/// must be unguessable by itself: tokens are [`new_token`]'s.
pub fn new_ordered_id(at_ms: i64) -> String {
    let mut bytes = [0u8; 10];
    OsRng.fill_bytes(&mut bytes);
    format!("{}{}", stamp(at_ms), hex::encode(bytes))
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

    #[test]
    fn session_tokens_carry_their_time_and_keys_sort_by_it() {
        let (a, ka) = new_session_token("lkr", 1_765_000_000_000);
        let (_, kb) = new_session_token("lkr", 1_765_000_000_001);
        assert!(
            a.expose().starts_with("lkr_019af232b200."),
            "{}",
            a.expose()
        );
        assert_eq!(a.expose().len(), 4 + 12 + 1 + 43);
        assert_eq!(ka, session_token_key(a.expose()));
        assert_eq!(ka, format!("019af232b200{}", hash_token(a.expose())));
        assert!(ka < kb, "later tokens sort after earlier ones");
        // The same body and time give the same token (successors are derived).
        assert_eq!(
            stamped_token("lka", 5, &[7; 32]),
            stamped_token("lka", 5, &[7; 32])
        );
        assert_ne!(
            stamped_token("lka", 5, &[7; 32]).1,
            stamped_token("lka", 6, &[7; 32]).1
        );
        // Out of range times are clamped, not wrapped.
        assert!(stamped_token("lka", -1, &[0; 32])
            .0
            .expose()
            .starts_with("lka_000000000000."));
        assert!(stamped_token("lka", i64::MAX, &[0; 32])
            .0
            .expose()
            .starts_with("lka_ffffffffffff."));
    }

    #[test]
    fn ordered_ids_sort_by_time_and_look_like_random_ones() {
        let a = new_ordered_id(1_765_000_000_000);
        let b = new_ordered_id(1_765_000_000_001);
        assert_eq!(a.len(), new_id().len());
        assert!(a.starts_with("019af232b200"));
        assert!(a.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')));
        assert!(a < b);
        assert_ne!(new_ordered_id(7), new_ordered_id(7));
    }

    #[test]
    fn tokens_before_stamps_and_odd_text_keep_the_plain_hash() {
        let (old, hash) = new_token("lkr");
        assert_eq!(session_token_key(old.expose()), hash);
        for odd in [
            "",
            "_",
            "lkr_",
            "lkr_019b3f0d3400",
            "lkr_019B3F0D3400.x",
            "lkr_019b3f0d340.xx",
            "lkr_019b3f0d3400_x",
            "lkr_é19b3f0d3400.x",
            "lkr_019b3f0d34é.x",
        ] {
            assert_eq!(session_token_key(odd), hash_token(odd), "{odd:?}");
        }
        assert_eq!(
            session_token_key("_019af232b200."),
            format!("019af232b200{}", hash_token("_019af232b200."))
        );
    }
}
