//! Limits that hold under a burst of parallel requests (issue 13): each test fires 30
//! requests at once and counts how many were *judged* (the secret compared) or *sent*.
//! Before the tries were reserved, 24 of 30 wrong passwords and 12 of 30 wrong TOTP
//! codes were judged where the limit is 5. The same bursts across two real server
//! processes on one PostgreSQL are in `multi_process/limits.rs`.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::{json, Value};

use super::reset::{code_mail, started_id, verify as verify_reset, with_smtp, wrong};
use super::totp::{enabled_user, mfa_token, second};
use latchkey_testkit::api::PASSWORD;
use latchkey_testkit::smtp::SmtpSink;
use latchkey_testkit::{on_both, Backend, TestServer};

/// A server that mails to a real SMTP sink and verifies new devices.
async fn verifying(b: Backend) -> Option<(TestServer, SmtpSink)> {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let srv = TestServer::bare_with(b, |c| {
        c.delivery.smtp_url = Some(url);
        c.devices.verify_new = true;
    })
    .await?;
    Some((srv, sink))
}

on_both!(
    parallel_wrong_passwords_get_five_judged,
    parallel_wrong_totp_codes_across_tokens_get_five_judged,
    live_mfa_tokens_are_bounded,
    parallel_wrong_reset_codes_get_five_judged,
    parallel_wrong_device_codes_get_five_judged,
    parallel_reset_starts_send_one_code,
    parallel_new_device_sign_ins_send_five_codes,
    parallel_wrong_current_passwords_get_five_judged,
    parallel_refused_resets_get_five_tries,
    parallel_failures_over_several_identifiers_spend_the_account_budget_silently,
    parallel_wrong_recovery_codes_get_five_judged,
);

const BURST: usize = 30;

/// How many answers had each `code` (`ok` for a success).
fn tally(answers: &[(StatusCode, Value)]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for (status, body) in answers {
        let code = if status.is_success() {
            body["status"].as_str().unwrap_or("ok").to_owned()
        } else {
            body["code"].as_str().unwrap_or("?").to_owned()
        };
        *counts.entry(code).or_insert(0) += 1;
    }
    counts
}

fn count(t: &BTreeMap<String, usize>, code: &str) -> usize {
    t.get(code).copied().unwrap_or(0)
}

/// Whether every answer of a burst was a refusal the contract names.
fn only(t: &BTreeMap<String, usize>, allowed: &[&str]) {
    assert!(t.keys().all(|k| allowed.contains(&k.as_str())), "{t:?}");
}

async fn parallel_wrong_passwords_get_five_judged(b: Backend) {
    let Some(srv) = TestServer::bare(b).await else {
        return;
    };
    srv.add_user("burst@corp.cn", PASSWORD).await;
    let before = srv.state.hasher.verifications();
    let answers = join_all(
        (0..BURST).map(|_| srv.login_device("burst@corp.cn", "Wrong-password-123456", "dev-x")),
    )
    .await;
    let judged = srv.state.hasher.verifications() - before;
    let t = tally(&answers);
    assert_eq!(judged, 5, "{t:?}");
    only(
        &t,
        &["invalid_credentials", "account_locked", "rate_limited"],
    );
    assert!(count(&t, "account_locked") >= 1, "{t:?}");
    // The five judged tries locked the identifier: the right password waits too.
    let (s, body) = srv.login_raw("burst@corp.cn", PASSWORD).await;
    assert_eq!(
        (s.as_u16(), body["code"].as_str()),
        (423, Some("account_locked"))
    );
}

async fn parallel_wrong_totp_codes_across_tokens_get_five_judged(b: Backend) {
    let Some(srv) = TestServer::bare_with(b, |c| {
        c.delivery.secret_key = Some(super::totp::KEY.into());
    })
    .await
    else {
        return;
    };
    enabled_user(&srv, "totp-burst@corp.cn").await;
    // Every token a right password can keep live (5), each with its 5 tries: 30 wrong
    // codes at once (25 within the tokens' tries), where the account's second factor
    // takes 5.
    let mut tokens = Vec::new();
    for _ in 0..5 {
        tokens.push(mfa_token(&srv, "totp-burst@corp.cn").await);
    }
    let before = srv.state.second_factor_checks.load(Ordering::Relaxed);
    let answers = join_all((0..BURST).map(|i| {
        let (srv, token) = (&srv, &tokens[i % 5]);
        async move { second(srv, token, "totp", &format!("{:06}", 100_000 + i)).await }
    }))
    .await;
    let judged = srv.state.second_factor_checks.load(Ordering::Relaxed) - before;
    let t = tally(&answers);
    assert_eq!(judged, 5, "{t:?}");
    // A token whose tries are spent is used up (`challenge::settle_attempt`): a request
    // that reads it after that finds no live token and is told `token_invalid` (sign in
    // again) rather than `too_many_attempts` — which of the two depends on timing.
    only(
        &t,
        &[
            "code_invalid",
            "account_locked",
            "rate_limited",
            "too_many_attempts",
            "token_invalid",
        ],
    );
}

