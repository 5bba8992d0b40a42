use std::process::Command;
use std::sync::Arc;

use latchkey_client::net::ServerUrl;
use latchkey_client::vault::{account_key, Vault};
use latchkey_client::Step;
use latchkey_testkit::{on_both, Backend, TestServer};

use super::common::*;

on_both!(
    remember_me_signs_in_at_launch_and_forget_removes_everything,
    without_a_keychain_it_signs_in_and_says_it_cannot_remember,
);

/// What `secret-tool` (libsecret, another process) finds under `service`.
fn secret_tool_search(service: &str) -> String {
    let out = Command::new("secret-tool")
        .args(["search", "--all", "--unlock", "service", service])
        .output()
        .expect("secret-tool (libsecret-tools) is installed");
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_keychain_is_the_real_secret_service_not_a_mock() {
    let Some(keyring) = keyring() else { return };
    let service = keyring.service().to_owned();
    let srv = TestServer::start(Backend::Sqlite, |_| {}).await.unwrap();
    srv.add_user("gao@corp.cn", PASSWORD).await;
    let mut app = App::new(&srv.base(), Arc::new(keyring));
    signed_in(&mut app, &srv, "gao@corp.cn", PASSWORD, true).await;

    // Another process, through libsecret, sees the items this one wrote: they are in
    // the Secret Service, not in keyring's in-memory mock.
    let found = secret_tool_search(&service);
    let record = format!("{} account gao@corp.cn", srv.base());
    assert!(found.contains(&record), "{found}");
    assert!(found.contains(&format!("{} index", srv.base())), "{found}");
    assert!(found.contains("refresh_token"), "{found}");
    assert!(found.contains("$argon2id$"), "{found}");

    app.client.forget_device().await.unwrap();
    let found = secret_tool_search(&service);
    assert!(!found.contains("gao@corp.cn"), "{found}");
}

async fn remember_me_signs_in_at_launch_and_forget_removes_everything(b: Backend) {
    let Some(srv) = TestServer::start(b, |_| {}).await else {
        return;
    };
    srv.add_user("liang@corp.cn", PASSWORD).await;
    let mut app = App::on(&srv);
    let step = signed_in(&mut app, &srv, "liang@corp.cn", PASSWORD, true).await;
    assert!(matches!(
        step,
        Step::SignedIn {
            remembered: true,
            cannot_remember: false,
            ..
        }
    ));

    // Launch again: signed in through the refresh token, no password asked.
    app.relaunch();
    let step = app.client.start().await;
    assert!(
        matches!(&step, Step::SignedIn { offline: false, remembered: true, user, .. } if user.email.as_deref() == Some("liang@corp.cn")),
        "{step:?}"
    );
    // The rotated token was stored: once more.
    app.relaunch();
    assert!(matches!(app.client.start().await, Step::SignedIn { .. }));

    // Sign out: no automatic sign-in any more, but the account is still known and its
    // offline verifier kept.
    app.client.sign_out().await.unwrap();
    app.relaunch();
    let step = app.client.start().await;
    assert_eq!(
        step,
        Step::Identify {
            identifier: Some("liang@corp.cn".into())
        }
    );
    let vault = Vault::new(app.store.clone());
    let server = ServerUrl::parse(&srv.base()).unwrap();
    let record = vault
        .load(&server, &account_key("liang@corp.cn", "CN"))
        .unwrap()
        .unwrap();
    assert!(record.refresh_token.is_none() && record.verifier.is_some());

    // Remember again, then forget this device: nothing left.
    signed_in(&mut app, &srv, "liang@corp.cn", PASSWORD, true).await;
    let step = app.client.forget_device().await.unwrap();
    assert_eq!(step, Step::Identify { identifier: None });
    assert!(vault.load_index(&server).unwrap().accounts.is_empty());
    assert!(vault
        .load(&server, &account_key("liang@corp.cn", "CN"))
        .unwrap()
        .is_none());
    app.relaunch();
    assert_eq!(
        app.client.start().await,
        Step::Identify { identifier: None }
    );

    // Unticking "remember me" forgets what was kept.
    signed_in(&mut app, &srv, "liang@corp.cn", PASSWORD, true).await;
    app.client.sign_out().await.unwrap();
    signed_in(&mut app, &srv, "liang@corp.cn", PASSWORD, false).await;
    assert!(vault
        .load(&server, &account_key("liang@corp.cn", "CN"))
        .unwrap()
        .is_none());
}

async fn without_a_keychain_it_signs_in_and_says_it_cannot_remember(b: Backend) {
    let Some(srv) = TestServer::start(b, |_| {}).await else {
        return;
    };
    srv.add_user("fang@corp.cn", PASSWORD).await;
    let mut app = App::new(&srv.base(), Arc::new(NoKeychain));
    let step = signed_in(&mut app, &srv, "fang@corp.cn", PASSWORD, true).await;
    assert!(
        matches!(
            step,
            Step::SignedIn {
                remembered: false,
                cannot_remember: true,
                offline: false,
                ..
            }
        ),
        "{step:?}"
    );
    // Nothing went to a file instead.
    for f in walk(app.dir.path()) {
        let text = String::from_utf8_lossy(&std::fs::read(&f).unwrap()).into_owned();
        assert!(
            !text.contains("lkr_") && !text.contains("argon2"),
            "{}",
            f.display()
        );
    }
    app.relaunch();
    assert_eq!(
        app.client.start().await,
        Step::Identify { identifier: None }
    );
}

pub fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}
