//! Password hashing with argon2id, off the async threads and bounded.
//!
//! A hash costs ~19 MiB and tens of milliseconds of one core. At most
//! `max_concurrent` hashes run at once (one per core by default); up to `queue` more
//! requests wait for a slot, each at most `queue_timeout`. Admission is decided when a
//! request arrives, before it does any other work ([`Hasher::admit`]): from how many
//! are ahead of it and how long a hash takes here (a moving average, seeded by the
//! start-up hash), the hasher predicts its wait, and a request that would wait longer
//! than `max_wait_ms` — or find the queue full — is answered at once with
//! `server_busy` and a `Retry-After` of about the time the queue needs to drain. So an
//! overload is refused in microseconds instead of after a timeout, the requests
//! admitted are served within the bound, and memory stays bounded.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use latchkey_proto::Secret;
use tokio::sync::Semaphore;

use crate::config::Argon2Config;

mod blocks;
use crate::ops::metrics;

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// Every slot is busy and the queue is full, or the predicted wait is too long
    /// (or the wait timed out): try again in `retry_after` seconds.
    #[error("password hashing is saturated")]
    Busy { retry_after: u64 },
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
    /// Requests refused with `Busy`, for figures and tests.
    refused: AtomicU64,
    max_in_flight: usize,
    queue_timeout: Duration,
    /// Longest predicted wait admitted.
    max_wait: Duration,
    /// Moving average of one hash's duration, in nanoseconds.
    mean_ns: AtomicU64,
    /// A hash of a random password with the current parameters: checking against it
    /// makes an unknown identifier cost exactly what a wrong password costs.
    dummy: String,
    /// The memory the checks run in, kept between sign-ins.
    blocks: Arc<blocks::Blocks>,
    /// The threads the hashes run on.
    pool: Pool,
}

/// A place among the requests admitted to the hasher (running or waiting), taken by
/// [`Hasher::admit`] and given back when dropped, however the request leaves.
#[must_use]
pub struct Admission<'a>(&'a AtomicUsize);

impl std::fmt::Debug for Admission<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Admission")
    }
}

