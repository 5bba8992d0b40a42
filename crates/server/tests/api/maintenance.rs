//! Maintenance mode and the minimum client version, set by the admin commands.

use latchkey_proto::{Maintenance, CLIENT_VERSION_HEADER};
use latchkey_server::admin;
use serde_json::json;

use latchkey_testkit::api::{assert_error, PASSWORD};
use latchkey_testkit::{on_both, Backend, TestServer};

on_both!(
    maintenance_blocks_sign_in_but_not_meta,
    outdated_clients_are_told_to_update
);

async fn maintenance_blocks_sign_in_but_not_meta(b: Backend) {
    let Some(srv) = TestServer::bare(b).await else {
        return;
    };
    srv.add_user("m@corp.cn", PASSWORD).await;
    let s = srv.login("m@corp.cn", PASSWORD).await;
    let m = Maintenance {
        message: "系统维护 / upgrading".into(),
        until: Some("2030-01-01T08:00:00+08:00".into()),
    };
    admin::maintenance(&srv.state, Some(m)).await.unwrap();
    let (status, body) = srv.login_raw("m@corp.cn", PASSWORD).await;
    assert_error(status, &body, 503, "maintenance");
    assert_eq!(body["message"], "系统维护 / upgrading");
    assert_eq!(body["until"], "2030-01-01T08:00:00+08:00");
    let (status, body) = srv.get("/v1/me", s.access_token.expose()).await;
    assert_error(status, &body, 503, "maintenance");
    let (status, body) = srv
        .post(
            "/v1/auth/refresh",
            json!({"refresh_token": s.refresh_token.expose()}),
        )
        .await;
    assert_error(status, &body, 503, "maintenance");
    // Still open: meta (so the client can say why) and the password check.
    let (status, meta) = srv.call(reqwest::Method::GET, "/v1/meta", None, None).await;
    assert_eq!(status, 200);
    assert_eq!(meta["maintenance"]["message"], "系统维护 / upgrading");
    let (status, _) = srv
        .post("/v1/password/check", json!({"password": "abc"}))
        .await;
    assert_eq!(status, 200);
    assert!(admin::maintenance(
        &srv.state,
        Some(Maintenance {
            message: " ".into(),
            until: None
        })
    )
    .await
    .is_err());
    assert!(admin::maintenance(
        &srv.state,
        Some(Maintenance {
            message: "x".into(),
            until: Some("tomorrow".into())
        })
    )
    .await
    .is_err());
    admin::maintenance(&srv.state, None).await.unwrap();
    srv.login("m@corp.cn", PASSWORD).await;
    let (status, _) = srv.get("/v1/me", s.access_token.expose()).await;
    assert_eq!(status, 200);
}

async fn outdated_clients_are_told_to_update(b: Backend) {
    let Some(srv) = TestServer::bare(b).await else {
        return;
    };
    srv.add_user("v@corp.cn", PASSWORD).await;
    let s = srv.login("v@corp.cn", PASSWORD).await;
    admin::min_client_version(
        &srv.state,
        Some("1.10.0"),
        Some("https://it.corp.cn/latchkey"),
    )
    .await
    .unwrap();
    // The login body carries 1.0.0.
    let (status, body) = srv.login_raw("v@corp.cn", PASSWORD).await;
    assert_error(status, &body, 426, "client_outdated");
    assert_eq!(body["min_version"], "1.10.0");
    assert_eq!(body["download_url"], "https://it.corp.cn/latchkey");
    let ok = json!({"identifier": "v@corp.cn", "password": PASSWORD, "client_version": "1.10.2"});
    let (status, _) = srv.post("/v1/auth/login", ok).await;
    assert_eq!(status, 200);
    // Other routes read the header.
    let me = |version: &'static str| {
        srv.http
            .get(srv.url("/v1/me"))
            .bearer_auth(s.access_token.expose())
            .header(CLIENT_VERSION_HEADER, version)
            .send()
    };
    assert_eq!(me("1.9.9").await.unwrap().status(), 426);
    assert_eq!(me("2.0.0").await.unwrap().status(), 200);
    let (_, meta) = srv.call(reqwest::Method::GET, "/v1/meta", None, None).await;
    assert_eq!(meta["min_client_version"], "1.10.0");
    assert!(admin::min_client_version(&srv.state, Some("one"), None)
        .await
        .is_err());
    admin::min_client_version(&srv.state, None, None)
        .await
        .unwrap();
    let (status, _) = srv.login_raw("v@corp.cn", PASSWORD).await;
    assert_eq!(status, 200);
}
