//! Bursts split across two processes still get no more than the limit (issue 13):
//! wrong passwords and reset starts, and every code (TOTP, reset, device) and reset token.

use std::time::Duration;

use latchkey_testkit::api::{OTHER_PASSWORD, PASSWORD};
use latchkey_testkit::Backend;
use reqwest::StatusCode;
use serde_json::json;

use latchkey_testkit::smtp::SmtpSink;
use latchkey_testkit::totp::{base32_decode, hotp};

use super::super::reset::code_mail;
use super::{admin, code, spawn_server, Client, ServerProcess};

/// Issue 13: bursts split across two processes on one PostgreSQL still get no more
/// than the limit: wrong passwords (5 judged, of which at most 4 can be answered
/// `invalid_credentials`: the 5th locks) and reset codes sent (1 per resend window).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_hold_across_two_processes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let Some(database) = latchkey_testkit::database(Backend::Postgres, &dir).await else {
        return;
    };
    let url = database.url.clone();
    let config = dir.path().join("latchkey.toml");
    std::fs::write(
        &config,
        "trust_forwarded_for = true\n\n[devices]\nverify_new = false\n",
    )
    .expect("config");
    let (db, cfg, d) = (url.clone(), config.clone(), dir.path().to_owned());
    let (a, b) = tokio::task::spawn_blocking(move || {
        (
            spawn_server("A", &db, &cfg, &d),
            spawn_server("B", &db, &cfg, &d),
        )
    })
    .await
    .expect("start servers");
    let (u, f) = (url.clone(), config.clone());
    tokio::task::spawn_blocking(move || {
        admin(
            &u,
            &f,
            &[
                "user",
                "add",
                "--email",
                "burst@corp.example",
                "--password-stdin",
            ],
            Some(&format!("{PASSWORD}\n")),
        )
    })
    .await
    .expect("user add");
    let c = Client {
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("client"),
    };
    let servers = [&a, &b];
    let answers = futures_util::future::join_all((0..30).map(|i| {
        let (c, server) = (&c, servers[i % 2]);
        async move {
            let address = format!("10.2.0.{i}");
            c.login(server, &address, "burst@corp.example", OTHER_PASSWORD)
                .await
        }
    }))
    .await;
    let codes: Vec<&str> = answers.iter().map(|(_, body)| code(body)).collect();
    let judged_wrong = codes
        .iter()
        .filter(|c| **c == "invalid_credentials")
        .count();
    assert!(judged_wrong <= 4, "{codes:?}");
    assert!(
        codes.iter().all(|c| matches!(
            *c,
            "invalid_credentials" | "account_locked" | "rate_limited"
        )),
        "{codes:?}"
    );
    let (_, body) = c
        .login(&b, "10.3.0.1", "burst@corp.example", PASSWORD)
        .await;
    assert_eq!(code(&body), "account_locked", "{body}");

    let starts = futures_util::future::join_all((0..30).map(|i| {
        let (c, server) = (&c, servers[i % 2]);
        async move {
            let body = json!({"identifier": "burst@corp.example"});
            c.post(server, "/v1/recovery/start", &format!("10.4.0.{i}"), body)
                .await
        }
    }))
    .await;
    let accepted = starts
        .iter()
        .filter(|(s, _)| *s == StatusCode::ACCEPTED)
        .count();
    assert_eq!(accepted, 1, "{starts:?}");
}

/// How many answers of a burst had `want` as their `code`.
fn answered(answers: &[(StatusCode, serde_json::Value)], want: &str) -> usize {
    answers
        .iter()
        .filter(|(_, body)| code(body) == want)
        .count()
}

/// Whether every answer of a burst is one of `allowed` (a refusal the contract names).
fn only(answers: &[(StatusCode, serde_json::Value)], allowed: &[&str]) {
    assert!(
        answers
            .iter()
            .all(|(_, body)| allowed.contains(&code(body))),
        "{answers:?}"
    );
}

/// The unix seconds of the real clock, moved out of the last seconds of a 30 s step
/// (by waiting), so that a code computed now is still current when a server checks it.
async fn settled_now() -> u64 {
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("after 1970")
            .as_secs()
    };
    if now() % 30 > 25 {
        tokio::time::sleep(Duration::from_secs(31 - now() % 30)).await;
    }
    now()
}

