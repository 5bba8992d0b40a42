//! The memory argon2 works in (19 MiB a hash), kept from one sign-in to the next while
//! sign-ins come, and given back to the system when they stop.
//!
//! `Argon2::verify_password` allocates and zeroes its blocks for every hash. On a busy
//! server a fresh 19 MiB allocation often lands on pages the allocator had already
//! returned to the system, which the kernel must then zero again on first touch: in
//! `perf`, 6 % of the server's CPU during a rush went to that (`clear_page_erms`), most
//! of what separated a sign-in from a raw hash (issue 20, `docs/benchmarks.md`). So the
//! hasher keeps one array per hash running and checks passwords in it
//! (`hash_password_into_with_memory`, which writes every block before it reads it).
//!
//! Two seconds after the last hash (tokio's clock, so that tests can move it) the arrays are dropped, on a thread of the blocking
//! pool: that thread exits once idle, and a thread's exit is when the allocator gives
//! what it freed back to the system, so an idle server is back to its idle RSS.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use argon2::password_hash::{Output, PasswordHash};
use argon2::{Algorithm, Argon2, Block, Params, Version};

/// How long the arrays are kept after the last hash.
const RELEASE_AFTER: Duration = Duration::from_secs(2);

#[derive(Default)]
pub(super) struct Blocks {
    state: Mutex<Kept>,
    release_pending: AtomicBool,
}

#[derive(Default)]
struct Kept {
    free: Vec<Vec<Block>>,
    last_used: Option<Instant>,
}

impl Blocks {
    fn kept(&self) -> std::sync::MutexGuard<'_, Kept> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// An array of at least `count` blocks: a kept one, or a new one.
    fn take(&self, count: usize) -> Vec<Block> {
        let mut blocks = self.kept().free.pop().unwrap_or_default();
        if blocks.len() < count {
            blocks.resize(count, Block::default());
        }
        blocks
    }

    fn give_back(&self, blocks: Vec<Block>) {
        let mut kept = self.kept();
        kept.free.push(blocks);
        kept.last_used = Some(Instant::now());
    }

    /// Checks `password` against the PHC string `stored` as `Argon2::verify_password`
    /// does (same algorithm, version, parameters, salt and output length as the stored
    /// hash; constant-time comparison), in a kept array. `Err` when `stored` is not an
    /// argon2 hash this can check (the caller treats it as a mismatch).
    pub(super) fn verify(&self, password: &[u8], stored: &PasswordHash<'_>) -> Result<bool, ()> {
        let algorithm = Algorithm::try_from(stored.algorithm).map_err(drop)?;
        let version = match stored.version {
            Some(v) => Version::try_from(v).map_err(drop)?,
            None => Version::default(),
        };
        let params = Params::try_from(stored).map_err(drop)?;
        let (Some(salt), Some(expected)) = (&stored.salt, &stored.hash) else {
            return Err(());
        };
        let mut salt_bytes = [0u8; 64];
        let salt = salt.decode_b64(&mut salt_bytes).map_err(drop)?;
        let mut out = vec![0u8; expected.len()];
        let argon = Argon2::new(algorithm, version, params.clone());
        let mut blocks = self.take(params.block_count());
        let hashed = argon.hash_password_into_with_memory(password, salt, &mut out, &mut blocks);
        self.give_back(blocks);
        hashed.map_err(drop)?;
        let computed = Output::new(&out).map_err(drop)?;
        // `Output`'s equality is constant-time.
        Ok(computed == *expected)
    }

    /// After a hash: unless one is pending, starts the wait that drops the kept arrays
    /// once no hash has run for [`RELEASE_AFTER`].
    pub(super) fn release_when_idle(self: &Arc<Self>) {
        if self.release_pending.swap(true, Ordering::AcqRel) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            self.release_pending.store(false, Ordering::Release);
            return;
        };
        let blocks = Arc::clone(self);
        runtime.spawn(async move {
            loop {
                let since = blocks.kept().last_used.map(|t| t.elapsed());
                match since {
                    Some(since) if since < RELEASE_AFTER => {
                        tokio::time::sleep(RELEASE_AFTER - since).await;
                    }
                    _ => break,
                }
            }
            blocks.release_pending.store(false, Ordering::Release);
            let freed = std::mem::take(&mut blocks.kept().free);
            if !freed.is_empty() {
                tokio::task::spawn_blocking(move || drop(freed));
            }
        });
    }

    /// How many arrays are kept (for tests).
    #[cfg(test)]
    pub(super) fn kept_count(&self) -> usize {
        self.kept().free.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::{rand_core::OsRng, PasswordHasher, PasswordVerifier, SaltString};

    fn phc(params: Params, algorithm: Algorithm, password: &str) -> String {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::new(algorithm, Version::V0x13, params)
            .hash_password(password.as_bytes(), &salt)
            .unwrap()
            .to_string()
    }

    /// The kept array gives the answers of argon2's own `verify_password`, for the
    /// right and a wrong password, other parameters, another variant and another output
    /// length, also when the array was used by a bigger hash before.
    #[test]
    fn agrees_with_argon2_verify_password() {
        let blocks = Blocks::default();
        let cases = [
            (Params::new(1024, 1, 1, None).unwrap(), Algorithm::Argon2id),
            (Params::new(2048, 2, 1, None).unwrap(), Algorithm::Argon2id),
            (
                Params::new(512, 3, 2, Some(16)).unwrap(),
                Algorithm::Argon2i,
            ),
            (
                Params::new(1024, 1, 1, Some(64)).unwrap(),
                Algorithm::Argon2d,
            ),
        ];
        for (params, algorithm) in cases {
            let stored = phc(params, algorithm, "right password");
            let parsed = PasswordHash::new(&stored).unwrap();
            for (attempt, want) in [("right password", true), ("wrong password", false)] {
                let theirs = Argon2::default()
                    .verify_password(attempt.as_bytes(), &parsed)
                    .is_ok();
                assert_eq!(theirs, want, "{stored}");
                assert_eq!(
                    blocks.verify(attempt.as_bytes(), &parsed),
                    Ok(want),
                    "{stored}"
                );
            }
        }
        // One array went round, grown to the biggest hash.
        assert_eq!(blocks.kept_count(), 1);
    }

    #[test]
    fn a_hash_that_is_not_argon2_is_an_error() {
        let blocks = Blocks::default();
        let parsed =
            PasswordHash::new("$scrypt$ln=4,r=8,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo").unwrap();
        assert_eq!(blocks.verify(b"x", &parsed), Err(()));
    }

    #[tokio::test(start_paused = true)]
    async fn the_arrays_are_dropped_once_idle() {
        let blocks = Arc::new(Blocks::default());
        let stored = phc(
            Params::new(1024, 1, 1, None).unwrap(),
            Algorithm::Argon2id,
            "pw",
        );
        let parsed = PasswordHash::new(&stored).unwrap();
        assert_eq!(blocks.verify(b"pw", &parsed), Ok(true));
        blocks.release_when_idle();
        tokio::time::sleep(RELEASE_AFTER / 2).await;
        assert_eq!(blocks.kept_count(), 1, "kept while sign-ins may come");
        tokio::time::sleep(RELEASE_AFTER).await;
        // Let the release task run.
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        assert_eq!(blocks.kept_count(), 0);
    }
}
