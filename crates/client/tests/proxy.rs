//! The client through a real forward proxy on loopback: Debian's tinyproxy
//! (`tinyproxy-bin`, scripts/setup.sh), started by the test with a configuration of its
//! own and its log read back to show what went through it.
//!
//! - Linux: `HTTP_PROXY` / `HTTPS_PROXY` / `NO_PROXY`, upper and lower case. A sign-in
//!   goes through the proxy (its log holds the requests), `NO_PROXY` sends it direct
//!   (the log does not grow), and a proxy that refuses — an access rule, or nothing
//!   listening on its port — is diagnosed as the proxy (`proxy_error`), not as the
//!   server (`connection_refused`).
//! - Windows, under Wine (scripts/windows-tests.sh): no variable set; the proxy comes
//!   from the Wine prefix's registry (Internet Settings `ProxyEnable`, `ProxyServer`,
//!   `ProxyOverride = <-loopback>`), the Linux tinyproxy the script started.
//!
//! Its own test binary, one test function per OS: the proxy variables are the process's
//! environment, which reqwest reads when a client is built, so nothing else may run
//! beside them.

// Test code may panic: a failed expectation is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "client/common.rs"]
#[allow(dead_code)]
mod common;

#[cfg(unix)]
mod linux {
    use std::path::PathBuf;
    use std::process::{Child, Command, Stdio};
    use std::time::Duration;

    use latchkey_client::api::{Api, Timeouts};
    use latchkey_client::net::ServerUrl;
    use latchkey_client::{proxy, ClientError, Code};
    use latchkey_testkit::{Backend, TestServer};

    use super::common::*;

    /// A tinyproxy of the test's own on 127.0.0.1, in the foreground.
    struct Tinyproxy {
        child: Child,
        port: u16,
        log: PathBuf,
        _dir: tempfile::TempDir,
    }

