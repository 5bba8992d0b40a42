//! Start-up time, idle memory and binary size of the desktop app, each beside a bare
//! Tauri window loading a static page (`tools/bare-window`), measured the same way in
//! the same run. Not a test: it prints figures (see docs/benchmarks.md).
//!
//! Both programs are measured as shipped, built with the `desktop` profile:
//!
//! ```sh
//! cargo build --locked --profile desktop -p latchkey
//! cargo build --locked --profile desktop -p latchkey-bare-window   # by itself: its own features
//! scripts/with-keyring.sh xvfb-run -a -s "-screen 0 1280x800x24" \
//!   cargo run --locked --release -p latchkey-startup-bench
//! ```
//!
//! `LATCHKEY_BENCH_APP` and `LATCHKEY_BENCH_BARE` name other binaries to compare,
//! `LATCHKEY_BENCH_RUNS` and `LATCHKEY_BENCH_IDLE_SECS` change the defaults below.
//!
//! - **start**: from spawning the process to the first screen painted — the app's UI
//!   calls `ui_ready` after the sign-in form's first frame (the app is pointed at a real
//!   server on 127.0.0.1 through `LATCHKEY_SERVER`, so that screen is the sign-in form);
//!   the bare page calls `ready` the same way. Each prints a line on stdout, then a
//!   `phases` line with the page's start-up marks, whose medians are printed too.
//! - **start to signed-in**: the morning start of a remembered account (issue 20). The
//!   bench signs in once with "remember me", through the client core and the same
//!   keychain items the app uses, then launches the app again and again, each time in a
//!   fresh home directory but with the keychain kept: the app signs in with the
//!   refresh token by itself and reports `ready account` after the account page's
//!   first frame. Beside the same bare window.
//! - **idle memory**: 5 s after that, the PSS (`/proc/PID/smaps_rollup`) summed over the
//!   process and all its descendants (WebKit's web and network processes).
//! - **size**: the binaries' sizes on disk.
//!
//! Each launch gets a fresh home directory. The two programs alternate, after one
//! unmeasured warm-up launch each; figures are medians over `LATCHKEY_BENCH_RUNS`
//! (default 7) launches. Run it inside a D-Bus session without a desktop portal (as
//! `scripts/with-keyring.sh` gives): that is where WebKitGTK apps are known to stall
//! for 25 s at start, so the start figure also shows whether they do.

// A benchmark program: a failed expectation stops it with a message.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
#[cfg(unix)]
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use latchkey_client::vault::{KeyringStore, SERVICE};
use latchkey_client::{Client, Options, Step};
use latchkey_testkit::{Backend, TestServer};

const IDENTIFIER: &str = "morning@corp.cn";
const PASSWORD: &str = "Plum-orchard-violin-73";

