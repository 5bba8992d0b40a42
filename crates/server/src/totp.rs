//! TOTP (RFC 6238) as every authenticator app supports it: HMAC-SHA1, 6 digits, 30 s
//! steps, one step of clock drift either way, 160-bit secrets.
//!
//! The code arithmetic is `totp-rs`; this module adds what a server needs around it:
//! the secret sealed at rest ([`crate::secret_box`]), a pending enrolment that only a
//! first valid code turns on, and replay protection — the newest accepted step is
//! stored, and a code of that step or an older one is refused, with a single
//! conditional `UPDATE` so that two servers racing on one code accept it once.

use latchkey_proto::{Secret, TotpEnrollment};
use rand::rngs::OsRng;
use rand::RngCore;
use sqlx::AnyConnection;
use subtle::ConstantTimeEq;
use totp_rs::{Algorithm, TOTP};
use unicode_normalization::UnicodeNormalization;

use crate::db::Db;
use crate::users::UserRow;

pub const DIGITS: usize = 6;
pub const PERIOD_SECONDS: u64 = 30;
/// Steps of drift accepted either side of the current one.
pub const SKEW_STEPS: i64 = 1;
pub const SECRET_BYTES: usize = 20;

/// A fresh 160-bit secret.
pub fn new_secret() -> Vec<u8> {
    let mut secret = vec![0u8; SECRET_BYTES];
    OsRng.fill_bytes(&mut secret);
    secret
}

/// The 30-second step `now_ms` falls in.
pub fn step_at(now_ms: i64) -> i64 {
    now_ms.max(0) / 1000 / PERIOD_SECONDS as i64
}

fn generator(secret: &[u8]) -> TOTP {
    // Unchecked only skips the length and label checks: our secrets are 160 bits and
    // this instance has no label.
    TOTP::new_unchecked(
        Algorithm::SHA1,
        DIGITS,
        1,
        PERIOD_SECONDS,
        secret.to_vec(),
        None,
        String::new(),
    )
}

/// The code of `step`.
pub fn code_at(secret: &[u8], step: i64) -> String {
    let seconds = u64::try_from(step.max(0)).unwrap_or(0) * PERIOD_SECONDS;
    generator(secret).generate(seconds)
}

/// A typed code: spaces removed (apps show `123 456`); `None` unless six digits.
pub fn normalize_code(input: &str) -> Option<String> {
    // NFKC: a Chinese IME types full-width digits (`１２３４５６`) and spaces.
    let code: String = input.nfkc().filter(|c| !c.is_whitespace()).collect();
    (code.len() == DIGITS && code.bytes().all(|b| b.is_ascii_digit())).then_some(code)
}

/// The newest step within the drift window whose code is `code` and which is later
/// than `last_step` (the newest step already used), if any.
pub fn accepted_step(secret: &[u8], code: &str, now_ms: i64, last_step: i64) -> Option<i64> {
    let code = normalize_code(code)?;
    let current = step_at(now_ms);
    let mut found = None;
    // Every candidate is computed and compared in constant time, so the answer's
    // timing does not tell which step matched.
    for step in (current - SKEW_STEPS..=current + SKEW_STEPS).rev() {
        let matches: bool = code_at(secret, step)
            .as_bytes()
            .ct_eq(code.as_bytes())
            .into();
        if matches && step > last_step && found.is_none() {
            found = Some(step);
        }
    }
    found
}

/// The label an authenticator app shows: the e-mail, else the username, else the phone.
pub fn account_label(user: &UserRow) -> String {
    user.email
        .as_deref()
        .or(user.username.as_deref())
        .or(user.phone.as_deref())
        .unwrap_or(&user.id)
        .to_owned()
}

/// The answer to an enrolment: the base32 secret and its Key URI
/// (`otpauth://totp/Issuer:account?secret=…&issuer=…&algorithm=SHA1&digits=6&period=30`).
///
/// The Key URI format forbids `:` in the issuer and the account (it separates them in
/// the label), so a colon there becomes a space. The parameters that equal the
/// defaults are written out anyway: some apps read them rather than assume them.
pub fn enrollment(server_name: &str, user: &UserRow, secret: &[u8]) -> TotpEnrollment {
    let issuer = server_name.replace(':', " ").trim().to_owned();
    let issuer = if issuer.is_empty() {
        "Latchkey".to_owned()
    } else {
        issuer
    };
    let account = account_label(user).replace(':', " ");
    let totp = TOTP::new_unchecked(
        Algorithm::SHA1,
        DIGITS,
        1,
        PERIOD_SECONDS,
        secret.to_vec(),
        Some(issuer.clone()),
        account.clone(),
    );
    let mut uri = totp.get_url();
    for (name, value) in [
        ("algorithm", "SHA1".to_owned()),
        ("digits", DIGITS.to_string()),
        ("period", PERIOD_SECONDS.to_string()),
    ] {
        if !uri.contains(&format!("&{name}=")) {
            uri.push_str(&format!("&{name}={value}"));
        }
    }
    TotpEnrollment {
        secret: Secret::new(totp.get_secret_base32()),
        otpauth_uri: Secret::new(uri),
        issuer,
        account,
        algorithm: "SHA1".to_owned(),
        digits: DIGITS as u32,
        period: PERIOD_SECONDS,
    }
}

