//! The load: sign-ins and refresh chains, in a closed loop (throughput) or an open
//! loop at a fixed rate (latency from each request's scheduled send time).

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use argon2::{Algorithm, Argon2, Params, Version};
use hdrhistogram::Histogram;
use latchkey_proto::{Device, LoginRequest, LoginResponse, RefreshRequest, Secret, Session};
use reqwest::{Client, StatusCode};

use crate::server::{own_cpu, Cpu, Server};
use crate::{EMAIL, LOGIN_CONCURRENCY, MAX_REQUESTS, PASSWORD, PHASE};

#[derive(Clone, Copy)]
pub(crate) enum Op {
    Login,
    Refresh,
}

impl Op {
    /// One request; `chain` holds a refresh chain's latest token (lost on error).
    async fn once(self, http: &Client, base: &str, chain: &mut Option<Secret>) -> Result<()> {
        match self {
            Op::Login => sign_in(http, base).await.map(drop),
            Op::Refresh => {
                let token = match chain.take() {
                    Some(t) => t,
                    None => sign_in(http, base).await?,
                };
                *chain = Some(rotate(http, base, token).await?);
                Ok(())
            }
        }
    }
}

pub(crate) fn login_request(identifier: &str, password: &str) -> LoginRequest {
    let device = Device {
        id: "bench-device".into(),
        name: "load bench".into(),
        platform: "linux".into(),
    };
    LoginRequest {
        identifier: identifier.into(),
        password: Secret::from(password),
        device,
        client_version: None,
    }
}

/// Signs in with the right password; the session's refresh token.
async fn sign_in(http: &Client, base: &str) -> Result<Secret> {
    let resp = http
        .post(format!("{base}/v1/auth/login"))
        .json(&login_request(EMAIL, PASSWORD))
        .send()
        .await?;
    if resp.status() != StatusCode::OK {
        bail!(
            "login answered {}: {}",
            resp.status(),
            resp.text().await.unwrap_or_default()
        );
    }
    match resp.json::<LoginResponse>().await? {
        LoginResponse::Ok { session } => Ok(session.refresh_token),
        other => bail!("login answered {other:?}"),
    }
}

async fn rotate(http: &Client, base: &str, refresh_token: Secret) -> Result<Secret> {
    let resp = http
        .post(format!("{base}/v1/auth/refresh"))
        .json(&RefreshRequest { refresh_token })
        .send()
        .await?;
    if resp.status() != StatusCode::OK {
        bail!(
            "refresh answered {}: {}",
            resp.status(),
            resp.text().await.unwrap_or_default()
        );
    }
    Ok(resp.json::<Session>().await?.refresh_token)
}

/// `n` sessions, signed in four at a time.
pub(crate) async fn sign_in_many(server: &Server, n: usize) -> Result<Vec<Secret>> {
    let mut tokens = Vec::with_capacity(n);
    while tokens.len() < n {
        let batch: Vec<_> = (0..LOGIN_CONCURRENCY.min(n - tokens.len()))
            .map(|_| {
                let (http, base) = (server.http.clone(), server.base.clone());
                tokio::spawn(async move { sign_in(&http, &base).await })
            })
            .collect();
        for task in batch {
            tokens.push(task.await??);
        }
    }
    Ok(tokens)
}

/// What a closed loop achieved.
pub(crate) struct Throughput {
    pub(crate) ok: u64,
    pub(crate) errors: u64,
    pub(crate) first_error: Option<String>,
    pub(crate) elapsed: Duration,
    pub(crate) cpu: Cpu,
}

impl Throughput {
    pub(crate) fn rate(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64()
    }
    pub(crate) fn describe(&self) -> String {
        format!(
            "{} ok, {} errors in {:.2?} = {:.1}/s; {}{}",
            self.ok,
            self.errors,
            self.elapsed,
            self.rate(),
            self.cpu.describe(),
            self.first_error
                .as_deref()
                .map(|e| format!("; first error: {e}"))
                .unwrap_or_default()
        )
    }
    /// Server CPU, and PostgreSQL's and other processes' when they used any.
    pub(crate) fn cpu_note(&self) -> String {
        let mut note = format!(
            "; server CPU {:.0} % (≈ {:.0}/s per fully busy server core)",
            self.cpu.server * 100.0,
            self.rate() / self.cpu.server.max(0.01)
        );
        if self.cpu.pg > 0.01 {
            note += &format!(", postgres CPU {:.0} %", self.cpu.pg * 100.0);
        }
        if self.cpu.others() > 0.10 {
            note += &format!(
                ", other processes {:.0} % (disturbed)",
                self.cpu.others() * 100.0
            );
        }
        note
    }
    pub(crate) fn error_note(&self) -> String {
        if self.errors > 0 {
            format!(" ({} errors)", self.errors)
        } else {
            String::new()
        }
    }
}

