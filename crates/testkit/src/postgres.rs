//! A PostgreSQL server of one test's own, in a temporary folder on a free port, that the
//! test may stop, restart or kill without touching the shared cluster other tests (and
//! other people) use. Made with the installed server's `initdb` and `postgres`
//! (Debian's `/usr/lib/postgresql/<version>/bin`, or `LATCHKEY_TEST_POSTGRES_BIN`).
//! `initdb` refuses to run as root, so as root (CI, this machine) both run as the
//! `postgres` user through `setpriv`, which the Debian package creates.
//!
//! Runs where the PostgreSQL tests run: when `LATCHKEY_TEST_POSTGRES_URL` or
//! `LATCHKEY_TEST_REQUIRE_POSTGRES` is set; with the latter, a missing server is a
//! failure, not a skip.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A private PostgreSQL server, stopped (and its folder removed) when dropped.
pub struct PrivatePostgres {
    bin: PathBuf,
    /// Holds `data/`, the socket and the log; owned by `postgres` when run as root.
    dir: tempfile::TempDir,
    port: u16,
    as_postgres: bool,
    child: Option<Child>,
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        // Immediate shutdown: nothing of it is kept.
        self.signal("QUIT");
        if let Some(mut child) = self.child.take() {
            let _ = child.wait();
        }
    }
}

impl PrivatePostgres {
    /// Makes and starts a server, or `None` (with a note) where the PostgreSQL tests
    /// are skipped.
    pub fn start() -> Option<Self> {
        let required = std::env::var_os("LATCHKEY_TEST_REQUIRE_POSTGRES").is_some();
        if !required && std::env::var_os("LATCHKEY_TEST_POSTGRES_URL").is_none() {
            eprintln!("skipping the private PostgreSQL: LATCHKEY_TEST_POSTGRES_URL is not set");
            return None;
        }
        let Some(bin) = bin_dir() else {
            assert!(
                !required,
                "LATCHKEY_TEST_REQUIRE_POSTGRES is set but no PostgreSQL server binaries \
                 were found (set LATCHKEY_TEST_POSTGRES_BIN)"
            );
            eprintln!("skipping the private PostgreSQL: no initdb/postgres found");
            return None;
        };
        let dir = tempfile::Builder::new()
            .prefix("latchkey-pg-")
            .tempdir()
            .expect("tempdir");
        let as_postgres = is_root();
        if as_postgres {
            let status = Command::new("chown")
                .arg("postgres:postgres")
                .arg(dir.path())
                .status()
                .expect("chown");
            assert!(status.success(), "chown postgres {}", dir.path().display());
        }
        let mut pg = Self {
            bin,
            dir,
            port: free_port(),
            as_postgres,
            child: None,
        };
        let out = pg
            .command("initdb")
            .arg("-D")
            .arg(pg.data())
            .args(["-U", "latchkey", "--auth=trust", "-E", "UTF8", "--no-sync"])
            .output()
            .expect("run initdb");
        assert!(
            out.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        pg.run();
        Some(pg)
    }

    /// `postgres://latchkey@127.0.0.1:PORT/postgres` (trust authentication on loopback).
    pub fn url(&self) -> String {
        format!("postgres://latchkey@127.0.0.1:{}/postgres", self.port)
    }

    /// Restarts the server as an operator would (`pg_ctl restart -m fast`: the running
    /// transactions are rolled back, the sessions ended, a checkpoint written), waiting
    /// until it accepts connections again. Returns how long it did not.
    pub fn restart(&mut self) -> Duration {
        let down = Instant::now();
        self.stop();
        self.run();
        down.elapsed()
    }

    /// Stops the server (fast shutdown, as [`PrivatePostgres::restart`]) until
    /// [`PrivatePostgres::resume`].
    pub fn stop(&mut self) {
        self.signal("INT");
        if let Some(mut child) = self.child.take() {
            let _ = child.wait();
        }
    }

    /// Starts the stopped server again on the same port and data, and waits until it
    /// accepts connections.
    pub fn resume(&mut self) {
        if self.child.is_none() {
            self.run();
        }
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Starts `postgres` and waits until it accepts connections.
    fn run(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("postgres.log"))
            .expect("log file");
        let child = self
            .command("postgres")
            .arg("-D")
            .arg(self.data())
            .args(["-p", &self.port.to_string()])
            .args(["-c", "listen_addresses=127.0.0.1"])
            .arg("-c")
            .arg(format!(
                "unix_socket_directories={}",
                self.dir.path().display()
            ))
            // A test server: its data is thrown away, a crash of the machine need not
            // be survived.
            .args(["-c", "fsync=off", "-c", "max_connections=60"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start postgres");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let ready = self
                .command("pg_isready")
                .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-q"])
                .status()
                .is_ok_and(|s| s.success());
            if ready {
                return;
            }
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!("postgres exited ({status}): {}", self.log());
            }
            assert!(
                Instant::now() < deadline,
                "postgres did not start: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("postgres.log")).unwrap_or_default()
    }

    /// A command of the server's own binaries, as `postgres` when run as root.
    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        if self.as_postgres {
            let mut cmd = Command::new("setpriv");
            cmd.args([
                "--reuid=postgres",
                "--regid=postgres",
                "--clear-groups",
                "--",
            ])
            .arg(path)
            // The child must not try to enter root's home folder.
            .current_dir(self.dir.path());
            cmd
        } else {
            Command::new(path)
        }
    }

    fn signal(&self, signal: &str) {
        if let Some(child) = &self.child {
            let _ = Command::new("kill")
                .arg(format!("-{signal}"))
                .arg(child.id().to_string())
                .status();
        }
    }
}

/// `LATCHKEY_TEST_POSTGRES_BIN`, else the newest `/usr/lib/postgresql/*/bin` with an
/// `initdb`.
fn bin_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("LATCHKEY_TEST_POSTGRES_BIN") {
        return Some(PathBuf::from(dir));
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}
