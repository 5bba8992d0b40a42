//! Password hashing with argon2id, off the async threads and bounded.
//!
//! A hash costs ~19 MiB and tens of milliseconds of one core. At most
//! `max_concurrent` hashes run at once (one per core by default); up to `queue` more
//! requests wait for a slot, each at most `queue_timeout`. Anything beyond that is
//! answered at once with `rate_limited`, so a burst of sign-ins can never pile up
//! unbounded memory or latency.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use latchkey_proto::Secret;
use tokio::sync::Semaphore;

use crate::config::Argon2Config;
use crate::ops::metrics;

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// Every slot is busy and the queue is full (or the wait timed out).
    #[error("password hashing is saturated")]
    Busy,
    #[error("invalid argon2 parameters: {0}")]
    Params(String),
    #[error("hashing failed: {0}")]
    Failed(String),
}

/// The outcome of checking a password against a stored hash.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Verified {
    pub ok: bool,
    /// The stored hash uses other parameters than the current ones: rehash it.
    pub needs_rehash: bool,
}

pub struct Hasher {
    params: Params,
    slots: Arc<Semaphore>,
    max_slots: usize,
    in_flight: AtomicUsize,
    /// Passwords checked (argon2 run), for figures and tests.
    verified: AtomicU64,
    max_in_flight: usize,
    queue_timeout: Duration,
    /// A hash of a random password with the current parameters: checking against it
    /// makes an unknown identifier cost exactly what a wrong password costs.
    dummy: String,
}

/// Releases the in-flight count when a request leaves the hasher, however it leaves.
struct InFlight<'a>(&'a AtomicUsize);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// One more in a gauge of the metrics while it lives (a request waiting for a slot, a
/// hash running).
struct Gauge(&'static str);

impl Gauge {
    fn up(name: &'static str) -> Self {
        ::metrics::gauge!(name).increment(1.0);
        Self(name)
    }
}

impl Drop for Gauge {
    fn drop(&mut self) {
        ::metrics::gauge!(self.0).decrement(1.0);
    }
}

impl Hasher {
    pub fn new(config: &Argon2Config) -> Result<Self, HashError> {
        let params = Params::new(
            config.memory_kib,
            config.iterations,
            config.parallelism,
            None,
        )
        .map_err(|e| HashError::Params(e.to_string()))?;
        let max_slots = if config.max_concurrent == 0 {
            num_cpus::get().max(1)
        } else {
            config.max_concurrent
        };
        let mut random = [0u8; 32];
        rand::RngCore::fill_bytes(&mut OsRng, &mut random);
        let dummy = hash_with(&params, &hex::encode(random))?;
        Ok(Self {
            params,
            slots: Arc::new(Semaphore::new(max_slots)),
            max_slots,
            in_flight: AtomicUsize::new(0),
            verified: AtomicU64::new(0),
            max_in_flight: max_slots + config.queue,
            queue_timeout: Duration::from_millis(config.queue_timeout_ms),
            dummy,
        })
    }

    /// Hashes a (normalised) password with the current parameters.
    pub async fn hash(&self, password: &Secret) -> Result<String, HashError> {
        let params = self.params.clone();
        let password = password.clone();
        self.run(move || hash_with(&params, password.expose()))
            .await
    }

    /// Checks a password against a stored PHC hash, or against the dummy hash when
    /// there is no account (`stored = None`), which then always fails.
    pub async fn verify(
        &self,
        password: &Secret,
        stored: Option<&str>,
    ) -> Result<Verified, HashError> {
        let real = stored.is_some();
        let phc = stored.unwrap_or(&self.dummy).to_owned();
        let current = self.params.clone();
        let password = password.clone();
        let counter = &self.verified;
        let verified = self
            .run(move || {
                let Ok(parsed) = PasswordHash::new(&phc) else {
                    return Ok(Verified {
                        ok: false,
                        needs_rehash: true,
                    });
                };
                let ok = Argon2::default()
                    .verify_password(password.expose().as_bytes(), &parsed)
                    .is_ok();
                Ok(Verified {
                    ok,
                    needs_rehash: !matches_params(&parsed, &current),
                })
            })
            .await?;
        counter.fetch_add(1, Ordering::Relaxed);
        Ok(Verified {
            ok: verified.ok && real,
            needs_rehash: verified.needs_rehash,
        })
    }

    /// Runs `work` on the blocking pool once a slot is free, or answers `Busy`.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T, HashError> + Send + 'static,
    ) -> Result<T, HashError> {
        if self.in_flight.fetch_add(1, Ordering::AcqRel) >= self.max_in_flight {
            self.in_flight.fetch_sub(1, Ordering::AcqRel);
            ::metrics::counter!(metrics::HASH_REJECTED).increment(1);
            return Err(HashError::Busy);
        }
        let _guard = InFlight(&self.in_flight);
        let waited = std::time::Instant::now();
        let permit = {
            let _waiting = Gauge::up(metrics::HASH_WAITING);
            tokio::time::timeout(self.queue_timeout, self.slots.clone().acquire_owned()).await
        };
        let permit = match permit {
            Ok(Ok(permit)) => permit,
            _ => {
                ::metrics::counter!(metrics::HASH_REJECTED).increment(1);
                return Err(HashError::Busy);
            }
        };
        ::metrics::histogram!(metrics::HASH_WAIT).record(waited.elapsed().as_secs_f64());
        let running = Gauge::up(metrics::HASH_RUNNING);
        tokio::task::spawn_blocking(move || {
            let result = work();
            drop(permit);
            drop(running);
            result
        })
        .await
        .map_err(|e| HashError::Failed(e.to_string()))?
    }

    /// Hashing slots (for `/v1/meta`-style diagnostics and benchmarks).
    /// How many passwords this hasher has checked (each a real argon2 run).
    pub fn verifications(&self) -> u64 {
        self.verified.load(Ordering::Relaxed)
    }

    pub fn slots(&self) -> usize {
        self.max_slots
    }
}