async fn live_mfa_tokens_are_bounded(b: Backend) {
    let Some(srv) = TestServer::bare_with(b, |c| {
        c.delivery.secret_key = Some(super::totp::KEY.into());
    })
    .await
    else {
        return;
    };
    let e = enabled_user(&srv, "tokens@corp.cn").await;
    let mut tokens = Vec::new();
    for _ in 0..8 {
        tokens.push(mfa_token(&srv, "tokens@corp.cn").await);
    }
    let live: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM challenges WHERE user_id = $1 AND kind = 'mfa' AND used_at IS NULL",
    )
    .bind(&e.user_id)
    .fetch_one(&srv.state.db)
    .await
    .unwrap();
    assert_eq!(live, 5);
    // The oldest are void, the newest work.
    let c = super::totp::code(&srv, &e.secret, 0);
    let (s, body) = second(&srv, &tokens[0], "totp", &c).await;
    assert_eq!(
        (s.as_u16(), body["code"].as_str()),
        (401, Some("token_invalid"))
    );
    let (s, body) = second(&srv, &tokens[7], "totp", &c).await;
    assert_eq!(s, 200, "{body}");
}

async fn parallel_wrong_reset_codes_get_five_judged(b: Backend) {
    let Some((srv, sink)) = with_smtp(b).await else {
        return;
    };
    srv.add_user("reset-burst@corp.cn", PASSWORD).await;
    let id = started_id(&srv, "reset-burst@corp.cn").await;
    let code = code_mail(&sink, 1).await.code().unwrap();
    let bad = wrong(&code);
    let answers = join_all((0..BURST).map(|_| verify_reset(&srv, &id, &bad))).await;
    let t = tally(&answers);
    assert_eq!(count(&t, "code_invalid"), 4, "{t:?}");
    assert_eq!(count(&t, "too_many_attempts"), BURST - 4, "{t:?}");
    let attempts: i64 = sqlx::query_scalar("SELECT attempts FROM recoveries WHERE id = $1")
        .bind(&id)
        .fetch_one(&srv.state.db)
        .await
        .unwrap();
    assert_eq!(attempts, 5);
    // Used up: the right code no longer works.
    let (s, body) = verify_reset(&srv, &id, &code).await;
    assert_eq!(
        (s.as_u16(), body["code"].as_str()),
        (429, Some("too_many_attempts"))
    );
}

async fn parallel_wrong_device_codes_get_five_judged(b: Backend) {
    let Some((srv, sink)) = verifying(b).await else {
        return;
    };
    srv.add_user("dev-burst@corp.cn", PASSWORD).await;
    let (s, body) = srv
        .login_device("dev-burst@corp.cn", PASSWORD, "new-laptop")
        .await;
    assert_eq!(body["status"], "device_verification_required", "{s} {body}");
    let token = body["challenge_token"].as_str().unwrap().to_owned();
    let code = code_mail(&sink, 1).await.code().unwrap();
    let bad = wrong(&code);
    let answers = join_all((0..BURST).map(|_| {
        srv.post(
            "/v1/auth/device/verify",
            json!({"challenge_token": token, "code": bad}),
        )
    }))
    .await;
    let t = tally(&answers);
    assert_eq!(count(&t, "code_invalid"), 4, "{t:?}");
    assert_eq!(
        count(&t, "too_many_attempts") + count(&t, "token_invalid"),
        BURST - 4,
        "{t:?}"
    );
    let (s, body) = srv
        .post(
            "/v1/auth/device/verify",
            json!({"challenge_token": token, "code": code}),
        )
        .await;
    assert!(s.is_client_error(), "{body}");
}

