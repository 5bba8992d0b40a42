//! Refusals explained to the user: lockout, maintenance, outdated client.

use latchkey_client::{ClientError, Code, NextStep, Step};
use latchkey_proto::Maintenance;
use latchkey_server::admin;
use latchkey_testkit::{on_both, Backend, TestServer};

use crate::client::common::*;

on_both!(
    lockout_says_how_long_to_wait,
    maintenance_says_until_when,
    outdated_client_says_where_to_update,
);

async fn lockout_says_how_long_to_wait(b: Backend) {
    let Some(srv) = TestServer::start(b, |_| {}).await else {
        return;
    };
    srv.add_user("chen@corp.cn", PASSWORD).await;
    let mut app = App::on(&srv);
    app.client.start().await;
    app.client.identify("chen@corp.cn").await.unwrap();
    let mut last = None;
    for _ in 0..5 {
        last = Some(
            app.client
                .sign_in(secret("Wrong-password-000"), false)
                .await
                .unwrap_err(),
        );
    }
    let e = last.unwrap();
    assert_eq!(e.code(), Code::AccountLocked, "{e:?}");
    let ui = e.to_ui();
    assert_eq!(ui.next_step, NextStep::Wait);
    let wait = ui.retry_after.unwrap();
    assert!((800..=900).contains(&wait), "{wait}");
    // Locked even with the right password, still with the time to wait.
    let e = app
        .client
        .sign_in(secret(PASSWORD), false)
        .await
        .unwrap_err();
    assert!(matches!(e, ClientError::AccountLocked { retry_after: Some(s) } if s > 0));
}

async fn maintenance_says_until_when(b: Backend) {
    let Some(srv) = TestServer::start(b, |_| {}).await else {
        return;
    };
    srv.add_user("sun@corp.cn", PASSWORD).await;
    admin::maintenance(
        &srv.state,
        Some(Maintenance {
            message: "系统维护 / upgrade".into(),
            until: Some("2030-01-01T08:00:00+08:00".into()),
        }),
    )
    .await
    .unwrap();
    let mut app = App::on(&srv);
    app.client.start().await;
    assert!(app.client.meta().unwrap().maintenance.is_some());
    app.client.identify("sun@corp.cn").await.unwrap();
    let e = app
        .client
        .sign_in(secret(PASSWORD), false)
        .await
        .unwrap_err();
    let ui = e.to_ui();
    assert_eq!(ui.code, Code::Maintenance);
    assert_eq!(ui.next_step, NextStep::Wait);
    assert_eq!(
        ui.maintenance_message.as_deref(),
        Some("系统维护 / upgrade")
    );
    assert_eq!(ui.until.as_deref(), Some("2030-01-01T08:00:00+08:00"));
    admin::maintenance(&srv.state, None).await.unwrap();
    let step = app.client.sign_in(secret(PASSWORD), false).await.unwrap();
    assert!(matches!(step, Step::DeviceCode { .. }));
}

async fn outdated_client_says_where_to_update(b: Backend) {
    let Some(srv) = TestServer::start(b, |_| {}).await else {
        return;
    };
    srv.add_user("zhou@corp.cn", PASSWORD).await;
    admin::min_client_version(
        &srv.state,
        Some("2.0.0"),
        Some("https://it.corp.cn/latchkey"),
    )
    .await
    .unwrap();
    let mut app = App::on(&srv);
    app.client.start().await;
    app.client.identify("zhou@corp.cn").await.unwrap();
    let e = app
        .client
        .sign_in(secret(PASSWORD), false)
        .await
        .unwrap_err();
    let ui = e.to_ui();
    assert_eq!(ui.code, Code::ClientOutdated);
    assert_eq!(ui.next_step, NextStep::UpdateApp);
    assert_eq!(ui.min_version.as_deref(), Some("2.0.0"));
    assert_eq!(
        ui.download_url.as_deref(),
        Some("https://it.corp.cn/latchkey")
    );
    // The password reset is guarded the same way.
    app.client.begin_reset().unwrap();
    let e = app
        .client
        .send_reset_code("zhou@corp.cn", None)
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::ClientOutdated);
}
