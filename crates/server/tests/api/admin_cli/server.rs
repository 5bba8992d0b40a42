//! Server-wide commands: maintenance, the minimum client version, migrate and demo.

use latchkey_server::admin::{DEMO_EMAIL, DEMO_PASSWORD, DEMO_PHONE, DEMO_USERNAME};
use latchkey_testkit::api::{assert_error, PASSWORD};
use latchkey_testkit::{on_both, Backend, TestServer};
use reqwest::StatusCode;
use serde_json::Value;

use super::{add_user, cli, login_with_version};

on_both!(maintenance_on_and_off, min_client_version, migrate_and_demo,);

async fn maintenance_on_and_off(b: Backend) {
    let Some(srv) = TestServer::bare(b).await else {
        return;
    };
    let email = "maint@corp.example";
    add_user(&srv, email, PASSWORD).await.ok();
    let session = srv.login(email, PASSWORD).await;
    let message = "系统维护 Database upgrade";
    let until = "2030-01-01T00:00:00Z";
    cli(
        &srv,
        &["maintenance", "on", "--message", message, "--until", until],
        None,
    )
    .await
    .ok();
    // The server reads the switches at most a second after the CLI wrote them.
    srv.let_settings_expire();
    let (status, body) = srv.login_raw(email, PASSWORD).await;
    assert_error(status, &body, 503, "maintenance");
    assert_eq!(body["message"], message, "{body}");
    assert_eq!(body["until"], until, "{body}");
    let (status, body) = srv.get("/v1/me", session.access_token.expose()).await;
    assert_error(status, &body, 503, "maintenance");
    // Clients can still learn why.
    let (status, meta) = srv.call(reqwest::Method::GET, "/v1/meta", None, None).await;
    assert_eq!(status, StatusCode::OK, "{meta}");
    assert_eq!(meta["maintenance"]["message"], message, "{meta}");
    assert_eq!(meta["maintenance"]["until"], until, "{meta}");

    // A bad --until or an empty message changes nothing.
    cli(
        &srv,
        &[
            "maintenance",
            "on",
            "--message",
            "x",
            "--until",
            "next tuesday",
        ],
        None,
    )
    .await
    .failed()
    .stderr_has("RFC 3339");
    cli(&srv, &["maintenance", "on", "--message", "  "], None)
        .await
        .failed();
    srv.let_settings_expire();
    let (status, body) = srv.login_raw(email, PASSWORD).await;
    assert_error(status, &body, 503, "maintenance");
    assert_eq!(body["message"], message, "{body}");

    // Without --until.
    cli(&srv, &["maintenance", "on", "--message", "Back soon"], None)
        .await
        .ok();
    srv.let_settings_expire();
    let (status, body) = srv.login_raw(email, PASSWORD).await;
    assert_error(status, &body, 503, "maintenance");
    assert_eq!(body["message"], "Back soon", "{body}");
    assert!(body.get("until").is_none_or(Value::is_null), "{body}");

    cli(&srv, &["maintenance", "off"], None).await.ok();
    srv.let_settings_expire();
    srv.login(email, PASSWORD).await;
    let (status, _) = srv.get("/v1/me", session.access_token.expose()).await;
    assert_eq!(status, StatusCode::OK);
    let (_, meta) = srv.call(reqwest::Method::GET, "/v1/meta", None, None).await;
    assert!(meta["maintenance"].is_null(), "{meta}");
    // Off twice is fine.
    cli(&srv, &["maintenance", "off"], None).await.ok();
}

async fn min_client_version(b: Backend) {
    let Some(srv) = TestServer::bare(b).await else {
        return;
    };
    let email = "old.client@corp.example";
    add_user(&srv, email, PASSWORD).await.ok();
    let url = "https://example.invalid/dl";
    cli(
        &srv,
        &["min-client-version", "2.0.0", "--download-url", url],
        None,
    )
    .await
    .ok()
    .stdout_has("2.0.0");
    srv.let_settings_expire();
    let (status, body) = login_with_version(&srv, email, PASSWORD, "1.0.0").await;
    assert_error(status, &body, 426, "client_outdated");
    assert_eq!(body["min_version"], "2.0.0", "{body}");
    assert_eq!(body["download_url"], url, "{body}");
    let (status, body) = login_with_version(&srv, email, PASSWORD, "1.99.99").await;
    assert_error(status, &body, 426, "client_outdated");
    let (status, body) = login_with_version(&srv, email, PASSWORD, "2.0.0").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "ok", "{body}");
    let (_, meta) = srv.call(reqwest::Method::GET, "/v1/meta", None, None).await;
    assert_eq!(meta["min_client_version"], "2.0.0", "{meta}");

    // A download link the app would open must be https (issue 13).
    for bad in [
        "http://dl.corp.cn/latchkey.exe",
        "javascript:alert(1)",
        "file:///etc/passwd",
        "nonsense",
    ] {
        cli(
            &srv,
            &["min-client-version", "2.0.0", "--download-url", bad],
            None,
        )
        .await
        .failed()
        .stderr_has("https://");
    }
    cli(
        &srv,
        &[
            "min-client-version",
            "2.0.0",
            "--download-url",
            "http://127.0.0.1:8080/dl",
        ],
        None,
    )
    .await
    .ok();

    // Bad versions and a missing version are refused and change nothing.
    cli(&srv, &["min-client-version", "two"], None)
        .await
        .failed()
        .stderr_has("version");
    cli(&srv, &["min-client-version", "1.2.3.4"], None)
        .await
        .failed();
    cli(&srv, &["min-client-version"], None)
        .await
        .failed()
        .stderr_has("--clear");
    srv.let_settings_expire();
    let (status, body) = login_with_version(&srv, email, PASSWORD, "1.0.0").await;
    assert_error(status, &body, 426, "client_outdated");

    cli(&srv, &["min-client-version", "--clear"], None)
        .await
        .ok();
    srv.let_settings_expire();
    let (status, body) = login_with_version(&srv, email, PASSWORD, "1.0.0").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "ok", "{body}");
    let (_, meta) = srv.call(reqwest::Method::GET, "/v1/meta", None, None).await;
    assert!(meta["min_client_version"].is_null(), "{meta}");
}

async fn migrate_and_demo(b: Backend) {
    let Some(srv) = TestServer::bare(b).await else {
        return;
    };
    cli(&srv, &["migrate"], None).await.ok();
    cli(&srv, &["migrate"], None).await.ok();
    for round in 0..2 {
        let run = cli(&srv, &["demo"], None).await;
        run.ok().stdout_has(DEMO_EMAIL).stdout_has(DEMO_PASSWORD);
        let session = srv.login(DEMO_EMAIL, DEMO_PASSWORD).await;
        assert_eq!(
            session.user.email.as_deref(),
            Some(DEMO_EMAIL),
            "round {round}"
        );
        srv.login(DEMO_USERNAME, DEMO_PASSWORD).await;
        srv.login(DEMO_PHONE, DEMO_PASSWORD).await;
        if round == 0 {
            // Break the demo account every way; `demo` again restores it.
            cli(&srv, &["user", "disable", "--identifier", DEMO_EMAIL], None)
                .await
                .ok();
            let (status, body) = srv.login_raw(DEMO_EMAIL, DEMO_PASSWORD).await;
            assert_error(status, &body, 403, "account_disabled");
            for _ in 0..5 {
                srv.login_raw(DEMO_EMAIL, "Wrong-password-entirely-1").await;
            }
        }
    }
    let list = cli(&srv, &["user", "list"], None).await;
    list.ok();
    assert_eq!(list.stdout.matches(DEMO_EMAIL).count(), 1, "{list:#?}");
}