/// How long a launch idles before its memory is read (`LATCHKEY_BENCH_IDLE_SECS`).
fn idle() -> Duration {
    let secs = std::env::var("LATCHKEY_BENCH_IDLE_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    Duration::from_secs(secs)
}
const READY_TIMEOUT: Duration = Duration::from_secs(90);

struct Launch {
    start: Duration,
    pss_kib: u64,
    processes: usize,
    /// The page's start-up marks (`phases name=ms …`), in ms since the process started.
    phases: Vec<(String, f64)>,
}

fn main() {
    if std::env::var_os("DISPLAY").is_none() {
        eprintln!("startup bench: no DISPLAY; run it under xvfb-run (see the file's docs)");
        std::process::exit(2);
    }
    let app = binary("LATCHKEY_BENCH_APP", "latchkey", "latchkey");
    let bare = binary("LATCHKEY_BENCH_BARE", "bare-window", "latchkey-bare-window");
    println!("app: {}", app.display());
    println!("bare window: {}", bare.display());
    let runs: usize = std::env::var("LATCHKEY_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(7);

    let rt = tokio::runtime::Runtime::new().expect("runtime");
    // New devices sign in without a mailed code, so that the bench can remember one.
    let server = rt
        .block_on(TestServer::start(Backend::Sqlite, |c| {
            c.devices.verify_new = false
        }))
        .expect("a SQLite server");
    let url = server.base();

    println!("desktop portal running: {}", portal_running());
    println!(
        "runs: {runs} each, after one warm-up; idle {} s",
        idle().as_secs()
    );
    let _ = launch(&app, &url, "sign_in");
    let _ = launch(&bare, &url, "");
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        a.push(launch(&app, &url, "sign_in"));
        b.push(launch(&bare, &url, ""));
    }
    // The same, with the account remembered: the app opens on the account page.
    rt.block_on(remember(&server));
    let _ = launch(&app, &url, "account");
    let mut r = Vec::new();
    for _ in 0..runs {
        r.push(launch(&app, &url, "account"));
        b.push(launch(&bare, &url, ""));
    }
    rt.block_on(forget(&server));

    println!();
    println!("| measure | Latchkey | bare window | ratio / difference | goal |");
    println!("|---|---|---|---|---|");
    let (sa, sb) = (
        median(a.iter().map(|l| l.start.as_secs_f64() * 1000.0)),
        median(b.iter().map(|l| l.start.as_secs_f64() * 1000.0)),
    );
    println!(
        "| start to first screen (median ms; min–max) | {sa:.0} ({:.0}–{:.0}) | {sb:.0} ({:.0}–{:.0}) | {:.2}× | ≤ 1.25× |",
        min(a.iter().map(|l| l.start.as_secs_f64() * 1000.0)),
        max(a.iter().map(|l| l.start.as_secs_f64() * 1000.0)),
        min(b.iter().map(|l| l.start.as_secs_f64() * 1000.0)),
        max(b.iter().map(|l| l.start.as_secs_f64() * 1000.0)),
        sa / sb
    );
    let sr = median(r.iter().map(|l| l.start.as_secs_f64() * 1000.0));
    println!(
        "| start to signed-in, remembered account (median ms; min–max) | {sr:.0} ({:.0}–{:.0}) | {sb:.0} | {:.2}× | none |",
        min(r.iter().map(|l| l.start.as_secs_f64() * 1000.0)),
        max(r.iter().map(|l| l.start.as_secs_f64() * 1000.0)),
        sr / sb
    );
    let (ma, mb) = (
        median(a.iter().map(|l| mib(l.pss_kib))),
        median(b.iter().map(|l| mib(l.pss_kib))),
    );
    println!(
        "| idle PSS, all processes (median MiB) | {ma:.1} ({} proc.) | {mb:.1} ({} proc.) | +{:.1} MiB | ≤ +30 MiB |",
        a[0].processes,
        b[0].processes,
        ma - mb
    );
    let (za, zb) = (size_mb(&app), size_mb(&bare));
    println!(
        "| binary, as shipped (MB) | {za:.1} | {zb:.1} | +{:.1} MB | ≤ 15 MB |",
        za - zb
    );
    println!();
    for (name, launches) in [
        ("latchkey", &a),
        ("latchkey, remembered", &r),
        ("bare-window", &b),
    ] {
        let starts: Vec<String> = launches
            .iter()
            .map(|l| format!("{:.0}", l.start.as_secs_f64() * 1000.0))
            .collect();
        let pss: Vec<String> = launches
            .iter()
            .map(|l| format!("{:.1}", mib(l.pss_kib)))
            .collect();
        println!(
            "{name}: start ms [{}], PSS MiB [{}]",
            starts.join(", "),
            pss.join(", ")
        );
    }
    println!();
    println!("start-up marks, median ms since the process started (the page reports them):");
    println!("  latchkey: {}", median_phases(&a));
    println!("  latchkey, remembered: {}", median_phases(&r));
    println!("  bare-window: {}", median_phases(&b));
    drop(server);
}

/// The binary named by `var`, else `name` as built with the `desktop` profile (beside
/// this program's own target folder: `target/release/startup-bench` →
/// `target/desktop/<name>`).
fn binary(var: &str, name: &str, package: &str) -> PathBuf {
    let path = std::env::var_os(var).map(PathBuf::from).unwrap_or_else(|| {
        let exe = std::env::current_exe().expect("own path");
        let target = exe.parent().and_then(Path::parent).expect("target folder");
        target.join("desktop").join(name)
    });
    assert!(
        path.is_file(),
        "{} is missing: cargo build --locked --profile desktop -p {package}",
        path.display()
    );
    path
}

/// The app's client as the app makes it, in `dir`, on the app's own keychain items.
fn client(server: &TestServer, dir: &Path) -> Client {
    let mut options = Options::platform().expect("the platform's folders");
    options.dirs = latchkey_client::dirs::AppDirs::under(dir);
    options.store = std::sync::Arc::new(KeyringStore::new(SERVICE));
    options.server_env = Some(server.base());
    options.exe_dir = None;
    Client::new(options).expect("a client")
}

/// Signs in once with "remember me", as the app would: the account is then in the
/// keychain (which the launches share, through the D-Bus session), signed in by its
/// refresh token at every launch.
async fn remember(server: &TestServer) {
    server.add_user(IDENTIFIER, PASSWORD).await;
    let dir = tempfile::tempdir().expect("folder");
    let mut c = client(server, dir.path());
    c.start().await;
    c.identify(IDENTIFIER).await.expect("identify");
    let step = c
        .sign_in(latchkey_proto::Secret::from(PASSWORD), true)
        .await
        .expect("sign-in");
    let step = if step == Step::TotpOffer {
        c.skip_totp().expect("not now")
    } else {
        step
    };
    assert!(
        matches!(
            step,
            Step::SignedIn {
                remembered: true,
                ..
            }
        ),
        "remembered: {step:?} (is a Secret Service running? scripts/with-keyring.sh)"
    );
}

/// Removes what [`remember`] and the launches left in the keychain.
async fn forget(server: &TestServer) {
    let dir = tempfile::tempdir().expect("folder");
    let mut c = client(server, dir.path());
    c.start().await;
    let _ = c.forget_device().await;
}

/// Starts `program`, times it to its `ready` line (the app's: `ready <screen>`), lets it
/// idle, measures its memory and stops it with everything it started.
fn launch(program: &Path, server: &str, screen: &str) -> Launch {
    let home = tempfile::tempdir().expect("home");
    let h = home.path();
    let started = Instant::now();
    let mut command = Command::new(program);
    // Its own process group, so that `stop` ends WebKit's processes too. The figures
    // come from /proc (Linux); elsewhere this program only builds.
    #[cfg(unix)]
    command.process_group(0);
    let mut child = command
        .env("HOME", h)
        .env("XDG_CONFIG_HOME", h.join(".config"))
        .env("XDG_DATA_HOME", h.join(".local/share"))
        .env("XDG_CACHE_HOME", h.join(".cache"))
        .env("XDG_STATE_HOME", h.join(".local/state"))
        .env("LATCHKEY_SERVER", server)
        .env("LATCHKEY_REPORT_READY", "1")
        .env("WEBKIT_DISABLE_COMPOSITING_MODE", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.starts_with("ready") || line.starts_with("phases ") {
                let _ = tx.send((Instant::now(), line));
            }
        }
    });
    let (at, line) = match rx.recv_timeout(READY_TIMEOUT) {
        Ok(r) => r,
        Err(_) => {
            stop(&mut child);
            panic!(
                "{} did not report ready in {READY_TIMEOUT:?}",
                program.display()
            );
        }
    };
    if program.ends_with("latchkey") {
        assert_eq!(line, format!("ready {screen}"), "the app's first screen");
    }
    // Printed right after `ready`.
    let phases = match rx.recv_timeout(Duration::from_secs(2)) {
        Ok((_, line)) => parse_phases(&line),
        Err(_) => Vec::new(),
    };
    std::thread::sleep(idle());
    let tree = descendants(child.id());
    let pss_kib = tree.iter().map(|&pid| pss(pid)).sum();
    let processes = tree.len();
    stop(&mut child);
    Launch {
        start: at - started,
        pss_kib,
        processes,
        phases,
    }
}

