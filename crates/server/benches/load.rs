//! Load benchmark of the reference server: `cargo bench -p latchkey-server --bench load`.
//!
//! A program that prints figures, not a test. It starts the real `latchkey-server`
//! binary (built by Cargo for this bench, found through `CARGO_BIN_EXE_latchkey-server`)
//! with one tokio worker and one hashing slot, pinned to CPU 0 with `taskset`, and drives
//! it over HTTP on 127.0.0.1 from this process, pinned to CPU 1. It measures the raw
//! argon2id rate, sign-ins and refresh rotations per second (closed loop), p50/p99
//! latency at 70 % of those rates (open loop, timed from the scheduled send), and the
//! failure time for an unknown identifier against a known one with a wrong password.
//! PostgreSQL runs when `LATCHKEY_BENCH_POSTGRES_URL` or `LATCHKEY_TEST_POSTGRES_URL`
//! names a server; each run creates (and drops) a fresh database there.
//! `LATCHKEY_BENCH_ONLY` runs some parts only: a comma list of `signin` (raw hash rate,
//! sign-ins, enumeration timing), `sqlite` and `postgres` (refresh rotations), or
//! `refresh` for both of the latter.
//!
//! `load/server.rs` runs the server and reads CPU use; `load/drive.rs` is the load.

#[path = "load/drive.rs"]
mod drive;
#[path = "load/server.rs"]
mod server;

use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Result};
use argon2::{Algorithm, Argon2, Params, Version};
use latchkey_proto::Secret;
use reqwest::StatusCode;

use drive::{closed_loop, login_request, open_loop, sign_in_many, Op};
use server::{
    create_database, drop_database, machine_busy, own_cpu, pin_self_to_cpu1, server_bin, Server,
};

const EMAIL: &str = "bench@latchkey.example";
const UNKNOWN: &str = "nobody@latchkey.example";
const PASSWORD: &str = "Plum-orchard-violin-73";
const WRONG_PASSWORD: &str = "Quartz-meadow-lantern-19";
/// One hashing slot; no per-address throttle and no lock, so only the costs are measured.
/// New-device verification is off: every bench sign-in comes from the same device id,
/// and a code by e-mail is not what is measured.
const CONFIG: &str = "[argon2]\nmax_concurrent = 1\nqueue = 256\n\n\
                      [lockout]\naddress_limit = 0\nthreshold = 1000000\n\n\
                      [devices]\nverify_new = false\n";
const PHASE: Duration = Duration::from_secs(5);
const HASH_PHASE: Duration = Duration::from_secs(3);
/// Hard bound on the requests of one phase, whatever the rate.
const MAX_REQUESTS: u64 = 100_000;
const LOGIN_CONCURRENCY: usize = 4;
const REFRESH_CONCURRENCY: usize = 16;
/// Refresh chains the open loop draws from (each request needs an idle chain).
const OPEN_LOOP_CHAINS: usize = 64;
const LOAD_FRACTION: f64 = 0.7;
const ENUMERATION_ROUNDS: usize = 30;

/// Which parts of the bench run (`LATCHKEY_BENCH_ONLY`).
#[derive(Clone, Copy)]
struct Parts {
    signin: bool,
    sqlite: bool,
    postgres: bool,
}

impl Parts {
    fn from_env() -> Result<Self> {
        let Some(only) = std::env::var("LATCHKEY_BENCH_ONLY")
            .ok()
            .filter(|s| !s.trim().is_empty())
        else {
            return Ok(Self {
                signin: true,
                sqlite: true,
                postgres: true,
            });
        };
        let mut parts = Self {
            signin: false,
            sqlite: false,
            postgres: false,
        };
        for part in only.split(',').map(str::trim) {
            match part {
                "signin" => parts.signin = true,
                "sqlite" => parts.sqlite = true,
                "postgres" => parts.postgres = true,
                "refresh" => (parts.sqlite, parts.postgres) = (true, true),
                other => bail!(
                    "LATCHKEY_BENCH_ONLY: unknown part {other:?} (signin, sqlite, postgres, refresh)"
                ),
            }
        }
        Ok(parts)
    }
}

