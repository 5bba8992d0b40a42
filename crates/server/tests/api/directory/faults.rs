//! The directory when things go wrong: down (its own error, nothing counted, local
//! accounts and sessions go on), StartTLS under a test CA (and refused without it),
//! and Latchkey's lockout in front: the requests it refuses never reach the directory,
//! whose ppolicy failure counter (`pwdFailureTime`) does not move.

use latchkey_testkit::api::{assert_error, OTHER_PASSWORD};
use latchkey_testkit::{on_both, Backend};
use serde_json::json;

use super::{dn, with_directory, EMAIL, PASSWORD, UID};

on_both!(
    a_directory_that_is_down_gets_its_own_error_and_counts_nothing,
    starttls_under_a_test_ca,
    latchkeys_lockout_keeps_refused_requests_from_the_directory,
);

async fn a_directory_that_is_down_gets_its_own_error_and_counts_nothing(b: Backend) {
    let Some((srv, mut slapd, _sink)) = with_directory(b, false, |_| {}).await else {
        return;
    };
    let session = srv.login(UID, PASSWORD).await;
    srv.add_user("admin@corp.example", OTHER_PASSWORD).await;
    slapd.stop();
    // More tries than the lockout allows: none is counted, none says "wrong password".
    for password in [PASSWORD, OTHER_PASSWORD, "x", "y", "z", "w", "v"] {
        let (s, body) = srv.login_raw(EMAIL, password).await;
        assert_error(s, &body, 503, "directory_unavailable");
        assert!(body["retry_after"].as_u64().is_some(), "{body}");
    }
    // A session goes on without the directory's word; a local account signs in.
    let (s, body) = srv
        .post(
            "/v1/auth/refresh",
            json!({"refresh_token": session.refresh_token.expose()}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    srv.login("admin@corp.example", OTHER_PASSWORD).await;
    slapd.restart();
    srv.login(EMAIL, PASSWORD).await;
}

async fn starttls_under_a_test_ca(b: Backend) {
    let Some((srv, slapd, _sink)) = with_directory(b, true, |_| {}).await else {
        return;
    };
    assert!(srv.state.config().directory.starttls);
    let session = srv.login(UID, PASSWORD).await;
    assert_eq!(session.user.email.as_deref(), Some(EMAIL));
    // Without the test CA the certificate is not trusted: the directory cannot be used
    // (never a plain-text fallback, never "wrong password").
    let untrusting = srv.sibling(|c| c.directory.ca_file = None).await;
    let (s, body) = untrusting.login_raw(UID, PASSWORD).await;
    assert_error(s, &body, 503, "directory_unavailable");
    drop(slapd);
}

async fn latchkeys_lockout_keeps_refused_requests_from_the_directory(b: Backend) {
    let Some((srv, slapd, _sink)) = with_directory(b, false, |_| {}).await else {
        return;
    };
    let failures = || slapd.attribute(&dn(UID), "pwdFailureTime").len();
    assert_eq!(failures(), 0);
    let threshold = srv.state.config().lockout.threshold as usize;
    for _ in 0..threshold {
        let (s, body) = srv.login_raw(UID, OTHER_PASSWORD).await;
        assert!(s == 401 || s == 423, "{s} {body}");
    }
    // Each try Latchkey let through reached the directory once.
    assert_eq!(failures(), threshold);
    // Locked by Latchkey: refused without asking the directory, even the right
    // password, so an attacker cannot lock the person out of Windows through Latchkey.
    for password in [OTHER_PASSWORD, PASSWORD, OTHER_PASSWORD] {
        let (s, body) = srv.login_raw(UID, password).await;
        assert_error(s, &body, 423, "account_locked");
    }
    assert_eq!(
        failures(),
        threshold,
        "the directory's counter did not move"
    );
    assert!(slapd.bind_ok(&dn(UID), PASSWORD));
}
