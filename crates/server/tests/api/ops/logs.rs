//! `LATCHKEY_LOG_FORMAT=json` on a real server process, through a whole sign-in
//! journey (password check, a wrong password, the new-device code from the outbox,
//! the profile, a refresh, the activity, sign-out): every line of the log is one JSON
//! object with a time, a level and a target; every request's `X-Request-Id` names the
//! lines written while it was answered (one id for one request, with its route, status
//! and latency), and the activity records the ids too; no line has the password, the
//! code or a token in it — even at `debug`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use latchkey_testkit::api::{OTHER_PASSWORD, PASSWORD};
use latchkey_testkit::smtp::six_digits;
use latchkey_testkit::{on_both, Backend};
use serde_json::{json, Value};

use super::super::multi_process::spawn_server_with;
use super::{add_user, signal, write_config};

on_both!(a_sign_in_journey_logs_json_lines_with_request_ids_and_no_secret);

/// One request of the journey: what it was, its id, and its status.
struct Sent {
    route: &'static str,
    id: String,
    status: u16,
}

struct Journey {
    http: reqwest::Client,
    base: String,
    sent: Vec<Sent>,
}

impl Journey {
    async fn call(
        &mut self,
        method: reqwest::Method,
        route: &'static str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self.http.request(method, format!("{}{route}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("send");
        let status = resp.status().as_u16();
        let id = resp.headers()["x-request-id"]
            .to_str()
            .expect("ascii")
            .to_owned();
        let body = resp.json().await.unwrap_or(Value::Null);
        self.sent.push(Sent { route, id, status });
        (status, body)
    }
}

