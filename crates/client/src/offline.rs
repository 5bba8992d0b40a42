//! Offline sign-in: an argon2id verifier of the password, and the rules that say when
//! it may open a session without the server.
//!
//! After an online sign-in with "remember me" the vault keeps an argon2id hash of the
//! (NFKC-normalised) password with its own random salt, m = 19 MiB, t = 2, p = 1 — the
//! server's own cost, so a stolen keychain item is as hard to crack as the server's
//! database. It opens an offline session only while the last online sign-in is at most
//! `offline.days` old (0 turns offline sign-in off) and fewer than
//! `offline.max_attempts` wrong passwords were typed since that sign-in. A right
//! offline password does not reset the count; only an online sign-in does, so a thief
//! with the laptop gets `max_attempts` guesses in all, not per day.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use latchkey_proto::{OfflinePolicy, Secret};

use crate::error::ClientError;
use crate::vault::Record;

/// argon2id memory cost in KiB (19 MiB, OWASP's minimum for argon2id).
pub const MEMORY_KIB: u32 = 19 * 1024;
pub const ITERATIONS: u32 = 2;
pub const PARALLELISM: u32 = 1;

/// A clock set back by more than this, relative to the last online sign-in, is not
/// trusted to measure the offline window.
const CLOCK_SLACK_SECS: u64 = 300;

fn argon2() -> Result<Argon2<'static>, ClientError> {
    let params = Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None)
        .map_err(|e| ClientError::Storage(format!("argon2 parameters: {e}")))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// A new verifier (PHC string) of `password`, with a fresh random salt.
pub fn make_verifier(password: &Secret) -> Result<Secret, ClientError> {
    let normalised = latchkey_policy::normalize(password.expose());
    let salt = SaltString::generate(&mut OsRng);
    let hash = argon2()?
        .hash_password(normalised.as_bytes(), &salt)
        .map_err(|e| ClientError::Storage(format!("argon2: {e}")))?;
    Ok(Secret::new(hash.to_string()))
}

/// Whether `password` matches `verifier`. The parameters are those stored in the
/// verifier, so a verifier from an older version still checks.
pub fn check(verifier: &Secret, password: &Secret) -> Result<bool, ClientError> {
    let parsed = PasswordHash::new(verifier.expose())
        .map_err(|e| ClientError::Keychain(format!("unreadable verifier: {e}")))?;
    let normalised = latchkey_policy::normalize(password.expose());
    match argon2()?.verify_password(normalised.as_bytes(), &parsed) {
        Ok(()) => Ok(true),
        Err(argon2::password_hash::Error::Password) => Ok(false),
        Err(e) => Err(ClientError::Keychain(format!("verifier: {e}"))),
    }
}

/// Whether `record` may open an offline session at `now` under `policy`.
pub fn allowed(record: &Record, policy: &OfflinePolicy, now: u64) -> Result<(), ClientError> {
    if record.verifier.is_none() {
        return Err(ClientError::OfflineUnavailable);
    }
    if policy.days == 0 {
        return Err(ClientError::OfflineDisabled);
    }
    let window = u64::from(policy.days).saturating_mul(86_400);
    let age = now.saturating_sub(record.last_online_at);
    if age > window || now.saturating_add(CLOCK_SLACK_SECS) < record.last_online_at {
        return Err(ClientError::OfflineExpired);
    }
    if record.offline_failures >= policy.max_attempts {
        return Err(ClientError::OfflineAttemptsExhausted);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use latchkey_proto::User;

    fn record(last_online_at: u64, failures: u32) -> Record {
        Record {
            refresh_token: None,
            verifier: Some("x".into()),
            user: User {
                id: "u".into(),
                email: None,
                phone: None,
                username: None,
                name: None,
                organisation: None,
                locale: None,
                mfa_enabled: false,
            },
            last_online_at,
            offline_failures: failures,
            offline_policy: OfflinePolicy::default(),
            totp_offer_declined: false,
        }
    }

    #[test]
    fn verifier_round_trip_with_own_salt() {
        let pw = Secret::from("Plum-orchard-violin-73");
        let a = make_verifier(&pw).unwrap();
        let b = make_verifier(&pw).unwrap();
        assert_ne!(a.expose(), b.expose(), "each verifier has its own salt");
        assert!(a.expose().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(check(&a, &pw).unwrap());
        assert!(!check(&a, &Secret::from("Plum-orchard-violin-74")).unwrap());
        // NFKC: the full-width form of the same password is the same password.
        assert!(check(&a, &Secret::from("Ｐｌｕｍ-orchard-violin-73")).unwrap());
    }

    #[test]
    fn window_and_attempts() {
        let p = OfflinePolicy {
            days: 7,
            max_attempts: 5,
        };
        let day = 86_400;
        let t0 = 1_700_000_000;
        assert!(allowed(&record(t0, 0), &p, t0 + 7 * day).is_ok());
        assert!(matches!(
            allowed(&record(t0, 0), &p, t0 + 7 * day + 1),
            Err(ClientError::OfflineExpired)
        ));
        assert!(matches!(
            allowed(&record(t0, 0), &p, t0 - 3600),
            Err(ClientError::OfflineExpired)
        ));
        assert!(allowed(&record(t0, 4), &p, t0).is_ok());
        assert!(matches!(
            allowed(&record(t0, 5), &p, t0),
            Err(ClientError::OfflineAttemptsExhausted)
        ));
        let off = OfflinePolicy {
            days: 0,
            max_attempts: 5,
        };
        assert!(matches!(
            allowed(&record(t0, 0), &off, t0),
            Err(ClientError::OfflineDisabled)
        ));
        let mut no_verifier = record(t0, 0);
        no_verifier.verifier = None;
        assert!(matches!(
            allowed(&no_verifier, &p, t0),
            Err(ClientError::OfflineUnavailable)
        ));
    }
}
