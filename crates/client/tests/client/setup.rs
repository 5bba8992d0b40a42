use std::sync::Arc;

use latchkey_client::api::Timeouts;
use latchkey_client::clock::ManualClock;
use latchkey_client::config::ServerSource;
use latchkey_client::dirs::AppDirs;
use latchkey_client::vault::MemoryStore;
use latchkey_client::{Client, Code, Options, Step};
use latchkey_testkit::{Backend, TestServer};

fn unconfigured(dir: &tempfile::TempDir, exe_dir: Option<std::path::PathBuf>) -> Client {
    Client::new(Options {
        dirs: AppDirs::under(dir.path()),
        store: Arc::new(MemoryStore::default()),
        clock: Arc::new(ManualClock::default()),
        timeouts: Timeouts::default(),
        client_version: "1.0.0".into(),
        server_env: None,
        exe_dir,
        managed: Default::default(),
    })
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_run_setup_tests_and_saves_the_server() {
    let srv = TestServer::start(Backend::Sqlite, |c| {
        c.server_name = "Corp Sign-in".into();
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut client = unconfigured(&dir, None);
    assert_eq!(client.start().await, Step::Setup);
    // Not https and not loopback: refused before any connection.
    let e = client
        .setup_server("http://auth.corp.cn")
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InsecureServerUrl);
    // Nothing listening: the connection test fails and nothing is saved.
    let e = client.setup_server("http://127.0.0.1:1").await.unwrap_err();
    assert_eq!(e.code(), Code::ConnectionRefused);
    assert_eq!(client.step(), &Step::Setup);
    let meta = client.test_server(&srv.base()).await.unwrap();
    assert_eq!(meta.server_name, "Corp Sign-in");
    let step = client.setup_server(&srv.base()).await.unwrap();
    assert_eq!(step, Step::Identify { identifier: None });
    assert_eq!(client.server().unwrap().source, ServerSource::User);

    // The next launch knows the server and, with the server down, its cached meta.
    drop(srv);
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let mut again = unconfigured(&dir, None);
    assert_eq!(again.server().unwrap().source, ServerSource::User);
    again.start().await;
    assert_eq!(again.meta().unwrap().server_name, "Corp Sign-in");
}

#[tokio::test]
async fn provisioned_by_it_beside_the_executable() {
    let dir = tempfile::tempdir().unwrap();
    let exe = dir.path().join("bin");
    std::fs::create_dir_all(&exe).unwrap();
    std::fs::write(
        exe.join("latchkey.toml"),
        "server = \"https://auth.corp.cn\"\n",
    )
    .unwrap();
    let mut client = unconfigured(&dir, Some(exe));
    let choice = client.server().unwrap();
    assert_eq!(choice.source, ServerSource::Provisioned);
    assert_eq!(choice.url.as_str(), "https://auth.corp.cn/");
    let e = client
        .setup_server("https://other.corp.cn")
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::WrongStep);
}

/// Issue 13: the app opens only the links the server published, and only over https
/// (plain http to this machine excepted).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_published_https_links_are_opened() {
    let srv = TestServer::start(Backend::Sqlite, |c| {
        c.support.url = Some("http://it.corp.cn/help".into());
    })
    .await
    .unwrap();
    let mut app = super::common::App::on(&srv);
    app.client.start().await;
    assert!(
        !app.client.may_open("http://it.corp.cn/help").await,
        "published, but plain http across the network"
    );
    assert!(!app.client.may_open("https://evil.example/").await);
    // IT sets a download address after the app started: fetched again once.
    latchkey_server::admin::min_client_version(
        &srv.state,
        None,
        Some("https://it.corp.cn/latchkey"),
    )
    .await
    .unwrap();
    assert!(app.client.may_open("https://it.corp.cn/latchkey").await);
    latchkey_server::admin::min_client_version(
        &srv.state,
        None,
        Some("http://127.0.0.1:9/latchkey.deb"),
    )
    .await
    .unwrap();
    assert!(app.client.may_open("http://127.0.0.1:9/latchkey.deb").await);
    assert!(!app.client.may_open("javascript:alert(1)").await);
}
