//! The server under test: the real binary as a child process, its CPU use, and the
//! PostgreSQL database it gets.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use reqwest::Client;

use crate::{CONFIG, EMAIL, PASSWORD};

/// The binary Cargo built for this bench; `LATCHKEY_BENCH_SERVER_BIN` may name another
/// build (to compare a change without rebuilding the bench).
pub(crate) fn server_bin() -> String {
    std::env::var("LATCHKEY_BENCH_SERVER_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_latchkey-server").to_owned())
}

/// The server binary as a child process; killed when dropped.
pub(crate) struct Server {
    child: Child,
    pub(crate) pid: u32,
    pub(crate) base: String,
    pub(crate) http: Client,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Adds the bench user (unless there), then serves on 127.0.0.1:0 (one worker, pinned to CPU 0).
    pub(crate) fn start(database_url: &str, pinned: bool) -> Result<Self> {
        Self::start_with(database_url, pinned, "")
    }

    /// [`Server::start`] with `extra` (TOML tables of its own) after the bench's config.
    pub(crate) fn start_with(database_url: &str, pinned: bool, extra: &str) -> Result<Self> {
        let dir = tempfile::tempdir()?;
        let config = dir.path().join("bench.toml");
        std::fs::write(&config, format!("{CONFIG}\n{extra}"))?;
        let bin = server_bin();
        let command = |pin: bool| {
            let mut c = if pin {
                let mut c = Command::new("taskset");
                c.args(["-c", "0"]).arg(&bin);
                c
            } else {
                Command::new(&bin)
            };
            c.arg("--config").arg(&config);
            c.env("LATCHKEY_DATABASE_URL", database_url)
                .env("LATCHKEY_BIND", "127.0.0.1:0")
                .env("LATCHKEY_WORKER_THREADS", "1")
                .env("LATCHKEY_OUTBOX_DIR", dir.path().join("outbox"));
            c
        };
        let mut add = command(false)
            .args(["user", "add", "--email", EMAIL, "--password-stdin"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .context("cannot run latchkey-server user add")?;
        add.stdin
            .take()
            .context("stdin")?
            .write_all(format!("{PASSWORD}\n").as_bytes())?;
        let added = add.wait_with_output()?;
        // A seeded database used again has the bench account from the run before, with
        // the same password.
        let again = String::from_utf8_lossy(&added.stderr).contains("already exists");
        if !added.status.success() && !again {
            bail!(
                "user add failed: {}",
                String::from_utf8_lossy(&added.stderr)
            );
        }
        // Kept beside the samples when they are kept (`LATCHKEY_BENCH_SAMPLES`), to set
        // the server's own records (`LATCHKEY_LOG`) against the latencies.
        let log_path = std::env::var_os("LATCHKEY_BENCH_SAMPLES")
            .map_or_else(|| dir.path().into(), std::path::PathBuf::from)
            .join("server.log");
        let log = std::fs::File::create(&log_path)?;
        let mut child = command(pinned)
            .arg("serve")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .context("cannot start latchkey-server serve")?;
        let stdout = child.stdout.take().context("stdout")?;
        let pid = child.id();
        let http = Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(10))
            .pool_max_idle_per_host(256)
            .build()?;
        let mut server = Self {
            child,
            pid,
            base: String::new(),
            http,
            _dir: dir,
        };
        let addr = listening_address(stdout).with_context(|| {
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            format!(
                "server log:\n{}",
                log.lines().rev().take(20).collect::<Vec<_>>().join("\n")
            )
        })?;
        server.base = format!("http://{addr}");
        Ok(server)
    }

    /// CPU seconds used so far by the server, all `postgres` processes, this bench
    /// and the whole machine.
    pub(crate) fn cpu(&self) -> Cpu {
        Cpu {
            server: proc_cpu(|pid, _| pid == self.pid),
            pg: proc_cpu(|_, comm| comm == "postgres"),
            me: own_cpu(),
            machine: machine_busy(),
        }
    }
}

/// CPU seconds (or, after `per_second`, cores busy).
#[derive(Clone, Copy, Default)]
pub(crate) struct Cpu {
    pub(crate) server: f64,
    pub(crate) pg: f64,
    pub(crate) me: f64,
    pub(crate) machine: f64,
}

impl Cpu {
    pub(crate) fn per_second(self, earlier: Cpu, elapsed: Duration) -> Cpu {
        let s = elapsed.as_secs_f64();
        Cpu {
            server: (self.server - earlier.server) / s,
            pg: (self.pg - earlier.pg) / s,
            me: (self.me - earlier.me) / s,
            machine: (self.machine - earlier.machine) / s,
        }
    }
    /// Busy cores outside the server, PostgreSQL and this bench: other work on the machine.
    pub(crate) fn others(self) -> f64 {
        (self.machine - self.server - self.pg - self.me).max(0.0)
    }
    pub(crate) fn describe(self) -> String {
        format!("CPU: server {:.0} %, postgres {:.0} %, load generator {:.0} %, other processes {:.0} %",
            self.server * 100.0, self.pg * 100.0, self.me * 100.0, self.others() * 100.0)
    }
}

/// CPU seconds used so far by this process.
pub(crate) fn own_cpu() -> f64 {
    let me = std::process::id();
    proc_cpu(|pid, _| pid == me)
}

/// Busy CPU seconds of the whole machine (all cores), from /proc/stat.
pub(crate) fn machine_busy() -> f64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let ticks: Vec<u64> = stat
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .filter_map(|t| t.parse().ok())
        .collect();
    let total: u64 = ticks.iter().take(8).sum();
    let idle = ticks.get(3).copied().unwrap_or(0) + ticks.get(4).copied().unwrap_or(0);
    total.saturating_sub(idle) as f64 / 100.0
}

