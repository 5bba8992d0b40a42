//! Signed in-app updates (issue 17), end to end below the window: the app's update code
//! (`latchkey_app::updates`) with the real `tauri-plugin-updater` on Tauri's mock
//! runtime, the public key of `tauri.conf.json`, the real server's update route with
//! releases published as `release add` publishes them, artifacts signed with minisign
//! and served over HTTP on 127.0.0.1, and an install that replaces a real executable
//! file, which is then run.
//!
//! What this does not cover, and why: the restart (`AppHandle::restart` ends the test
//! process), and a real AppImage (building one needs `appimagetool`, which is not
//! installable here): the plugin installs an AppImage exactly as it installs the
//! unbundled executable here, by writing the downloaded file over it
//! (`install_appimage`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use base64::Engine;
use latchkey_app::updates::{self, InstallBy};
use latchkey_client::Code;
use latchkey_server::releases::{self, NewRelease};
use latchkey_testkit::{Backend, TestServer};
use tauri::test::MockRuntime;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// The test-only key pair's secret half: `tauri.conf.json` carries its public half.
fn test_key() -> minisign::SecretKey {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/updates/test-only-updater.key");
    let text = String::from_utf8(
        B64.decode(std::fs::read_to_string(file).unwrap().trim())
            .unwrap(),
    )
    .unwrap();
    minisign::SecretKeyBox::from_string(&text)
        .unwrap()
        .into_secret_key(Some(String::new()))
        .unwrap()
}

/// A signature of `bytes` as `tauri signer sign` writes it: base64 of minisign's text.
fn sign(key: &minisign::SecretKey, bytes: &[u8]) -> String {
    let sig = minisign::sign(None, key, bytes, Some("file:latchkey"), None).unwrap();
    B64.encode(sig.into_string())
}

