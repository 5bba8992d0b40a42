//! TOTP two-factor authentication (issue 3, item 2): enrolment, confirmation, the
//! `mfa_required` sign-in step, replay and drift, recovery codes, disabling, the
//! second factor's own lockout, encryption at rest and redaction. Codes are computed
//! by an independent RFC 6238 implementation (latchkey-testkit's, HMAC-SHA1 from `hmac` + `sha1`),
//! not by the `totp-rs` crate the server uses.
//!
//! The tests are in one file per area; this module holds what they share.

mod enrol;
mod management;
mod sign_in;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use latchkey_testkit::api::PASSWORD;
use latchkey_testkit::{Backend, TestServer};

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
