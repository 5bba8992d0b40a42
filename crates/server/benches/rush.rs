//! The Monday-morning rush (issue 20): `cargo bench -p latchkey-server --bench rush`.
//!
//! A program that prints figures, not a test. It starts the real `latchkey-server`
//! (one tokio worker, one hashing slot, pinned to CPU 0; the load pinned to CPU 1, as
//! the `load` bench does, whose server and load modules it shares) over the database of
//! `LATCHKEY_RUSH_DATABASE_URL` — one made by the seeding tool (`--bench seed`), say
//! with a million accounts — or over a fresh SQLite file, and measures:
//!
//! - idle RSS, then sign-ins/s against the raw argon2id rate measured before and after
//!   them, and refresh rotations/s (closed loops) with the peak RSS;
//! - p50/p99 latency at 70 % of each (open loops, from each request's scheduled time;
//!   the sign-ins' for 30 s, so that their p99 rests on some 1,900 samples), and how
//!   much of it is the load's own lag in starting each request;
//! - overload: sign-ins sent at 2× and 5× the measured maximum for 5 s each — goodput
//!   (sessions/s against the maximum), how fast `429 server_busy` comes back (p99),
//!   other answers, timeouts, RSS before, at its peak and after, and the time from the
//!   end of the burst to the first sign-in served as fast as the p99 at 70 %; and idle
//!   RSS again once the burst is over;
//! - with `LATCHKEY_RUSH_ONLY=refresh`, only the rotations (closed loop, then 70 %),
//!   with `LATCHKEY_RUSH_ONLY=signin` only the sign-ins against the raw rate, and with
//!   `LATCHKEY_RUSH_ONLY=overload` the sign-ins, 5 s of them at 70 % and the overloads:
//!   quick A/Bs on a seeded database;
//! - with `LATCHKEY_RUSH_SOAK_SECS=1800`, a soak at half the server's core (each path at
//!   a quarter of its maximum), reporting RSS and the p99s every minute;
//! - with `LATCHKEY_RUSH_REFRESH_SHARES=0.3,0.5`, the refresh open loop at those shares
//!   of the maximum too, and with `LATCHKEY_RUSH_REFRESH_RATE=N` at N/s instead of 70 %
//!   (two builds compared at one rate), and with `LATCHKEY_RUSH_SEEDED_CHAINS=1` (a
//!   seeded database) over seeded sessions, each rotated once, instead of a few dozen
//!   chains rotated over and over (`rush/seeded.rs`); with
//!   `LATCHKEY_BENCH_SAMPLES=DIR`, every open-loop request's times in `DIR/*.csv` and
//!   the server's log in `DIR/server.log`.
//!
//! Unlike the `load` bench, hashing keeps the server's default admission (`queue = 64`,
//! `max_wait_ms = 1000`): that is what the overload measures.

// Shared with the `load` bench, which uses more of them.
#[allow(dead_code)]
#[path = "load/drive.rs"]
mod drive;
#[path = "rush/overload.rs"]
mod overload;
#[path = "rush/seeded.rs"]
mod seeded;
#[allow(dead_code)]
#[path = "load/server.rs"]
mod server;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use latchkey_proto::Secret;

use drive::{
    closed_loop, open_loop, open_loop_for, raw_hash_rate_and_cpu, sign_in_many, Op, Throughput,
};
use server::{pin_self_to_cpu1, Server};

/// The bench account (added by the server module; a seeded database has `user{i}@…`
/// besides, whose rows make the tables and indexes a million accounts big).
const EMAIL: &str = "bench@latchkey.example";
const PASSWORD: &str = "Plum-orchard-violin-73";
/// One hashing slot, the default queue and admission; no per-address throttle and no
/// lock; no new-device check (every sign-in comes from the same device).
const CONFIG: &str = "[argon2]\nmax_concurrent = 1\n\n\
                      [lockout]\naddress_limit = 0\nthreshold = 1000000\n\n\
                      [devices]\nverify_new = false\n";
