//! Recovery codes: ten single-use codes that stand in for the authenticator app when
//! it is lost.
//!
//! A code is 12 characters from Crockford's base32 alphabet (no `i`, `l`, `o`, `u`),
//! shown as `xxxx-xxxx-xxxx`: 60 random bits, easy to read aloud and to type. Input is
//! forgiving — case, dashes and spaces are ignored and `o`/`i`/`l` read as `0`/`1`.
//! Being high-entropy, codes are stored as a plain SHA-256 (salted with the user id)
//! rather than a slow password hash; they are shown once and never again.

use latchkey_proto::Secret;
use rand::rngs::OsRng;
use rand::Rng;
use sha2::{Digest, Sha256};
use sqlx::AnyConnection;
use unicode_normalization::UnicodeNormalization;

use crate::db::Db;

pub const COUNT: usize = 10;
const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
const GROUPS: usize = 3;
const GROUP_LEN: usize = 4;

/// A fresh set of codes, formatted for display.
pub fn generate() -> Vec<Secret> {
    (0..COUNT)
        .map(|_| {
            let groups: Vec<String> = (0..GROUPS)
                .map(|_| {
                    (0..GROUP_LEN)
                        .map(|_| char::from(ALPHABET[OsRng.gen_range(0..ALPHABET.len())]))
                        .collect()
                })
                .collect();
            Secret::new(groups.join("-"))
        })
        .collect()
}

/// The canonical form of a typed code, or `None` if it cannot be one.
pub fn normalize(input: &str) -> Option<String> {
    let mut out = String::with_capacity(GROUPS * GROUP_LEN);
    // NFKC first: full-width letters and digits from a Chinese IME, and its `－`.
    for c in input.nfkc() {
        if c == '-' || c.is_whitespace() {
            continue;
        }
        let c = match c.to_ascii_lowercase() {
            'o' => '0',
            'i' | 'l' => '1',
            c => c,
        };
        if !c.is_ascii() || !ALPHABET.contains(&(c as u8)) || out.len() == GROUPS * GROUP_LEN {
            return None;
        }
        out.push(c);
    }
    (out.len() == GROUPS * GROUP_LEN).then_some(out)
}

fn hash(user_id: &str, normalized: &str) -> String {
    hex::encode(Sha256::digest(format!("{user_id}:{normalized}").as_bytes()))
}

/// Replaces the user's codes with `codes` (the old set becomes void).
pub async fn replace(
    conn: &mut AnyConnection,
    user_id: &str,
    codes: &[Secret],
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    for code in codes {
        let normalized = normalize(code.expose()).unwrap_or_default();
        sqlx::query(
            "INSERT INTO recovery_codes (user_id, code_hash, created_at) VALUES ($1, $2, $3)",
        )
        .bind(user_id)
        .bind(hash(user_id, &normalized))
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// How many of the user's codes are still unused.
pub async fn left(db: &Db, user_id: &str) -> Result<u32, sqlx::Error> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL",
    )
    .bind(user_id)
    .fetch_one(db)
    .await?;
    Ok(u32::try_from(n).unwrap_or(u32::MAX))
}

/// Uses up a code; false if it is not one of the user's unused codes.
pub async fn consume(db: &Db, user_id: &str, code: &str, now: i64) -> Result<bool, sqlx::Error> {
    let Some(normalized) = normalize(code) else {
        return Ok(false);
    };
    let done = sqlx::query(
        "UPDATE recovery_codes SET used_at = $1 \
         WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL",
    )
    .bind(now)
    .bind(user_id)
    .bind(hash(user_id, &normalized))
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_well_formed_and_forgiving() {
        let codes = generate();
        assert_eq!(codes.len(), COUNT);
        let mut seen = std::collections::BTreeSet::new();
        for c in &codes {
            let s = c.expose();
            assert_eq!(s.len(), 14, "{s}");
            assert_eq!(s.matches('-').count(), 2);
            assert_eq!(normalize(s).as_deref(), Some(s.replace('-', "").as_str()));
            assert!(seen.insert(s.to_owned()));
            // Typed with a Chinese IME: full-width letters, digits and dashes.
            let wide: String = s
                .chars()
                .map(|c| match c {
                    '-' => '－',
                    c => char::from_u32(c as u32 + 0xFEE0).unwrap_or(c),
                })
                .collect();
            assert_eq!(normalize(&wide), normalize(s), "{wide}");
        }
        assert_eq!(
            normalize(" ABCD-EFGH-JKMO ").as_deref(),
            Some("abcdefghjkm0")
        );
        assert_eq!(normalize("il00 0000 0000").as_deref(), Some("110000000000"));
        assert_eq!(normalize("abcd-efgh-jkm"), None, "too short");
        assert_eq!(normalize("abcd-efgh-jkmnp"), None, "too long");
        assert_eq!(
            normalize("abcd-efgh-jkmu"),
            None,
            "u is not in the alphabet"
        );
        assert_eq!(normalize("123456"), None);
        assert_ne!(hash("u1", "abcd"), hash("u2", "abcd"));
    }
}