/// Waits (at most 60 s) for `latchkey-server listening on http://ADDR`, then keeps
/// draining the child's stdout on the same thread.
fn listening_address(stdout: std::process::ChildStdout) -> Result<String> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(addr) = line.split("listening on http://").nth(1) {
                let _ = tx.send(addr.trim().to_owned());
            }
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(60))
        .map_err(|_| anyhow!("the server did not print its address within 60 s"))?;
    if !addr.starts_with("127.0.0.1:") {
        bail!("the server listens on {addr}, expected 127.0.0.1");
    }
    Ok(addr)
}

/// Sum of user + system CPU seconds of the processes matching `(pid, comm)`.
fn proc_cpu(matches: impl Fn(u32, &str) -> bool) -> f64 {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0.0;
    };
    let ticks: u64 = entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            let (head, rest) = stat.rsplit_once(')')?;
            let comm = head.split_once('(')?.1;
            if !matches(pid, comm) {
                return None;
            }
            let fields: Vec<&str> = rest.split_whitespace().collect();
            Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
        })
        .sum();
    ticks as f64 / 100.0 // USER_HZ is 100 on Linux
}

/// Pins this process to CPU 1 (threads made later inherit it), leaving CPU 0 to the server.
pub(crate) fn pin_self_to_cpu1() -> bool {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let pinned = cpus >= 2
        && Command::new("taskset")
            .args(["-a", "-p", "-c", "1", &std::process::id().to_string()])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
    if !pinned {
        println!(
            "note: not pinned to CPUs (needs 2 CPUs and taskset); server and load share the cores"
        );
    }
    pinned
}

/// A fresh database `lk_bench_<random>` on the server of `admin_url`; its URL and name.
pub(crate) async fn create_database(admin_url: &str) -> Result<(String, String)> {
    let name = format!("lk_bench_{}", latchkey_server::tokens::new_id());
    let admin = latchkey_server::db::connect(admin_url).await?;
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&admin)
        .await?;
    admin.close().await;
    let (head, query) = admin_url
        .split_once('?')
        .map_or((admin_url, None), |(h, q)| (h, Some(q)));
    let (base, _) = head
        .rsplit_once('/')
        .context("the PostgreSQL URL names no database")?;
    // The database is on this machine (loopback): TLS would only add its own CPU on
    // both sides, so the server connects without it unless the URL says otherwise.
    let query = match query {
        Some(q) if q.contains("sslmode=") => q.to_owned(),
        Some(q) => format!("{q}&sslmode=disable"),
        None => "sslmode=disable".to_owned(),
    };
    Ok((format!("{base}/{name}?{query}"), name))
}

pub(crate) async fn drop_database(admin_url: &str, name: &str) {
    let dropped = async {
        let admin = latchkey_server::db::connect(admin_url).await?;
        sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&admin)
            .await?;
        admin.close().await;
        anyhow::Ok(())
    };
    if let Err(e) = dropped.await {
        println!("note: could not drop the bench database {name}: {e}");
    }
}
