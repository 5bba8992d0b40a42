//! Releases for in-app updates (issue 17): `release add|list|remove` run as the real
//! binary, and what the update route (`GET /v1/client/update/{target}/{arch}/{version}`,
//! the Tauri updater's dynamic-server format) then answers a client; a required release
//! raises the minimum client version; bad input is refused by both.

use latchkey_proto::CLIENT_VERSION_HEADER;
use latchkey_testkit::api::{assert_error, PASSWORD};
use latchkey_testkit::{on_both, Backend, TestServer};
use reqwest::StatusCode;
use serde_json::{json, Value};

use super::{add_user, cli, login_with_version, Run};

on_both!(
    releases_are_published_offered_and_withdrawn,
    a_required_release_raises_the_minimum_version,
    a_burst_of_required_releases_ends_at_the_highest,
    bad_releases_and_bad_requests_are_refused
);

/// A real signature file, as `tauri signer sign` writes it (base64 of minisign's text),
/// made with the test-only key of `tests/updates/` over a small file.
const SIG: &str = "dW50cnVzdGVkIGNvbW1lbnQ6IHNpZ25hdHVyZSBmcm9tIHRhdXJpIHNlY3JldCBrZXkKUlVSWU1DelY1bWd2b2NLQTdhMWxpc1hyRmR2VWtRUW9MaGQwbDlxNElmdWo0QjBMRmhJR3BSSk5KQy9vRGpZVkxVTG55WGY2NVZKYXF3SitIc0hXQU1tc3RNOCttQ3c4OHdrPQp0cnVzdGVkIGNvbW1lbnQ6IHRpbWVzdGFtcDoxNzk2NTUxNzcwCWZpbGU6YXJ0LmJpbgpyd3o2cWhYb044KzZmZ2lrT2xUVVBMbFIwZE1ObHQ2T0w2VUE5MmlxQkI2N3g5eHBobzYzQVlNUnVUTzdrdkhucTd4ZzYrbzFJclp1Qm5PMVcweFJBdz09Cg==";

/// Writes `content` as a signature file in the server's folder; returns its path.
fn sig_file(srv: &TestServer, name: &str, content: &str) -> String {
    let path = srv.dir.path().join(name);
    std::fs::write(&path, content).unwrap();
    path.to_string_lossy().into_owned()
}

async fn add(srv: &TestServer, version: &str, target: &str, extra: &[&str]) -> Run {
    // A file of its own: adds run at once (the burst below), and rewriting one shared
    // file let a process read it while another truncated it.
    let sig = sig_file(srv, &format!("{version}-{target}.sig"), SIG);
    let url = format!("https://dl.corp.cn/latchkey_{version}_{target}");
    let mut args = vec![
        "release",
        "add",
        "--version",
        version,
        "--target",
        target,
        "--url",
        &url,
        "--signature-file",
        &sig,
    ];
    args.extend_from_slice(extra);
    cli(srv, &args, None).await
}

async fn remove(srv: &TestServer, version: &str, target: &str) -> Run {
    let args = [
        "release",
        "remove",
        "--version",
        version,
        "--target",
        target,
    ];
    cli(srv, &args, None).await
}

/// What the update route answers, sent as an outdated client would send it.
async fn offered(srv: &TestServer, path: &str) -> (StatusCode, Value) {
    let resp = srv
        .http
        .get(srv.url(&format!("/v1/client/update/{path}")))
        .header(CLIENT_VERSION_HEADER, "0.0.1")
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let text = resp.text().await.unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap()
    };
    (status, body)
}

async fn offered_version(srv: &TestServer, path: &str) -> Option<String> {
    let (status, body) = offered(srv, path).await;
    match status {
        StatusCode::NO_CONTENT => None,
        StatusCode::OK => Some(body["version"].as_str().unwrap().to_owned()),
        other => panic!("{path}: {other} {body}"),
    }
}