/// A row of `totp_secrets`. `Debug` leaves out the sealed secret.
#[derive(Clone, sqlx::FromRow)]
pub struct TotpRow {
    pub secret: String,
    pub confirmed_at: Option<i64>,
    pub last_step: i64,
}

impl std::fmt::Debug for TotpRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TotpRow")
            .field("confirmed_at", &self.confirmed_at)
            .field("last_step", &self.last_step)
            .finish_non_exhaustive()
    }
}

pub async fn load(db: &Db, user_id: &str) -> Result<Option<TotpRow>, sqlx::Error> {
    sqlx::query_as("SELECT secret, confirmed_at, last_step FROM totp_secrets WHERE user_id = $1")
        .bind(user_id)
        .fetch_optional(db)
        .await
}

/// Stores a pending enrolment, replacing an earlier pending one; false if the account
/// has a confirmed secret (TOTP is on).
pub async fn store_pending(
    db: &Db,
    user_id: &str,
    sealed: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO totp_secrets (user_id, secret, created_at, confirmed_at, last_step) \
         VALUES ($1, $2, $3, NULL, -1) \
         ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, \
           created_at = excluded.created_at, last_step = -1 \
         WHERE totp_secrets.confirmed_at IS NULL",
    )
    .bind(user_id)
    .bind(sealed)
    .bind(now)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Turns a pending enrolment on, recording `step` as used; false if none is pending.
pub async fn confirm(
    conn: &mut AnyConnection,
    user_id: &str,
    step: i64,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE totp_secrets SET confirmed_at = $1, last_step = $2 \
         WHERE user_id = $3 AND confirmed_at IS NULL AND last_step < $2",
    )
    .bind(now)
    .bind(step)
    .bind(user_id)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() != 1 {
        return Ok(false);
    }
    sqlx::query("UPDATE users SET mfa_enabled = 1 WHERE id = $1")
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    Ok(true)
}

/// Records `step` as used if it is newer than every step used before; false means
/// the code was a replay (or lost a race with the same code).
pub async fn use_step(db: &Db, user_id: &str, step: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE totp_secrets SET last_step = $1 \
         WHERE user_id = $2 AND confirmed_at IS NOT NULL AND last_step < $1",
    )
    .bind(step)
    .bind(user_id)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Turns two-factor authentication off: the secret and the recovery codes go.
pub async fn remove(conn: &mut AnyConnection, user_id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM totp_secrets WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query("UPDATE users SET mfa_enabled = 0 WHERE id = $1")
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B, SHA1 rows, truncated to our six digits (the last six of
    /// the eight-digit values).
    #[test]
    fn full_width_digits_from_an_ime_are_digits() {
        assert_eq!(normalize_code("１２３４５６").as_deref(), Some("123456"));
        assert_eq!(
            normalize_code("１２３\u{3000}４５６").as_deref(),
            Some("123456")
        );
        assert_eq!(normalize_code("123 456").as_deref(), Some("123456"));
        assert_eq!(normalize_code("١٢٣٤٥٦"), None);
        assert_eq!(normalize_code("12345"), None);
    }

    #[test]
    fn rfc6238_vectors_six_digits() {
        let secret = b"12345678901234567890";
        for (t, eight) in [
            (59i64, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            assert_eq!(code_at(secret, t / 30), eight[2..], "T={t}");
        }
    }

    #[test]
    fn drift_window_and_replay() {
        let secret = b"12345678901234567890";
        let now = 1_111_111_111_000;
        let current = step_at(now);
        let code = code_at(secret, current);
        assert_eq!(accepted_step(secret, &code, now, -1), Some(current));
        assert_eq!(accepted_step(secret, &code, now, current), None, "replay");
        let spaced = format!("{} {}", &code[..3], &code[3..]);
        assert_eq!(accepted_step(secret, &spaced, now, -1), Some(current));
        for off in [-1, 1] {
            let c = code_at(secret, current + off);
            assert_eq!(accepted_step(secret, &c, now, -1), Some(current + off));
        }
        for off in [-2, 2] {
            let c = code_at(secret, current + off);
            assert_eq!(accepted_step(secret, &c, now, -1), None);
        }
        assert_eq!(accepted_step(secret, "12345", now, -1), None);
        assert_eq!(accepted_step(secret, "abcdef", now, -1), None);
    }
}