/// The new-device code the server wrote to the outbox.
async fn code_from_outbox(dir: &std::path::Path) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(entries) = std::fs::read_dir(dir) {
            for entry in entries.flatten() {
                let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
                let body = text.split_once("\n\n").map_or("", |(_, b)| b);
                if let Some(code) = six_digits(body) {
                    return code;
                }
            }
        }
        assert!(Instant::now() < deadline, "no device code in the outbox");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Whether `text` has `digits` as a run of digits of its own (not inside a longer
/// number such as a timestamp's nanoseconds).
fn has_digit_run(text: &str, digits: &str) -> bool {
    text.split(|c: char| !c.is_ascii_digit())
        .any(|run| run == digits)
}

async fn a_sign_in_journey_logs_json_lines_with_request_ids_and_no_secret(backend: Backend) {
    let dir = tempfile::tempdir().expect("tempdir");
    let Some(database) = latchkey_testkit::database(backend, &dir).await else {
        return;
    };
    let url = database.url.clone();
    let config = write_config(dir.path(), "");
    let email = "logs@corp.example";
    add_user(&url, &config, email).await;
    let (u, c, d) = (url.clone(), config.clone(), dir.path().to_owned());
    let server = tokio::task::spawn_blocking(move || {
        spawn_server_with(
            "json-logs",
            &u,
            &c,
            &d,
            &[("LATCHKEY_LOG_FORMAT", "json"), ("LATCHKEY_LOG", "debug")],
        )
    })
    .await
    .expect("start");
    let mut j = Journey {
        http: reqwest::Client::new(),
        base: server.base.clone(),
        sent: Vec::new(),
    };
    let device = json!({"id": "json-log-device", "name": "Laptop", "platform": "linux"});
    use reqwest::Method;

    let (status, _) = j
        .call(
            Method::POST,
            "/v1/password/check",
            None,
            Some(json!({"identifier": email, "password": PASSWORD})),
        )
        .await;
    assert_eq!(status, 200);
    let login =
        |password: &str| json!({"identifier": email, "password": password, "device": device});
    let (status, _) = j
        .call(
            Method::POST,
            "/v1/auth/login",
            None,
            Some(login(OTHER_PASSWORD)),
        )
        .await;
    assert_eq!(status, 401);
    let (status, body) = j
        .call(Method::POST, "/v1/auth/login", None, Some(login(PASSWORD)))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "device_verification_required", "{body}");
    let challenge = body["challenge_token"]
        .as_str()
        .expect("challenge")
        .to_owned();
    let code = code_from_outbox(&dir.path().join("outbox")).await;
    let (status, session) = j
        .call(
            Method::POST,
            "/v1/auth/device/verify",
            None,
            Some(json!({"challenge_token": challenge, "code": code})),
        )
        .await;
    assert_eq!(status, 200, "{session}");
    let access = session["access_token"].as_str().expect("access").to_owned();
    let refresh = session["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_owned();
    let (status, _) = j.call(Method::GET, "/v1/me", Some(&access), None).await;
    assert_eq!(status, 200);
    let (status, rotated) = j
        .call(
            Method::POST,
            "/v1/auth/refresh",
            None,
            Some(json!({"refresh_token": refresh})),
        )
        .await;
    assert_eq!(status, 200, "{rotated}");
    let access2 = rotated["access_token"].as_str().expect("access").to_owned();
    let refresh2 = rotated["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_owned();
    let (status, activity) = j
        .call(Method::GET, "/v1/me/activity", Some(&access2), None)
        .await;
    assert_eq!(status, 200);
    let (status, _) = j
        .call(
            Method::POST,
            "/v1/auth/logout",
            Some(&access2),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, 204);

    // The activity names the requests that wrote it.
    let ids: Vec<&str> = j.sent.iter().map(|s| s.id.as_str()).collect();
    let recorded: Vec<&str> = activity["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| e["request_id"].as_str().expect("request_id"))
        .collect();
    assert!(recorded.len() >= 3, "{activity}");
    for id in &recorded {
        assert!(ids.contains(id), "{id} is no request of the journey");
    }
    let unique: std::collections::BTreeSet<&str> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "one id per request: {ids:?}");

    // Stop the process, so that everything it wrote is in the file.
    signal(server.child.id(), "TERM");
    let (log, server) = tokio::task::spawn_blocking(move || {
        let mut server = server;
        let _ = server.child.wait();
        (server.log_text(), server)
    })
    .await
    .expect("wait");

    let mut by_request: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    let mut lines = 0;
    for line in log.lines() {
        lines += 1;
        let v: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
        for field in ["timestamp", "level", "target"] {
            assert!(v[field].is_string(), "no {field}: {line}");
        }
        // A background task's lines (the dispatcher's) have spans of their own.
        if let Some(span) = v.get("span").filter(|s| s["name"] == "request") {
            let id = span["request_id"].as_str().unwrap_or_default();
            assert!(
                !id.is_empty() && id != "-",
                "a request's line without its id: {line}"
            );
            by_request.entry(id.to_owned()).or_default().push(v.clone());
        }
        for secret in [
            PASSWORD,
            OTHER_PASSWORD,
            &challenge,
            &access,
            &refresh,
            &access2,
            &refresh2,
        ] {
            assert!(!line.contains(secret), "a secret in the log: {line}");
        }
        assert!(
            !has_digit_run(line, &code),
            "the device code in the log: {line}"
        );
    }
    assert!(lines > 10, "{log}");
    for sent in &j.sent {
        let lines = by_request
            .get(&sent.id)
            .unwrap_or_else(|| panic!("no log line of {} ({})", sent.route, sent.id));
        for l in lines {
            assert_eq!(l["span"]["route"], sent.route, "{l}");
        }
        let answered = lines
            .iter()
            .find(|l| l["fields"]["message"] == "answered")
            .unwrap_or_else(|| panic!("no `answered` line for {}", sent.route));
        assert_eq!(answered["fields"]["status"], sent.status, "{answered}");
        assert!(answered["fields"]["latency_ms"].is_u64(), "{answered}");
        assert_eq!(answered["level"], "INFO");
    }
    // The sign-in's own lines carry the id too (not only the access line).
    let signed_in = j
        .sent
        .iter()
        .find(|s| s.route == "/v1/auth/device/verify")
        .expect("verify");
    assert!(
        by_request[&signed_in.id].len() > 1,
        "{:?}",
        by_request[&signed_in.id]
    );
    drop(server);
    drop(database);
}