/// Signs `email` in on a new device through both processes: the password at A, the
/// mailed device code at B. The access token.
async fn signed_in(
    c: &Client,
    (a, b): (&ServerProcess, &ServerProcess),
    sink: &SmtpSink,
    email: &str,
    address: &str,
) -> String {
    let mails = code_mails(sink);
    let (_, body) = c.login(a, address, email, PASSWORD).await;
    assert_eq!(body["status"], "device_verification_required", "{body}");
    let token = body["challenge_token"]
        .as_str()
        .expect("challenge")
        .to_owned();
    let device_code = code_mail(sink, mails + 1).await.code().expect("a code");
    let (s, body) = c
        .post(
            b,
            "/v1/auth/device/verify",
            address,
            json!({"challenge_token": token, "code": device_code}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    body["access_token"].as_str().expect("session").to_owned()
}

/// `email` with TOTP turned on through the two processes; its TOTP secret.
async fn with_totp(
    c: &Client,
    servers: (&ServerProcess, &ServerProcess),
    sink: &SmtpSink,
    email: &str,
    address: &str,
) -> Vec<u8> {
    let (a, b) = servers;
    let token = signed_in(c, servers, sink, email, address).await;
    let (s, enrol) = c
        .post_auth(
            a,
            "/v1/me/totp/enroll",
            &token,
            json!({"password": PASSWORD}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{enrol}");
    let secret = base32_decode(enrol["secret"].as_str().expect("secret"));
    let first = hotp(&secret, settled_now().await / 30, 6);
    let (s, body) = c
        .post_auth(b, "/v1/me/totp/confirm", &token, json!({"code": first}))
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    secret
}

/// Issue 13: the second factor and every mailed code hold their limits across two
/// processes on one PostgreSQL, 30 requests at once split over A and B: wrong TOTP
/// codes across five `mfa_token`s (5 judged: at most 4 answered `code_invalid`, the
/// 5th locks), a wrong reset code and a wrong device code (5 tries each: 4
/// `code_invalid`, then used up), and refused resets on one reset token (at most 5
/// second factors judged).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn code_limits_hold_across_two_processes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let Some(database) = latchkey_testkit::database(Backend::Postgres, &dir).await else {
        return;
    };
    let sink = SmtpSink::start().await;
    let url = database.url.clone();
    let config = dir.path().join("latchkey.toml");
    std::fs::write(
        &config,
        format!(
            "trust_forwarded_for = true\n\n[delivery]\nsmtp_url = \"{}\"\nsecret_key = \"{}\"\n",
            sink.url(),
            latchkey_testkit::SECRET_KEY
        ),
    )
    .expect("config");
    let (db, cfg, d) = (url.clone(), config.clone(), dir.path().to_owned());
    let (a, b) = tokio::task::spawn_blocking(move || {
        (
            spawn_server("A", &db, &cfg, &d),
            spawn_server("B", &db, &cfg, &d),
        )
    })
    .await
    .expect("start servers");
    for email in [
        "second@corp.example",
        "codes@corp.example",
        "token@corp.example",
    ] {
        let (u, f) = (url.clone(), config.clone());
        tokio::task::spawn_blocking(move || {
            admin(
                &u,
                &f,
                &["user", "add", "--email", email, "--password-stdin"],
                Some(&format!("{PASSWORD}\n")),
            )
        })
        .await
        .expect("user add");
    }
    let c = Client {
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("client"),
    };
    let servers = [&a, &b];

    // Wrong TOTP codes on every mfa_token a right password keeps live (5).
    let secret = with_totp(&c, (&a, &b), &sink, "second@corp.example", "10.5.0.1").await;
    let mut tokens = Vec::new();
    for i in 0..5 {
        let (_, body) = c
            .login(servers[i % 2], "10.5.0.1", "second@corp.example", PASSWORD)
            .await;
        assert_eq!(body["status"], "mfa_required", "{body}");
        tokens.push(body["mfa_token"].as_str().expect("mfa_token").to_owned());
    }
    let now = settled_now().await;
    let right = hotp(&secret, now / 30, 6);
    let answers = futures_util::future::join_all((0..30).map(|i| {
        let (c, server, token) = (&c, servers[i % 2], &tokens[i % 5]);
        let guess = wrong(&right, i);
        async move {
            let body = json!({"mfa_token": token, "method": "totp", "code": guess});
            c.post(server, "/v1/auth/mfa", &format!("10.5.1.{i}"), body)
                .await
        }
    }))
    .await;
    assert!(answered(&answers, "code_invalid") <= 4, "{answers:?}");
    only(
        &answers,
        &[
            "code_invalid",
            "account_locked",
            "rate_limited",
            "too_many_attempts",
            "token_invalid",
        ],
    );
    // The judged codes locked the second factor: a fresh token and the right code wait.
    let (_, body) = c
        .login(&b, "10.5.0.1", "second@corp.example", PASSWORD)
        .await;
    let token = body["mfa_token"].as_str().expect("mfa_token");
    let body = json!({"mfa_token": token, "method": "totp", "code": right});
    let (_, body) = c.post(&a, "/v1/auth/mfa", "10.5.0.1", body).await;
    assert_eq!(code(&body), "account_locked", "{body}");

    // A wrong reset code: 5 tries whichever process takes them.
    let mails = code_mails(&sink);
    let (s, body) = c
        .post(
            &a,
            "/v1/recovery/start",
            "10.6.0.1",
            json!({"identifier": "codes@corp.example"}),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{body}");
    let id = body["recovery_id"]
        .as_str()
        .expect("recovery_id")
        .to_owned();
    let reset_code = code_mail(&sink, mails + 1).await.code().expect("a code");
    let answers = futures_util::future::join_all((0..30).map(|i| {
        let (c, server, id) = (&c, servers[i % 2], &id);
        let body = json!({"recovery_id": id, "code": wrong(&reset_code, 0)});
        async move {
            c.post(server, "/v1/recovery/verify", &format!("10.6.1.{i}"), body)
                .await
        }
    }))
    .await;
    assert_eq!(answered(&answers, "code_invalid"), 4, "{answers:?}");
    assert_eq!(answered(&answers, "too_many_attempts"), 26, "{answers:?}");
    let body = json!({"recovery_id": id, "code": reset_code});
    let (_, body) = c.post(&b, "/v1/recovery/verify", "10.6.0.1", body).await;
    assert_eq!(code(&body), "too_many_attempts", "{body}");

    // A wrong device code: 5 tries whichever process takes them.
    let mails = code_mails(&sink);
    let (_, body) = c
        .login(&b, "10.7.0.1", "codes@corp.example", PASSWORD)
        .await;
    assert_eq!(body["status"], "device_verification_required", "{body}");
    let challenge = body["challenge_token"]
        .as_str()
        .expect("challenge")
        .to_owned();
    let device_code = code_mail(&sink, mails + 1).await.code().expect("a code");
    let answers = futures_util::future::join_all((0..30).map(|i| {
        let (c, server) = (&c, servers[i % 2]);
        let body = json!({"challenge_token": challenge, "code": wrong(&device_code, 0)});
        async move {
            c.post(
                server,
                "/v1/auth/device/verify",
                &format!("10.7.1.{i}"),
                body,
            )
            .await
        }
    }))
    .await;
    assert_eq!(answered(&answers, "code_invalid"), 4, "{answers:?}");
    assert_eq!(
        answered(&answers, "too_many_attempts") + answered(&answers, "token_invalid"),
        26,
        "{answers:?}"
    );
    let body = json!({"challenge_token": challenge, "code": device_code});
    let (s, body) = c.post(&a, "/v1/auth/device/verify", "10.7.0.1", body).await;
    assert!(s.is_client_error(), "{body}");

    // Refused resets on one reset token of a TOTP account: wrong second factors.
    let secret = with_totp(&c, (&b, &a), &sink, "token@corp.example", "10.8.0.1").await;
    let mails = code_mails(&sink);
    let (_, body) = c
        .post(
            &b,
            "/v1/recovery/start",
            "10.8.0.1",
            json!({"identifier": "token@corp.example"}),
        )
        .await;
    let id = body["recovery_id"]
        .as_str()
        .expect("recovery_id")
        .to_owned();
    let reset_code = code_mail(&sink, mails + 1).await.code().expect("a code");
    let body = json!({"recovery_id": id, "code": reset_code});
    let (s, body) = c.post(&a, "/v1/recovery/verify", "10.8.0.1", body).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let reset_token = body["reset_token"]
        .as_str()
        .expect("reset_token")
        .to_owned();
    let right = hotp(&secret, settled_now().await / 30, 6);
    let answers = futures_util::future::join_all((0..30).map(|i| {
        let (c, server) = (&c, servers[i % 2]);
        let body = json!({"reset_token": reset_token, "totp_code": wrong(&right, i),
                          "new_password": "Brand-new-passphrase-62"});
        async move {
            c.post(
                server,
                "/v1/recovery/complete",
                &format!("10.8.1.{i}"),
                body,
            )
            .await
        }
    }))
    .await;
    assert!(answered(&answers, "code_invalid") <= 4, "{answers:?}");
    only(
        &answers,
        &[
            "code_invalid",
            "account_locked",
            "rate_limited",
            "token_invalid",
        ],
    );
    // The token took its tries: the right code no longer helps.
    let body = json!({"reset_token": reset_token, "totp_code": right,
                      "new_password": "Brand-new-passphrase-62"});
    let (_, body) = c.post(&b, "/v1/recovery/complete", "10.8.0.1", body).await;
    assert_eq!(code(&body), "token_invalid", "{body}");
}

/// How many e-mails with a code the sink has received (notices are not counted).
fn code_mails(sink: &SmtpSink) -> usize {
    sink.messages()
        .iter()
        .filter(|m| m.code().is_some())
        .count()
}

/// A six-digit code that is surely not `right` (the `i`-th of such codes).
fn wrong(right: &str, i: usize) -> String {
    let n: usize = right.parse().expect("six digits");
    format!("{:06}", (n + 1 + i) % 1_000_000)
}
