//! TOTP two-factor authentication (issue 3, item 2): enrolment, confirmation, the
//! `mfa_required` sign-in step, replay and drift, recovery codes, disabling, the
//! second factor's own lockout, encryption at rest and redaction. Codes are computed
//! by an independent RFC 6238 implementation (latchkey-testkit's, HMAC-SHA1 from `hmac` + `sha1`),
//! not by the `totp-rs` crate the server uses.

use latchkey_proto::{MfaRequest, RecoveryCodes, TotpEnrollment};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use latchkey_testkit::api::{assert_error, OTHER_PASSWORD, PASSWORD};
use latchkey_testkit::{on_both, Backend, TestServer};

on_both!(
    enrol_confirm_and_sign_in_with_totp,
    a_code_is_accepted_once,
    one_step_of_drift_is_accepted_two_are_not,
    recovery_codes_work_once_and_regenerating_voids_them,
    disabling_needs_the_password_and_a_code,
    code_failures_lock_the_second_factor_not_the_password,
    an_mfa_token_takes_five_wrong_codes_and_expires,
    enrolment_is_pending_until_confirmed,
    without_a_secret_key_enrolment_is_unavailable,
    a_forced_password_change_still_needs_the_second_factor,
    the_secret_is_encrypted_at_rest_and_never_printed,
);

pub(crate) const KEY: &str = "4c6174636862b579207465737420736563726574206b6579202d2d2030303031";

// ---- the independent RFC 6238 implementation (latchkey-testkit) ------------------

pub(crate) use latchkey_testkit::totp::{base32_decode, hotp};

fn totp_at(secret: &[u8], unix_seconds: u64, digits: u32) -> String {
    hotp(secret, unix_seconds / 30, digits)
}

#[test]
fn independent_totp_matches_rfc6238_appendix_b() {
    let secret = b"12345678901234567890";
    for (t, want) in [
        (59, "94287082"),
        (1_111_111_109, "07081804"),
        (1_111_111_111, "14050471"),
        (1_234_567_890, "89005924"),
        (2_000_000_000, "69279037"),
        (20_000_000_000, "65353130"),
    ] {
        assert_eq!(totp_at(secret, t, 8), want, "T={t}");
    }
    // RFC 4226 Appendix D, the HOTP values the above builds on.
    assert_eq!(hotp(secret, 0, 6), "755224");
    assert_eq!(hotp(secret, 9, 6), "520489");
    assert_eq!(base32_decode("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"), secret);
}

// ---- helpers -----------------------------------------------------------------------

pub(crate) async fn start(b: Backend) -> Option<TestServer> {
    TestServer::bare_with(b, |c| c.delivery.secret_key = Some(KEY.into())).await
}

/// The server's current time in seconds, moved out of the last seconds of a 30 s step
/// so that a code computed now is still of the same step when the server checks it.
fn settled_now(srv: &TestServer) -> u64 {
    let ms = srv.state.now();
    if ms % 30_000 > 25_000 {
        srv.advance(6);
    }
    (srv.state.now() / 1000) as u64
}

/// The code of the step `offset` steps from the server's current one.
pub(crate) fn code(srv: &TestServer, secret: &[u8], offset: i64) -> String {
    let now = settled_now(srv) as i64;
    totp_at(secret, (now + offset * 30) as u64, 6)
}

pub(crate) async fn post_auth(
    srv: &TestServer,
    path: &str,
    token: &str,
    body: Value,
) -> (StatusCode, Value) {
    srv.call(Method::POST, path, Some(token), Some(body)).await
}

pub(crate) struct Enabled {
    pub user_id: String,
    pub token: String,
    pub secret: Vec<u8>,
    pub codes: Vec<String>,
}