/// `phases navigation=412 script=450 …` → `[("navigation", 412.0), …]`.
fn parse_phases(line: &str) -> Vec<(String, f64)> {
    line.trim_start_matches("phases ")
        .split_whitespace()
        .filter_map(|p| p.split_once('='))
        .filter_map(|(name, ms)| Some((name.to_owned(), ms.parse().ok()?)))
        .collect()
}

/// The median time of each start-up mark over `launches`, in the order of the first.
fn median_phases(launches: &[Launch]) -> String {
    let Some(first) = launches.first() else {
        return String::new();
    };
    first
        .phases
        .iter()
        .map(|(name, _)| {
            let at = median(
                launches
                    .iter()
                    .filter_map(|l| l.phases.iter().find(|(n, _)| n == name).map(|(_, ms)| *ms)),
            );
            format!("{name} {at:.0}")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn stop(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{}", child.id())])
        .stderr(Stdio::null())
        .status();
    let _ = child.kill();
    let _ = child.wait();
}

/// `pid` and every process below it.
fn descendants(pid: u32) -> Vec<u32> {
    let mut parent_of = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Ok(p) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{p}/stat")) else {
            continue;
        };
        // pid (comm) state ppid …: comm may hold spaces, so split after the last ')'.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u32>().ok());
        if let Some(ppid) = ppid {
            parent_of.push((p, ppid));
        }
    }
    let mut tree = vec![pid];
    let mut i = 0;
    while i < tree.len() {
        let parent = tree[i];
        tree.extend(
            parent_of
                .iter()
                .filter(|(_, pp)| *pp == parent)
                .map(|(p, _)| *p),
        );
        i += 1;
    }
    tree
}

/// The proportional set size of `pid`, in KiB (0 if it is gone).
fn pss(pid: u32) -> u64 {
    let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")) else {
        return 0;
    };
    text.lines()
        .find_map(|l| l.strip_prefix("Pss:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn portal_running() -> bool {
    descendants(1).iter().any(|&p| {
        std::fs::read_to_string(format!("/proc/{p}/comm"))
            .is_ok_and(|c| c.trim().starts_with("xdg-desktop-por"))
    })
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn size_mb(path: &Path) -> f64 {
    std::fs::metadata(path).expect("binary").len() as f64 / 1_000_000.0
}

fn median(values: impl Iterator<Item = f64>) -> f64 {
    let mut v: Vec<f64> = values.collect();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn min(values: impl Iterator<Item = f64>) -> f64 {
    values.fold(f64::INFINITY, f64::min)
}

fn max(values: impl Iterator<Item = f64>) -> f64 {
    values.fold(0.0, f64::max)
}
