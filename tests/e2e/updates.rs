//! In-app updates in the real window (issue 17): the quiet banner of a release the
//! server publishes, "Update now" on the update-required screen, and an update whose
//! signature is not the app's key refused on screen with nothing installed — the
//! running executable is the same file (same inode and bytes) afterwards.
//!
//! The artifact offered is a copy of the app's own executable, signed with a key made
//! for the test (not the one built into the app), and served over HTTP on 127.0.0.1
//! like IT's download server: were it wrongly installed, the file would still hold the
//! same bytes, so the check of the inode is what tells.

use std::os::unix::fs::MetadataExt;

use base64::Engine;
use latchkey_server::releases::{self, NewRelease};
use latchkey_testkit::TestServer;

use crate::harness::{App, Home};

/// A download server on 127.0.0.1 serving `bytes` at `/latchkey`; returns the file's URL.
async fn serve(bytes: Vec<u8>) -> String {
    let router = axum::Router::new().route(
        "/latchkey",
        axum::routing::get(move || async move { bytes }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{addr}/latchkey")
}

/// A signature of `bytes` with a key made now: valid minisign, not the app's key.
fn signed_by_another_key(bytes: &[u8]) -> String {
    let key = minisign::KeyPair::generate_unencrypted_keypair()
        .unwrap()
        .sk;
    let sig = minisign::sign(None, &key, bytes, Some("file:latchkey"), None).unwrap();
    base64::engine::general_purpose::STANDARD.encode(sig.into_string())
}

async fn publish(server: &TestServer, version: &str, url: &str, sig: &str, required: bool) {
    let new = NewRelease {
        version,
        platform: "linux-x86_64",
        url,
        signature: sig,
        notes: Some("登录更快，修复了若干问题。\nFaster sign-in and fixes."),
        required,
    };
    releases::add(&server.state.db, &new, server.state.now())
        .await
        .unwrap();
}

pub async fn an_update_is_offered_and_a_foreign_signature_is_refused(server: &TestServer) {
    let exe = env!("CARGO_BIN_EXE_latchkey");
    let bytes = std::fs::read(exe).unwrap();
    let url = serve(bytes.clone()).await;
    let sig = signed_by_another_key(&bytes);
    publish(server, "0.2.0", &url, &sig, false).await;
    let home = Home::new();
    let base = server.base();

    // Found at start: the banner, on the sign-in screen, with the notes.
    let Some(app) = App::launch(&home, &[("LATCHKEY_SERVER", &base)]).await else {
        return;
    };
    app.screen("sign_in").await;
    app.wait_text("[data-testid=update-banner]", |t| t.contains("0.2.0"))
        .await;
    app.click("[data-testid=update-banner] summary").await;
    app.screenshots("update-available").await;
    app.close().await;

    // Required: the server refuses the sign-in; the update screen offers Update now.
    publish(server, "0.3.0", &url, &sig, true).await;
    server.let_settings_expire();
    let before = std::fs::metadata(exe).unwrap();
    let app = App::launch(&home, &[("LATCHKEY_SERVER", &base)])
        .await
        .expect("a second launch");
    crate::sign_in(&app, "update@corp.example", crate::PASSWORD).await;
    app.screen("update_required").await;
    app.wait_text("[data-testid=update-offered]", |t| t.contains("0.3.0"))
        .await;
    app.screenshots("update-now").await;
    app.click("[data-screen=update_required] [data-testid=update-now]")
        .await;
    let refused = app
        .wait_text("[data-screen=update_required] [role=alert]", |t| {
            !t.trim().is_empty()
        })
        .await;
    assert!(
        refused.contains("not signed with this app's key"),
        "{refused}"
    );
    app.screenshots("update-refused").await;
    // The Chinese message after the language switch the screenshots made and undid.
    app.language("zh-CN").await;
    app.wait_text("[data-screen=update_required] [role=alert]", |t| {
        t.contains("未使用本应用的密钥签名")
    })
    .await;
    app.close().await;

    let after = std::fs::metadata(exe).unwrap();
    assert_eq!((before.ino(), before.len()), (after.ino(), after.len()));
    assert_eq!(std::fs::read(exe).unwrap(), bytes);
}
