//! Enrolment: confirming, the pending state, no secret key, the secret encrypted at rest.

use latchkey_proto::{MfaRequest, RecoveryCodes, TotpEnrollment};
use latchkey_testkit::api::{assert_error, PASSWORD};
use latchkey_testkit::{on_both, Backend, TestServer};
use serde_json::json;

use super::{
    activity_kinds, base32_decode, code, mfa_token, post_auth, second, sign_in_totp, start, KEY,
};

on_both!(
    enrol_confirm_and_sign_in_with_totp,
    enrolment_is_pending_until_confirmed,
    without_a_secret_key_enrolment_is_unavailable,
    the_secret_is_encrypted_at_rest_and_never_printed,
);

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
        srv.state.config(),
        srv.state.secret_key
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