async fn releases_are_published_offered_and_withdrawn(b: Backend) {
    let Some(srv) = TestServer::bare(b).await else {
        return;
    };
    assert_eq!(offered_version(&srv, "windows/x86_64/1.0.0").await, None);

    add(
        &srv,
        "1.2.0",
        "windows-x86_64",
        &["--notes", "修复登录问题 / sign-in fix"],
    )
    .await
    .ok()
    .stdout_has("published 1.2.0 for windows-x86_64");
    add(&srv, "1.1.0", "windows-x86_64", &[]).await.ok();
    add(&srv, "1.2.5", "linux-x86_64", &[]).await.ok();
    add(&srv, "1.3.0", "Linux-x86_64-AppImage", &[]).await.ok();

    // The manifest, in the updater's format.
    let (status, m) = offered(&srv, "windows/x86_64/1.0.0").await;
    assert_eq!(status, StatusCode::OK, "{m}");
    assert_eq!(m["version"], "1.2.0");
    assert_eq!(m["notes"], "修复登录问题 / sign-in fix");
    assert_eq!(m["url"], "https://dl.corp.cn/latchkey_1.2.0_windows-x86_64");
    assert_eq!(m["signature"], SIG);
    assert_eq!(m["required"], false);
    let date = m["pub_date"].as_str().unwrap();
    time::OffsetDateTime::parse(date, &time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| panic!("pub_date {date:?} is not RFC 3339"));

    // Only newer releases, the newest first, never a downgrade.
    assert_eq!(
        offered_version(&srv, "windows/x86_64/1.1.5")
            .await
            .as_deref(),
        Some("1.2.0")
    );
    assert_eq!(offered_version(&srv, "windows/x86_64/1.2.0").await, None);
    assert_eq!(offered_version(&srv, "windows/x86_64/9.0.0").await, None);
    assert_eq!(offered_version(&srv, "windows/aarch64/1.0.0").await, None);
    assert_eq!(offered_version(&srv, "darwin/aarch64/1.0.0").await, None);
    // A pre-release is older than its release; build metadata comes %2B-encoded.
    assert_eq!(
        offered_version(&srv, "windows/x86_64/1.2.0-rc.1")
            .await
            .as_deref(),
        Some("1.2.0")
    );
    assert_eq!(
        offered_version(&srv, "windows/x86_64/1.2.0%2Bb7").await,
        None
    );

    // The installer's own releases win over the os/arch ones; others fall back to them.
    let linux = "linux/x86_64/1.0.0";
    for (query, want) in [
        ("?bundle_type=appimage", "1.3.0"),
        ("?bundle_type=deb", "1.2.5"),
        ("?bundle_type=unknown", "1.2.5"),
        ("", "1.2.5"),
    ] {
        let got = offered_version(&srv, &format!("{linux}{query}")).await;
        assert_eq!(got.as_deref(), Some(want), "{query}");
    }
    assert_eq!(
        offered_version(&srv, "linux/x86_64/1.3.0?bundle_type=appimage").await,
        None
    );

    // minisign's own .minisig text is accepted too, and served as the updater reads it.
    let text = String::from_utf8(
        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, SIG).unwrap(),
    )
    .unwrap();
    let minisig = sig_file(&srv, "artifact.minisig", &text);
    cli(
        &srv,
        &[
            "release",
            "add",
            "--version",
            "1.1.0",
            "--target",
            "darwin-aarch64",
            "--url",
            "http://127.0.0.1:9/latchkey.app.tar.gz",
            "--signature-file",
            &minisig,
        ],
        None,
    )
    .await
    .ok();
    let (_, m) = offered(&srv, "darwin/aarch64/1.0.0").await;
    assert_eq!(m["signature"], SIG, "{m}");

    // Listed newest first within each target.
    let list = cli(&srv, &["release", "list"], None).await;
    list.ok();
    let lines: Vec<&str> = list.stdout.lines().collect();
    assert_eq!(lines.len(), 6, "{list:#?}");
    let windows: Vec<&str> = lines
        .iter()
        .filter(|l| l.starts_with("windows"))
        .copied()
        .collect();
    assert!(
        windows[0].contains("1.2.0") && windows[1].contains("1.1.0"),
        "{list:#?}"
    );

    // Publishing the same version twice is refused; the first stays.
    add(&srv, "1.2.0", "windows-x86_64", &[])
        .await
        .failed()
        .stderr_has("already published");

    // Withdrawn: the next newest is offered; withdrawing it again is refused.
    remove(&srv, "1.2.0", "windows-x86_64").await.ok();
    assert_eq!(
        offered_version(&srv, "windows/x86_64/1.0.0")
            .await
            .as_deref(),
        Some("1.1.0")
    );
    remove(&srv, "1.2.0", "windows-x86_64")
        .await
        .failed()
        .stderr_has("no release");

    // Open during maintenance, like /v1/meta: a client can always update.
    cli(&srv, &["maintenance", "on", "--message", "upgrade"], None)
        .await
        .ok();
    srv.let_settings_expire();
    assert_eq!(
        offered_version(&srv, "windows/x86_64/1.0.0")
            .await
            .as_deref(),
        Some("1.1.0")
    );
}

