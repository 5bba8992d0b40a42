//! IT's managed settings, read through the real code from where IT puts them: a TOML
//! file as `/etc/latchkey/latchkey.toml` is (in a temporary folder: the tests do not
//! run as root), and under Wine the Windows policy keys in the prefix's registry. The
//! server they name wins over `LATCHKEY_SERVER`, the installer's `latchkey.toml` and
//! the person's choice; offline sign-in turned off keeps no verifier and is refused.

use std::path::Path;
use std::sync::Arc;

use latchkey_client::api::Timeouts;
use latchkey_client::clock::ManualClock;
use latchkey_client::config::ServerSource;
use latchkey_client::dirs::AppDirs;
use latchkey_client::managed::{self, Managed};
use latchkey_client::vault::MemoryStore;
use latchkey_client::{Client, ClientError, Code, Options, Step};
use latchkey_testkit::{on_both, Backend, TestServer};

use super::common::*;

/// A client on a computer where everything below the managed settings names another
/// server: `LATCHKEY_SERVER`, `latchkey.toml` beside the executable, and the person's
/// own choice saved by the first-run setup.
fn crowded(dir: &Path, managed: Managed) -> Result<Client, ClientError> {
    crowded_but(dir, managed, true)
}

/// [`crowded`], with or without the person's own choice.
fn crowded_but(dir: &Path, managed: Managed, chosen: bool) -> Result<Client, ClientError> {
    let exe = dir.join("bin");
    std::fs::create_dir_all(&exe).unwrap();
    std::fs::write(
        exe.join("latchkey.toml"),
        "server = \"https://installer.corp.cn\"\n",
    )
    .unwrap();
    let saved = dir.join("config").join("settings.json");
    if chosen {
        std::fs::create_dir_all(dir.join("config")).unwrap();
        std::fs::write(&saved, r#"{"server": "https://persons-choice.corp.cn"}"#).unwrap();
    } else if saved.exists() {
        std::fs::remove_file(&saved).unwrap();
    }
    Client::new(Options {
        dirs: AppDirs::under(dir),
        store: Arc::new(MemoryStore::default()),
        clock: Arc::new(ManualClock::default()),
        timeouts: Timeouts::default(),
        client_version: "1.0.0".into(),
        server_env: Some("https://environment.corp.cn".into()),
        exe_dir: Some(exe),
        managed,
    })
}

#[tokio::test]
async fn the_managed_file_is_above_the_environment_the_installer_and_the_person() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("etc-latchkey.toml");

    // No file: nothing managed, and the environment wins as before.
    let m = managed::load_file(&file).unwrap();
    assert_eq!(m, Managed::default());
    let c = crowded(dir.path(), m).unwrap();
    assert_eq!(c.server().unwrap().source, ServerSource::Environment);

    // Locked: IT's server, and the app does not offer to change it.
    std::fs::write(
        &file,
        "server = \"https://it.corp.cn\"\nlock_server = true\noffline_signin = false\nlanguage = \"zh-CN\"\n",
    )
    .unwrap();
    let m = managed::load_file(&file).unwrap();
    assert!(m.server_locked());
    assert!(!m.offline_allowed());
    assert_eq!(m.language.as_deref(), Some("zh-CN"));
    let mut c = crowded(dir.path(), m).unwrap();
    let choice = c.server().unwrap();
    assert_eq!(
        (choice.url.as_str(), choice.source),
        ("https://it.corp.cn/", ServerSource::Managed)
    );
    assert!(!choice.source.changeable());
    let e = c.setup_server("https://other.corp.cn").await.unwrap_err();
    assert_eq!(e.code(), Code::WrongStep);

    // Not locked: a default, which the person's own choice replaces.
    std::fs::write(&file, "server = \"https://it.corp.cn\"\n").unwrap();
    let c = crowded(dir.path(), managed::load_file(&file).unwrap()).unwrap();
    let choice = c.server().unwrap();
    assert_eq!(
        (choice.url.as_str(), choice.source),
        ("https://persons-choice.corp.cn/", ServerSource::User)
    );
    let c = crowded_but(dir.path(), managed::load_file(&file).unwrap(), false).unwrap();
    let choice = c.server().unwrap();
    assert_eq!(
        (choice.url.as_str(), choice.source),
        ("https://it.corp.cn/", ServerSource::ManagedDefault)
    );
    assert!(choice.source.changeable());

    // A language the UI does not have is ignored; a broken file or a bad address is
    // an error (IT must hear), never a silent fall back to the person's server.
    std::fs::write(&file, "language = \"fr\"\n").unwrap();
    assert_eq!(managed::load_file(&file).unwrap().language, None);
    std::fs::write(&file, "server = \"http://it.corp.cn\"\n").unwrap();
    let e = crowded(dir.path(), managed::load_file(&file).unwrap()).unwrap_err();
    assert_eq!(e.code(), Code::InsecureServerUrl);
    std::fs::write(&file, "server = [1]\n").unwrap();
    assert_eq!(
        managed::load_file(&file).unwrap_err().code(),
        Code::InvalidServerUrl
    );
    std::fs::write(&file, "sever = \"https://typo.corp.cn\"\n").unwrap();
    assert!(
        managed::load_file(&file).is_err(),
        "unknown keys are refused"
    );
}

