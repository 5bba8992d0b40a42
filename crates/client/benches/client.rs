//! Client benchmarks (criterion), with percentiles printed first:
//!
//! - **strength**: the live meter's evaluation for 8, 16, 32, 64 and 128-character
//!   inputs, ordinary and adversarial (long l33t and symbol strings, which cost zxcvbn
//!   the most). Goal: p99 ≤ 16 ms per keystroke.
//! - **offline unlock**: from "sign in" to the offline session, the server refusing the
//!   connection, the vault record read when the identifier was given. Goal: ≤ 1.1 × one
//!   verifier derivation + 10 ms. Uses the real keychain when a Secret Service answers
//!   (run under `scripts/with-keyring.sh`), memory otherwise.
//! - **remembered start**: the morning start of a remembered account, the client's
//!   part: a new `Client` on the same folders and keychain, `start()` until signed in
//!   online (server info, the keychain read, the refresh against a real server on
//!   127.0.0.1 over SQLite, the rotated token written back). The app waits at most
//!   250 ms for this before it opens its window on the loading screen. Each start gets
//!   a new store, as a new process does. With a Secret Service, twice, back to back:
//!   the vault's store (one D-Bus connection per store) and, on Linux, the keyring
//!   crate's own (a connection and an encrypted session per call: what the vault used
//!   before issue 20).
//!
//! `cargo bench -p latchkey-client --bench client`

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use latchkey_client::api::Timeouts;
use latchkey_client::clock::SystemClock;
use latchkey_client::dirs::AppDirs;
use latchkey_client::net::ServerUrl;
use latchkey_client::vault::{KeyringStore, MemoryStore, Record, SecretStore, Vault};
use latchkey_client::{offline, strength, Client, Options, Step};
use latchkey_proto::{OfflinePolicy, PasswordPolicy, Secret, User};

const IDENTIFIER: &str = "zhang.wei@corp.cn";
const PASSWORD: &str = "Plum-orchard-violin-73";

fn inputs() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for n in [8usize, 16, 32, 64, 128] {
        let take = |pattern: &str| pattern.chars().cycle().take(n).collect::<String>();
        out.push((
            format!("passphrase/{n}"),
            take("violet harbor lantern quartz meadow "),
        ));
        out.push((format!("leet/{n}"), take("p@$$w0rd!1337+h4x0r|")));
        out.push((format!("symbols/{n}"), take("4@8([{<3691!|70$5+7%2")));
        out.push((
            format!("chinese_pinyin/{n}"),
            take("woaini1314zhangwei5201314"),
        ));
    }
    out
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// Every keystroke of typing the input evaluates its prefix; this times each prefix
/// length's evaluation many times and reports p50/p99/max of the full input, and the
/// worst p99 over all its prefixes.
fn strength_percentiles() {
    let policy = PasswordPolicy::default();
    println!("\nstrength evaluation (latchkey-policy via latchkey-client), 200 runs each:");
    println!(
        "{:<22} {:>10} {:>10} {:>10}  {:>18}",
        "input", "p50", "p99", "max", "worst prefix p99"
    );
    for (name, pw) in inputs() {
        let mut times = Vec::with_capacity(200);
        for _ in 0..200 {
            let t = Instant::now();
            black_box(strength::evaluate(&policy, &pw, Some(IDENTIFIER), None));
            times.push(t.elapsed());
        }
        times.sort();
        let chars: Vec<char> = pw.chars().collect();
        let mut worst = Duration::ZERO;
        for len in (1..=chars.len()).step_by((chars.len() / 16).max(1)) {
            let prefix: String = chars[..len].iter().collect();
            let mut t = Vec::with_capacity(40);
            for _ in 0..40 {
                let start = Instant::now();
                black_box(strength::evaluate(&policy, &prefix, Some(IDENTIFIER), None));
                t.push(start.elapsed());
            }
            t.sort();
            worst = worst.max(percentile(&t, 0.99));
        }
        println!(
            "{:<22} {:>10} {:>10} {:>10}  {:>18}",
            name,
            ms(percentile(&times, 0.5)),
            ms(percentile(&times, 0.99)),
            ms(*times.last().unwrap()),
            ms(worst)
        );
    }
}

fn bench_strength(c: &mut Criterion) {
    strength_percentiles();
    let policy = PasswordPolicy::default();
    let mut group = c.benchmark_group("strength");
    group
        .sample_size(30)
        .measurement_time(Duration::from_secs(2));
    for (name, pw) in inputs() {
        group.bench_with_input(BenchmarkId::from_parameter(&name), &pw, |b, pw| {
            b.iter(|| strength::evaluate(&policy, pw, Some(IDENTIFIER), None))
        });
    }
    group.finish();
}

/// A client whose server refuses connections and whose vault remembers IDENTIFIER.
struct Unlock {
    client: Client,
    _dir: tempfile::TempDir,
    keychain: bool,
}