async fn a_required_release_raises_the_minimum_version(b: Backend) {
    let Some(srv) = TestServer::bare(b).await else {
        return;
    };
    let email = "updater@corp.example";
    add_user(&srv, email, PASSWORD).await.ok();
    cli(&srv, &["min-client-version", "1.0.0"], None).await.ok();

    add(&srv, "1.5.0", "windows-x86_64", &["--required"])
        .await
        .ok()
        .stdout_has("minimum client version is 1.5.0");
    srv.let_settings_expire();
    let (status, body) = login_with_version(&srv, email, PASSWORD, "1.4.0").await;
    assert_error(status, &body, 426, "client_outdated");
    assert_eq!(body["min_version"], "1.5.0", "{body}");
    let (status, m) = offered(&srv, "windows/x86_64/1.4.0").await;
    assert_eq!(status, StatusCode::OK, "{m}");
    assert_eq!(m["required"], true, "{m}");
    let (_, meta) = srv.call(reqwest::Method::GET, "/v1/meta", None, None).await;
    assert_eq!(meta["min_client_version"], "1.5.0", "{meta}");

    // An older required release never lowers the minimum.
    add(&srv, "1.2.0", "linux-x86_64", &["--required"])
        .await
        .ok();
    srv.let_settings_expire();
    let (_, meta) = srv.call(reqwest::Method::GET, "/v1/meta", None, None).await;
    assert_eq!(meta["min_client_version"], "1.5.0", "{meta}");
    // min-client-version still works on its own.
    cli(&srv, &["min-client-version", "--clear"], None)
        .await
        .ok();
    srv.let_settings_expire();
    let (status, body) = login_with_version(&srv, email, PASSWORD, "1.4.0").await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// Sixteen versions `{major}.{i}.0`, in a fixed shuffled order (the highest in the
/// middle, so that neither the first nor the last one started is the answer).
fn shuffled(major: u32) -> Vec<String> {
    (0..16u32)
        .map(|i| format!("{major}.{}.0", (i * 7 + 3) % 16))
        .collect()
}

/// The minimum client version and download URL, as `/v1/meta` now says.
async fn minimum(srv: &TestServer) -> (Value, Value) {
    srv.let_settings_expire();
    let (_, meta) = srv.call(reqwest::Method::GET, "/v1/meta", None, None).await;
    (
        meta["min_client_version"].clone(),
        meta["download_url"].clone(),
    )
}

/// Required releases published at once never leave a lower minimum than the highest of
/// them, and never touch the download URL IT set: sixteen `release add --required`
/// processes at once, then sixteen raises at once in one process (one pool: on
/// PostgreSQL sixteen connections, on SQLite one connection whose statements
/// interleave), each burst in a shuffled order.
async fn a_burst_of_required_releases_ends_at_the_highest(b: Backend) {
    let Some(srv) = TestServer::bare(b).await else {
        return;
    };
    let download = "https://dl.corp.cn/latchkey/latest";
    cli(
        &srv,
        &["min-client-version", "1.0.0", "--download-url", download],
        None,
    )
    .await
    .ok();

    let versions = shuffled(2);
    let runs = futures_util::future::join_all(
        versions
            .iter()
            .map(|v| add(&srv, v, "windows-x86_64", &["--required"])),
    )
    .await;
    for run in &runs {
        run.ok();
    }
    assert_eq!(minimum(&srv).await, (json!("2.15.0"), json!(download)));

    // In one process, where the reads and writes of the sixteen interleave most.
    let sig = sig_file(&srv, "burst.sig", SIG);
    let signature = std::fs::read_to_string(&sig).unwrap();
    raise_at_once(&srv, &shuffled(3), &signature, None).await;
    assert_eq!(minimum(&srv).await, (json!("3.15.0"), json!(download)));

    // IT sets the minimum and a new download URL amid a burst: the URL is IT's (no
    // raise writes back the one it read), the minimum the highest.
    let moved = "https://mirror.corp.cn/latchkey/latest";
    raise_at_once(&srv, &shuffled(4), &signature, Some(("4.15.0", moved))).await;
    assert_eq!(minimum(&srv).await, (json!("4.15.0"), json!(moved)));
}

/// Publishes `versions` as required releases all at once, in-process, with IT's
/// `min-client-version VERSION --download-url URL` among them when `it_sets`.
async fn raise_at_once(
    srv: &TestServer,
    versions: &[String],
    signature: &str,
    it_sets: Option<(&str, &str)>,
) {
    let raises = versions.iter().map(|v| {
        let db = srv.state.db.clone();
        async move {
            let new = latchkey_server::releases::NewRelease {
                version: v,
                platform: "linux-x86_64",
                url: "https://dl.corp.cn/latchkey.AppImage",
                signature,
                notes: None,
                required: true,
            };
            latchkey_server::releases::add(&db, &new, 1).await.unwrap();
        }
    });
    let it = async {
        if let Some((version, url)) = it_sets {
            latchkey_server::admin::min_client_version(&srv.state, Some(version), Some(url))
                .await
                .unwrap();
        }
    };
    let mut all: Vec<futures_util::future::BoxFuture<'_, ()>> =
        raises.map(|f| Box::pin(f) as _).collect();
    // In the middle of the burst.
    all.insert(versions.len() / 2, Box::pin(it));
    futures_util::future::join_all(all).await;
}

async fn bad_releases_and_bad_requests_are_refused(b: Backend) {
    let Some(srv) = TestServer::bare(b).await else {
        return;
    };
    let good = sig_file(&srv, "good.sig", SIG);
    let not_sig = sig_file(&srv, "bad.sig", "aGVsbG8gd29ybGQ=");
    let missing = srv.dir.path().join("missing.sig");
    let missing = missing.to_string_lossy();
    let https = "https://dl.corp.cn/a.exe";
    for (version, target, url, sig, says) in [
        ("1.2", "windows-x86_64", https, good.as_str(), "version"),
        ("one", "windows-x86_64", https, good.as_str(), "version"),
        ("1.2.0", "windows", https, good.as_str(), "target"),
        ("1.2.0", "win-x64", https, good.as_str(), "target"),
        ("1.2.0", "linux-x86_64-snap", https, good.as_str(), "target"),
        (
            "1.2.0",
            "windows-x86_64",
            "http://dl.corp.cn/a.exe",
            good.as_str(),
            "https://",
        ),
        (
            "1.2.0",
            "windows-x86_64",
            "file:///etc/passwd",
            good.as_str(),
            "https://",
        ),
        (
            "1.2.0",
            "windows-x86_64",
            https,
            not_sig.as_str(),
            "not a minisign signature",
        ),
        ("1.2.0", "windows-x86_64", https, &*missing, "cannot read"),
    ] {
        let args = [
            "release",
            "add",
            "--version",
            version,
            "--target",
            target,
            "--url",
            url,
            "--signature-file",
            sig,
        ];
        cli(&srv, &args, None).await.failed().stderr_has(says);
    }
    let list = cli(&srv, &["release", "list"], None).await;
    assert_eq!(list.ok().stdout.lines().count(), 1, "{list:#?}");

    for (path, field) in [
        ("windows/x86_64/not-a-version", "current_version"),
        ("windows/x86_64/1.2", "current_version"),
        ("beos/x86_64/1.0.0", "target"),
        ("windows/x64/1.0.0", "arch"),
    ] {
        let (status, body) = offered(&srv, path).await;
        assert_error(status, &body, 400, "invalid_request");
        assert_eq!(body["field"], field, "{path}: {body}");
    }
    let (status, body) = offered(&srv, "windows/x86_64").await;
    assert_error(status, &body, 404, "not_found");
}