/// `chains.len()` tasks each send `op` back to back for `PHASE`.
pub(crate) async fn closed_loop(
    server: &Server,
    op: Op,
    chains: Vec<Option<Secret>>,
) -> Result<(Throughput, Vec<Option<Secret>>)> {
    closed_loop_from(server, op, chains, None).await
}

/// `tasks` tasks rotate refresh chains back to back for `PHASE`, each chain of `pool`
/// once (a task takes the next one for every request); the loop ends early if the pool
/// runs out.
#[allow(dead_code)] // the rush bench's, not the load bench's
pub(crate) async fn closed_loop_once(
    server: &Server,
    pool: Vec<Secret>,
    tasks: usize,
) -> Result<Throughput> {
    let pool = Arc::new(Mutex::new(pool));
    let (t, _) = closed_loop_from(server, Op::Refresh, vec![None; tasks], Some(pool)).await?;
    Ok(t)
}

async fn closed_loop_from(
    server: &Server,
    op: Op,
    chains: Vec<Option<Secret>>,
    pool: Option<Arc<Mutex<Vec<Secret>>>>,
) -> Result<(Throughput, Vec<Option<Secret>>)> {
    let per_task = MAX_REQUESTS / chains.len().max(1) as u64;
    let cpu0 = server.cpu();
    let start = Instant::now();
    let deadline = start + PHASE;
    let tasks: Vec<_> = chains
        .into_iter()
        .map(|mut chain| {
            let (http, base, pool) = (server.http.clone(), server.base.clone(), pool.clone());
            tokio::spawn(async move {
                let (mut ok, mut errors, mut first) = (0u64, 0u64, None);
                while Instant::now() < deadline && ok + errors < per_task {
                    if let Some(pool) = &pool {
                        match lock(pool).pop() {
                            Some(next) => chain = Some(next),
                            None => break,
                        }
                    }
                    match op.once(&http, &base, &mut chain).await {
                        Ok(()) => ok += 1,
                        Err(e) => {
                            errors += 1;
                            first.get_or_insert(e.to_string());
                        }
                    }
                }
                (ok, errors, first, chain)
            })
        })
        .collect();
    let mut t = Throughput {
        ok: 0,
        errors: 0,
        first_error: None,
        elapsed: Duration::ZERO,
        cpu: Cpu::default(),
    };
    let mut chains = Vec::new();
    for task in tasks {
        let (ok, errors, first, chain) = task.await?;
        t.ok += ok;
        t.errors += errors;
        t.first_error = t.first_error.or(first);
        chains.push(chain);
    }
    t.elapsed = start.elapsed();
    t.cpu = server.cpu().per_second(cpu0, t.elapsed);
    Ok((t, chains))
}

/// Latency of an open loop, from each request's scheduled send time.
pub(crate) struct Latency {
    rate: f64,
    hist: Histogram<u64>,
    /// The load's own part: from the scheduled time to the request's task first running
    /// (the pacing thread's and the runtime's delay on the load's CPU).
    lag: Histogram<u64>,
    errors: u64,
    /// Every request's scheduled time (µs from the first) and latency (µs), when
    /// `LATCHKEY_BENCH_SAMPLES` names a folder to write them to ([`Latency::save`]).
    samples: Option<Vec<(u64, u64)>>,
    /// The first scheduled time, in µs since the Unix epoch (to match the server's log).
    start_unix_us: u64,
    /// The server's CPU while the loop ran (cores busy).
    server_cpu: f64,
}

