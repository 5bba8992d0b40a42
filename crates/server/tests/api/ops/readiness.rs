//! `/healthz` and `/readyz`: no token, nothing but check names; `503` naming the
//! check that fails — a PostgreSQL that stopped (and `200` again once it is back), a
//! migration missing, signing keys that the secret key does not open — and the request
//! id every answer carries.

use std::time::{Duration, Instant};

use latchkey_testkit::postgres::PrivatePostgres;
use latchkey_testkit::{on_both, Backend, TestServer};
use serde_json::{json, Value};

on_both!(
    health_and_readiness_answer_without_a_token,
    a_missing_migration_is_named,
    signing_keys_that_do_not_open_are_named,
    a_request_id_comes_from_the_server_unless_a_trusted_proxy_sent_one,
);

async fn get(srv: &TestServer, path: &str) -> (u16, Value, reqwest::header::HeaderMap) {
    let resp = srv.http.get(srv.url(path)).send().await.expect("send");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, resp.json().await.unwrap_or(Value::Null), headers)
}

async fn health_and_readiness_answer_without_a_token(backend: Backend) {
    let Some(srv) = TestServer::start(backend, |_| {}).await else {
        return;
    };
    let (status, body, headers) = get(&srv, "/healthz").await;
    assert_eq!((status, &body), (200, &json!({"status": "ok"})));
    assert_eq!(headers["cache-control"], "no-store");
    let (status, body, _) = get(&srv, "/readyz").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"status": "ready", "checks": {
            "database": "ok", "migrations": "ok", "keys": "ok", "shutdown": "ok"}})
    );
    // Not API routes: the maintenance guard and the OpenAPI document leave them alone.
    let (_, doc, _) = get(&srv, "/v1/openapi.json").await;
    assert!(doc["paths"].get("/readyz").is_none());
}

async fn a_missing_migration_is_named(backend: Backend) {
    let Some(srv) = TestServer::start(backend, |_| {}).await else {
        return;
    };
    sqlx::query(
        "DELETE FROM _sqlx_migrations WHERE version = (SELECT MAX(version) FROM _sqlx_migrations)",
    )
    .execute(&srv.state.db)
    .await
    .expect("forget a migration");
    let (status, body, headers) = get(&srv, "/readyz").await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["code"], "server_unavailable");
    assert_eq!(body["failing"], json!(["migrations"]));
    assert_eq!(body["checks"]["database"], "ok");
    assert_eq!(body["message"], "Not ready: migrations.");
    assert_eq!(headers["content-type"], "application/json");
    // The process itself is fine.
    assert_eq!(get(&srv, "/healthz").await.0, 200);
}

async fn signing_keys_that_do_not_open_are_named(backend: Backend) {
    // A deployed server has the OpenID Connect provider on and a secret key: its keys
    // are made and load.
    let Some(srv) = TestServer::start(backend, |_| {}).await else {
        return;
    };
    let (status, body, _) = get(&srv, "/readyz").await;
    assert_eq!(status, 200, "{body}");
    // A second process started with another secret key cannot open them.
    let other = srv
        .sibling(|c| c.delivery.secret_key = Some("ab".repeat(32)))
        .await;
    let (status, body, _) = get(&other, "/readyz").await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["failing"], json!(["keys"]));
    // Names only: the cause is in the log.
    let mut fields: Vec<&String> = body.as_object().expect("object").keys().collect();
    fields.sort();
    assert_eq!(
        fields,
        ["checks", "code", "failing", "message", "status"],
        "{body}"
    );
}

async fn a_request_id_comes_from_the_server_unless_a_trusted_proxy_sent_one(backend: Backend) {
    let Some(srv) = TestServer::bare(backend).await else {
        return;
    };
    let id_of = |resp: &reqwest::Response| {
        resp.headers()["x-request-id"]
            .to_str()
            .expect("ascii")
            .to_owned()
    };
    let a = srv.http.get(srv.url("/v1/meta")).send().await.unwrap();
    let b = srv.http.get(srv.url("/v1/meta")).send().await.unwrap();
    let (a, b) = (id_of(&a), id_of(&b));
    assert_ne!(a, b);
    assert!(
        a.len() >= 16 && a.bytes().all(|c| c.is_ascii_hexdigit()),
        "{a}"
    );
    // A client does not choose the id IT will search for.
    let resp = srv
        .http
        .get(srv.url("/v1/meta"))
        .header("x-request-id", "chosen-by-client")
        .send()
        .await
        .unwrap();
    assert_ne!(id_of(&resp), "chosen-by-client");
    // Behind the server's own proxy, the proxy's id is kept if it is well formed.
    let proxied = srv.sibling(|c| c.trust_forwarded_for = true).await;
    let send = |id: &'static str| {
        proxied
            .http
            .get(proxied.url("/healthz"))
            .header("x-request-id", id)
            .send()
    };
    assert_eq!(id_of(&send("lb-7f3a:01").await.unwrap()), "lb-7f3a:01");
    let replaced = id_of(&send("two words").await.unwrap());
    assert_ne!(replaced, "two words");
    assert!(
        replaced.bytes().all(|c| c.is_ascii_hexdigit()),
        "{replaced}"
    );
}

/// PostgreSQL stopped: `/readyz` answers `503` naming `database` (within the 2 s bound
/// of its check, not the pool's 10 s), the process stays live; started again: `200`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_follows_postgres_down_and_back() {
    let Some(pg) = tokio::task::spawn_blocking(PrivatePostgres::start)
        .await
        .expect("start postgres")
    else {
        return;
    };
    // With the secret key the OpenID Connect provider of the harness needs.
    let srv = TestServer::bare_over(&pg.url(), |c| {
        c.delivery.secret_key = Some(latchkey_testkit::SECRET_KEY.into());
    })
    .await;
    assert_eq!(get(&srv, "/readyz").await.0, 200);

    let mut pg = tokio::task::spawn_blocking(move || {
        let mut pg = pg;
        pg.stop();
        pg
    })
    .await
    .expect("stop postgres");
    let deadline = Instant::now() + Duration::from_secs(15);
    let body = loop {
        let asked = Instant::now();
        let (status, body, _) = get(&srv, "/readyz").await;
        assert!(
            asked.elapsed() < Duration::from_secs(5),
            "/readyz took {:?}",
            asked.elapsed()
        );
        if status == 503 {
            break body;
        }
        assert!(Instant::now() < deadline, "still ready: {body}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(body["failing"], json!(["database"]), "{body}");
    assert_eq!(body["checks"]["migrations"], "skipped");
    assert_eq!(get(&srv, "/healthz").await.0, 200);

    pg = tokio::task::spawn_blocking(move || {
        pg.resume();
        pg
    })
    .await
    .expect("start postgres again");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, body, _) = get(&srv, "/readyz").await;
        if status == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "not ready again: {body}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    drop(srv);
    drop(pg);
}