    impl Tinyproxy {
        /// `allow`: the one client address it serves (another than 127.0.0.1 makes
        /// it refuse us).
        async fn start(allow: &str) -> Self {
            let dir = tempfile::tempdir().unwrap();
            let port = free_port();
            let log = dir.path().join("tinyproxy.log");
            let conf = dir.path().join("tinyproxy.conf");
            std::fs::write(
                &conf,
                format!(
                    "Port {port}\nListen 127.0.0.1\nTimeout 30\nMaxClients 50\n\
                     LogFile \"{}\"\nLogLevel Info\nAllow {allow}\n",
                    log.display()
                ),
            )
            .unwrap();
            let child = Command::new("tinyproxy")
                .arg("-d")
                .arg("-c")
                .arg(&conf)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("tinyproxy is missing: run scripts/setup.sh (package tinyproxy-bin)");
            // Held from here, so that a failure below still stops it (Drop).
            let proxy = Self {
                child,
                port,
                log,
                _dir: dir,
            };
            // Ready when it accepts connections.
            for _ in 0..200 {
                if tokio::net::TcpStream::connect(("127.0.0.1", port))
                    .await
                    .is_ok()
                {
                    return proxy;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            panic!("tinyproxy did not start on port {port}");
        }

        fn url(&self) -> String {
            format!("http://127.0.0.1:{}", self.port)
        }

        /// The requests it logged ("Request (file descriptor N): GET http://… HTTP/1.1").
        fn requests(&self) -> Vec<String> {
            std::fs::read_to_string(&self.log)
                .unwrap_or_default()
                .lines()
                .filter(|l| l.contains("Request (file descriptor"))
                .map(str::to_owned)
                .collect()
        }
    }

    impl Drop for Tinyproxy {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    fn free_port() -> u16 {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    }

    const VARS: [&str; 8] = [
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
        "NO_PROXY",
        "no_proxy",
    ];

    /// Exactly these proxy variables, no other.
    fn proxy_env(set: &[(&str, &str)]) {
        for v in VARS {
            std::env::remove_var(v);
        }
        for (k, v) in set {
            std::env::set_var(k, v);
        }
    }

    fn short() -> Timeouts {
        Timeouts {
            connect: Duration::from_secs(5),
            request: Duration::from_secs(20),
        }
    }

    async fn meta(url: &str) -> Result<(), ClientError> {
        Api::new(ServerUrl::parse(url).unwrap(), "1.0.0", short())
            .unwrap()
            .meta()
            .await
            .map(|_| ())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sign_in_through_a_real_proxy_and_its_refusals() {
        let open = Tinyproxy::start("127.0.0.1").await;
        for backend in [Backend::Sqlite, Backend::Postgres] {
            let Some(srv) = TestServer::start(backend, |_| {}).await else {
                continue;
            };
            let base = srv.base();
            let server = ServerUrl::parse(&base).unwrap();
            let to_server = format!("http://127.0.0.1:{}/v1/", srv.addr.port());
            let seen = |p: &Tinyproxy| {
                p.requests()
                    .iter()
                    .filter(|l| l.contains(&to_server))
                    .count()
            };
            let email = "proxy@corp.cn".to_owned();
            srv.add_user(&email, PASSWORD).await;

            // No variable: a server on this computer goes direct.
            proxy_env(&[]);
            assert_eq!(proxy::proxy_for(&server), None);

            // HTTP_PROXY, with NO_PROXY naming something else: the whole sign-in goes
            // through the proxy, which logs each request.
            proxy_env(&[("HTTP_PROXY", &open.url()), ("NO_PROXY", "direct.invalid")]);
            assert_eq!(proxy::proxy_for(&server), Some(open.url()));
            let before = seen(&open);
            let mut app = App::new(&base, store());
            signed_in(&mut app, &srv, &email, PASSWORD, false).await;
            let through: Vec<String> = open
                .requests()
                .into_iter()
                .filter(|l| l.contains(&to_server))
                .skip(before)
                .collect();
            assert!(
                through
                    .iter()
                    .any(|l| l.contains("POST") && l.contains("/v1/auth/login")),
                "the proxy did not see the sign-in: {through:#?}"
            );
            assert!(through
                .iter()
                .any(|l| l.contains("GET") && l.contains("/v1/meta")));

            // Lower case, as Linux tools write them.
            proxy_env(&[("http_proxy", &open.url()), ("no_proxy", "direct.invalid")]);
            let before = seen(&open);
            meta(&base).await.unwrap();
            assert_eq!(seen(&open), before + 1);

            // NO_PROXY naming the server: direct, the proxy sees nothing.
            for no in ["NO_PROXY", "no_proxy"] {
                proxy_env(&[("HTTP_PROXY", &open.url()), (no, "127.0.0.1")]);
                assert_eq!(proxy::proxy_for(&server), None);
                let before = seen(&open);
                let mut app = App::new(&base, store());
                signed_in(&mut app, &srv, &email, PASSWORD, false).await;
                assert_eq!(seen(&open), before, "{no} did not bypass the proxy");
            }

            // A proxy whose rules refuse us: the proxy's diagnosis, not the server's.
            let refusing = Tinyproxy::start("10.9.8.7").await;
            proxy_env(&[
                ("HTTP_PROXY", &refusing.url()),
                ("NO_PROXY", "direct.invalid"),
            ]);
            let e = meta(&base).await.unwrap_err();
            assert!(matches!(e, ClientError::Proxy { .. }), "{e:?}");
            assert_eq!(e.code(), Code::ProxyError);
            drop(refusing);

            // A proxy that is not there (its port closed): the proxy again; the same
            // closed port as the server itself is "the server refused".
            let closed = format!("http://127.0.0.1:{}", free_port());
            proxy_env(&[("HTTP_PROXY", &closed), ("NO_PROXY", "direct.invalid")]);
            let e = meta(&base).await.unwrap_err();
            assert_eq!(e.code(), Code::ProxyError, "{e:?}");
            proxy_env(&[]);
            let e = meta(&closed).await.unwrap_err();
            assert_eq!(e.code(), Code::ConnectionRefused, "{e:?}");
        }

        // HTTPS through HTTPS_PROXY is a CONNECT tunnel: the proxy logs it, and a
        // tunnel it cannot open is the proxy's failure.
        proxy_env(&[("HTTPS_PROXY", &open.url())]);
        let e = meta("https://latchkey.corp.invalid").await.unwrap_err();
        assert_eq!(e.code(), Code::ProxyError, "{e:?}");
        assert!(
            open.requests()
                .iter()
                .any(|l| l.contains("CONNECT latchkey.corp.invalid:443")),
            "{:#?}",
            open.requests()
        );
        proxy_env(&[]);
    }
}

/// Under Wine: the Windows system proxy, from the registry the script wrote, to the
/// Linux tinyproxy whose log it names. Skipped on a Windows without the script.
#[cfg(windows)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_through_the_windows_system_proxy() {
    use latchkey_client::net::ServerUrl;
    use latchkey_client::proxy;
    use latchkey_testkit::{Backend, TestServer};

    use common::*;

    let Some(log) = std::env::var_os("LATCHKEY_TEST_SYSTEM_PROXY_LOG") else {
        eprintln!("LATCHKEY_TEST_SYSTEM_PROXY_LOG is not set: run scripts/windows-tests.sh");
        return;
    };
    for v in ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"] {
        assert!(
            std::env::var_os(v).is_none(),
            "{v} is set: the registry is under test"
        );
    }
    let srv = TestServer::start(Backend::Sqlite, |_| {}).await.unwrap();
    let base = srv.base();
    let to_server = format!("http://127.0.0.1:{}/v1/auth/login", srv.addr.port());
    assert!(
        proxy::proxy_for(&ServerUrl::parse(&base).unwrap()).is_some(),
        "no system proxy found in the registry"
    );
    srv.add_user("wine-proxy@corp.cn", PASSWORD).await;
    let mut app = App::new(&base, store());
    signed_in(&mut app, &srv, "wine-proxy@corp.cn", PASSWORD, false).await;
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.lines()
            .any(|l| l.contains("Request (file descriptor") && l.contains(&to_server)),
        "the Linux proxy did not see the sign-in:\n{text}"
    );
}