impl Latency {
    pub(crate) fn ms(&self, q: f64) -> f64 {
        self.hist.value_at_quantile(q) as f64 / 1000.0
    }
    pub(crate) fn describe(&self) -> String {
        format!(
            "{:.1}/s scheduled, {} ok, {} errors; p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; \
             of which the load's own start lag p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; \
             server CPU {:.0} % ({:.0} µs per request)",
            self.rate,
            self.hist.len(),
            self.errors,
            self.ms(0.5),
            self.ms(0.99),
            self.hist.max() as f64 / 1000.0,
            self.lag.value_at_quantile(0.5) as f64 / 1000.0,
            self.lag.value_at_quantile(0.99) as f64 / 1000.0,
            self.lag.max() as f64 / 1000.0,
            self.server_cpu * 100.0,
            self.server_cpu * 1e6 / self.rate,
        )
    }
    /// Writes the samples, if kept, to `<LATCHKEY_BENCH_SAMPLES>/<name>.csv` (`due_us,latency_us`,
    /// in the order the answers came): where in time the slow answers fall.
    pub(crate) fn save(&self, name: &str) -> Result<()> {
        let (Some(samples), Ok(dir)) = (&self.samples, std::env::var("LATCHKEY_BENCH_SAMPLES"))
        else {
            return Ok(());
        };
        let mut csv = String::from("due_us,latency_us,due_unix_us\n");
        for (due, latency) in samples {
            csv += &format!("{due},{latency},{}\n", self.start_unix_us + due);
        }
        let path = std::path::Path::new(&dir).join(format!("{name}.csv"));
        std::fs::write(&path, csv).with_context(|| format!("cannot write {}", path.display()))?;
        println!("  samples: {}", path.display());
        Ok(())
    }
    pub(crate) fn cell(&self) -> String {
        let errors = if self.errors > 0 {
            format!(", {} errors", self.errors)
        } else {
            String::new()
        };
        format!(
            "{:.2} / {:.2} ms at {:.0}/s (n={}{errors})",
            self.ms(0.5),
            self.ms(0.99),
            self.rate,
            self.hist.len()
        )
    }
}

/// Starts `count` requests `gap` apart, from 20 ms from now, each `request(due)` on the
/// runtime: a thread of its own keeps the pace, whatever the answers' latency (an open
/// loop), and each latency counts from `due`.
pub(crate) async fn paced<T, F, Fut>(
    count: u64,
    gap: Duration,
    request: F,
) -> Result<Vec<tokio::task::JoinHandle<T>>>
where
    F: Fn(Instant) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let handle = tokio::runtime::Handle::current();
    let tasks = tokio::task::spawn_blocking(move || {
        let start = Instant::now() + Duration::from_millis(20);
        (0..count)
            .map(|i| {
                let due = start + gap.mul_f64(i as f64);
                if let Some(wait) = due.checked_duration_since(Instant::now()) {
                    std::thread::sleep(wait);
                }
                handle.spawn(request(due))
            })
            .collect::<Vec<_>>()
    })
    .await?;
    Ok(tasks)
}

/// Sends `op` at `rate` per second for `PHASE` from a dedicated timer thread, whatever
/// the answers' latency; refreshes draw an idle chain from `idle` and put it back, or,
/// when `idle` holds a chain for every request, rotate each chain once.
pub(crate) async fn open_loop(
    server: &Server,
    op: Op,
    rate: f64,
    idle: Vec<Secret>,
) -> Result<Latency> {
    open_loop_for(server, op, rate, idle, PHASE).await
}