/// The Secret Service under the service name `prefix` + this process's id when one
/// answers (true), else memory.
fn bench_store(prefix: &str) -> (Arc<dyn SecretStore>, bool) {
    let keyring = KeyringStore::new(format!("{prefix}{}", std::process::id()));
    match keyring.probe() {
        Ok(()) => (Arc::new(keyring), true),
        Err(_) => (Arc::new(MemoryStore::default()), false),
    }
}

fn unlock_setup(rt: &tokio::runtime::Runtime) -> Unlock {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let server = format!("http://127.0.0.1:{port}");
    let (store, keychain) = bench_store("latchkey-bench-");
    let vault = Vault::new(store.clone());
    let record = Record {
        refresh_token: Some("lkr_bench".into()),
        verifier: Some(offline::make_verifier(&Secret::from(PASSWORD)).unwrap()),
        user: User {
            id: "u1".into(),
            email: Some(IDENTIFIER.into()),
            phone: None,
            username: None,
            name: None,
            organisation: None,
            locale: None,
            mfa_enabled: false,
        },
        last_online_at: latchkey_client::clock::Clock::now(&SystemClock),
        last_seen_at: latchkey_client::clock::Clock::now(&SystemClock),
        offline_failures: 0,
        offline_policy: OfflinePolicy::default(),
        totp_offer_declined: true,
    };
    vault
        .save(&ServerUrl::parse(&server).unwrap(), IDENTIFIER, &record)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut client = Client::new(Options {
        dirs: AppDirs::under(dir.path()),
        store,
        clock: Arc::new(SystemClock),
        timeouts: Timeouts::default(),
        client_version: "1.0.0".into(),
        server_env: Some(server),
        exe_dir: None,
        managed: Default::default(),
    })
    .unwrap();
    rt.block_on(client.start());
    Unlock {
        client,
        _dir: dir,
        keychain,
    }
}

/// Times one offline unlock: the identifier screen (untimed) reads the record, then
/// "sign in" is timed until the offline session is open.
fn one_unlock(rt: &tokio::runtime::Runtime, u: &mut Unlock) -> Duration {
    rt.block_on(async {
        if matches!(u.client.step(), Step::SignedIn { .. }) {
            u.client.sign_out().await.unwrap();
        }
        u.client.identify(IDENTIFIER).await.unwrap();
        let t = Instant::now();
        let step = u
            .client
            .sign_in(Secret::from(PASSWORD), true)
            .await
            .unwrap();
        let took = t.elapsed();
        assert!(
            matches!(step, Step::SignedIn { offline: true, .. }),
            "{step:?}"
        );
        took
    })
}

fn unlock_percentiles(rt: &tokio::runtime::Runtime, u: &mut Unlock) {
    let verifier = offline::make_verifier(&Secret::from(PASSWORD)).unwrap();
    let password = Secret::from(PASSWORD);
    let mut derive = Vec::new();
    for _ in 0..30 {
        let t = Instant::now();
        assert!(offline::check(&verifier, &password).unwrap());
        derive.push(t.elapsed());
    }
    derive.sort();
    let mut unlock = Vec::new();
    for _ in 0..30 {
        unlock.push(one_unlock(rt, u));
    }
    unlock.sort();
    let d50 = percentile(&derive, 0.5);
    let u50 = percentile(&unlock, 0.5);
    let goal = d50.mul_f64(1.1) + Duration::from_millis(10);
    println!(
        "\noffline unlock ({} keychain), 30 runs each:",
        if u.keychain {
            "Secret Service"
        } else {
            "in-memory (no Secret Service)"
        }
    );
    println!(
        "  one verifier derivation (argon2id m=19456 KiB t=2 p=1): p50 {} p99 {}",
        ms(d50),
        ms(percentile(&derive, 0.99))
    );
    println!(
        "  unlock (refused connection + derivation):             p50 {} p99 {}",
        ms(u50),
        ms(percentile(&unlock, 0.99))
    );
    println!(
        "  goal 1.1 x derivation + 10 ms = {} -> {}",
        ms(goal),
        if u50 <= goal { "met" } else { "NOT met" }
    );
}

fn bench_unlock(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut u = unlock_setup(&rt);
    unlock_percentiles(&rt, &mut u);
    let verifier = offline::make_verifier(&Secret::from(PASSWORD)).unwrap();
    let password = Secret::from(PASSWORD);
    let mut group = c.benchmark_group("offline");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(3));
    group.bench_function("verifier_derivation", |b| {
        b.iter(|| offline::check(&verifier, &password).unwrap())
    });
    group.bench_function("unlock", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| one_unlock(&rt, &mut u)).sum())
    });
    group.finish();
    rt.block_on(async {
        let _ = u.client.forget_device().await;
    });
}

struct Remembered {
    /// A store for one start: a new one each time, as in a new process.
    store: Box<dyn Fn() -> Arc<dyn SecretStore>>,
    dir: tempfile::TempDir,
    server: String,
    keychain: bool,
    _srv: latchkey_testkit::TestServer,
}