const PHASE: Duration = Duration::from_secs(5);
/// The sign-ins' latency at 70 % runs longer: at about 63 sign-ins/s, 5 s is some 320
/// samples, whose p99 is the third-worst and moved across the goal from run to run.
const SIGNIN_LATENCY_PHASE: Duration = Duration::from_secs(30);
const MAX_REQUESTS: u64 = 100_000;
const LOGIN_CONCURRENCY: usize = 4;
const REFRESH_CONCURRENCY: usize = 16;
const OPEN_LOOP_CHAINS: usize = 64;
/// How long to wait for idle RSS: longer than the server's blocking-pool keep-alive
/// (3 s) plus the allocator's purge delay (1 s).
const IDLE_SETTLE: Duration = Duration::from_secs(5);

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn main() -> Result<()> {
    // The load's runtime: its worker threads share CPU 1 with the pacing thread.
    let workers = std::env::var("LATCHKEY_RUSH_LOAD_WORKERS")
        .ok()
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or(2)
        .max(1);
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()?
        .block_on(rush())
}

async fn rush() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let url = std::env::var("LATCHKEY_RUSH_DATABASE_URL")
        .unwrap_or_else(|_| format!("sqlite://{}", dir.path().join("rush.db").display()));
    let pinned = pin_self_to_cpu1();
    let server = Server::start(&url, pinned)?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let early = overload::rss_kib(server.pid);
    // The server's blocking pool lets an idle hashing thread go after 3 s, and the
    // allocator returns what the thread freed (the start-up hash's 19 MiB) then.
    tokio::time::sleep(IDLE_SETTLE).await;
    let idle = overload::rss_kib(server.pid);
    println!(
        "database: {}",
        if url.starts_with("sqlite") {
            "SQLite"
        } else {
            "PostgreSQL"
        }
    );
    println!(
        "idle RSS: {:.1} MiB 2 s after start, {:.1} MiB {} s after start",
        mib(early),
        mib(idle),
        2 + IDLE_SETTLE.as_secs()
    );
    match std::env::var("LATCHKEY_RUSH_ONLY").as_deref() {
        Ok("refresh") => return refresh_only(&server, &url).await,
        Ok("signin") => return signins_against_raw(&server).await.map(drop),
        _ => {}
    }
    let overload_only = std::env::var("LATCHKEY_RUSH_ONLY").as_deref() == Ok("overload");
    let watching = Arc::new(AtomicBool::new(true));
    let watcher = overload::watch_rss(server.pid, watching.clone());
    let signins = signins_against_raw(&server).await?;
    let rotations = if overload_only {
        None
    } else {
        Some(rotations_closed_loop(&server).await?)
    };
    watching.store(false, Ordering::Relaxed);
    let loaded = watcher.join().unwrap_or(0);
    println!("RSS under full load (peak): {:.1} MiB", mib(loaded));

    let s70 = open_loop_for(
        &server,
        Op::Login,
        signins.rate() * 0.7,
        Vec::new(),
        if overload_only {
            PHASE
        } else {
            SIGNIN_LATENCY_PHASE
        },
    )
    .await?;
    println!("sign-in latency at 70 %: {}", s70.describe());
    s70.save("signin-70")?;
    if let Some(rotations) = &rotations {
        refresh_at_70(&server, rotations).await?;
    }

    let normal = Duration::from_secs_f64(s70.ms(0.99).max(1.0) / 1000.0);
    for factor in [2.0, 5.0] {
        let o = overload::run(&server, signins.rate() * factor, PHASE, normal).await?;
        println!(
            "overload {factor}× ({:.0}/s sent for {:.1?}): goodput {:.1}/s = {:.0} % of the maximum; \
             sessions {} (p50 {:.1} ms, p99 {:.1} ms); server_busy {} (p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; the load's own start lag p99 \
             {:.2} ms of all requests); \
             other answers {}, timeouts {}; RSS {:.1} → peak {:.1} → {:.1} MiB; back to normal \
             (a sign-in within {:.1} ms) {}",
            o.rate,
            o.elapsed,
            o.goodput(),
            o.goodput() / signins.rate() * 100.0,
            o.ok.len(),
            o.ok.value_at_quantile(0.5) as f64 / 1000.0,
            o.ok.value_at_quantile(0.99) as f64 / 1000.0,
            o.busy.len(),
            o.busy.value_at_quantile(0.5) as f64 / 1000.0,
            o.busy.value_at_quantile(0.99) as f64 / 1000.0,
            o.busy.max() as f64 / 1000.0,
            o.lag.value_at_quantile(0.99) as f64 / 1000.0,
            o.other,
            o.timeouts,
            mib(o.rss_before),
            mib(o.rss_peak),
            mib(o.rss_after),
            normal.as_secs_f64() * 1000.0,
            o.recovery
                .map_or("not within 30 s".to_owned(), |d| format!("after {d:.2?}")),
        );
    }

    tokio::time::sleep(IDLE_SETTLE).await;
    println!(
        "idle RSS {} s after the last burst: {:.1} MiB",
        IDLE_SETTLE.as_secs(),
        mib(overload::rss_kib(server.pid))
    );

    if let (Some(secs), Some(rotations)) = (
        std::env::var("LATCHKEY_RUSH_SOAK_SECS")
            .ok()
            .and_then(|s| s.parse::<u64>().ok()),
        rotations,
    ) {
        // Half the server's core in all: each path at a quarter of its own maximum (at
        // half of each, the two together would be the whole core).
        soak(
            &server,
            signins.rate() * 0.25,
            rotations.rate() * 0.25,
            secs,
        )
        .await?;
    }
    Ok(())
}

