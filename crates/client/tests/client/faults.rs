//! Faults injected on loopback (issue 21, item 3): a fault proxy between the app and the
//! real server resets the connection before a request reaches the server, loses the
//! answer after the server acted, holds an answer for 10 s, or swallows requests (a
//! server that accepts and never answers). For sign-in, refresh, the password reset
//! and the account actions: the person stays signed in or is told plainly to try
//! again, no code is sent twice (the SMTP sink's mails are counted), no failure is
//! counted twice (the server's lockout rows), and all works again once the path is
//! back — the app's link to the server (its "reconnecting…") goes down with the path
//! and up again at the first answer.

use std::time::{Duration, Instant};

use latchkey_client::api::Timeouts;
use latchkey_client::{Code, Step};
use latchkey_testkit::fault::FaultProxy;
use latchkey_testkit::{on_both, Backend, TestServer};

use super::common::*;

on_both!(
    sign_in_through_faults,
    a_wrong_password_whose_answer_is_lost_counts_once,
    refresh_through_faults,
    a_reset_through_lost_answers_sends_one_code,
    account_actions_through_faults,
);

const WRONG: &str = "Wrong-password-123";
/// The 10-second stall of the issue: shorter than the app's 15 s request timeout.
const STALL: Duration = Duration::from_secs(10);

/// An app behind `proxy` whose requests give up after 2 s (the black-hole cases:
/// the default 15 s would make each take a minute).
fn impatient(proxy: &FaultProxy) -> App {
    let mut app = App::new(&proxy.base(), store());
    app.client = build(
        &app.server,
        &app.dir,
        &app.clock,
        &app.store,
        Timeouts {
            connect: Duration::from_secs(2),
            request: Duration::from_secs(2),
        },
    );
    app
}

async fn count(srv: &TestServer, sql: &str) -> i64 {
    srv.scalar(sql).await
}

/// The e-mails that carry a code (notices such as "new sign-in" carry none).
fn codes_sent(srv: &TestServer) -> usize {
    srv.smtp
        .messages()
        .iter()
        .filter(|m| m.code().is_some())
        .count()
}

/// The most failures any lockout subject (identifier, account) has counted.
async fn failures(srv: &TestServer) -> i64 {
    count(srv, "SELECT COALESCE(MAX(failures), 0) FROM lockouts").await
}

async fn sign_in_through_faults(b: Backend) {
    let Some(srv) = TestServer::start(b, |_| {}).await else {
        return;
    };
    srv.add_user("flaky@corp.cn", PASSWORD).await;
    let proxy = FaultProxy::start(srv.addr).await;

    // The connection reset before the sign-in reaches the server: tried again.
    let mut app = App::new(&proxy.base(), store());
    app.client.start().await;
    app.client.identify("flaky@corp.cn").await.unwrap();
    let hashed = srv.state.hasher.verifications();
    proxy.reset_next_requests(1);
    let step = app.client.sign_in(secret(PASSWORD), false).await.unwrap();
    assert!(matches!(step, Step::DeviceCode { .. }), "{step:?}");
    assert_eq!(proxy.reset(), 1);
    assert_eq!(srv.state.hasher.verifications() - hashed, 1);
    // The answer to the device code lost after the server acted: the retry gets the
    // session the server opened, and no second one.
    let code = srv.smtp.code_after(0).await;
    proxy.drop_next_answers(1);
    let step = app.client.verify_device(secret(&code)).await.unwrap();
    assert_eq!(step, Step::TotpOffer);
    assert_eq!(proxy.dropped(), 1);
    assert_eq!(count(&srv, "SELECT COUNT(*) FROM sessions").await, 1);

    // The sign-in's answer lost (the device code was mailed): one code, one hash.
    let mut app = App::new(&proxy.base(), store());
    app.client.start().await;
    app.client.identify("flaky@corp.cn").await.unwrap();
    let mails = srv.smtp.messages().len();
    let codes = codes_sent(&srv);
    let hashed = srv.state.hasher.verifications();
    proxy.drop_next_answers(1);
    let step = app.client.sign_in(secret(PASSWORD), false).await.unwrap();
    assert!(matches!(step, Step::DeviceCode { .. }), "{step:?}");
    assert_eq!(proxy.dropped(), 2);
    assert_eq!(srv.state.hasher.verifications() - hashed, 1, "one hash");
    let code = srv.smtp.code_after(mails).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(codes_sent(&srv), codes + 1, "one device code sent");

    // The answer held 10 s: the app waits for it.
    let started = Instant::now();
    proxy.stall_next_answers(1, STALL);
    let step = app.client.verify_device(secret(&code)).await.unwrap();
    assert_eq!(step, Step::TotpOffer);
    assert!(started.elapsed() >= STALL);
    assert_eq!(proxy.stalled(), 1);
    assert_eq!(count(&srv, "SELECT COUNT(*) FROM sessions").await, 2);

    // A server that never answers: a plain timeout (check the network, try again),
    // nothing reached it; once the path is back, the same sign-in works.
    let mut app = impatient(&proxy);
    app.client.start().await;
    app.client.identify("flaky@corp.cn").await.unwrap();
    let hashed = srv.state.hasher.verifications();
    proxy.black_hole(true);
    let e = app
        .client
        .sign_in(secret(PASSWORD), false)
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Timeout, "{e:?}");
    assert!(proxy.swallowed() >= 2, "tried again: {}", proxy.swallowed());
    assert!(matches!(app.client.step(), Step::Password { .. }));
    assert_eq!(srv.state.hasher.verifications(), hashed);
    proxy.black_hole(false);
    let step = app.client.sign_in(secret(PASSWORD), false).await.unwrap();
    assert!(matches!(step, Step::DeviceCode { .. }), "{step:?}");
}

