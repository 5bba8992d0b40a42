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
//! sign-ins, enumeration timing), `sqlite` and `postgres` (refresh rotations),
//! `refresh` for both of the latter, `oidc` (the OpenID Connect token endpoint: ID
//! tokens signed per second alone, then authorization codes exchanged per second, on
//! SQLite and, when a URL is set, PostgreSQL; see [`oidc_rows`]), or `reset` (the
//! password reset's start for a known and an unknown identifier, on both databases;
//! `load/reset.rs`).
//!
//! `load/server.rs` runs the server and reads CPU use; `load/drive.rs` is the load.

#[path = "load/drive.rs"]
mod drive;
#[path = "load/reset.rs"]
mod reset;
#[path = "load/server.rs"]
mod server;

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use latchkey_proto::Secret;
use latchkey_server::oidc::clients::{self, NewClient};
use latchkey_server::oidc::grants::{self, AuthRequest, Grant};
use latchkey_server::oidc::keys::Alg;
use latchkey_server::oidc::sso::Sso;
use latchkey_server::oidc::{claims, Amr};
use latchkey_server::{tokens, users, AppState};
use reqwest::StatusCode;
use sha2::{Digest, Sha256};

use drive::{
    closed_loop, interleaved_medians, login_request, open_loop, raw_hash_rate_and_cpu,
    sign_in_many, Op, Throughput,
};
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
    oidc: bool,
    reset: bool,
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
                oidc: true,
                reset: true,
            });
        };
        let mut parts = Self {
            signin: false,
            sqlite: false,
            postgres: false,
            oidc: false,
            reset: false,
        };
        for part in only.split(',').map(str::trim) {
            match part {
                "signin" => parts.signin = true,
                "sqlite" => parts.sqlite = true,
                "postgres" => parts.postgres = true,
                "refresh" => (parts.sqlite, parts.postgres) = (true, true),
                "oidc" => parts.oidc = true,
                "reset" => parts.reset = true,
                other => bail!(
                    "LATCHKEY_BENCH_ONLY: unknown part {other:?} (signin, sqlite, postgres, refresh, oidc, reset)"
                ),
            }
        }
        Ok(parts)
    }
}

fn main() -> Result<()> {
    let parts = Parts::from_env()?;
    if parts.oidc {
        // The servers this run starts inherit these (before any thread exists): they
        // are OpenID Connect providers, and the provider keeps its signing keys sealed
        // with LATCHKEY_SECRET_KEY. The /v1 paths the other parts measure do not use them.
        std::env::set_var("LATCHKEY_SECRET_KEY", OIDC_SECRET_KEY);
        std::env::set_var("LATCHKEY_OIDC__ISSUER", OIDC_ISSUER);
    }
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
    let mut signing = None;
    if parts.oidc {
        let dir = tempfile::tempdir()?;
        let url = format!("sqlite://{}", dir.path().join("oidc.db").display());
        oidc_rows(&url, "SQLite", pinned, &mut signing, rows).await?;
    }
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
    if parts.reset {
        let dir = tempfile::tempdir()?;
        let url = format!("sqlite://{}", dir.path().join("reset.db").display());
        reset::rows(&url, "SQLite", pinned, rows).await?;
    }
    if !parts.postgres && !parts.oidc && !parts.reset {
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
            "PostgreSQL parts",
            "skipped (no URL)".into(),
            "-",
            None,
        ));
        return Ok(());
    };
    if parts.oidc {
        let (url, name) = create_database(&admin_url).await?;
        let result = oidc_rows(&url, "PostgreSQL", pinned, &mut signing, rows).await;
        drop_database(&admin_url, &name).await;
        result?;
    }
    if parts.reset {
        let (url, name) = create_database(&admin_url).await?;
        let result = reset::rows(&url, "PostgreSQL", pinned, rows).await;
        drop_database(&admin_url, &name).await;
        result?;
    }
    if !parts.postgres {
        return Ok(());
    }
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
    lat.save("signin-70")?;
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
    lat.save(&format!("refresh-{backend}"))?;
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