async fn parallel_reset_starts_send_one_code(b: Backend) {
    let Some((srv, _sink)) = with_smtp(b).await else {
        return;
    };
    srv.add_user("start-burst@corp.cn", PASSWORD).await;
    let answers = join_all((0..BURST).map(|_| {
        srv.post(
            "/v1/recovery/start",
            json!({"identifier": "start-burst@corp.cn"}),
        )
    }))
    .await;
    let accepted = answers
        .iter()
        .filter(|(s, _)| *s == StatusCode::ACCEPTED)
        .count();
    assert_eq!(accepted, 1, "{:?}", tally(&answers));
    let queued: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM messages WHERE recipient = $1 AND kind = 'recovery_code'",
    )
    .bind("start-burst@corp.cn")
    .fetch_one(&srv.state.db)
    .await
    .unwrap();
    assert_eq!(queued, 1);
}

async fn parallel_new_device_sign_ins_send_five_codes(b: Backend) {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    // Every password is judged here (a burst of 30 right passwords is more than the
    // sign-in lockout lets through at once): what is counted is the codes sent.
    let Some(srv) = TestServer::bare_with(b, |c| {
        c.delivery.smtp_url = Some(url);
        c.devices.verify_new = true;
        c.lockout.threshold = 100;
    })
    .await
    else {
        return;
    };
    srv.add_user("codes-burst@corp.cn", PASSWORD).await;
    let devices: Vec<String> = (0..BURST).map(|i| format!("laptop-{i}")).collect();
    let answers = join_all(
        devices
            .iter()
            .map(|d| srv.login_device("codes-burst@corp.cn", PASSWORD, d)),
    )
    .await;
    let t = tally(&answers);
    assert_eq!(count(&t, "device_verification_required"), 5, "{t:?}");
    assert_eq!(count(&t, "rate_limited"), BURST - 5, "{t:?}");
    let queued: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM messages WHERE recipient = $1 AND kind = 'device_code'",
    )
    .bind("codes-burst@corp.cn")
    .fetch_one(&srv.state.db)
    .await
    .unwrap();
    assert_eq!(queued, 5);
}

async fn parallel_wrong_current_passwords_get_five_judged(b: Backend) {
    let Some(srv) = TestServer::bare(b).await else {
        return;
    };
    srv.add_user("me-burst@corp.cn", PASSWORD).await;
    let token = srv.login("me-burst@corp.cn", PASSWORD).await.access_token;
    let before = srv.state.hasher.verifications();
    let answers = join_all((0..BURST).map(|i| {
        srv.call(
            reqwest::Method::POST,
            "/v1/me/password",
            Some(token.expose()),
            Some(json!({
                "current_password": format!("Not-the-password-{i}"),
                "new_password": "Another-fine-passphrase-77",
            })),
        )
    }))
    .await;
    let judged = srv.state.hasher.verifications() - before;
    let t = tally(&answers);
    assert_eq!(judged, 5, "{t:?}");
    only(
        &t,
        &["current_password_invalid", "account_locked", "rate_limited"],
    );
}

async fn parallel_refused_resets_get_five_tries(b: Backend) {
    let Some((srv, sink)) = with_smtp(b).await else {
        return;
    };
    let e = enabled_user(&srv, "reset-tries@corp.cn").await;
    let id = started_id(&srv, "reset-tries@corp.cn").await;
    let code = code_mail(&sink, 1).await.code().unwrap();
    let (_, body) = verify_reset(&srv, &id, &code).await;
    let token = body["reset_token"].as_str().unwrap().to_owned();
    let bad = wrong(&super::totp::code(&srv, &e.secret, 0));
    let before = srv.state.second_factor_checks.load(Ordering::Relaxed);
    let answers = join_all((0..BURST).map(|_| {
        srv.post(
            "/v1/recovery/complete",
            json!({"reset_token": token, "new_password": "Brand-new-passphrase-62",
                   "totp_code": bad}),
        )
    }))
    .await;
    let judged = srv.state.second_factor_checks.load(Ordering::Relaxed) - before;
    let t = tally(&answers);
    assert!(judged <= 5, "{judged} judged: {t:?}");
    only(
        &t,
        &[
            "code_invalid",
            "account_locked",
            "rate_limited",
            "token_invalid",
        ],
    );
    // The token took its five tries: the right code no longer helps.
    let good = super::totp::code(&srv, &e.secret, 0);
    let (s, body) = srv
        .post(
            "/v1/recovery/complete",
            json!({"reset_token": token, "new_password": "Brand-new-passphrase-62",
                   "totp_code": good}),
        )
        .await;
    assert_eq!(
        (s.as_u16(), body["code"].as_str()),
        (401, Some("token_invalid")),
        "{body}"
    );
}

