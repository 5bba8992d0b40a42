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

/// The test-only key of `tests/updates/`, whose public half is built into the app.
fn signed_by_the_apps_key(bytes: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD;
    let file = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/updates/test-only-updater.key"
    );
    let text = b64
        .decode(std::fs::read_to_string(file).unwrap().trim())
        .unwrap();
    let key = minisign::SecretKeyBox::from_string(&String::from_utf8(text).unwrap())
        .unwrap()
        .into_secret_key(Some(String::new()))
        .unwrap();
    let sig = minisign::sign(None, &key, bytes, Some("file:latchkey"), None).unwrap();
    b64.encode(sig.into_string())
}

/// The processes running `exe` (as it is now on disk: its inode), by id.
fn running(exe: &std::path::Path) -> Vec<u32> {
    let ino = std::fs::metadata(exe).map(|m| m.ino()).ok();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let link = std::fs::read_link(format!("/proc/{pid}/exe")).ok();
            let live = std::fs::metadata(format!("/proc/{pid}/exe")).ok();
            link.as_deref() == Some(exe) && live.map(|m| m.ino()) == ino
        })
        .collect()
}

pub async fn an_update_is_installed_and_the_app_restarts_into_it(server: &TestServer) {
    // The installed app: a copy of the built one, which the update replaces.
    let dir = tempfile::tempdir().unwrap();
    let installed = dir.path().join("latchkey");
    let built = std::fs::read(env!("CARGO_BIN_EXE_latchkey")).unwrap();
    std::fs::write(&installed, &built).unwrap();
    std::fs::set_permissions(
        &installed,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let old = std::fs::metadata(&installed).unwrap().ino();
    // The release: the same program (a second build of the app would cost CI a
    // rebuild), signed with the app's key; what changes on disk is the file.
    let url = serve(built.clone()).await;
    publish(server, "0.2.0", &url, &signed_by_the_apps_key(&built), true).await;
    server.let_settings_expire();

    let home = Home::new();
    let base = server.base();
    let Some(app) = App::launch_exe(&home, &installed, &[("LATCHKEY_SERVER", &base)], &[]).await
    else {
        return;
    };
    crate::sign_in(&app, "restart@corp.example", crate::PASSWORD).await;
    app.screen("update_required").await;
    app.wait_text("[data-testid=update-offered]", |t| t.contains("0.2.0"))
        .await;
    assert_eq!(
        running(&installed).len(),
        1,
        "the app runs from the installed file"
    );
    app.click("[data-screen=update_required] [data-testid=update-now]")
        .await;

    // Downloaded, checked, written over the installed file, and started from it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let restarted = loop {
        let new = std::fs::metadata(&installed).map(|m| m.ino()).ok();
        let pids = running(&installed);
        if new.is_some_and(|n| n != old) && !pids.is_empty() {
            break pids;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no app running from the updated file (inode {old} → {new:?})"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    assert_eq!(std::fs::read(&installed).unwrap(), built);
    // It keeps running (not a single-instance hand-over that quits at once).
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    assert_eq!(running(&installed), restarted, "the restarted app stopped");
    // Its window, as the display shows it (no WebDriver session with it).
    let shot = crate::harness::screenshot_dir().join("update-restarted.png");
    std::fs::create_dir_all(shot.parent().unwrap()).unwrap();
    let status = std::process::Command::new("import")
        .args(["-window", "root"])
        .arg(&shot)
        .status()
        .unwrap();
    assert!(status.success(), "import -window root");
    // Ends with the driver's process group (the restarted app is in it).
    drop(app);
}