/// Median failure time (ms) of an unknown identifier and of a known one with a wrong
/// password.
async fn enumeration_timing(server: &Server) -> Result<(f64, f64)> {
    interleaved_medians(ENUMERATION_ROUNDS, |unknown| async move {
        let (identifier, password) = if unknown {
            (UNKNOWN, PASSWORD)
        } else {
            (EMAIL, WRONG_PASSWORD)
        };
        let resp = server
            .http
            .post(format!("{}/v1/auth/login", server.base))
            .json(&login_request(identifier, password))
            .send()
            .await?;
        let status = resp.status();
        let body: serde_json::Value = resp.json().await?;
        if status != StatusCode::UNAUTHORIZED || body["code"] != "invalid_credentials" {
            bail!("a wrong sign-in answered {status} {body}");
        }
        Ok(())
    })
    .await
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

// ---------------------------------------------------------------- OpenID Connect

/// The key the bench's providers seal their signing keys with (a bench value).
const OIDC_SECRET_KEY: &str = "6c61746368206b65792062656e636820f00dfeedc0ffee0123456789abcdef01";
/// The providers' issuer: only the `iss` of the ID tokens here.
const OIDC_ISSUER: &str = "http://127.0.0.1";
const OIDC_REDIRECT: &str = "https://app.bench.example/callback";
/// RFC 7636's example verifier: every code is minted with its S256 challenge.
const OIDC_VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
/// What a typical web application asks for (no `offline_access`: no refresh token).
const OIDC_SCOPE: [&str; 3] = ["openid", "profile", "email"];
const OIDC_CONCURRENCY: usize = 16;
/// Codes minted for the pilot run that sizes the measured one.
const OIDC_PILOT_CODES: usize = 400;
/// Codes minted for a measured phase: at least this many, and at most that many
/// (they live 60 s).
const OIDC_MIN_CODES: usize = 2_000;
const OIDC_MAX_CODES: usize = 40_000;
const SIGN_PHASE: Duration = Duration::from_secs(3);

/// ID tokens signed per CPU-second on one thread, alone.
struct SignRate {
    /// As the server signs: `Signer::sign` (claims serialised, then jsonwebtoken 9,
    /// which parses the DER key again for every signature).
    server_path: f64,
    /// The same signing input with a key pair parsed once (ring), for comparison.
    parsed_once: f64,
}

/// `LATCHKEY_BENCH_ONLY=oidc`, on one backend: a real server (one worker, CPU 0) whose
/// database this process also opens. ID-token signing is timed alone here, once (CPU
/// only, the same on both backends). Then, for a client of each algorithm, codes are
/// minted straight into the database with [`grants::issue_code`] (as the sign-in pages
/// would after a sign-in), and 16 clients exchange them at `POST /oidc/token`
/// (`client_secret_basic`, PKCE S256, scope `openid profile email`): a pilot of 400
/// codes sizes the measured phase (5 s, or until its codes run out; run again with
/// more codes if they ran out before 4 s).
async fn oidc_rows(
    url: &str,
    backend: &str,
    pinned: bool,
    signing: &mut Option<Vec<(Alg, SignRate)>>,
    rows: &mut Vec<Row>,
) -> Result<()> {
    let server = Server::start(url, pinned)?;
    println!(
        "OpenID Connect provider on {backend} at {} (pid {})",
        server.base, server.pid
    );
    let mut config = latchkey_server::Config {
        database_url: url.to_owned(),
        ..latchkey_server::Config::default()
    };
    config.delivery.secret_key = Some(OIDC_SECRET_KEY.into());
    config.oidc.issuer = OIDC_ISSUER.into();
    let app = AppState::open(config).await?;
    let user_id: String = sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
        .bind(EMAIL)
        .fetch_one(&app.db)
        .await?;
    let user = users::by_id(&app.db, &user_id)
        .await?
        .context("the bench user")?;
    if signing.is_none() {
        let rates = signing_rates(&app, &user).await?;
        for (alg, r) in &rates {
            let what = match alg {
                Alg::Rs256 => "RS256 (RSA 2048)",
                Alg::EdDsa => "EdDSA (Ed25519)",
            };
            println!(
                "{what} ID tokens signed alone, 1 thread: {:.0} per CPU-second as the server \
                 signs, {:.0} with the key parsed once",
                r.server_path, r.parsed_once
            );
            rows.push(Row::new(
                &format!("ID tokens signed/s per core, {what}, alone"),
                format!(
                    "{:.0}/s = {:.0} µs each as the server signs (key parsed per token); \
                     {:.0}/s = {:.0} µs with the key parsed once",
                    r.server_path,
                    1e6 / r.server_path,
                    r.parsed_once,
                    1e6 / r.parsed_once
                ),
                "-",
                None,
            ));
        }
        *signing = Some(rates);
    }
    for alg in Alg::ALL {
        let id = format!("bench-{}", alg.name().to_ascii_lowercase());
        let secret = clients::add(
            &app.db,
            &NewClient {
                id: id.clone(),
                name: format!("Bench {}", alg.name()),
                redirect_uris: vec![OIDC_REDIRECT.into()],
                first_party: true,
                id_token_alg: Some(alg),
                ..NewClient::default()
            },
            app.now(),
        )
        .await?
        .context("a confidential client has a secret")?;
        let client = (id, secret.expose().to_owned());
        let pilot = exchange_phase(&server, &app, &user_id, &client, OIDC_PILOT_CODES).await?;
        let mut n = ((pilot.rate() * PHASE.as_secs_f64() * 1.5) as usize)
            .clamp(OIDC_MIN_CODES, OIDC_MAX_CODES);
        let mut t = exchange_phase(&server, &app, &user_id, &client, n).await?;
        // The pilot runs cold: when the codes ran out well before the end of the phase,
        // run again with enough for the rate just seen.
        for _ in 0..2 {
            if t.elapsed >= PHASE.mul_f64(0.8) || n >= OIDC_MAX_CODES {
                break;
            }
            n = ((t.rate() * PHASE.as_secs_f64() * 1.5) as usize).clamp(n, OIDC_MAX_CODES);
            t = exchange_phase(&server, &app, &user_id, &client, n).await?;
        }
        println!(
            "code exchange, {backend}, {}, closed loop c={OIDC_CONCURRENCY}: {}",
            alg.name(),
            t.describe()
        );
        let per_core = t.rate() / t.cpu.server.max(0.01);
        let cpu_each = t.cpu.server * 1e6 / t.rate().max(0.01);
        let sign_each = signing
            .iter()
            .flatten()
            .find(|(a, _)| *a == alg)
            .map_or(f64::NAN, |(_, r)| 1e6 / r.server_path);
        let mut pg_note = String::new();
        if t.cpu.pg > 0.01 {
            pg_note = format!(
                "; PostgreSQL used {:.0} % CPU = {:.2} ms per exchange",
                t.cpu.pg * 100.0,
                t.cpu.pg * 1000.0 / t.rate().max(0.01)
            );
        }
        rows.push(Row::new(
            &format!(
                "codes exchanged/s per server core, {}, 1 worker, {backend}, c={OIDC_CONCURRENCY}",
                alg.name()
            ),
            format!(
                "{per_core:.0}/s ({cpu_each:.0} µs of server CPU per exchange, of which signing \
                 ≈ {sign_each:.0} µs = {:.0} %){}",
                sign_each / cpu_each * 100.0,
                t.error_note()
            ),
            "-",
            None,
        ));
        rows.push(Row::new(
            &format!("codes exchanged/s, whole box, {}, {backend}", alg.name()),
            format!(
                "{:.0}/s ({} codes in {:.1?}){}{pg_note}",
                t.rate(),
                t.ok,
                t.elapsed,
                t.cpu_note()
            ),
            "-",
            None,
        ));
    }
    app.db.close().await;
    Ok(())
}

/// Signs the ID token the bench user would get, on this thread, for each algorithm.
async fn signing_rates(app: &AppState, user: &users::UserRow) -> Result<Vec<(Alg, SignRate)>> {
    let keys = app.oidc_keys.get(app).await?;
    let now = app.now();
    let grant = Grant {
        id: tokens::new_id(),
        client_id: "bench-client".into(),
        user_id: user.id.clone(),
        scope: OIDC_SCOPE.map(str::to_owned).to_vec(),
        nonce: Some("a-nonce-of-the-application".into()),
        auth_time: now,
        amr: Amr::password(),
        sso_token: None,
    };
    let (access, _) = tokens::new_token(grants::ACCESS_PREFIX);
    let mut out = Vec::new();
    for alg in Alg::ALL {
        let signer_keys = keys.clone();
        let claims = claims::id_token(
            OIDC_ISSUER,
            user,
            &grant,
            alg,
            access.expose(),
            now,
            600,
            true,
        );
        let rate = tokio::task::spawn_blocking(move || -> Result<SignRate> {
            let signer = signer_keys.signer(alg).context("no signer")?;
            let jwt = signer.sign(&claims)?;
            let input = jwt.rsplit_once('.').context("a JWT")?.0.to_owned();
            let server_path =
                per_cpu_second(|| signer.sign(&claims).map(drop).map_err(Into::into))?;
            let parsed_once = match alg {
                Alg::Rs256 => {
                    use rsa::pkcs1::EncodeRsaPrivateKey;
                    let key = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048)?;
                    let der = key.to_pkcs1_der()?;
                    let pair = ring::signature::RsaKeyPair::from_der(der.as_bytes())
                        .map_err(|e| anyhow!("{e}"))?;
                    let rng = ring::rand::SystemRandom::new();
                    let mut sig = vec![0; pair.public().modulus_len()];
                    per_cpu_second(|| {
                        pair.sign(
                            &ring::signature::RSA_PKCS1_SHA256,
                            &rng,
                            input.as_bytes(),
                            &mut sig,
                        )
                        .map_err(|e| anyhow!("{e}"))
                    })?
                }
                Alg::EdDsa => {
                    let rng = ring::rand::SystemRandom::new();
                    let pkcs8 = ring::signature::Ed25519KeyPair::generate_pkcs8(&rng)
                        .map_err(|e| anyhow!("{e}"))?;
                    let pair = ring::signature::Ed25519KeyPair::from_pkcs8(pkcs8.as_ref())
                        .map_err(|e| anyhow!("{e}"))?;
                    per_cpu_second(|| {
                        pair.sign(input.as_bytes());
                        Ok(())
                    })?
                }
            };
            Ok(SignRate {
                server_path,
                parsed_once,
            })
        })
        .await??;
        out.push((alg, rate));
    }
    Ok(out)
}