/// The maximum sign-in rate (a closed loop), against the raw argon2id rate measured
/// just before and just after it.
async fn signins_against_raw(server: &Server) -> Result<Throughput> {
    let raw_before = tokio::task::spawn_blocking(raw_hash_rate_and_cpu).await??;
    let (signins, _) = closed_loop(server, Op::Login, vec![None; LOGIN_CONCURRENCY]).await?;
    println!(
        "sign-ins/s, c={LOGIN_CONCURRENCY}: {}{}",
        signins.describe(),
        signins.cpu_note()
    );
    // The raw rate again, right after: compare with the mean of both, as `load` does.
    let raw_after = tokio::task::spawn_blocking(raw_hash_rate_and_cpu).await??;
    let raw = (raw_before.0 + raw_after.0) / 2.0;
    let raw_cpu = (raw_before.1 + raw_after.1) / 2.0;
    println!(
        "raw argon2id, 1 thread on CPU 1: {:.1}/s before, {:.1}/s after ({:.1} and {:.1} per \
         CPU-second); sign-ins = {:.0} % of the mean ({:.0} % per CPU-second)",
        raw_before.0,
        raw_after.0,
        raw_before.1,
        raw_after.1,
        signins.rate() / raw * 100.0,
        signins.rate() / signins.cpu.server.max(0.01) / raw_cpu * 100.0,
    );
    Ok(signins)
}

/// `LATCHKEY_RUSH_ONLY=refresh`: the rotations' closed loop and their latency at 70 %;
/// with `LATCHKEY_RUSH_SEEDED_CHAINS=1`, both over seeded sessions, each rotated once.
async fn refresh_only(server: &Server, url: &str) -> Result<()> {
    if std::env::var_os("LATCHKEY_RUSH_SEEDED_CHAINS").is_some() {
        return refresh_seeded(server, url).await;
    }
    let rotations = rotations_closed_loop(server).await?;
    refresh_at_70(server, &rotations).await
}

/// The closed loop and the open loop at 70 % (or `LATCHKEY_RUSH_REFRESH_RATE`) over
/// sessions of the seeded accounts, each rotated once (`rush/seeded.rs`).
async fn refresh_seeded(server: &Server, url: &str) -> Result<()> {
    const CLOSED_LOOP_CHAINS: usize = 80_000;
    let made = Instant::now();
    let chains = seeded::seeded_chains(url, CLOSED_LOOP_CHAINS).await?;
    println!(
        "{CLOSED_LOOP_CHAINS} seeded sessions given a refresh token in {:.1?}",
        made.elapsed()
    );
    let max = drive::closed_loop_once(server, chains, REFRESH_CONCURRENCY).await?;
    println!(
        "rotations/s, c={REFRESH_CONCURRENCY}, each of the seeded sessions once: {}{}",
        max.describe(),
        max.cpu_note()
    );
    let rate = fixed_refresh_rate().unwrap_or(max.rate() * 0.7);
    let count = (rate * PHASE.as_secs_f64()) as usize + 1;
    let chains = seeded::seeded_chains(url, count).await?;
    let r = open_loop(server, Op::Refresh, rate, chains).await?;
    println!(
        "refresh latency at {rate:.0}/s ({:.0} % of the maximum), each of {count} seeded \
         sessions once: {}",
        rate / max.rate() * 100.0,
        r.describe()
    );
    r.save("refresh-seeded")
}