impl Drop for Admission<'_> {
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
        let started = Instant::now();
        let dummy = {
            let params = params.clone();
            off_this_thread(move || hash_with(&params, &hex::encode(random)))?
        };
        let first = nanos(started.elapsed());
        Ok(Self {
            params,
            slots: Arc::new(Semaphore::new(max_slots)),
            max_slots,
            in_flight: AtomicUsize::new(0),
            verified: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            max_in_flight: max_slots + config.queue,
            queue_timeout: Duration::from_millis(config.queue_timeout_ms),
            max_wait: Duration::from_millis(config.max_wait_ms),
            mean_ns: AtomicU64::new(first.max(1)),
            dummy,
            blocks: Arc::default(),
            pool: Pool::new(max_slots, config.idle_priority)?,
        })
    }

    /// Hashes a (normalised) password with the current parameters.
    pub async fn hash(&self, password: &Secret) -> Result<String, HashError> {
        let admission = self.admit()?;
        let params = self.params.clone();
        let password = password.clone();
        self.run(admission, move || hash_with(&params, password.expose()))
            .await
    }

    /// Checks a password against a stored PHC hash, or against the dummy hash when
    /// there is no account (`stored = None`), which then always fails.
    pub async fn verify(
        &self,
        password: &Secret,
        stored: Option<&str>,
    ) -> Result<Verified, HashError> {
        let admission = self.admit()?;
        self.verify_admitted(admission, password, stored).await
    }

    /// [`Self::verify`] with a place taken earlier by [`Self::admit`] (the sign-in
    /// takes it before its database work, so that a refusal costs nothing).
    pub async fn verify_admitted(
        &self,
        admission: Admission<'_>,
        password: &Secret,
        stored: Option<&str>,
    ) -> Result<Verified, HashError> {
        let real = stored.is_some();
        let phc = stored.unwrap_or(&self.dummy).to_owned();
        let current = self.params.clone();
        let password = password.clone();
        let counter = &self.verified;
        let blocks = self.blocks.clone();
        let verified = self
            .run(admission, move || {
                let Ok(parsed) = PasswordHash::new(&phc) else {
                    return Ok(Verified {
                        ok: false,
                        needs_rehash: true,
                    });
                };
                let ok = blocks
                    .verify(password.expose().as_bytes(), &parsed)
                    .unwrap_or(false);
                Ok(Verified {
                    ok,
                    needs_rehash: !matches_params(&parsed, &current),
                })
            })
            .await;
        self.blocks.release_when_idle();
        let verified = verified?;
        counter.fetch_add(1, Ordering::Relaxed);
        Ok(Verified {
            ok: verified.ok && real,
            needs_rehash: verified.needs_rehash,
        })
    }

    /// Takes a place for one hash, or answers `Busy` at once: when the queue is full,
    /// or when the wait predicted from the requests ahead and the mean hash time is
    /// longer than `max_wait_ms`.
    pub fn admit(&self) -> Result<Admission<'_>, HashError> {
        let ahead = self.in_flight.fetch_add(1, Ordering::AcqRel);
        let admission = Admission(&self.in_flight);
        let mean = self.mean_ns.load(Ordering::Relaxed);
        let slots = self.max_slots.max(1) as u64;
        // Requests that must finish before this one gets a slot, spread over the slots.
        let before = (ahead as u64 + 1).saturating_sub(slots);
        let wait = Duration::from_nanos(before.saturating_mul(mean) / slots);
        if ahead >= self.max_in_flight || wait > self.max_wait {
            drop(admission);
            self.refused.fetch_add(1, Ordering::Relaxed);
            ::metrics::counter!(metrics::HASH_REJECTED).increment(1);
            // About when what is admitted now has drained (at least a second: the
            // header counts whole seconds).
            let drain = (ahead as u64 + 1).saturating_mul(mean) / slots;
            return Err(HashError::Busy {
                retry_after: Duration::from_nanos(drain).as_secs() + 1,
            });
        }
        Ok(admission)
    }

    /// Runs `work` on a hashing thread once a slot is free, or answers `Busy` if none
    /// frees within `queue_timeout` (a backstop: admission keeps the wait shorter).
    async fn run<T: Send + 'static>(
        &self,
        admission: Admission<'_>,
        work: impl FnOnce() -> Result<T, HashError> + Send + 'static,
    ) -> Result<T, HashError> {
        let _admission = admission;
        let waited = Instant::now();
        let permit = {
            let _waiting = Gauge::up(metrics::HASH_WAITING);
            tokio::time::timeout(self.queue_timeout, self.slots.clone().acquire_owned()).await
        };
        let permit = match permit {
            Ok(Ok(permit)) => permit,
            _ => {
                self.refused.fetch_add(1, Ordering::Relaxed);
                ::metrics::counter!(metrics::HASH_REJECTED).increment(1);
                return Err(HashError::Busy {
                    retry_after: self.queue_timeout.as_secs() + 1,
                });
            }
        };
        ::metrics::histogram!(metrics::HASH_WAIT).record(waited.elapsed().as_secs_f64());
        let running = Gauge::up(metrics::HASH_RUNNING);
        let (result, took) = self
            .pool
            .spawn_blocking(move || {
                let started = Instant::now();
                let result = work();
                let took = started.elapsed();
                drop(permit);
                drop(running);
                (result, took)
            })
            .await
            .map_err(|e| HashError::Failed(e.to_string()))?;
        // A moving average over about the last eight hashes: it follows a machine that
        // gets busier without jumping at one slow hash.
        let sample = nanos(took).max(1);
        let _ = self
            .mean_ns
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |mean| {
                Some(mean - mean / 8 + sample / 8)
            });
        result
    }

    /// The mean duration of one hash here, as admission predicts with it.
    pub fn mean_hash_time(&self) -> Duration {
        Duration::from_nanos(self.mean_ns.load(Ordering::Relaxed))
    }

    /// Hashing slots (for `/v1/meta`-style diagnostics and benchmarks).
    /// How many passwords this hasher has checked (each a real argon2 run).
    pub fn verifications(&self) -> u64 {
        self.verified.load(Ordering::Relaxed)
    }

    /// How many requests this hasher has refused as busy.
    pub fn refusals(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }

    pub fn slots(&self) -> usize {
        self.max_slots
    }
}

/// Runs the start-up hash on the runtime's blocking pool when there is a runtime (the
/// hasher's own threads, where every later hash runs, do not exist yet). The allocator
/// gives a thread's freed memory back to the system when it next frees a page or when
/// the thread exits, and a pool thread exits once idle for the runtime's keep-alive
/// (`main.rs`); so the hash's 19 MiB block is returned seconds after start. On the
/// thread that starts the server, which then only waits, it would stay for the life of
/// the process (idle RSS 44 MB, not 30).
fn off_this_thread(
    work: impl FnOnce() -> Result<String, HashError> + Send + 'static,
) -> Result<String, HashError> {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return work();
    };
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    runtime.spawn_blocking(move || {
        let _ = tx.send(work());
    });
    rx.recv()
        .map_err(|_| HashError::Failed("the start-up hash stopped".to_owned()))?
}

/// The threads the hashes run on: a blocking pool of their own (of a runtime that runs
/// nothing else), so that `[argon2] idle_priority` lowers them and nothing else, and
/// so that they exit, giving their memory back, like the blocking pool's threads.
struct Pool(Option<tokio::runtime::Runtime>);

/// How long an idle hashing thread lives, as the server's blocking pool (`main.rs`).
const THREAD_KEEP_ALIVE: Duration = Duration::from_secs(3);

