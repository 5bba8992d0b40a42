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
//!
//! Neither limit can be lifted from outside the keychain (issue 13):
//!
//! - **Policy**: the stricter of the rules kept in the keychain record (as of the last
//!   online sign-in) and the cached `/v1/meta` (a plain file in the cache folder) —
//!   fewer days, fewer attempts, and 0 days (off) wins. Editing or deleting the file can
//!   only make the rules stricter.
//! - **Clock**: the record keeps a monotonic `last_seen_at`, the latest time this device
//!   has used it (every online sign-in and every offline attempt). A clock that reads
//!   earlier than that is taken to read `last_seen_at`: setting the clock back gains no
//!   time, and a clock corrected backwards by a few minutes does not lock anyone out.
//!   (Refusing instead would punish an honest clock correction and gain nothing: the
//!   window is already measured from the later time.) What no local check can catch is
//!   a clock set back before the app ever saw the later time — a laptop kept off past
//!   the window, then started with an old date; only a trusted time source could.

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

/// The rules that apply to `record`: the stricter of its own and the cached meta's.
pub fn policy(record: &Record, cached: Option<&OfflinePolicy>) -> OfflinePolicy {
    let kept = &record.offline_policy;
    match cached {
        Some(c) => OfflinePolicy {
            days: kept.days.min(c.days),
            max_attempts: kept.max_attempts.min(c.max_attempts),
        },
        None => kept.clone(),
    }
}

/// The time to measure the window with: the clock, but never earlier than the latest
/// time the record has seen.
pub fn now_for(record: &Record, clock_now: u64) -> u64 {
    clock_now
        .max(record.last_seen_at)
        .max(record.last_online_at)
}

/// Notes that the record was used at `clock_now` (kept monotonic).
pub fn seen(record: &mut Record, clock_now: u64) {
    record.last_seen_at = now_for(record, clock_now);
}

/// Whether `record` may open an offline session at `clock_now` under `policy` (see
/// [`policy`] for which rules, and the module docs for the clock).
pub fn allowed(record: &Record, policy: &OfflinePolicy, clock_now: u64) -> Result<(), ClientError> {
    if record.verifier.is_none() {
        return Err(ClientError::OfflineUnavailable);
    }
    if policy.days == 0 {
        return Err(ClientError::OfflineDisabled);
    }
    let window = u64::from(policy.days).saturating_mul(86_400);
    let age = now_for(record, clock_now).saturating_sub(record.last_online_at);
    if age > window {
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
            last_seen_at: last_online_at,
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
        // A clock before the last online sign-in measures from that sign-in.
        assert!(allowed(&record(t0, 0), &p, t0 - 3600).is_ok());
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

    /// Issue 13: a clock set back after the app saw a later time gains nothing.
    #[test]
    fn a_clock_set_back_does_not_reopen_the_window() {
        let p = OfflinePolicy {
            days: 7,
            max_attempts: 5,
        };
        let day = 86_400;
        let t0 = 1_700_000_000;
        let mut r = record(t0, 0);
        seen(&mut r, t0 + 8 * day);
        assert!(matches!(
            allowed(&r, &p, t0 + 8 * day),
            Err(ClientError::OfflineExpired)
        ));
        // Back to day 2: still day 8 as far as the window goes.
        assert!(matches!(
            allowed(&r, &p, t0 + 2 * day),
            Err(ClientError::OfflineExpired)
        ));
        seen(&mut r, t0 + 2 * day);
        assert_eq!(r.last_seen_at, t0 + 8 * day, "last seen never goes back");
        // Within the window, a clock set back a little does not lock anyone out.
        let mut r = record(t0, 0);
        seen(&mut r, t0 + 3 * day);
        assert!(allowed(&r, &p, t0 + 3 * day - 600).is_ok());
    }

    /// Issue 13: the stricter of the keychain's rules and the cached meta's.
    #[test]
    fn the_stricter_policy_of_record_and_cache() {
        let mut r = record(1, 0);
        r.offline_policy = OfflinePolicy {
            days: 3,
            max_attempts: 5,
        };
        let loose = OfflinePolicy {
            days: 365,
            max_attempts: 100,
        };
        let strict = OfflinePolicy {
            days: 7,
            max_attempts: 2,
        };
        let off = OfflinePolicy {
            days: 0,
            max_attempts: 5,
        };
        let want = |days, max_attempts| OfflinePolicy { days, max_attempts };
        assert_eq!(policy(&r, Some(&loose)), want(3, 5));
        assert_eq!(policy(&r, Some(&strict)), want(3, 2));
        assert_eq!(policy(&r, Some(&off)), want(0, 5));
        assert_eq!(policy(&r, None), want(3, 5));
    }
}