async fn a_wrong_password_whose_answer_is_lost_counts_once(b: Backend) {
    let Some(srv) = TestServer::bare(b).await else {
        return;
    };
    srv.add_user("typo@corp.cn", PASSWORD).await;
    let proxy = FaultProxy::start(srv.addr).await;
    let mut app = App::new(&proxy.base(), store());
    app.client.start().await;
    app.client.identify("typo@corp.cn").await.unwrap();
    let hashed = srv.state.hasher.verifications();
    proxy.drop_next_answers(1);
    let e = app.client.sign_in(secret(WRONG), false).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidCredentials, "{e:?}");
    assert_eq!(proxy.dropped(), 1);
    assert_eq!(failures(&srv).await, 1, "one failure counted");
    assert_eq!(srv.state.hasher.verifications() - hashed, 1);
    // And the right password still signs in.
    let step = app.client.sign_in(secret(PASSWORD), false).await.unwrap();
    assert!(!matches!(step, Step::Password { .. }), "{step:?}");
}

async fn refresh_through_faults(b: Backend) {
    let Some(srv) = TestServer::bare(b).await else {
        return;
    };
    srv.add_user("fresh@corp.cn", PASSWORD).await;
    let proxy = FaultProxy::start(srv.addr).await;
    let mut app = impatient(&proxy);
    app.client.start().await;
    signed_in(&mut app, &srv, "fresh@corp.cn", PASSWORD, false).await;
    let expire = |app: &mut App| {
        app.clock.advance(15 * 60);
        srv.advance(15 * 60);
    };
    // Reset before the refresh reached the server.
    expire(&mut app);
    proxy.reset_next_requests(1);
    app.client.profile().await.unwrap();
    assert_eq!(proxy.reset(), 1);
    // The refresh's answer held 10 s... longer than this app waits: it tries again
    // with the same token, inside the grace period, and stays signed in.
    expire(&mut app);
    proxy.stall_next_answers(1, STALL);
    app.client.profile().await.unwrap();
    assert_eq!(proxy.stalled(), 1);
    // A server that never answers: a plain timeout, still signed in; back, it goes on.
    expire(&mut app);
    proxy.black_hole(true);
    let e = app.client.profile().await.unwrap_err();
    assert_eq!(e.code(), Code::Timeout, "{e:?}");
    assert!(matches!(app.client.step(), Step::SignedIn { .. }));
    proxy.black_hole(false);
    app.client.profile().await.unwrap();
    // No refresh token was taken for a copy: the session lives, no reuse was seen.
    assert_eq!(
        count(
            &srv,
            "SELECT COUNT(*) FROM sessions WHERE revoked_at IS NULL"
        )
        .await,
        1
    );
    let (_, activity) = srv
        .get(
            "/v1/me/activity",
            srv.login("fresh@corp.cn", PASSWORD)
                .await
                .access_token
                .expose(),
        )
        .await;
    assert!(!activity.to_string().contains("reuse"), "{activity}");
}