impl Pool {
    fn new(threads: usize, idle_priority: bool) -> Result<Self, HashError> {
        let mut builder = tokio::runtime::Builder::new_current_thread();
        builder
            .thread_name("latchkey-hash")
            .max_blocking_threads(threads.max(1))
            .thread_keep_alive(THREAD_KEEP_ALIVE);
        if idle_priority {
            builder.on_thread_start(lowest_priority);
        }
        let runtime = builder
            .build()
            .map_err(|e| HashError::Failed(format!("no hashing threads: {e}")))?;
        Ok(Self(Some(runtime)))
    }

    fn spawn_blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> tokio::task::JoinHandle<T> {
        match &self.0 {
            Some(runtime) => runtime.spawn_blocking(work),
            // Only while dropped, when nothing can call this any more.
            None => tokio::task::spawn_blocking(work),
        }
    }
}

impl Drop for Pool {
    /// A runtime dropped on an async thread would panic; this one has no tasks of its
    /// own to wait for, and a hash still running finishes on its thread.
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

/// `SCHED_IDLE` for the calling thread (a hashing thread, as it starts): it runs only
/// when no other thread wants its core, and a request's thread that wakes takes the
/// core from it at once instead of after the hash's time slice (docs/benchmarks.md,
/// session 18). Linux only; elsewhere, and if the system refuses, hashes run at the
/// normal priority.
#[cfg(target_os = "linux")]
fn lowest_priority() {
    use thread_priority::{
        set_thread_priority_and_policy, thread_native_id, NormalThreadSchedulePolicy,
        ThreadPriority, ThreadSchedulePolicy,
    };
    if let Err(e) = set_thread_priority_and_policy(
        thread_native_id(),
        ThreadPriority::Min,
        ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle),
    ) {
        // Once: the threads start again after each idle spell.
        static WARNED: std::sync::Once = std::sync::Once::new();
        WARNED.call_once(|| {
            tracing::warn!(error = %e, "argon2.idle_priority: the hashing threads keep the normal priority");
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn lowest_priority() {
    tracing::debug!("argon2.idle_priority is for Linux only");
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
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
            max_wait_ms: 60_000,
            idle_priority: false,
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
                let admission = h.admit().unwrap();
                h.run(admission, || {
                    std::thread::sleep(Duration::from_millis(300));
                    Ok(())
                })
                .await
            })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        let r = h.hash(&Secret::from("x")).await;
        assert!(matches!(r, Err(HashError::Busy { retry_after: 1.. })));
        slow.await.unwrap().unwrap();
        // Once free, it works again.
        assert!(h.hash(&Secret::from("x")).await.is_ok());
    }

    /// The policy and name of the thread a hash runs on.
    #[cfg(target_os = "linux")]
    async fn hashing_thread(h: &Hasher) -> (thread_priority::ThreadSchedulePolicy, Option<String>) {
        let admission = h.admit().unwrap();
        h.run(admission, || {
            Ok((
                thread_priority::thread_schedule_policy().unwrap(),
                std::thread::current().name().map(str::to_owned),
            ))
        })
        .await
        .unwrap()
    }

    #[cfg(target_os = "linux")]
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn hashes_run_on_their_own_threads_at_idle_priority_when_asked() {
        use thread_priority::{NormalThreadSchedulePolicy::*, ThreadSchedulePolicy::Normal};
        let mut config = cheap(4, 2);
        let normal = Hasher::new(&config).unwrap();
        assert_eq!(
            hashing_thread(&normal).await,
            (Normal(Other), Some("latchkey-hash".to_owned()))
        );
        config.idle_priority = true;
        let idle = Hasher::new(&config).unwrap();
        assert_eq!(
            hashing_thread(&idle).await,
            (Normal(Idle), Some("latchkey-hash".to_owned()))
        );
        // The lowered threads are the hasher's own: the runtime's blocking pool, which
        // also reads files and resolves names, keeps the normal priority.
        let pool = tokio::task::spawn_blocking(thread_priority::thread_schedule_policy)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(pool, Normal(Other));
        // A hash still checks passwords there, and a hasher dropped on a runtime's
        // thread (its threads' runtime with it) does not panic.
        let phc = idle.hash(&Secret::from("pw")).await.unwrap();
        assert!(
            idle.verify(&Secret::from("pw"), Some(&phc))
                .await
                .unwrap()
                .ok
        );
        drop(idle);
    }

    #[tokio::test]
    async fn a_wait_predicted_too_long_is_refused_at_once_with_the_drain_time() {
        let mut config = cheap(100, 1);
        config.max_wait_ms = 0;
        let h = Hasher::new(&config).unwrap();
        // The first runs at once; the second would wait one hash, longer than 0 ms.
        let first = h.admit().unwrap();
        let Err(HashError::Busy { retry_after }) = h.admit() else {
            panic!("a second request was admitted with a predicted wait over the bound");
        };
        assert!(retry_after >= 1);
        // The refused request gave its place back: only the first holds one.
        drop(first);
        assert!(h.admit().is_ok());
        assert!(h.mean_hash_time() > Duration::ZERO);
    }
}