/// Runs `f` for [`SIGN_PHASE`] on this thread: calls per CPU-second of this process
/// (its other threads are idle meanwhile).
fn per_cpu_second(mut f: impl FnMut() -> Result<()>) -> Result<f64> {
    for _ in 0..20 {
        f()?; // warm-up
    }
    let (cpu0, start) = (own_cpu(), Instant::now());
    let mut count = 0u64;
    while start.elapsed() < SIGN_PHASE {
        f()?;
        count += 1;
    }
    Ok(count as f64 / (own_cpu() - cpu0).max(0.01))
}

/// Mints `n` codes for `client` (8 tasks), then exchanges them with
/// [`OIDC_CONCURRENCY`] clients for [`PHASE`] or until they run out.
async fn exchange_phase(
    server: &Server,
    app: &AppState,
    user_id: &str,
    client: &(String, String),
    n: usize,
) -> Result<Throughput> {
    let minted = Instant::now();
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(OIDC_VERIFIER.as_bytes()));
    let req = AuthRequest {
        client_id: client.0.clone(),
        redirect_uri: OIDC_REDIRECT.into(),
        scope: OIDC_SCOPE.map(str::to_owned).to_vec(),
        nonce: Some("a-nonce-of-the-application".into()),
        code_challenge: Some(challenge),
        ..AuthRequest::default()
    };
    let sso = Sso {
        token_hash: tokens::new_id(),
        session_id: tokens::new_id(),
        user_id: user_id.to_owned(),
        auth_time: app.now(),
        amr: Amr::password(),
    };
    let minters: Vec<_> = (0..8)
        .map(|i| {
            let (app, req, sso) = (app.clone(), req.clone(), sso.clone());
            let count = n / 8 + usize::from(i < n % 8);
            tokio::spawn(async move {
                let mut codes = Vec::with_capacity(count);
                for _ in 0..count {
                    let code =
                        grants::issue_code(&app.db, &app.config().oidc, &req, &sso, app.now())
                            .await?;
                    codes.push(code.expose().to_owned());
                }
                anyhow::Ok(codes)
            })
        })
        .collect();
    let mut codes = Vec::with_capacity(n);
    for m in minters {
        codes.extend(m.await??);
    }
    let mint_time = minted.elapsed();
    println!(
        "  minted {n} codes for {} in {mint_time:.1?} ({:.0}/s)",
        client.0,
        n as f64 / mint_time.as_secs_f64()
    );
    if mint_time > Duration::from_secs(40) {
        bail!("minting took {mint_time:?}: the first codes would expire during the phase");
    }
    let codes = Arc::new(Mutex::new(codes));
    let cpu0 = server.cpu();
    let start = Instant::now();
    let deadline = start + PHASE;
    let tasks: Vec<_> = (0..OIDC_CONCURRENCY)
        .map(|_| {
            let (http, base, codes) = (server.http.clone(), server.base.clone(), codes.clone());
            let (id, secret) = client.clone();
            tokio::spawn(async move {
                let (mut ok, mut errors, mut first) = (0u64, 0u64, None);
                while Instant::now() < deadline {
                    let Some(code) = codes.lock().unwrap_or_else(PoisonError::into_inner).pop()
                    else {
                        break;
                    };
                    match exchange(&http, &base, &id, &secret, &code).await {
                        Ok(()) => ok += 1,
                        Err(e) => {
                            errors += 1;
                            first.get_or_insert(e.to_string());
                        }
                    }
                }
                (ok, errors, first)
            })
        })
        .collect();
    let mut t = Throughput {
        ok: 0,
        errors: 0,
        first_error: None,
        elapsed: Duration::ZERO,
        cpu: Default::default(),
    };
    for task in tasks {
        let (ok, errors, first) = task.await?;
        t.ok += ok;
        t.errors += errors;
        t.first_error = t.first_error.or(first);
    }
    t.elapsed = start.elapsed();
    t.cpu = server.cpu().per_second(cpu0, t.elapsed);
    let left = codes.lock().unwrap_or_else(PoisonError::into_inner).len();
    if left == 0 && t.elapsed < PHASE {
        println!("  the codes ran out after {:.1?}", t.elapsed);
    }
    Ok(t)
}

/// One `authorization_code` exchange; checks that an ID token came back.
async fn exchange(
    http: &reqwest::Client,
    base: &str,
    id: &str,
    secret: &str,
    code: &str,
) -> Result<()> {
    let resp = http
        .post(format!("{base}/oidc/token"))
        .basic_auth(id, Some(secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", OIDC_REDIRECT),
            ("code_verifier", OIDC_VERIFIER),
        ])
        .send()
        .await?;
    let status = resp.status();
    let body: serde_json::Value = resp.json().await?;
    if status != StatusCode::OK || !body["id_token"].is_string() {
        bail!("the token endpoint answered {status} {body}");
    }
    Ok(())
}