/// `LATCHKEY_RUSH_REFRESH_RATE`: the refresh open loop's rate instead of 70 % of the
/// maximum, so that two builds whose maxima differ are compared at one rate.
fn fixed_refresh_rate() -> Option<f64> {
    std::env::var("LATCHKEY_RUSH_REFRESH_RATE")
        .ok()
        .and_then(|r| r.trim().parse::<f64>().ok())
}

/// The maximum rotation rate: a closed loop over fresh refresh chains.
async fn rotations_closed_loop(server: &Server) -> Result<Throughput> {
    let chains: Vec<Option<Secret>> = sign_in_many(server, REFRESH_CONCURRENCY)
        .await?
        .into_iter()
        .map(Some)
        .collect();
    let (rotations, _) = closed_loop(server, Op::Refresh, chains).await?;
    println!(
        "rotations/s, c={REFRESH_CONCURRENCY}: {}{}",
        rotations.describe(),
        rotations.cpu_note()
    );
    Ok(rotations)
}

/// Rotations at 70 % of `max`, over chains that have not rotated yet (and, with
/// `LATCHKEY_RUSH_REFRESH_SHARES=0.4,0.55,…`, at those shares of it too).
async fn refresh_at_70(server: &Server, max: &Throughput) -> Result<()> {
    let shares = std::env::var("LATCHKEY_RUSH_REFRESH_SHARES").unwrap_or_default();
    for share in shares
        .split(',')
        .filter_map(|s| s.trim().parse::<f64>().ok())
    {
        let idle_chains = sign_in_many(server, OPEN_LOOP_CHAINS).await?;
        let r = open_loop(server, Op::Refresh, max.rate() * share, idle_chains).await?;
        println!(
            "refresh latency at {:.0} %: {}",
            share * 100.0,
            r.describe()
        );
    }
    let idle_chains = sign_in_many(server, OPEN_LOOP_CHAINS).await?;
    if let Some(rate) = fixed_refresh_rate() {
        let r = open_loop(server, Op::Refresh, rate, idle_chains).await?;
        println!("refresh latency at {rate:.0}/s (fixed): {}", r.describe());
        return r.save("refresh-fixed");
    }
    let r70 = open_loop(server, Op::Refresh, max.rate() * 0.7, idle_chains).await?;
    println!("refresh latency at 70 %: {}", r70.describe());
    r70.save("refresh-70")
}

/// Sign-ins and rotations at the given rates, side by side, for `secs`; a line a minute.
async fn soak(server: &Server, signin_rate: f64, refresh_rate: f64, secs: u64) -> Result<()> {
    println!("soak: {secs} s at {signin_rate:.1} sign-ins/s and {refresh_rate:.0} rotations/s");
    let start = Instant::now();
    // Growth is counted from the first minute under load: before it the server is idle
    // and has given its hashing memory back.
    let mut first = None;
    let mut minute = Instant::now();
    while start.elapsed() < Duration::from_secs(secs) {
        let chains = sign_in_many(server, OPEN_LOOP_CHAINS).await?;
        let (s, r) = tokio::join!(
            open_loop(server, Op::Login, signin_rate, Vec::new()),
            open_loop(server, Op::Refresh, refresh_rate, chains)
        );
        let (s, r) = (s?, r?);
        if minute.elapsed() >= Duration::from_secs(60) {
            minute = Instant::now();
            let rss = overload::rss_kib(server.pid);
            let first = *first.get_or_insert(rss);
            println!(
                "  {:>5.0} s: RSS {:.1} MiB ({:+.1} % since the first minute); sign-in {}; refresh {}",
                start.elapsed().as_secs_f64(),
                mib(rss),
                (rss as f64 / first.max(1) as f64 - 1.0) * 100.0,
                s.cell(),
                r.cell()
            );
        }
    }
    Ok(())
}
