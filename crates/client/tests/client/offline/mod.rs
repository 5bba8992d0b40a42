//! Offline sign-in (`crates/client`): its limits, and re-validation when the server is
//! back. The tests are in one file per area; this module holds what they share.

mod ending;
mod sign_in;
mod tampering;

use latchkey_client::{ClientError, Code, EndReason, NextStep, Revalidation, Step};
use latchkey_proto::Secret;
use latchkey_server::admin::{self, AddUser};
use latchkey_testkit::{on_both, Backend, TestServer};

use super::common::*;

/// Signs in online with "remember me", stops the server, launches the app again.
async fn remembered_then_down(srv: &mut TestServer, email: &str) -> App {
    srv.add_user(email, PASSWORD).await;
    let mut app = App::on(srv);
    signed_in(&mut app, srv, email, PASSWORD, true).await;
    srv.stop().await;
    app.relaunch();
    app
}

/// Opens an offline session on `app`, then brings the server back.
async fn offline_then_back(srv: &mut TestServer, app: &mut App) {
    app.client.start().await;
    assert!(matches!(
        app.client.sign_in(secret(PASSWORD), true).await.unwrap(),
        Step::SignedIn { offline: true, .. }
    ));
    srv.restart().await;
}

/// Rewrites the offline rules of the cached `/v1/meta` (a plain file anyone can edit).
fn edit_cached_offline_rules(app: &App, days: u32, max_attempts: u32) {
    let path = app.dir.path().join("cache").join("meta.json");
    let mut cached: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    cached["meta"]["offline"] = serde_json::json!({"days": days, "max_attempts": max_attempts});
    std::fs::write(&path, serde_json::to_vec(&cached).unwrap()).unwrap();
}

/// The server back, a fresh remembered sign-in on a new installation, the server down
/// again.
async fn remembered_then_down_again(srv: &mut TestServer, email: &str) -> App {
    srv.restart().await;
    let mut app = App::on(srv);
    signed_in(&mut app, srv, email, PASSWORD, true).await;
    srv.stop().await;
    app.relaunch();
    app
}