fn main() -> Result<()> {
    let parts = Parts::from_env()?;
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average before the run: {}", load.trim());
    let pinned = pin_self_to_cpu1();
    let mut rows = Vec::new();
    let raw = if parts.signin {
        let (busy0, start) = (machine_busy(), Instant::now());
        let (raw, raw_per_cpu) = raw_hash_rate_and_cpu()?;
        let others = (machine_busy() - busy0) / start.elapsed().as_secs_f64() - 1.0;
        println!(
            "raw argon2id (m=19456 KiB, t=2, p=1), 1 thread: {raw:.1} hashes/s, {raw_per_cpu:.1} per CPU-second \
             (other processes {:.0} % CPU)",
            others.max(0.0) * 100.0
        );
        rows.push(Row::new(
            "argon2id hashes/s, 1 core (m=19456 KiB, t=2, p=1)",
            format!("{raw:.1}/s ({raw_per_cpu:.1} per CPU-second)"),
            "-",
            None,
        ));
        Some((raw, raw_per_cpu))
    } else {
        None
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(run(parts, raw, pinned, &mut rows))?;
    print_table(pinned, &rows);
    Ok(())
}

/// `raw`: argon2id hashes per second of wall-clock time and per CPU-second (when the
/// sign-in part runs).
async fn run(
    parts: Parts,
    raw: Option<(f64, f64)>,
    pinned: bool,
    rows: &mut Vec<Row>,
) -> Result<()> {
    println!("server binary: {}", server_bin());
    if parts.signin || parts.sqlite {
        let dir = tempfile::tempdir()?;
        let url = format!("sqlite://{}", dir.path().join("bench.db").display());
        let server = Server::start(&url, pinned)?;
        println!("SQLite server at {} (pid {})", server.base, server.pid);
        if let Some(raw) = raw {
            signin_rows(&server, raw, rows).await?;
        }
        if parts.sqlite {
            refresh_rows(&server, "SQLite", rows).await?;
        }
    }
    if !parts.postgres {
        return Ok(());
    }
    let Some(admin_url) = ["LATCHKEY_BENCH_POSTGRES_URL", "LATCHKEY_TEST_POSTGRES_URL"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
    else {
        println!(
            "PostgreSQL skipped: set LATCHKEY_BENCH_POSTGRES_URL or LATCHKEY_TEST_POSTGRES_URL"
        );
        rows.push(Row::new(
            "refresh rotations/s, PostgreSQL",
            "skipped (no URL)".into(),
            "≥ 5,000/s per core",
            None,
        ));
        return Ok(());
    };
    let (url, name) = create_database(&admin_url).await?;
    let result = match Server::start(&url, pinned) {
        Ok(server) => {
            println!(
                "PostgreSQL server at {} (pid {}), database {name}",
                server.base, server.pid
            );
            refresh_rows(&server, "PostgreSQL", rows).await
        }
        Err(e) => Err(e),
    };
    drop_database(&admin_url, &name).await;
    result
}

/// Sign-ins against the raw hash rate, their latency, and the enumeration timing.
async fn signin_rows(server: &Server, raw: (f64, f64), rows: &mut Vec<Row>) -> Result<()> {
    let login = closed_loop(server, Op::Login, vec![None; LOGIN_CONCURRENCY])
        .await?
        .0;
    // The raw rate again, right after: other work on the machine drifts, so compare
    // against the mean of the measurements before and after the sign-ins.
    let (again, again_per_cpu) = tokio::task::spawn_blocking(raw_hash_rate_and_cpu).await??;
    println!("raw argon2id again after the sign-ins: {again:.1} hashes/s, {again_per_cpu:.1} per CPU-second");
    if let Some(row) = rows.first_mut() {
        row.value = format!(
            "{:.1}/s before the sign-ins, {again:.1}/s after ({:.1} and {again_per_cpu:.1} per CPU-second)",
            raw.0, raw.1
        );
    }
    let ratio = login.rate() / ((raw.0 + again) / 2.0);
    // Per CPU-second on both sides: robust to other processes sharing the cores.
    let cpu_ratio = login.rate() / login.cpu.server.max(0.01) / ((raw.1 + again_per_cpu) / 2.0);
    println!(
        "sign-ins, closed loop c={LOGIN_CONCURRENCY}: {}",
        login.describe()
    );
    rows.push(Row::new(
        "password sign-ins/s, 1 worker + 1 hashing slot, SQLite, c=4",
        format!(
            "{:.1}/s = {:.0} % of the mean raw hash rate ({:.0} % per CPU-second){}{}",
            login.rate(),
            ratio * 100.0,
            cpu_ratio * 100.0,
            login.cpu_note(),
            login.error_note()
        ),
        "≥ 85 % of raw",
        Some(ratio >= 0.85 && login.errors == 0),
    ));
    let lat = open_loop(server, Op::Login, login.rate() * LOAD_FRACTION, Vec::new()).await?;
    println!("sign-ins, open loop: {}", lat.describe());
    rows.push(Row::new(
        "sign-in latency p50 / p99 at 70 % load, SQLite",
        lat.cell(),
        "-",
        None,
    ));

    let (unknown, known) = enumeration_timing(server).await?;
    let diff = (unknown - known) / known * 100.0;
    println!("failed sign-in median: unknown identifier {unknown:.1} ms, known + wrong password {known:.1} ms ({diff:+.1} %)");
    rows.push(Row::new(
        "failed sign-in, unknown identifier (median of 30)",
        format!("{unknown:.1} ms"),
        "same time as known",
        None,
    ));
    rows.push(Row::new(
        "failed sign-in, known identifier + wrong password (median of 30)",
        format!("{known:.1} ms ({diff:+.1} % difference)"),
        "within 10 % of unknown",
        Some(diff.abs() <= 10.0),
    ));
    Ok(())
}

/// Closed-loop rotations, then latency at 70 % of that rate, on one backend.
async fn refresh_rows(server: &Server, backend: &str, rows: &mut Vec<Row>) -> Result<()> {
    let chains = sign_in_many(server, REFRESH_CONCURRENCY).await?;
    let (max, chains) =
        closed_loop(server, Op::Refresh, chains.into_iter().map(Some).collect()).await?;
    println!(
        "refresh on {backend}, closed loop c={REFRESH_CONCURRENCY}: {}",
        max.describe()
    );
    // Per core = per CPU-second the server process used (its own /proc stat), which
    // is what one server core sustains; the whole-box rate is what this 2-vCPU
    // machine did with the server, PostgreSQL and the load generator sharing it.
    let per_core = max.rate() / max.cpu.server.max(0.01);
    let mut pg_note = String::new();
    if max.cpu.pg > 0.01 {
        pg_note = format!(
            "; PostgreSQL used {:.0} % CPU = {:.2} ms per rotation",
            max.cpu.pg * 100.0,
            max.cpu.pg * 1000.0 / max.rate().max(0.01)
        );
    }
    println!(
        "refresh on {backend}: {per_core:.0} rotations per server CPU-second \
         ({:.0} µs of server CPU each){pg_note}",
        max.cpu.server * 1e6 / max.rate().max(0.01)
    );
    rows.push(Row::new(
        &format!("refresh rotations/s per server core, 1 worker, {backend}, c=16"),
        format!(
            "{per_core:.0}/s ({:.0} µs of server CPU per rotation){}",
            max.cpu.server * 1e6 / max.rate().max(0.01),
            max.error_note()
        ),
        "≥ 5,000/s per core",
        Some(per_core >= 5_000.0 && max.errors == 0),
    ));
    rows.push(Row::new(
        &format!("refresh rotations/s, whole box, {backend}"),
        format!("{:.0}/s{}{pg_note}", max.rate(), max.cpu_note()),
        "-",
        None,
    ));
    let mut idle: Vec<Secret> = chains.into_iter().flatten().collect();
    idle.extend(sign_in_many(server, OPEN_LOOP_CHAINS.saturating_sub(idle.len())).await?);
    // `LATCHKEY_BENCH_REFRESH_RATE` fixes the rate instead, to compare two builds at
    // the same load.
    let fixed: Option<f64> = std::env::var("LATCHKEY_BENCH_REFRESH_RATE")
        .ok()
        .and_then(|v| v.parse().ok());
    let rate = fixed.unwrap_or(max.rate() * LOAD_FRACTION);
    let lat = open_loop(server, Op::Refresh, rate, idle).await?;
    println!("refresh on {backend}, open loop: {}", lat.describe());
    let load = if fixed.is_some() {
        "a fixed rate"
    } else {
        "70 % load"
    };
    rows.push(Row::new(
        &format!("refresh latency p50 / p99 at {load}, {backend}"),
        lat.cell(),
        "-",
        None,
    ));
    Ok(())
}

/// Raw argon2id hashes per second on this thread, with the server's default parameters.
fn raw_hash_rate() -> Result<(f64, u64)> {
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
fn raw_hash_rate_and_cpu() -> Result<(f64, f64)> {
    let mine = own_cpu();
    let (rate, hashes) = raw_hash_rate()?;
    Ok((rate, hashes as f64 / (own_cpu() - mine).max(0.01)))
}

/// Median failure time (ms) of an unknown identifier and of a known one with a wrong
/// password, sent one at a time, alternating.
async fn enumeration_timing(server: &Server) -> Result<(f64, f64)> {
    let (mut unknown, mut known) = (Vec::new(), Vec::new());
    for round in 0..ENUMERATION_ROUNDS + 2 {
        for (identifier, password, times) in [
            (UNKNOWN, PASSWORD, &mut unknown),
            (EMAIL, WRONG_PASSWORD, &mut known),
        ] {
            let start = Instant::now();
            let resp = server
                .http
                .post(format!("{}/v1/auth/login", server.base))
                .json(&login_request(identifier, password))
                .send()
                .await?;
            let status = resp.status();
            let body: serde_json::Value = resp.json().await?;
            let elapsed = start.elapsed().as_secs_f64() * 1000.0;
            if status != StatusCode::UNAUTHORIZED || body["code"] != "invalid_credentials" {
                bail!("a wrong sign-in answered {status} {body}");
            }
            if round >= 2 {
                times.push(elapsed); // the first two rounds warm up
            }
        }
    }
    Ok((median(&mut unknown), median(&mut known)))
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

struct Row {
    what: String,
    value: String,
    goal: String,
    met: Option<bool>,
}

impl Row {
    fn new(what: &str, value: String, goal: &str, met: Option<bool>) -> Self {
        Self {
            what: what.to_owned(),
            value,
            goal: goal.to_owned(),
            met,
        }
    }
}

fn print_table(pinned: bool, rows: &[Row]) {
    let placement = if pinned {
        "server pinned to CPU 0, load generator to CPU 1"
    } else {
        "not pinned"
    };
    println!("\n{placement}; {PHASE:?} per phase; latency from the scheduled send time\n");
    println!("| measure | result | goal | met |\n|---|---|---|---|");
    for r in rows {
        let met = match r.met {
            Some(true) => "yes",
            Some(false) => "**no**",
            None => "-",
        };
        println!("| {} | {} | {} | {met} |", r.what, r.value, r.goal);
    }
}