fn hash_with(params: &Params, password: &str) -> Result<String, HashError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| HashError::Failed(e.to_string()))
}

fn matches_params(hash: &PasswordHash<'_>, current: &Params) -> bool {
    if hash.algorithm != argon2::ARGON2ID_IDENT || hash.version != Some(0x13) {
        return false;
    }
    match Params::try_from(hash) {
        Ok(p) => {
            p.m_cost() == current.m_cost()
                && p.t_cost() == current.t_cost()
                && p.p_cost() == current.p_cost()
        }
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap(queue: usize, slots: usize) -> Argon2Config {
        Argon2Config {
            memory_kib: 1024,
            iterations: 1,
            parallelism: 1,
            max_concurrent: slots,
            queue,
            queue_timeout_ms: 5_000,
        }
    }

    #[tokio::test]
    async fn hash_verify_and_rehash_detection() {
        let h = Hasher::new(&cheap(4, 1)).unwrap();
        let pw = Secret::from("correct horse battery staple");
        let phc = h.hash(&pw).await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"));
        let v = h.verify(&pw, Some(&phc)).await.unwrap();
        assert_eq!(
            v,
            Verified {
                ok: true,
                needs_rehash: false
            }
        );
        assert!(
            !h.verify(&Secret::from("wrong"), Some(&phc))
                .await
                .unwrap()
                .ok
        );
        // No account: checked against the dummy, never ok.
        assert!(!h.verify(&pw, None).await.unwrap().ok);
        // Stronger parameters now: the old hash still verifies but wants a rehash.
        let mut stronger = cheap(4, 1);
        stronger.memory_kib = 2048;
        let h2 = Hasher::new(&stronger).unwrap();
        let v = h2.verify(&pw, Some(&phc)).await.unwrap();
        assert!(v.ok && v.needs_rehash);
        // A corrupt stored hash fails closed.
        assert!(!h2.verify(&pw, Some("garbage")).await.unwrap().ok);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn saturation_answers_busy_instead_of_queueing_forever() {
        let h = Arc::new(Hasher::new(&cheap(0, 1)).unwrap());
        // Occupy the only slot, then a second request finds no slot and no queue.
        let slow = {
            let h = h.clone();
            tokio::spawn(async move {
                h.run(|| {
                    std::thread::sleep(Duration::from_millis(300));
                    Ok(())
                })
                .await
            })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        let r = h.hash(&Secret::from("x")).await;
        assert!(matches!(r, Err(HashError::Busy)));
        slow.await.unwrap().unwrap();
        // Once free, it works again.
        assert!(h.hash(&Secret::from("x")).await.is_ok());
    }
}
