//! An open loop of sign-ins above what the server can serve: what comes back (sessions,
//! `server_busy`, anything else, nothing), how fast the refusals come, the server's
//! memory meanwhile, and how long it takes to serve normally again.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::Result;
use hdrhistogram::Histogram;
use reqwest::StatusCode;

use crate::drive::{login_request, paced};
use crate::server::Server;
use crate::{EMAIL, PASSWORD};

/// What an overload phase measured.
pub struct Overload {
    pub rate: f64,
    pub elapsed: Duration,
    pub ok: Histogram<u64>,
    pub busy: Histogram<u64>,
    /// The load's own part of each: from the scheduled time to its task first running.
    pub lag: Histogram<u64>,
    pub other: u64,
    pub timeouts: u64,
    pub rss_before: u64,
    pub rss_peak: u64,
    pub rss_after: u64,
    pub recovery: Option<Duration>,
}

impl Overload {
    pub fn goodput(&self) -> f64 {
        self.ok.len() as f64 / self.elapsed.as_secs_f64()
    }
}

/// Resident memory of `pid` in KiB (`VmRSS` of `/proc/PID/status`).
pub fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// The server's peak RSS while `busy` is set, sampled every 50 ms.
pub fn watch_rss(pid: u32, busy: Arc<AtomicBool>) -> std::thread::JoinHandle<u64> {
    std::thread::spawn(move || {
        let mut peak = 0;
        while busy.load(Ordering::Relaxed) {
            peak = peak.max(rss_kib(pid));
            std::thread::sleep(Duration::from_millis(50));
        }
        peak
    })
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Sends sign-ins at `rate` per second for `phase`, from a timer thread; then signs in
/// one at a time until one takes at most `normal` (at most 30 s).
pub async fn run(
    server: &Server,
    rate: f64,
    phase: Duration,
    normal: Duration,
) -> Result<Overload> {
    let count = (rate * phase.as_secs_f64()) as u64;
    let gap = Duration::from_secs_f64(1.0 / rate.max(1.0));
    let ok = Arc::new(Mutex::new(Histogram::<u64>::new_with_bounds(
        1,
        120_000_000,
        3,
    )?));
    let busy = Arc::new(Mutex::new(Histogram::<u64>::new_with_bounds(
        1,
        120_000_000,
        3,
    )?));
    let lag = Arc::new(Mutex::new(lock(&busy).clone()));
    let other = Arc::new(AtomicU64::new(0));
    let timeouts = Arc::new(AtomicU64::new(0));
    let rss_before = rss_kib(server.pid);
    let watching = Arc::new(AtomicBool::new(true));
    let watcher = watch_rss(server.pid, watching.clone());
    let (http, base) = (server.http.clone(), server.base.clone());
    let (o, b, l, x, t) = (
        ok.clone(),
        busy.clone(),
        lag.clone(),
        other.clone(),
        timeouts.clone(),
    );
    let started = Instant::now();
    let tasks = paced(count, gap, move |due| {
        let (http, base, o, b, l, x, t) = (
            http.clone(),
            base.clone(),
            o.clone(),
            b.clone(),
            l.clone(),
            x.clone(),
            t.clone(),
        );
        async move {
            lock(&l)
                .saturating_record(u64::try_from(due.elapsed().as_micros()).unwrap_or(u64::MAX));
            let sent = http
                .post(format!("{base}/v1/auth/login"))
                .json(&login_request(EMAIL, PASSWORD))
                .send()
                .await;
            let micros = u64::try_from(due.elapsed().as_micros()).unwrap_or(u64::MAX);
            match sent {
                Ok(r) if r.status() == StatusCode::OK => {
                    let _ = r.bytes().await;
                    lock(&o).saturating_record(micros);
                }
                Ok(r)
                    if r.status() == StatusCode::TOO_MANY_REQUESTS
                        && r.headers().contains_key(reqwest::header::RETRY_AFTER) =>
                {
                    lock(&b).saturating_record(micros);
                }
                Ok(_) => {
                    x.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) if e.is_timeout() => {
                    t.fetch_add(1, Ordering::Relaxed);
                }
                Err(_) => {
                    x.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    })
    .await?;
    for task in tasks {
        task.await?;
    }
    let elapsed = started.elapsed();
    watching.store(false, Ordering::Relaxed);
    let rss_peak = watcher.join().unwrap_or(0);
    // Back to normal: the first sign-in alone that takes no more than `normal`.
    let ended = Instant::now();
    let mut recovery = None;
    while ended.elapsed() < Duration::from_secs(30) {
        let t0 = Instant::now();
        let r = server
            .http
            .post(format!("{}/v1/auth/login", server.base))
            .json(&login_request(EMAIL, PASSWORD))
            .send()
            .await;
        if matches!(&r, Ok(r) if r.status() == StatusCode::OK) && t0.elapsed() <= normal {
            recovery = Some(ended.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let rss_after = rss_kib(server.pid);
    let ok = lock(&ok).clone();
    let busy = lock(&busy).clone();
    let lag = lock(&lag).clone();
    Ok(Overload {
        rate,
        elapsed,
        ok,
        busy,
        lag,
        other: other.load(Ordering::Relaxed),
        timeouts: timeouts.load(Ordering::Relaxed),
        rss_before,
        rss_peak,
        rss_after,
        recovery,
    })
}