/// [`open_loop`] for `phase` instead of `PHASE`.
pub(crate) async fn open_loop_for(
    server: &Server,
    op: Op,
    rate: f64,
    idle: Vec<Secret>,
    phase: Duration,
) -> Result<Latency> {
    let rate = rate.max(1.0);
    let count = ((rate * phase.as_secs_f64()) as u64).clamp(1, MAX_REQUESTS);
    let gap = Duration::from_secs_f64(1.0 / rate);
    let hist = Arc::new(Mutex::new(Histogram::<u64>::new_with_bounds(
        1, 60_000_000, 3,
    )?));
    let lag = Arc::new(Mutex::new(lock(&hist).clone()));
    let keep = std::env::var_os("LATCHKEY_BENCH_SAMPLES").is_some();
    let samples = Arc::new(Mutex::new(Vec::with_capacity(if keep {
        count as usize
    } else {
        0
    })));
    let once = idle.len() as u64 >= count;
    let first_due: Arc<Mutex<Option<(Instant, u64)>>> = Arc::default();
    let ready = Arc::new(tokio::sync::Semaphore::new(idle.len()));
    let idle = Arc::new(Mutex::new(idle));
    let (http, base) = (server.http.clone(), server.base.clone());
    let (h, l, pool, kept, first) = (
        hist.clone(),
        lag.clone(),
        idle.clone(),
        samples.clone(),
        first_due.clone(),
    );
    // The server's CPU from the schedule's start to the last answer.
    let (cpu0, started) = (server.cpu(), Instant::now());
    let tasks = paced(count, gap, move |due| {
        let (http, base, hist, lag, idle, ready, kept) = (
            http.clone(),
            base.clone(),
            h.clone(),
            l.clone(),
            pool.clone(),
            ready.clone(),
            kept.clone(),
        );
        let start = lock(&first).get_or_insert((due, unix_us_at(due))).0;
        async move {
            lock(&lag).saturating_record(micros_since(due));
            let mut chain = match op {
                Op::Login => None,
                // Waiting for an idle chain counts in the latency, as any delay after `due`.
                Op::Refresh => {
                    let permit = tokio::time::timeout(Duration::from_secs(10), ready.acquire())
                        .await
                        .map_err(|_| anyhow!("no idle refresh chain for 10 s"))??;
                    permit.forget();
                    Some(lock(&idle).pop().context("no idle refresh chain")?)
                }
            };
            op.once(&http, &base, &mut chain).await?;
            let latency = micros_since(due);
            lock(&hist).saturating_record(latency);
            if keep {
                let at = u64::try_from(due.duration_since(start).as_micros()).unwrap_or(u64::MAX);
                lock(&kept).push((at, latency));
            }
            if let Some(chain) = chain.filter(|_| !once) {
                lock(&idle).push(chain);
                ready.add_permits(1);
            }
            anyhow::Ok(())
        }
    })
    .await?;
    let (mut errors, mut first_error) = (0, None);
    for task in tasks {
        if let Err(e) = task.await? {
            errors += 1;
            first_error.get_or_insert(e.to_string());
        }
    }
    if let Some(e) = first_error {
        println!("  first open-loop error: {e}");
    }
    let server_cpu = server.cpu().per_second(cpu0, started.elapsed()).server;
    let (hist, lag) = (lock(&hist).clone(), lock(&lag).clone());
    let samples = keep.then(|| std::mem::take(&mut *lock(&samples)));
    let start_unix_us = lock(&first_due).map_or(0, |(_, unix)| unix);
    Ok(Latency {
        rate,
        hist,
        lag,
        errors,
        samples,
        start_unix_us,
        server_cpu,
    })
}

/// `t` in µs since the Unix epoch.
fn unix_us_at(t: Instant) -> u64 {
    let (now, wall) = (Instant::now(), std::time::SystemTime::now());
    let wall = if t >= now {
        wall + (t - now)
    } else {
        wall - (now - t)
    };
    wall.duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

fn micros_since(t: Instant) -> u64 {
    u64::try_from(t.elapsed().as_micros()).unwrap_or(u64::MAX)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// How long the raw hash rate is measured.
const HASH_PHASE: Duration = Duration::from_secs(3);

/// Raw argon2id hashes per second on this thread, with the server's default parameters.
pub(crate) fn raw_hash_rate() -> Result<(f64, u64)> {
    let params = Params::new(19_456, 2, 1, Some(32)).map_err(|e| anyhow!("{e}"))?;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let mut out = [0u8; 32];
    let hash = |out: &mut [u8]| {
        argon
            .hash_password_into(PASSWORD.as_bytes(), b"latchkey-bench-salt", out)
            .map_err(|e| anyhow!("{e}"))
    };
    hash(&mut out)?; // warm-up
    let start = Instant::now();
    let mut count = 0u64;
    while start.elapsed() < HASH_PHASE && count < 10_000 {
        hash(&mut out)?;
        count += 1;
    }
    Ok((count as f64 / start.elapsed().as_secs_f64(), count))
}

/// Raw hashes per second of wall-clock time and per CPU-second of this process.
pub(crate) fn raw_hash_rate_and_cpu() -> Result<(f64, f64)> {
    let mine = own_cpu();
    let (rate, hashes) = raw_hash_rate()?;
    Ok((rate, hashes as f64 / (own_cpu() - mine).max(0.01)))
}

/// Medians (ms) of two kinds of request sent one at a time, `send(true)` and
/// `send(false)`, interleaved and each round in the other order, so that the machine's
/// noise hits both alike; two rounds more at first, to warm up, are not counted.
pub(crate) async fn interleaved_medians<F, Fut>(rounds: usize, mut send: F) -> Result<(f64, f64)>
where
    F: FnMut(bool) -> Fut,
    Fut: std::future::Future<Output = Result<()>>,
{
    let (mut first, mut second) = (Vec::new(), Vec::new());
    for round in 0..rounds + 2 {
        let order = if round % 2 == 0 {
            [true, false]
        } else {
            [false, true]
        };
        for which in order {
            let start = Instant::now();
            send(which).await?;
            let ms = start.elapsed().as_secs_f64() * 1000.0;
            if round >= 2 {
                if which { &mut first } else { &mut second }.push(ms);
            }
        }
    }
    Ok((median(&mut first), median(&mut second)))
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}