async fn a_reset_through_lost_answers_sends_one_code(b: Backend) {
    let Some(srv) = TestServer::start(b, |_| {}).await else {
        return;
    };
    srv.add_user("forgot@corp.cn", PASSWORD).await;
    let proxy = FaultProxy::start(srv.addr).await;
    let mut app = App::new(&proxy.base(), store());
    app.client.start().await;
    app.client.begin_reset().unwrap();
    // The answer to "send me a code" lost: the retry gets it; one code is mailed (a
    // second start would have been told to wait a minute).
    proxy.drop_next_answers(1);
    let step = app
        .client
        .send_reset_code("forgot@corp.cn", None)
        .await
        .unwrap();
    assert!(matches!(step, Step::ResetCode { .. }), "{step:?}");
    let code = srv.smtp.wait_for(1).await.remove(0).code().unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(codes_sent(&srv), 1, "one code sent");
    // The code's answer lost: the code was used up by the first try, the retry gets
    // its answer.
    proxy.drop_next_answers(1);
    let step = app.client.verify_reset_code(secret(&code)).await.unwrap();
    assert!(matches!(step, Step::ResetPassword { .. }), "{step:?}");
    // Reset before the new password reaches the server, then its answer lost.
    proxy.reset_next_requests(1);
    proxy.drop_next_answers(1);
    let step = app
        .client
        .reset_password(secret(NEW_PASSWORD), None)
        .await
        .unwrap();
    assert!(matches!(step, Step::ResetDone { .. }), "{step:?}");
    assert_eq!((proxy.reset(), proxy.dropped()), (1, 3));
    // Still one code (the "password changed" notice carries none).
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(codes_sent(&srv), 1);
    // The new password is right (a device code follows: this server checks devices).
    let (s, body) = srv.login_raw("forgot@corp.cn", NEW_PASSWORD).await;
    assert_eq!(s, 200, "{body}");
}

async fn account_actions_through_faults(b: Backend) {
    let Some(srv) = TestServer::bare(b).await else {
        return;
    };
    srv.add_user("desk@corp.cn", PASSWORD).await;
    let proxy = FaultProxy::start(srv.addr).await;
    let mut app = impatient(&proxy);
    app.client.start().await;
    signed_in(&mut app, &srv, "desk@corp.cn", PASSWORD, false).await;
    let elsewhere = srv.login("desk@corp.cn", PASSWORD).await;
    // Signing out another device, its answer lost: done, and the retry says so.
    let other = app
        .client
        .sessions()
        .await
        .unwrap()
        .sessions
        .into_iter()
        .find(|s| !s.current)
        .unwrap();
    proxy.drop_next_answers(1);
    app.client.revoke_session(&other.id).await.unwrap();
    let (s, _) = srv.get("/v1/me", elsewhere.access_token.expose()).await;
    assert_eq!(s, 401);
    // A server that never answers the password change: a plain timeout, nothing
    // changed, still signed in.
    proxy.black_hole(true);
    let e = app
        .client
        .change_password(secret(PASSWORD), secret(NEW_PASSWORD))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Timeout, "{e:?}");
    assert!(matches!(app.client.step(), Step::SignedIn { .. }));
    // Meanwhile the app says it is reconnecting (the link is down), and its own look at
    // the server keeps it so while the server stays silent…
    let link = app.client.link();
    let flips = link.watch();
    assert!(!link.is_up());
    app.client.probe().expect("a server").await;
    assert!(!link.is_up());
    assert!(!flips.has_changed().unwrap());
    // …and up again, by itself, at the first look once the path is back.
    proxy.black_hole(false);
    app.client.probe().expect("a server").await;
    assert!(link.is_up());
    assert!(flips.has_changed().unwrap());
    srv.login("desk@corp.cn", PASSWORD).await;
    // Tried again, its answer lost: changed once, and the retry is told it is done
    // (before: "the current password is wrong").
    proxy.drop_next_answers(1);
    app.client
        .change_password(secret(PASSWORD), secret(NEW_PASSWORD))
        .await
        .unwrap();
    assert_eq!(proxy.dropped(), 2);
    srv.login("desk@corp.cn", NEW_PASSWORD).await;
    assert!(matches!(app.client.step(), Step::SignedIn { .. }));
    app.client.profile().await.unwrap();
}