fn remembered_setup(rt: &tokio::runtime::Runtime) -> Remembered {
    let srv = rt
        .block_on(latchkey_testkit::TestServer::start(
            latchkey_testkit::Backend::Sqlite,
            |c| c.devices.verify_new = false,
        ))
        .expect("a SQLite server");
    rt.block_on(srv.add_user(IDENTIFIER, PASSWORD));
    let (store, keychain) = bench_store("latchkey-bench-start-");
    let service = format!("latchkey-bench-start-{}", std::process::id());
    let store: Box<dyn Fn() -> Arc<dyn SecretStore>> = if keychain {
        Box::new(move || Arc::new(KeyringStore::new(service.clone())))
    } else {
        Box::new(move || store.clone())
    };
    let r = Remembered {
        store,
        dir: tempfile::tempdir().unwrap(),
        server: srv.base(),
        keychain,
        _srv: srv,
    };
    rt.block_on(async {
        let mut client = remembered_client(&r);
        client.start().await;
        client.identify(IDENTIFIER).await.unwrap();
        let step = client.sign_in(Secret::from(PASSWORD), true).await.unwrap();
        assert_eq!(step, Step::TotpOffer, "{step:?}");
        client.skip_totp().unwrap();
    });
    r
}

/// The app's client as a new process makes it: same folders, same keychain.
fn remembered_client(r: &Remembered) -> Client {
    Client::new(Options {
        dirs: AppDirs::under(r.dir.path()),
        store: (r.store)(),
        clock: Arc::new(SystemClock),
        timeouts: Timeouts::default(),
        client_version: "1.0.0".into(),
        server_env: Some(r.server.clone()),
        exe_dir: None,
        managed: Default::default(),
    })
    .unwrap()
}

fn one_remembered_start(rt: &tokio::runtime::Runtime, r: &Remembered) -> Duration {
    rt.block_on(async {
        let t = Instant::now();
        let mut client = remembered_client(r);
        let step = client.start().await;
        let took = t.elapsed();
        assert!(
            matches!(step, Step::SignedIn { offline: false, .. }),
            "{step:?}"
        );
        took
    })
}

fn remembered_percentiles(rt: &tokio::runtime::Runtime, r: &Remembered, what: &str) {
    let mut starts: Vec<Duration> = (0..30).map(|_| one_remembered_start(rt, r)).collect();
    starts.sort();
    println!(
        "remembered start ({what}), 30 starts: p50 {} p99 {} max {} (the window waits up to 250 ms)",
        ms(percentile(&starts, 0.5)),
        ms(percentile(&starts, 0.99)),
        ms(starts[starts.len() - 1]),
    );
}

fn bench_remembered_start(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    // Changed only on Linux, below.
    #[cfg_attr(not(target_os = "linux"), allow(unused_mut))]
    let mut r = remembered_setup(&rt);
    println!();
    if r.keychain {
        remembered_percentiles(&rt, &r, "real keychain, one D-Bus connection per start");
        #[cfg(target_os = "linux")]
        {
            let vault_store = std::mem::replace(
                &mut r.store,
                Box::new(|| {
                    Arc::new(per_call::PerCallStore(format!(
                        "latchkey-bench-start-{}",
                        std::process::id()
                    )))
                }),
            );
            remembered_percentiles(&rt, &r, "real keychain, keyring 3: a connection per call");
            r.store = vault_store;
            remembered_percentiles(
                &rt,
                &r,
                "real keychain, one D-Bus connection per start, again",
            );
        }
    } else {
        remembered_percentiles(&rt, &r, "memory, no keychain");
    }
    let mut group = c.benchmark_group("start");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(3));
    group.bench_function("remembered", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| one_remembered_start(&rt, &r)).sum())
    });
    group.finish();
    rt.block_on(async {
        let mut client = remembered_client(&r);
        client.start().await;
        let _ = client.forget_device().await;
    });
}

/// The vault's keychain store as it was before issue 20: the keyring crate, which
/// opens a D-Bus connection and an encrypted Secret Service session for every call.
#[cfg(target_os = "linux")]
mod per_call {
    use latchkey_client::vault::{SecretStore, StoreError};

    pub struct PerCallStore(pub String);

    fn failed(e: keyring::Error) -> StoreError {
        StoreError::Failed(e.to_string())
    }

    impl SecretStore for PerCallStore {
        fn get(&self, name: &str) -> Result<Option<String>, StoreError> {
            match keyring::Entry::new(&self.0, name)
                .map_err(failed)?
                .get_password()
            {
                Ok(v) => Ok(Some(v)),
                Err(keyring::Error::NoEntry) => Ok(None),
                Err(e) => Err(failed(e)),
            }
        }

        fn set(&self, name: &str, value: &str) -> Result<(), StoreError> {
            keyring::Entry::new(&self.0, name)
                .map_err(failed)?
                .set_password(value)
                .map_err(failed)
        }

        fn delete(&self, name: &str) -> Result<(), StoreError> {
            match keyring::Entry::new(&self.0, name)
                .map_err(failed)?
                .delete_credential()
            {
                Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
                Err(e) => Err(failed(e)),
            }
        }
    }
}

criterion_group!(
    benches,
    bench_strength,
    bench_unlock,
    bench_remembered_start
);
criterion_main!(benches);