/// A user with TOTP turned on through the API; the clock is then moved to the next
/// step so that the next code differs from the confirming one.
pub(crate) async fn enabled_user(srv: &TestServer, email: &str) -> Enabled {
    let user = srv.add_user(email, PASSWORD).await;
    let session = srv.login(email, PASSWORD).await;
    let token = session.access_token.expose().to_owned();
    let (s, enrol) = post_auth(
        srv,
        "/v1/me/totp/enroll",
        &token,
        json!({"password": PASSWORD}),
    )
    .await;
    assert_eq!(s, 200, "{enrol}");
    let secret = base32_decode(enrol["secret"].as_str().unwrap());
    let (s, body) = post_auth(
        srv,
        "/v1/me/totp/confirm",
        &token,
        json!({"code": code(srv, &secret, 0)}),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    let codes = body["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    srv.advance(30);
    Enabled {
        user_id: user.id,
        token,
        secret,
        codes,
    }
}

/// Signs in with the password and expects `mfa_required`; returns the token.
pub(crate) async fn mfa_token(srv: &TestServer, email: &str) -> String {
    let (s, body) = srv.login_raw(email, PASSWORD).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["status"], "mfa_required", "{body}");
    assert_eq!(body["methods"], json!(["totp", "recovery_code"]));
    body["mfa_token"].as_str().unwrap().to_owned()
}

pub(crate) async fn second(
    srv: &TestServer,
    token: &str,
    method: &str,
    code: &str,
) -> (StatusCode, Value) {
    srv.post(
        "/v1/auth/mfa",
        json!({"mfa_token": token, "method": method, "code": code}),
    )
    .await
}

/// Signs in through both steps with a TOTP code of `offset` steps.
async fn sign_in_totp(
    srv: &TestServer,
    email: &str,
    secret: &[u8],
    offset: i64,
) -> (StatusCode, Value) {
    let token = mfa_token(srv, email).await;
    let c = code(srv, secret, offset);
    second(srv, &token, "totp", &c).await
}

async fn activity_kinds(srv: &TestServer, token: &str) -> Vec<(String, String)> {
    let (s, body) = srv.get("/v1/me/activity", token).await;
    assert_eq!(s, 200, "{body}");
    body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap().to_owned(),
                e["result"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

// ---- tests ---------------------------------------------------------------------------

async fn enrol_confirm_and_sign_in_with_totp(b: Backend) {
    let Some(srv) = TestServer::bare_with(b, |c| {
        c.delivery.secret_key = Some(KEY.into());
        c.server_name = "Corp: Sign-in".into();
    })
    .await
    else {
        return;
    };
    srv.add_user("zhang@corp.cn", PASSWORD).await;
    let token = srv.login("zhang@corp.cn", PASSWORD).await.access_token;
    let token = token.expose();
    let (s, body) = post_auth(
        &srv,
        "/v1/me/totp/enroll",
        token,
        json!({"password": PASSWORD}),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    let enrol: TotpEnrollment = serde_json::from_value(body.clone()).unwrap();
    assert_eq!(enrol.algorithm, "SHA1");
    assert_eq!((enrol.digits, enrol.period), (6, 30));
    assert_eq!(enrol.account, "zhang@corp.cn");
    assert_eq!(enrol.issuer, "Corp  Sign-in", "no colon in the issuer");
    let secret = base32_decode(enrol.secret.expose());
    assert_eq!(secret.len(), 20, "160-bit secret");

    // The Key URI, read by a real URL parser.
    let uri = url::Url::parse(enrol.otpauth_uri.expose()).unwrap();
    assert_eq!(uri.scheme(), "otpauth");
    assert_eq!(uri.host_str(), Some("totp"));
    let label = percent_decode(uri.path().trim_start_matches('/'));
    assert_eq!(label, "Corp  Sign-in:zhang@corp.cn");
    let q: std::collections::HashMap<String, String> = uri.query_pairs().into_owned().collect();
    assert_eq!(q["secret"], enrol.secret.expose());
    assert_eq!(q["issuer"], "Corp  Sign-in");
    assert_eq!(q["algorithm"], "SHA1");
    assert_eq!(q["digits"], "6");
    assert_eq!(q["period"], "30");

    // Still off until confirmed.
    let (_, me) = srv.get("/v1/me", token).await;
    assert_eq!(me["user"]["mfa_enabled"], false);
    srv.login("zhang@corp.cn", PASSWORD).await;

    let (s, body) = post_auth(
        &srv,
        "/v1/me/totp/confirm",
        token,
        json!({"code": code(&srv, &secret, 0)}),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    let codes: RecoveryCodes = serde_json::from_value(body).unwrap();
    assert_eq!(codes.recovery_codes.len(), 10);
    let distinct: std::collections::BTreeSet<_> =
        codes.recovery_codes.iter().map(|c| c.expose()).collect();
    assert_eq!(distinct.len(), 10);
    for c in &codes.recovery_codes {
        let c = c.expose();
        assert_eq!(c.len(), 14, "{c}");
        assert!(c.split('-').all(|g| g.len() == 4
            && g.bytes()
                .all(|b| b"0123456789abcdefghjkmnpqrstvwxyz".contains(&b))));
    }
    let (_, me) = srv.get("/v1/me", token).await;
    assert_eq!(me["user"]["mfa_enabled"], true);

    // Sign-in now takes the second step; the session names the device of the login.
    srv.advance(30);
    let (s, body) = sign_in_totp(&srv, "zhang@corp.cn", &secret, 0).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["user"]["mfa_enabled"], true);
    assert_eq!(body["expires_in"], 900);
    let access = body["access_token"].as_str().unwrap();
    let (s, sessions) = srv.get("/v1/me/sessions", access).await;
    assert_eq!(s, 200);
    assert!(sessions["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x["current"] == true
            && x["device"]["id"] == latchkey_server::devices::stored_id("dev-1")));
    let kinds = activity_kinds(&srv, access).await;
    for want in [
        ("totp_enabled", "ok"),
        ("login", "mfa_required"),
        ("mfa", "ok"),
    ] {
        assert!(
            kinds.contains(&(want.0.to_owned(), want.1.to_owned())),
            "{want:?} in {kinds:?}"
        );
    }
    // The refresh token of a second-factor session works like any other.
    let (s, body) = srv
        .post(
            "/v1/auth/refresh",
            json!({"refresh_token": body["refresh_token"]}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

async fn a_code_is_accepted_once(b: Backend) {
    let Some(srv) = start(b).await else { return };
    let e = enabled_user(&srv, "replay@corp.cn").await;
    let c = code(&srv, &e.secret, 0);
    let t1 = mfa_token(&srv, "replay@corp.cn").await;
    let (s, body) = second(&srv, &t1, "totp", &c).await;
    assert_eq!(s, 200, "{body}");
    // The same code again, on a fresh sign-in, within its step: refused.
    let t2 = mfa_token(&srv, "replay@corp.cn").await;
    let (s, body) = second(&srv, &t2, "totp", &c).await;
    assert_error(s, &body, 400, "code_invalid");
    // Nor does the previous step's code work any more (older than the one used).
    let (s, body) = second(&srv, &t2, "totp", &code(&srv, &e.secret, -1)).await;
    assert_error(s, &body, 400, "code_invalid");
    // The used mfa_token itself is gone.
    let (s, body) = second(&srv, &t1, "totp", &code(&srv, &e.secret, 1)).await;
    assert_error(s, &body, 401, "token_invalid");
    // The next step's code works.
    srv.advance(30);
    let (s, body) = second(&srv, &t2, "totp", &code(&srv, &e.secret, 0)).await;
    assert_eq!(s, 200, "{body}");
}

async fn one_step_of_drift_is_accepted_two_are_not(b: Backend) {
    let Some(srv) = start(b).await else { return };
    let e = enabled_user(&srv, "drift@corp.cn").await;
    srv.advance(300);
    let (s, body) = sign_in_totp(&srv, "drift@corp.cn", &e.secret, -1).await;
    assert_eq!(s, 200, "one step behind: {body}");
    let (s, body) = sign_in_totp(&srv, "drift@corp.cn", &e.secret, 1).await;
    assert_eq!(s, 200, "one step ahead: {body}");
    srv.advance(300);
    let (s, body) = sign_in_totp(&srv, "drift@corp.cn", &e.secret, -2).await;
    assert_error(s, &body, 400, "code_invalid");
    let (s, body) = sign_in_totp(&srv, "drift@corp.cn", &e.secret, 2).await;
    assert_error(s, &body, 400, "code_invalid");
    let (s, body) = sign_in_totp(&srv, "drift@corp.cn", &e.secret, 0).await;
    assert_eq!(s, 200, "{body}");
}

async fn recovery_codes_work_once_and_regenerating_voids_them(b: Backend) {
    let Some(srv) = start(b).await else { return };
    let e = enabled_user(&srv, "rc@corp.cn").await;
    let left = |token: String| {
        let srv = &srv;
        async move {
            let (_, me) = srv.get("/v1/me", &token).await;
            me["recovery_codes_left"].clone()
        }
    };
    assert_eq!(left(e.token.clone()).await, json!(10));
    // Typed sloppily: upper case, no dashes, spaces.
    let sloppy = e.codes[0].replace('-', " ").to_uppercase();
    let t = mfa_token(&srv, "rc@corp.cn").await;
    let (s, body) = second(&srv, &t, "recovery_code", &sloppy).await;
    assert_eq!(s, 200, "{body}");
    let access = body["access_token"].as_str().unwrap().to_owned();
    let t = mfa_token(&srv, "rc@corp.cn").await;
    let (s, body) = second(&srv, &t, "recovery_code", &e.codes[0]).await;
    assert_error(s, &body, 400, "code_invalid");
    // A recovery code is not a TOTP code, nor the reverse.
    let (s, body) = second(&srv, &t, "totp", &e.codes[1]).await;
    assert_error(s, &body, 400, "code_invalid");
    let (s, body) = second(&srv, &t, "recovery_code", &code(&srv, &e.secret, 0)).await;
    assert_error(s, &body, 400, "code_invalid");
    assert!(activity_kinds(&srv, &access)
        .await
        .contains(&("recovery_code_used".into(), "ok".into())));
    assert_eq!(left(access.clone()).await, json!(9));

    // Regenerating takes the password.
    let (s, body) = post_auth(
        &srv,
        "/v1/me/recovery-codes",
        &e.token,
        json!({"password": OTHER_PASSWORD}),
    )
    .await;
    assert_error(s, &body, 403, "current_password_invalid");
    let (s, body) = post_auth(
        &srv,
        "/v1/me/recovery-codes",
        &e.token,
        json!({"password": PASSWORD}),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    let fresh: Vec<String> = body["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(fresh.len(), 10);
    assert!(fresh.iter().all(|c| !e.codes.contains(c)));
    let t = mfa_token(&srv, "rc@corp.cn").await;
    let (s, body) = second(&srv, &t, "recovery_code", &e.codes[1]).await;
    assert_error(s, &body, 400, "code_invalid");
    let (s, body) = second(&srv, &t, "recovery_code", &fresh[9]).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(left(e.token.clone()).await, json!(9));
    assert!(activity_kinds(&srv, &e.token)
        .await
        .contains(&("recovery_codes_regenerated".into(), "ok".into())));
}

async fn disabling_needs_the_password_and_a_code(b: Backend) {
    let Some(srv) = start(b).await else { return };
    let e = enabled_user(&srv, "off@corp.cn").await;
    let path = "/v1/me/totp/disable";
    let (s, body) = post_auth(&srv, path, &e.token, json!({"password": PASSWORD})).await;
    assert_error(s, &body, 400, "invalid_request");
    let (s, body) = post_auth(
        &srv,
        path,
        &e.token,
        json!({"password": OTHER_PASSWORD, "code": code(&srv, &e.secret, 0)}),
    )
    .await;
    assert_error(s, &body, 403, "current_password_invalid");
    let (s, body) = post_auth(
        &srv,
        path,
        &e.token,
        json!({"password": PASSWORD, "code": "000000"}),
    )
    .await;
    // (One in a million: 000000 could be the current code.)
    assert_error(s, &body, 400, "code_invalid");
    let (s, body) = post_auth(
        &srv,
        path,
        &e.token,
        json!({"password": PASSWORD, "code": code(&srv, &e.secret, 0)}),
    )
    .await;
    assert_eq!(s, 204, "{body}");
    let (_, me) = srv.get("/v1/me", &e.token).await;
    assert_eq!(me["user"]["mfa_enabled"], false);
    srv.login("off@corp.cn", PASSWORD).await;
    let (s, body) = post_auth(
        &srv,
        path,
        &e.token,
        json!({"password": PASSWORD, "code": "000000"}),
    )
    .await;
    assert_error(s, &body, 409, "conflict");
    let (s, body) = post_auth(
        &srv,
        "/v1/me/recovery-codes",
        &e.token,
        json!({"password": PASSWORD}),
    )
    .await;
    assert_error(s, &body, 409, "conflict");
    let kinds = activity_kinds(&srv, &e.token).await;
    assert!(
        kinds.contains(&("totp_disabled".into(), "ok".into())),
        "{kinds:?}"
    );

    // Set up again, and turn it off with a recovery code (the phone was lost).
    let (s, enrol) = post_auth(
        &srv,
        "/v1/me/totp/enroll",
        &e.token,
        json!({"password": PASSWORD}),
    )
    .await;
    assert_eq!(s, 200, "{enrol}");
    let secret = base32_decode(enrol["secret"].as_str().unwrap());
    let (s, body) = post_auth(
        &srv,
        "/v1/me/totp/confirm",
        &e.token,
        json!({"code": code(&srv, &secret, 0)}),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    let rc = body["recovery_codes"][3].as_str().unwrap();
    assert!(!e.codes.contains(&rc.to_owned()), "old codes were deleted");
    let (s, body) = post_auth(
        &srv,
        path,
        &e.token,
        json!({"password": PASSWORD, "code": e.codes[3]}),
    )
    .await;
    assert_error(s, &body, 400, "code_invalid");
    let (s, body) = post_auth(
        &srv,
        path,
        &e.token,
        json!({"password": PASSWORD, "code": rc}),
    )
    .await;
    assert_eq!(s, 204, "{body}");
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1")
        .bind(&e.user_id)
        .fetch_one(&srv.state.db)
        .await
        .unwrap();
    assert_eq!(left, 0);
}

async fn code_failures_lock_the_second_factor_not_the_password(b: Backend) {
    let Some(srv) = start(b).await else { return };
    let e = enabled_user(&srv, "mfalock@corp.cn").await;
    // Codes next to the current one: wrong for every step in the window (but for a
    // one-in-a-million coincidence).
    let wrong = |i: u32| {
        let current: u32 = code(&srv, &e.secret, 0).parse().unwrap();
        format!("{:06}", (current + 1 + i) % 1_000_000)
    };
    let t = mfa_token(&srv, "mfalock@corp.cn").await;
    for i in 0..4 {
        let (s, body) = second(&srv, &t, "totp", &wrong(i)).await;
        assert_error(s, &body, 400, "code_invalid");
    }
    let (s, body) = second(&srv, &t, "totp", &wrong(4)).await;
    assert_error(s, &body, 423, "account_locked");
    assert_eq!(body["retry_after"], 900);
    // The password step is not locked: it still answers mfa_required ...
    let t = mfa_token(&srv, "mfalock@corp.cn").await;
    // ... but the second factor is, even with the right code or a recovery code.
    let (s, body) = second(&srv, &t, "totp", &code(&srv, &e.secret, 0)).await;
    assert_error(s, &body, 423, "account_locked");
    let (s, body) = second(&srv, &t, "recovery_code", &e.codes[0]).await;
    assert_error(s, &body, 423, "account_locked");
    // The password's own lock counter was not touched: four wrong passwords still
    // leave the account open.
    for _ in 0..4 {
        let (s, body) = srv.login_raw("mfalock@corp.cn", "Wrong-password-123").await;
        assert_error(s, &body, 401, "invalid_credentials");
    }
    mfa_token(&srv, "mfalock@corp.cn").await;
    srv.advance(901);
    let (s, body) = sign_in_totp(&srv, "mfalock@corp.cn", &e.secret, 0).await;
    assert_eq!(s, 200, "{body}");
    // The failures were recorded for the user to see.
    let access = body["access_token"].as_str().unwrap();
    let kinds = activity_kinds(&srv, access).await;
    assert!(
        kinds.contains(&("mfa".into(), "code_invalid".into())),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&("mfa".into(), "account_locked".into())),
        "{kinds:?}"
    );
}

async fn an_mfa_token_takes_five_wrong_codes_and_expires(b: Backend) {
    let Some(srv) = TestServer::bare_with(b, |c| {
        c.delivery.secret_key = Some(KEY.into());
        c.lockout.threshold = 20;
    })
    .await
    else {
        return;
    };
    let e = enabled_user(&srv, "tok@corp.cn").await;
    let t = mfa_token(&srv, "tok@corp.cn").await;
    for _ in 0..4 {
        let (s, body) = second(&srv, &t, "recovery_code", "zzzz-zzzz-zzzz").await;
        assert_error(s, &body, 400, "code_invalid");
    }
    let (s, body) = second(&srv, &t, "recovery_code", "zzzz-zzzz-zzzz").await;
    assert_error(s, &body, 429, "too_many_attempts");
    let (s, body) = second(&srv, &t, "totp", &code(&srv, &e.secret, 0)).await;
    assert_error(s, &body, 401, "token_invalid");
    // A token lives five minutes.
    let t = mfa_token(&srv, "tok@corp.cn").await;
    srv.advance(5 * 60 + 1);
    let (s, body) = second(&srv, &t, "totp", &code(&srv, &e.secret, 0)).await;
    assert_error(s, &body, 401, "token_invalid");
    // Malformed bodies are invalid requests, not 500s.
    for bad in [
        json!({"mfa_token": t, "method": "sms", "code": "123456"}),
        json!({"mfa_token": t, "method": "totp"}),
        json!({"mfa_token": "", "method": "totp", "code": "123456"}),
        json!({"mfa_token": t, "method": "totp", "code": ""}),
    ] {
        let (s, body) = srv.post("/v1/auth/mfa", bad).await;
        assert_error(s, &body, 400, "invalid_request");
    }
}

async fn enrolment_is_pending_until_confirmed(b: Backend) {
    let Some(srv) = start(b).await else { return };
    srv.add_user("pend@corp.cn", PASSWORD).await;
    let token = srv.login("pend@corp.cn", PASSWORD).await.access_token;
    let token = token.expose();
    let (s, body) = post_auth(
        &srv,
        "/v1/me/totp/confirm",
        token,
        json!({"code": "123456"}),
    )
    .await;
    assert_error(s, &body, 409, "conflict");
    let (_, first) = post_auth(
        &srv,
        "/v1/me/totp/enroll",
        token,
        json!({"password": PASSWORD}),
    )
    .await;
    let first = base32_decode(first["secret"].as_str().unwrap());
    let (s, second_enrol) = post_auth(
        &srv,
        "/v1/me/totp/enroll",
        token,
        json!({"password": PASSWORD}),
    )
    .await;
    assert_eq!(s, 200);
    let second_secret = base32_decode(second_enrol["secret"].as_str().unwrap());
    assert_ne!(first, second_secret);
    // The replaced secret's code no longer confirms; a wrong code is code_invalid.
    let (s, body) = post_auth(
        &srv,
        "/v1/me/totp/confirm",
        token,
        json!({"code": code(&srv, &first, 0)}),
    )
    .await;
    assert_error(s, &body, 400, "code_invalid");
    let (s, _) = post_auth(
        &srv,
        "/v1/me/totp/confirm",
        token,
        json!({"code": code(&srv, &second_secret, 0)}),
    )
    .await;
    assert_eq!(s, 200);
    let (s, body) = post_auth(
        &srv,
        "/v1/me/totp/enroll",
        token,
        json!({"password": PASSWORD}),
    )
    .await;
    assert_error(s, &body, 409, "conflict");
    let (s, body) = post_auth(
        &srv,
        "/v1/me/totp/confirm",
        token,
        json!({"code": code(&srv, &second_secret, 1)}),
    )
    .await;
    assert_error(s, &body, 409, "conflict");
    // Without a bearer token, nothing.
    let (s, body) = srv.post("/v1/me/totp/enroll", json!({})).await;
    assert_error(s, &body, 401, "unauthenticated");
}

async fn without_a_secret_key_enrolment_is_unavailable(b: Backend) {
    let Some(srv) = TestServer::bare(b).await else {
        return;
    };
    srv.add_user("nokey@corp.cn", PASSWORD).await;
    let token = srv.login("nokey@corp.cn", PASSWORD).await.access_token;
    let (s, body) = post_auth(
        &srv,
        "/v1/me/totp/enroll",
        token.expose(),
        json!({"password": PASSWORD}),
    )
    .await;
    assert_error(s, &body, 503, "totp_unavailable");
    assert!(body["message"].as_str().unwrap().contains("not configured"));
}

async fn a_forced_password_change_still_needs_the_second_factor(b: Backend) {
    let Some(srv) = start(b).await else { return };
    let e = enabled_user(&srv, "forced@corp.cn").await;
    latchkey_server::admin::reset_password(
        &srv.state,
        "forced@corp.cn",
        &latchkey_proto::Secret::from(OTHER_PASSWORD),
    )
    .await
    .unwrap();
    let (s, body) = srv.login_raw("forced@corp.cn", OTHER_PASSWORD).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["status"], "password_change_required");
    assert_eq!(body["mfa_methods"], json!(["totp", "recovery_code"]));
    let change = body["change_token"].as_str().unwrap();
    let new_password = "Saffron-harbour-kettle-42";
    let (s, body) = srv
        .post(
            "/v1/auth/password",
            json!({"change_token": change, "new_password": new_password}),
        )
        .await;
    assert_error(s, &body, 401, "mfa_required");
    let (s, body) = srv
        .post(
            "/v1/auth/password",
            json!({"change_token": change, "new_password": new_password, "totp_code": "000000"}),
        )
        .await;
    assert_error(s, &body, 400, "code_invalid");
    let (s, body) = srv
        .post(
            "/v1/auth/password",
            json!({"change_token": change, "new_password": new_password,
                   "totp_code": code(&srv, &e.secret, 0)}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["user"]["mfa_enabled"], true);
    // And the next sign-in asks for the second factor again.
    let (s, body) = srv.login_raw("forced@corp.cn", new_password).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["status"], "mfa_required", "{body}");
}

async fn the_secret_is_encrypted_at_rest_and_never_printed(b: Backend) {
    let Some(srv) = start(b).await else { return };
    srv.add_user("rest@corp.cn", PASSWORD).await;
    let session = srv.login("rest@corp.cn", PASSWORD).await;
    let token = session.access_token.expose();
    let (_, body) = post_auth(
        &srv,
        "/v1/me/totp/enroll",
        token,
        json!({"password": PASSWORD}),
    )
    .await;
    let enrol: TotpEnrollment = serde_json::from_value(body).unwrap();
    let b32 = enrol.secret.expose().to_owned();
    let raw = base32_decode(&b32);
    let (stored,): (String,) = sqlx::query_as("SELECT secret FROM totp_secrets WHERE user_id = $1")
        .bind(&session.user.id)
        .fetch_one(&srv.state.db)
        .await
        .unwrap();
    assert!(stored.starts_with("x1."), "{stored}");
    assert!(!stored.contains(&b32) && !stored.to_lowercase().contains(&b32.to_lowercase()));
    assert!(!stored.contains(&hex_encode(&raw)));
    assert!(!stored.contains(&base64_url(&raw)));
    // Confirm, then check that no recovery code is stored in clear either.
    let (_, body) = post_auth(
        &srv,
        "/v1/me/totp/confirm",
        token,
        json!({"code": code(&srv, &raw, 0)}),
    )
    .await;
    let codes: RecoveryCodes = serde_json::from_value(body).unwrap();
    let hashes: Vec<String> =
        sqlx::query_scalar("SELECT code_hash FROM recovery_codes WHERE user_id = $1")
            .bind(&session.user.id)
            .fetch_all(&srv.state.db)
            .await
            .unwrap();
    assert_eq!(hashes.len(), 10);
    for c in &codes.recovery_codes {
        let plain = c.expose().replace('-', "");
        assert!(hashes.iter().all(|h| !h.contains(&plain) && h.len() == 64));
    }
    // Debug output of every wire type and of the server's state holds no secret.
    let req = MfaRequest {
        mfa_token: "lkc_secret_token".into(),
        method: latchkey_proto::MfaMethod::Totp,
        code: "123456".into(),
    };
    let printed = format!(
        "{enrol:?} {codes:?} {req:?} {:?} {:?}",
        srv.state.config, srv.state.secret_key
    );
    assert!(!printed.contains(&b32), "{printed}");
    assert!(!printed.contains(&enrol.otpauth_uri.expose()[..20]));
    assert!(!printed.contains("lkc_secret_token") && !printed.contains("123456"));
    assert!(!printed.contains(KEY) && !printed.contains(&KEY[..16]));
    for c in &codes.recovery_codes {
        assert!(!printed.contains(c.expose()));
    }
    // With another key the stored secret cannot be read: TOTP is unavailable, and a
    // recovery code still signs in.
    let other = srv
        .sibling(|c| c.delivery.secret_key = Some("11".repeat(32)))
        .await;
    let t = mfa_token(&other, "rest@corp.cn").await;
    let (s, body) = second(&other, &t, "totp", &code(&other, &raw, 1)).await;
    assert_error(s, &body, 503, "totp_unavailable");
    let (s, body) = second(
        &other,
        &t,
        "recovery_code",
        codes.recovery_codes[0].expose(),
    )
    .await;
    assert_eq!(s, 200, "{body}");
}

fn hex_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn base64_url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}
