//! `latchkey-server directory check` and `directory sync [--dry-run]`, run as the real
//! binary against the test server's database and the test's slapd: what differs is
//! listed, the dry run changes nothing, the sync imports and refreshes, and the
//! service account's password is never printed.

use std::process::Stdio;

use latchkey_testkit::slapd::{Slapd, SERVICE_DN, SERVICE_PASSWORD};
use latchkey_testkit::{on_both, Backend, TestServer};

use super::{dn, with_directory, PASSWORD, UID};

on_both!(check_lists_differences_and_sync_imports_people);

const BIN: &str = env!("CARGO_BIN_EXE_latchkey-server");

async fn directory(srv: &TestServer, slapd: &Slapd, args: &[&str]) -> (i32, String, String) {
    let mut cmd = tokio::process::Command::new(BIN);
    cmd.arg("directory").args(args);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("LATCHKEY_") {
            cmd.env_remove(&name);
        }
    }
    let out = cmd
        .env("LATCHKEY_DATABASE_URL", srv.database_url())
        .env("LATCHKEY_LOG", "warn")
        .env("LATCHKEY_DIRECTORY__URL", slapd.url())
        .env("LATCHKEY_DIRECTORY__STARTTLS", "false")
        .env("LATCHKEY_DIRECTORY__BIND_DN", SERVICE_DN)
        .env(
            "LATCHKEY_DIRECTORY__BASE_DN",
            latchkey_testkit::slapd::PEOPLE,
        )
        .env("LATCHKEY_DIRECTORY_BIND_PASSWORD", SERVICE_PASSWORD)
        .stdin(Stdio::null())
        .output()
        .await
        .expect("latchkey-server");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !stdout.contains(SERVICE_PASSWORD) && !stderr.contains(SERVICE_PASSWORD),
        "the service password was printed: {stdout}{stderr}"
    );
    (out.status.code().unwrap_or(-1), stdout, stderr)
}

async fn check_lists_differences_and_sync_imports_people(b: Backend) {
    let Some((srv, slapd, _sink)) = with_directory(b, false, |_| {}).await else {
        return;
    };
    let lisi = slapd.add_person(
        "lisi",
        "Li Si",
        "li.si@corp.example",
        "+8613900139000",
        PASSWORD,
    );
    srv.login(UID, PASSWORD).await;
    slapd.ldapmodify(
        &format!(
            "dn: {}\nchangetype: modify\nreplace: cn\ncn: Zhang Wei 张伟\n",
            dn(UID)
        ),
        false,
    );
    let (code, out, err) = directory(&srv, &slapd, &["check"]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains(&format!("new       {lisi}")), "{out}");
    assert!(
        out.contains("changed   zhang.wei@corp.example: name Zhang Wei -> Zhang Wei 张伟;"),
        "{out}"
    );
    assert!(out.contains("2 differ"), "{out}");

    let (code, out, err) = directory(&srv, &slapd, &["sync", "--dry-run"]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("2 would change"), "{out}");
    let users = latchkey_server::users::list(&srv.state.db).await.unwrap();
    assert_eq!(users.len(), 1, "a dry run changes nothing");

    let (code, out, err) = directory(&srv, &slapd, &["sync"]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("2 changed"), "{out}");
    let users = latchkey_server::users::list(&srv.state.db).await.unwrap();
    assert_eq!(users.len(), 2);
    assert!(users
        .iter()
        .any(|u| u.email.as_deref() == Some("li.si@corp.example") && u.in_directory()));

    // Li Si leaves: disabled in the directory; check says so.
    slapd.ldapmodify(
        &format!(
            "dn: {lisi}\nchangetype: modify\nadd: pwdAccountLockedTime\npwdAccountLockedTime: 000001010000Z\n"
        ),
        false,
    );
    let (code, out, err) = directory(&srv, &slapd, &["check"]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("refused   li.si@corp.example: disabled in the directory"),
        "{out}"
    );
    assert!(out.contains("1 differ"), "{out}");

    // A directory that cannot be reached: a clear failure.
    let mut slapd = slapd;
    slapd.stop();
    let (code, out, err) = directory(&srv, &slapd, &["check"]).await;
    assert_ne!(code, 0, "{out}");
    assert!(err.contains("cannot be used"), "{err}");
}
