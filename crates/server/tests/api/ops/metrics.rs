//! `/metrics` on its own address, scraped by a real Prometheus (Debian's `prometheus`,
//! started here on loopback with a scrape configuration for the server): after a few
//! sign-ins, a query through Prometheus's HTTP API returns the sign-in counter — the
//! format and the names are Prometheus's own reading, not a string match. The API's
//! port does not serve `/metrics`, and no label carries an address, an e-mail or an id.
//!
//! Needs `prometheus` on the PATH (or `LATCHKEY_TEST_PROMETHEUS`); skipped with a note
//! without it, unless `LATCHKEY_TEST_REQUIRE_PROMETHEUS` is set (scripts/test.sh).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use latchkey_testkit::api::{OTHER_PASSWORD, PASSWORD};
use latchkey_testkit::{on_both, Backend};
use serde_json::{json, Value};

use super::super::multi_process::spawn_server_with;
use super::{add_user, free_port, on_path, write_config};

on_both!(prometheus_reads_the_sign_in_counter);

/// The alerting rules of `docs/operations.md`, loaded into the test's Prometheus.
const ALERTS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../deploy/prometheus-alerts.yml"
);

/// Prometheus, killed when dropped.
struct Prometheus {
    child: Child,
    base: String,
    log: PathBuf,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            eprintln!("--- prometheus ---\n{log}");
        }
    }
}

fn prometheus_binary() -> Option<PathBuf> {
    let found = std::env::var_os("LATCHKEY_TEST_PROMETHEUS")
        .map(PathBuf::from)
        .or_else(|| on_path("prometheus"));
    if found.is_none() {
        assert!(
            std::env::var_os("LATCHKEY_TEST_REQUIRE_PROMETHEUS").is_none(),
            "LATCHKEY_TEST_REQUIRE_PROMETHEUS is set but prometheus is not installed \
             (Debian package prometheus)"
        );
        eprintln!("skipping: prometheus is not installed (Debian package prometheus)");
    }
    found
}