/// The public key built into the app.
fn built_in_pubkey() -> String {
    let conf = Path::new(env!("CARGO_MANIFEST_DIR")).join("tauri.conf.json");
    let conf: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(conf).unwrap()).unwrap();
    conf["plugins"]["updater"]["pubkey"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The app on the mock runtime, with the updater as `tauri.conf.json` configures it.
fn app() -> tauri::App<MockRuntime> {
    let mut context = tauri::test::mock_context(tauri::test::noop_assets());
    context.config_mut().plugins.0.insert(
        "updater".into(),
        serde_json::json!({
            "pubkey": built_in_pubkey(),
            "dangerousInsecureTransportProtocol": true,
        }),
    );
    tauri::test::mock_builder()
        .plugin(tauri_plugin_updater::Builder::new().build())
        .build(context)
        .unwrap()
}

/// A download server on 127.0.0.1 serving `files` at `/{name}`; returns its base URL.
async fn downloads(files: Vec<(&'static str, Vec<u8>)>) -> String {
    let mut router = axum::Router::new();
    for (name, bytes) in files {
        router = router.route(
            &format!("/{name}"),
            axum::routing::get(move || async move { bytes }),
        );
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{addr}")
}

/// A real executable (ELF, as an AppImage is) that says which version it is: what the
/// install replaces and runs. Compiled with the system's C compiler, which linking Rust
/// needs anyway.
fn program(version: &str) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("main.c");
    let exe = dir.path().join("main");
    std::fs::write(
        &src,
        format!(
            "#include <stdio.h>\nint main(void) {{ puts(\"latchkey {version}\"); return 0; }}\n"
        ),
    )
    .unwrap();
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let status = std::process::Command::new(cc)
        .arg("-o")
        .arg(&exe)
        .arg(&src)
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::read(exe).unwrap()
}

/// The installed app: a real executable file in `dir`.
fn installed(dir: &Path) -> PathBuf {
    let exe = dir.join("latchkey");
    std::fs::write(&exe, program("0.1.0")).unwrap();
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
    exe
}

/// Runs the installed file and answers what it printed.
fn run(exe: &Path) -> String {
    let out = std::process::Command::new(exe).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

async fn publish(srv: &TestServer, version: &str, url: &str, signature: &str, required: bool) {
    let new = NewRelease {
        version,
        platform: "linux-x86_64",
        url,
        signature,
        notes: Some("登录更快 / faster sign-in"),
        required,
    };
    releases::add(&srv.state.db, &new, srv.state.now())
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_signed_update_is_found_downloaded_checked_installed_and_runs() {
    let srv = TestServer::bare(Backend::Sqlite).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let exe = installed(dir.path());
    let app = app();
    let handle = app.handle();

    // Nothing published: nothing offered.
    let none = updates::check(handle, &srv.base(), Some(exe.clone()))
        .await
        .unwrap();
    assert!(none.is_none());

    let new = program("0.2.0");
    let signature = sign(&test_key(), &new);
    let base = downloads(vec![("latchkey_0.2.0_amd64", new.clone())]).await;
    publish(
        &srv,
        "0.2.0",
        &format!("{base}/latchkey_0.2.0_amd64"),
        &signature,
        true,
    )
    .await;

    let update = updates::check(handle, &srv.base(), Some(exe.clone()))
        .await
        .unwrap()
        .expect("0.2.0 is offered to 0.1.0");
    let offer = updates::offer(&update);
    assert_eq!(offer.version, "0.2.0");
    assert_eq!(offer.notes.as_deref(), Some("登录更快 / faster sign-in"));
    assert!(offer.required);
    assert_eq!(offer.install_by, InstallBy::App);

    let mut seen = Vec::new();
    updates::install(&update, |done, total| seen.push((done, total)))
        .await
        .unwrap();
    let len = u64::try_from(new.len()).unwrap();
    assert_eq!(seen.last(), Some(&(len, Some(len))), "{seen:?}");
    assert_eq!(std::fs::read(&exe).unwrap(), new);
    assert_eq!(run(&exe), "latchkey 0.2.0");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_update_not_signed_with_the_apps_key_is_refused_and_nothing_is_installed() {
    let srv = TestServer::bare(Backend::Sqlite).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let exe = installed(dir.path());
    let app = app();
    let handle = app.handle();
    let new = program("0.3.0");
    let tampered = program("0.3.0-tampered");
    let base = downloads(vec![
        ("signed-by-another-key", new.clone()),
        ("tampered", tampered),
    ])
    .await;

    // Signed, but with another key than the one built into the app.
    let other = minisign::KeyPair::generate_unencrypted_keypair()
        .unwrap()
        .sk;
    publish(
        &srv,
        "0.3.0",
        &format!("{base}/signed-by-another-key"),
        &sign(&other, &new),
        false,
    )
    .await;
    let update = updates::check(handle, &srv.base(), Some(exe.clone()))
        .await
        .unwrap()
        .expect("0.3.0 is offered");
    let refused = updates::install(&update, |_, _| {})
        .await
        .map_err(|e| e.code());
    assert_eq!(refused, Err(Code::UpdateSignatureInvalid));
    assert_eq!(std::fs::read(&exe).unwrap(), program("0.1.0"));
    assert_eq!(run(&exe), "latchkey 0.1.0");

    // Signed with the app's key, but the file served is another one.
    releases::remove(&srv.state.db, "linux-x86_64", "0.3.0")
        .await
        .unwrap();
    publish(
        &srv,
        "0.3.1",
        &format!("{base}/tampered"),
        &sign(&test_key(), &new),
        false,
    )
    .await;
    let update = updates::check(handle, &srv.base(), Some(exe.clone()))
        .await
        .unwrap()
        .expect("0.3.1 is offered");
    assert_eq!(update.version, "0.3.1");
    let refused = updates::install(&update, |_, _| {})
        .await
        .map_err(|e| e.code());
    assert_eq!(refused, Err(Code::UpdateSignatureInvalid));
    assert_eq!(run(&exe), "latchkey 0.1.0");
    // No leftover beside the app either.
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(left.len(), 1, "{left:?}");
}