async fn parallel_failures_over_several_identifiers_spend_the_account_budget_silently(b: Backend) {
    let Some(srv) = TestServer::bare(b).await else {
        return;
    };
    let user = srv
        .add(
            latchkey_server::admin::AddUser {
                email: Some("spread@corp.cn".into()),
                username: Some("spread".into()),
                phone: Some("+8613900139000".into()),
                ..Default::default()
            },
            PASSWORD,
        )
        .await;
    // 30 wrong passwords at once from a device the account never used, spread over
    // its three identifiers: 14 as the e-mail, 13 as the username, 3 as the phone.
    // Each identifier has its own visible budget (5), the account a silent one (5)
    // across all three.
    let identifiers: Vec<&str> = (0..BURST)
        .map(|i| match i {
            0..=13 => "spread@corp.cn",
            14..=26 => "spread",
            _ => "+8613900139000",
        })
        .collect();
    let before = srv.state.hasher.verifications();
    let answers = join_all(
        identifiers
            .iter()
            .map(|id| srv.login_device(id, "Wrong-password-123456", "stranger-pc")),
    )
    .await;
    let judged = srv.state.hasher.verifications() - before;
    let t = tally(&answers);
    // Every identifier's budget held on its own: 5 + 5 + 3 passwords judged.
    assert_eq!(judged, 13, "{t:?}");
    only(
        &t,
        &["invalid_credentials", "account_locked", "rate_limited"],
    );
    // The phone's own three tries were answered as wrong passwords, whatever the
    // account's budget said: nothing links it to the locked e-mail and username.
    let phone = tally(&answers[27..]);
    assert_eq!(count(&phone, "invalid_credentials"), 3, "{phone:?}");
    // The account's own budget judged no more than its five (the owner's activity
    // says `account_locked` for the rest).
    let wrong: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM activity WHERE user_id = $1 AND kind = 'login' \
         AND result = 'invalid_credentials'",
    )
    .bind(&user.id)
    .fetch_one(&srv.state.db)
    .await
    .unwrap();
    assert!(wrong <= 5, "{wrong}: {t:?}");
    // It is used up, silently: the right password as the phone, which has a try left
    // of its own, is answered as a wrong one until the lock's 15 minutes are over.
    let (s, body) = srv
        .login_device("+8613900139000", PASSWORD, "stranger-pc")
        .await;
    assert_eq!(
        (s.as_u16(), body["code"].as_str()),
        (401, Some("invalid_credentials")),
        "{body}"
    );
    srv.advance(901);
    let (s, body) = srv
        .login_device("+8613900139000", PASSWORD, "stranger-pc")
        .await;
    assert_eq!(s, 200, "{body}");
}

async fn parallel_wrong_recovery_codes_get_five_judged(b: Backend) {
    let Some(srv) = TestServer::bare_with(b, |c| {
        c.delivery.secret_key = Some(super::totp::KEY.into());
    })
    .await
    else {
        return;
    };
    let e = enabled_user(&srv, "backup-burst@corp.cn").await;
    let mut tokens = Vec::new();
    for _ in 0..5 {
        tokens.push(mfa_token(&srv, "backup-burst@corp.cn").await);
    }
    // Wrong recovery codes of the right shape: each real code with its last
    // character changed.
    let wrong_codes: Vec<String> = (0..BURST)
        .map(|i| {
            let real = &e.codes[i % e.codes.len()];
            let last = if real.ends_with('z') { 'y' } else { 'z' };
            format!("{}{last}", &real[..real.len() - 1])
        })
        .collect();
    let before = srv.state.second_factor_checks.load(Ordering::Relaxed);
    let answers = join_all((0..BURST).map(|i| {
        let (srv, token, code) = (&srv, &tokens[i % 5], &wrong_codes[i]);
        async move { second(srv, token, "recovery_code", code).await }
    }))
    .await;
    let judged = srv.state.second_factor_checks.load(Ordering::Relaxed) - before;
    let t = tally(&answers);
    assert_eq!(judged, 5, "{t:?}");
    only(
        &t,
        &[
            "code_invalid",
            "account_locked",
            "rate_limited",
            "too_many_attempts",
            "token_invalid",
        ],
    );
    // The second factor is locked: a right recovery code on a fresh token waits.
    let token = mfa_token(&srv, "backup-burst@corp.cn").await;
    let (s, body) = second(&srv, &token, "recovery_code", &e.codes[0]).await;
    assert_eq!(
        (s.as_u16(), body["code"].as_str()),
        (423, Some("account_locked")),
        "{body}"
    );
}