/// Starts Prometheus on loopback, scraping `target` every second.
async fn start_prometheus(bin: PathBuf, dir: &std::path::Path, target: &str) -> Prometheus {
    let config = dir.join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
             rule_files: ['{alerts}']\n\
             scrape_configs:\n  - job_name: latchkey\n    static_configs:\n      \
             - targets: ['{target}']\n",
            alerts = ALERTS,
        ),
    )
    .expect("prometheus.yml");
    let port = free_port();
    let log = dir.join("prometheus.log");
    let child = Command::new(bin)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("tsdb").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).expect("log"))
        .spawn()
        .expect("start prometheus");
    let prometheus = Prometheus {
        child,
        base: format!("http://127.0.0.1:{port}"),
        log,
    };
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let ready = http
            .get(format!("{}/-/ready", prometheus.base))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        if ready {
            return prometheus;
        }
        assert!(Instant::now() < deadline, "prometheus did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The value of an instant query's single sample, once it equals `want`.
async fn wait_for_value(prometheus: &Prometheus, query: &str, want: f64) -> Value {
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let answer: Value = http
            .get(format!("{}/api/v1/query", prometheus.base))
            .query(&[("query", query)])
            .send()
            .await
            .expect("query")
            .json()
            .await
            .expect("json");
        assert_eq!(answer["status"], "success", "{answer}");
        let value = answer["data"]["result"][0]["value"][1]
            .as_str()
            .and_then(|v| v.parse::<f64>().ok());
        if value == Some(want) {
            return answer;
        }
        assert!(
            Instant::now() < deadline,
            "{query}: wanted {want}, Prometheus has {answer}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn prometheus_reads_the_sign_in_counter(backend: Backend) {
    let Some(bin) = prometheus_binary() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let Some(database) = latchkey_testkit::database(backend, &dir).await else {
        return;
    };
    let url = database.url.clone();
    let config = write_config(dir.path(), "[devices]\nverify_new = false\n");
    let email = "metrics@corp.example";
    add_user(&url, &config, email).await;
    let metrics_addr = format!("127.0.0.1:{}", free_port());
    let (u, c, d, m) = (
        url.clone(),
        config.clone(),
        dir.path().to_owned(),
        metrics_addr.clone(),
    );
    let server = tokio::task::spawn_blocking(move || {
        spawn_server_with("metrics", &u, &c, &d, &[("LATCHKEY_METRICS_BIND", &m)])
    })
    .await
    .expect("start");

    let http = reqwest::Client::new();
    // Not on the API's port.
    let resp = http
        .get(format!("{}/metrics", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);

    let login = |password: &'static str| {
        http.post(format!("{}/v1/auth/login", server.base))
            .json(&json!({
                "identifier": email,
                "password": password,
                "device": {"id": "metrics-device-1", "name": "test", "platform": "linux"},
            }))
            .send()
    };
    let mut user_id = String::new();
    for _ in 0..3 {
        let resp = login(PASSWORD).await.unwrap();
        assert_eq!(resp.status(), 200);
        let body: Value = resp.json().await.unwrap();
        user_id = body["session"]["user"]["id"].as_str().unwrap().to_owned();
    }
    assert_eq!(login(OTHER_PASSWORD).await.unwrap().status(), 401);

    // The text itself: the names, and no label with anything personal.
    let text = http
        .get(format!("http://{metrics_addr}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for needle in [
        "latchkey_sign_ins_total{outcome=\"ok\"} 3",
        "latchkey_sign_ins_total{outcome=\"wrong_password\"} 1",
        "latchkey_http_request_duration_seconds_bucket{method=\"POST\",route=\"/v1/auth/login\"",
        "latchkey_hash_queue_wait_seconds_count",
        "latchkey_db_connections{state=\"idle\"}",
        "latchkey_messages_waiting 0",
        "latchkey_ready 1",
        "# HELP latchkey_sign_ins_total",
    ] {
        assert!(text.contains(needle), "{needle} missing from:\n{text}");
    }
    for secret in [
        email,
        user_id.as_str(),
        "metrics-device-1",
        "127.0.0.1",
        PASSWORD,
    ] {
        assert!(!text.contains(secret), "{secret} in the metrics:\n{text}");
    }

    let prometheus = start_prometheus(bin, dir.path(), &metrics_addr).await;
    wait_for_value(&prometheus, "up{job=\"latchkey\"}", 1.0).await;
    let answer = wait_for_value(
        &prometheus,
        "latchkey_sign_ins_total{job=\"latchkey\",outcome=\"ok\"}",
        3.0,
    )
    .await;
    assert_eq!(
        answer["data"]["result"][0]["metric"]["__name__"],
        "latchkey_sign_ins_total"
    );
    // A histogram Prometheus can compute with, by route template.
    wait_for_value(
        &prometheus,
        "sum(latchkey_http_request_duration_seconds_count{route=\"/v1/auth/login\"})",
        4.0,
    )
    .await;
    // Every alerting rule loaded and evaluates (none in error: names and labels exist
    // as the rules spell them), and with a healthy server none fires.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let rules: Value = http
            .get(format!("{}/api/v1/rules", prometheus.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let all: Vec<&Value> = rules["data"]["groups"]
            .as_array()
            .expect("groups")
            .iter()
            .flat_map(|g| g["rules"].as_array().expect("rules"))
            .collect();
        assert!(all.len() >= 10, "{rules}");
        for rule in &all {
            assert_ne!(rule["health"], "err", "{rule}");
        }
        if all.iter().all(|r| r["health"] == "ok") {
            for rule in &all {
                assert_ne!(rule["state"], "firing", "{rule}");
            }
            break;
        }
        assert!(Instant::now() < deadline, "rules not evaluated: {rules}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    drop(prometheus);
    drop(server);
    drop(database);
}
