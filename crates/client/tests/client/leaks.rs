use latchkey_client::net::ServerUrl;
use latchkey_client::vault::{account_key, Vault};
use latchkey_client::{SecondFactor, Step};
use latchkey_proto::MfaMethod;
use latchkey_server::admin::AddUser;
use latchkey_testkit::{Backend, TestServer};

use super::common::*;
use super::keychain::walk;

/// Runs every flow with secrets it records, then reads every file the app wrote (its
/// config and cache folders, and the log, which every test of this binary shares) and
/// finds none of them — nor any token, which all carry the `lka_`/`lkr_`/`lkc_` prefixes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_in_the_log_or_the_apps_folders() {
    let mut srv = TestServer::start(Backend::Sqlite, |_| {}).await.unwrap();
    let mut secrets: Vec<String> = vec![
        PASSWORD.into(),
        NEW_PASSWORD.into(),
        "Wrong-password-000".into(),
    ];
    let email = "leak@corp.cn";
    srv.add_user(email, PASSWORD).await;
    let mut app = App::on(&srv);

    // Sign-in with the new-device code from the mail, remember me.
    app.client.start().await;
    // The device id skips the device code: a secret too (issue 13).
    secrets.push(app.client.device().id);
    app.client.identify(email).await.unwrap();
    let _ = app.client.sign_in(secret("Wrong-password-000"), true).await;
    let step = app.client.sign_in(secret(PASSWORD), true).await.unwrap();
    assert!(matches!(step, Step::DeviceCode { .. }));
    let code = mailed_code(&srv, 0).await;
    secrets.push(code.clone());
    assert_eq!(
        app.client.verify_device(secret(&code)).await.unwrap(),
        Step::TotpOffer
    );
    // The strength meter on a candidate password.
    app.client.password_strength("Candidate-password-5521");
    secrets.push("Candidate-password-5521".into());

    // TOTP enrolment, TOTP and recovery-code sign-ins.
    let totp_code = srv.totp(&{
        let Step::TotpSetup { setup } = app.client.setup_totp(None).await.unwrap() else {
            panic!()
        };
        let s = setup.secret_groups.expose().replace(' ', "");
        secrets.push(s.clone());
        secrets.push(setup.secret_groups.expose().to_owned());
        s
    });
    secrets.push(totp_code.clone());
    let Step::RecoveryCodes { codes } = app.client.confirm_totp(secret(&totp_code)).await.unwrap()
    else {
        panic!()
    };
    secrets.extend(codes.iter().map(|c| c.expose().to_owned()));
    app.client.recovery_codes_saved().unwrap();
    let totp_secret = secrets[secrets.len() - 13].clone();
    srv.advance(30);
    app.client.sign_out().await.unwrap();
    app.client.identify(email).await.unwrap();
    app.client.sign_in(secret(PASSWORD), true).await.unwrap();
    let c = srv.totp(&totp_secret);
    secrets.push(c.clone());
    app.client
        .second_factor(MfaMethod::Totp, secret(&c))
        .await
        .unwrap();
    app.client.sign_out().await.unwrap();
    app.client.identify(email).await.unwrap();
    app.client.sign_in(secret(PASSWORD), true).await.unwrap();
    app.client
        .second_factor(MfaMethod::RecoveryCode, secret(codes[0].expose()))
        .await
        .unwrap();
    // What the keychain holds must not be anywhere else.
    let vault = Vault::new(app.store.clone());
    let server = ServerUrl::parse(&srv.base()).unwrap();
    let record = vault
        .load(&server, &account_key(email, "CN"))
        .unwrap()
        .unwrap();
    secrets.push(record.refresh_token.unwrap().expose().to_owned());
    secrets.push(record.verifier.unwrap().expose().to_owned());

    // Offline: right and wrong passwords, then back online.
    srv.stop().await;
    app.relaunch();
    app.client.start().await;
    let _ = app.client.sign_in(secret("Wrong-password-000"), true).await;
    assert!(matches!(
        app.client.sign_in(secret(PASSWORD), true).await.unwrap(),
        Step::SignedIn { offline: true, .. }
    ));
    srv.restart().await;
    app.client.revalidate().await.unwrap();

    // Password reset, with the reset code from the mail and a TOTP code.
    app.client.sign_out().await.unwrap();
    app.client.begin_reset().unwrap();
    let before = srv.smtp.messages().len();
    app.client.send_reset_code(email, None).await.unwrap();
    let reset_code = srv.smtp.code_after(before).await;
    secrets.push(reset_code.clone());
    app.client
        .verify_reset_code(secret(&reset_code))
        .await
        .unwrap();
    srv.advance(30);
    let c = srv.totp(&totp_secret);
    secrets.push(c.clone());
    app.client
        .reset_password(
            secret(NEW_PASSWORD),
            Some(SecondFactor {
                method: MfaMethod::Totp,
                code: secret(&c),
            }),
        )
        .await
        .unwrap();

    // A forced change of a temporary password.
    srv.add(
        AddUser {
            email: Some("qiao@corp.cn".into()),
            temporary: true,
            ..AddUser::default()
        },
        "Lantern-harbor-2026x",
    )
    .await;
    secrets.push("Lantern-harbor-2026x".into());
    secrets.push("Changed-temporary-8841".into());
    app.client.identify("qiao@corp.cn").await.unwrap();
    let before = srv.smtp.messages().len();
    let step = app
        .client
        .sign_in(secret("Lantern-harbor-2026x"), true)
        .await
        .unwrap();
    assert!(matches!(step, Step::DeviceCode { .. }), "{step:?}");
    let device_code = srv.smtp.code_after(before).await;
    secrets.push(device_code.clone());
    app.client
        .verify_device(secret(&device_code))
        .await
        .unwrap();
    app.client
        .forced_change(secret("Changed-temporary-8841"), None)
        .await
        .unwrap();
    app.client.forget_device().await.unwrap();

    // Let the log writer's thread catch up, then read everything.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let mut files = walk(app.dir.path());
    let logs = walk(log_dir());
    assert!(!logs.is_empty(), "no log file in {}", log_dir().display());
    let log_text: String = logs
        .iter()
        .map(|f| String::from_utf8_lossy(&std::fs::read(f).unwrap()).into_owned())
        .collect();
    assert!(log_text.contains("signed in offline"), "the log is written");
    files.extend(logs);
    assert!(files.iter().any(|f| f.ends_with("meta.json")));
    for f in &files {
        let text = String::from_utf8_lossy(&std::fs::read(f).unwrap()).into_owned();
        // Each log line starts with a timestamp whose microseconds are six digits, as
        // are the codes: the timestamps are left out, and a code is found only as a
        // whole word, so that a code is never "found" inside a time or an id.
        let text: String = text
            .lines()
            .map(|l| match l.split_once(' ') {
                Some((t, rest)) if is_timestamp(t) => rest,
                _ => l,
            })
            .collect::<Vec<_>>()
            .join("\n");
        for (i, s) in secrets.iter().enumerate() {
            assert!(
                !contains_secret(&text, s),
                "{} contains secret #{i} (of {} chars)",
                f.display(),
                s.len()
            );
        }
        for prefix in ["lka_", "lkr_", "lkc_"] {
            assert!(!text.contains(prefix), "{} contains a token", f.display());
        }
    }
}

/// `2026-12-06T00:09:24.491570Z`, the start of every log line.
fn is_timestamp(t: &str) -> bool {
    t.len() > 20 && t.ends_with('Z') && t.as_bytes()[10] == b'T' && t[..4].parse::<u16>().is_ok()
}

/// A numeric code counts as found only as a whole word (not inside a longer number or
/// a hex id such as `d782003c`); anything else as a substring.
fn contains_secret(text: &str, secret: &str) -> bool {
    if secret.is_empty() || !secret.bytes().all(|b| b.is_ascii_digit()) {
        return text.contains(secret);
    }
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .any(|run| run == secret)
}

#[test]
fn a_code_is_found_as_a_whole_number_only() {
    assert!(contains_secret("code=123456 sent", "123456"));
    assert!(contains_secret("123456", "123456"));
    assert!(!contains_secret("port 1234567", "123456"));
    assert!(!contains_secret("elapsed 0123456", "123456"));
    assert!(!contains_secret("service latchkey-test-d123456c", "123456"));
    assert!(contains_secret(
        "pw Wrong-password-000!",
        "Wrong-password-000"
    ));
    assert!(is_timestamp("2026-12-06T00:09:24.491570Z"));
    assert!(!is_timestamp("DEBUG"));
}