on_both!(offline_sign_in_turned_off_keeps_no_verifier);

/// A shared PC: IT turned offline sign-in off. A remembered sign-in keeps its refresh
/// token but no verifier, and with the server down the password is refused with the
/// managed-settings message, not tried.
async fn offline_sign_in_turned_off_keeps_no_verifier(b: Backend) {
    let Some(mut srv) = TestServer::start(b, |_| {}).await else {
        return;
    };
    let off = Managed {
        offline_signin: Some(false),
        ..Managed::default()
    };
    srv.add_user("shared@corp.cn", PASSWORD).await;
    let mut app = App::on(&srv);
    let rebuild = |app: &App, managed: Managed| {
        build_managed(
            &app.server,
            &app.dir,
            &app.clock,
            &app.store,
            Timeouts::default(),
            managed,
        )
    };
    app.client = rebuild(&app, off.clone());
    signed_in(&mut app, &srv, "shared@corp.cn", PASSWORD, true).await;
    // Another computer, remembered before IT turned offline sign-in off: its verifier
    // is there, and not used once the setting is.
    let mut before = App::on(&srv);
    signed_in(&mut before, &srv, "shared@corp.cn", PASSWORD, true).await;
    srv.stop().await;
    before.relaunch();
    assert!(matches!(
        before.client.start().await,
        Step::Password {
            offline_possible: true,
            ..
        }
    ));
    before.client = rebuild(&before, off.clone());
    assert!(matches!(
        before.client.start().await,
        Step::Password {
            offline_possible: false,
            ..
        }
    ));
    let e = before
        .client
        .sign_in(secret(PASSWORD), true)
        .await
        .unwrap_err();
    assert!(matches!(e, ClientError::OfflineOffHere), "{e:?}");

    app.client = rebuild(&app, off);
    let step = app.client.start().await;
    assert_eq!(
        step,
        Step::Password {
            identifier: "shared@corp.cn".into(),
            offline_possible: false
        },
        "no verifier was kept"
    );
    let e = app
        .client
        .sign_in(secret(PASSWORD), true)
        .await
        .unwrap_err();
    assert!(matches!(e, ClientError::OfflineOffHere), "{e:?}");
    assert_eq!(e.code(), Code::OfflineOffHere);

    // The same keychain without the setting: still nothing to check a password with.
    app.client = rebuild(&app, Managed::default());
    let step = app.client.start().await;
    assert!(
        matches!(
            step,
            Step::Password {
                offline_possible: false,
                ..
            }
        ),
        "{step:?}"
    );
    srv.restart().await;
}

/// Under Wine (scripts/windows-tests.sh): the policy keys written in the prefix's
/// registry through the registry API, read back by the app's own code. HKLM's values
/// win over HKCU's, key by key.
#[cfg(windows)]
#[tokio::test]
async fn the_windows_policy_keys_hklm_then_hkcu() {
    use windows_registry::{CURRENT_USER, LOCAL_MACHINE};
    let clean = || {
        let _ = LOCAL_MACHINE.remove_tree(managed::POLICY_KEY);
        let _ = CURRENT_USER.remove_tree(managed::POLICY_KEY);
    };
    clean();
    assert_eq!(managed::load().unwrap(), Managed::default());

    let hklm = LOCAL_MACHINE.create(managed::POLICY_KEY).unwrap();
    hklm.set_string("Server", "https://it.corp.cn").unwrap();
    hklm.set_u32("LockServer", 1).unwrap();
    let hkcu = CURRENT_USER.create(managed::POLICY_KEY).unwrap();
    hkcu.set_string("Server", "https://user-policy.corp.cn")
        .unwrap();
    hkcu.set_u32("LockServer", 0).unwrap();
    hkcu.set_u32("OfflineSignin", 0).unwrap();
    hkcu.set_string("Language", "zh-CN").unwrap();
    let read = managed::load();
    clean();
    let m = read.unwrap();
    assert_eq!(
        m,
        Managed {
            server: Some("https://it.corp.cn".into()),
            lock_server: Some(true),
            offline_signin: Some(false),
            language: Some("zh-CN".into()),
        }
    );
    let dir = tempfile::tempdir().unwrap();
    let c = crowded(dir.path(), m).unwrap();
    assert_eq!(c.server().unwrap().source, ServerSource::Managed);
}
