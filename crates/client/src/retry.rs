//! Calls tried again when their answer may have been lost (issue 21).
//!
//! A failure after the request may have reached the server — the connection reset or
//! closed mid-request, a timeout, a 502–504 from a proxy or the server's own
//! `server_unavailable` (its database connection broke, perhaps during the commit) —
//! says nothing of whether the server acted. Such a
//! call is tried again after 0.25 s, 1 s and 3 s (each plus up to 0.25 s of random
//! jitter, so that many apps do not come back at the same instant), while less than
//! 20 s have passed since the first try. Anything else is final at once: a refusal of
//! the server, and a refused connection, a failed DNS look-up or no network (the
//! request never left: an offline start should not wait).
//!
//! Only calls that are safe to send again go through [`retrying`]: the refresh (the
//! server's grace period answers a retried token with the same successor) and the
//! calls sent with an [`IdempotencyKey`] — one per action of the person, the same for
//! all its tries — which the server answers once and then replays. A retry that meets
//! the first try still running (`idempotency_key_in_use`) waits too.
//!
//! A server short of time answers `server_busy` (429) with `Retry-After` before doing
//! anything (issue 20): any call may be sent again then, after [`busy_pause`].

use std::future::Future;
use std::time::{Duration, Instant};

use latchkey_proto::ErrorCode;
use rand::Rng;

use crate::error::ClientError;

/// The pauses before the second, third and fourth try.
pub const PAUSES_MS: [u64; 3] = [250, 1_000, 3_000];
/// Up to this much random jitter is added to each pause.
pub const JITTER_MS: u64 = 250;
/// No try starts this long after the first (well inside the server's 30 s grace
/// period for a refresh token, and its 300 s for an idempotency key).
pub const BUDGET: Duration = Duration::from_secs(20);

/// The `Idempotency-Key` of one action: 128 random bits, hex (32 characters).
/// `Debug` prints nothing of it (it unseals the stored answer on the server).
#[derive(Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn random() -> Self {
        let bytes: [u8; 16] = rand::thread_rng().gen();
        Self(hex::encode(bytes))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for IdempotencyKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IdempotencyKey(<redacted>)")
    }
}

/// Whether a failure leaves it open whether the server acted (or says the first try
/// is still running), so that the same request may be sent again.
pub fn worth_retrying(e: &ClientError) -> bool {
    matches!(
        e,
        ClientError::Network { .. }
            | ClientError::Timeout
            | ClientError::ServerUnavailable { .. }
            | ClientError::Server(ErrorCode::IdempotencyKeyInUse)
    )
}

/// Runs `call` until it succeeds, fails for good, or the pauses or [`BUDGET`] are
/// spent; `what` names the call in the log.
pub async fn retrying<T, F, Fut>(what: &'static str, mut call: F) -> Result<T, ClientError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, ClientError>>,
{
    let started = Instant::now();
    let mut pauses = PAUSES_MS.iter();
    loop {
        let result = call().await;
        let retry = matches!(&result, Err(e) if worth_retrying(e));
        match (retry, pauses.next()) {
            (true, Some(pause)) if started.elapsed() < BUDGET => {
                let jitter = rand::thread_rng().gen_range(0..JITTER_MS);
                tracing::info!(
                    call = what,
                    pause_ms = pause + jitter,
                    "failed on the way; trying again"
                );
                tokio::time::sleep(Duration::from_millis(pause + jitter)).await;
            }
            _ => return result,
        }
    }
}

/// How many times a request answered `server_busy` is sent again before the app tells
/// the person: a few seconds of waiting, never a stream of requests to a server that is
/// already short of time (issue 20).
pub const BUSY_RETRIES: u32 = 2;
/// The longest pause asked by `Retry-After` that the app waits by itself.
const BUSY_MAX_PAUSE_SECS: u64 = 10;

/// The pause before sending again after `server_busy`: the server's `Retry-After`
/// (1 s when absent, at most [`BUSY_MAX_PAUSE_SECS`]) plus up to half of it again at
/// random (`unit` in 0..1), so that the many apps refused in one burst do not all come
/// back at the same instant. Never shorter than what the server asked.
pub fn busy_pause(retry_after: Option<u64>, unit: f64) -> Duration {
    let base = retry_after.unwrap_or(1).clamp(1, BUSY_MAX_PAUSE_SECS);
    let base = Duration::from_secs(base);
    base + base.mul_f64(unit.clamp(0.0, 1.0) / 2.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn keys_are_random_long_enough_and_redacted() {
        let a = IdempotencyKey::random();
        assert_ne!(a, IdempotencyKey::random());
        assert_eq!(a.as_str().len(), 32);
        assert!(a.as_str().len() >= latchkey_proto::IDEMPOTENCY_KEY_MIN_CHARS);
        assert!(!format!("{a:?}").contains(a.as_str()));
    }

    #[tokio::test]
    async fn failures_on_the_way_are_tried_again_a_bounded_number_of_times() {
        // Real time: the pauses add up to about 4.5 s.
        let tries = AtomicUsize::new(0);
        let result: Result<(), _> = retrying("test", || async {
            tries.fetch_add(1, Ordering::SeqCst);
            Err(ClientError::Timeout)
        })
        .await;
        assert!(matches!(result, Err(ClientError::Timeout)));
        assert_eq!(tries.load(Ordering::SeqCst), 1 + PAUSES_MS.len());
    }

    #[tokio::test]
    async fn a_refusal_or_an_unreachable_server_is_final_at_once() {
        for error in [
            ClientError::Server(ErrorCode::InvalidCredentials),
            ClientError::ConnectionRefused,
        ] {
            let tries = AtomicUsize::new(0);
            let mut error = Some(error);
            let _: Result<(), _> = retrying("test", || {
                tries.fetch_add(1, Ordering::SeqCst);
                let e = error.take().unwrap_or(ClientError::Timeout);
                async move { Err(e) }
            })
            .await;
            assert_eq!(tries.load(Ordering::SeqCst), 1);
        }
    }

    #[tokio::test]
    async fn a_try_still_running_or_a_server_unavailable_is_tried_again() {
        let tries = AtomicUsize::new(0);
        let result = retrying("test", || async {
            match tries.fetch_add(1, Ordering::SeqCst) {
                0 => Err(ClientError::Server(ErrorCode::IdempotencyKeyInUse)),
                1 => Err(ClientError::ServerUnavailable { status: 503 }),
                _ => Ok(7),
            }
        })
        .await;
        assert_eq!(result.unwrap(), 7);
        assert_eq!(tries.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn busy_pauses_are_never_shorter_than_asked_and_capped() {
        assert_eq!(busy_pause(Some(3), 0.0), Duration::from_secs(3));
        assert_eq!(busy_pause(Some(3), 1.0), Duration::from_millis(4_500));
        assert_eq!(busy_pause(None, 0.5), Duration::from_millis(1_250));
        // A server asking for minutes is waited out by the person, not in a request.
        assert_eq!(busy_pause(Some(600), 0.0), Duration::from_secs(10));
        assert_eq!(busy_pause(Some(0), 0.0), Duration::from_secs(1));
    }
}
