//! A server too busy to hash (issue 20): the app waits out its `Retry-After` with
//! jitter and tries again a bounded number of times, never hammering, and then tells
//! the person the server is busy.
//!
//! The real server is made busy by holding its only hashing place from the test (one
//! slot, no queue): every sign-in is then refused with `server_busy` at once, and the
//! hasher counts each refusal, which is how many requests the app sent.

use std::time::{Duration, Instant};

use latchkey_client::api::BUSY_RETRIES;
use latchkey_client::{ClientError, Code, NextStep, Step};
use latchkey_testkit::{on_both, Backend, TestServer};

use crate::client::common::*;

on_both!(
    a_busy_server_is_waited_out_and_the_sign_in_goes_through,
    a_server_busy_for_long_is_told_after_a_few_spaced_tries,
);

async fn busy_server(b: Backend, email: &str) -> Option<TestServer> {
    let srv = TestServer::bare_with(b, |c| {
        c.argon2.max_concurrent = 1;
        c.argon2.queue = 0;
    })
    .await?;
    srv.add_user(email, PASSWORD).await;
    Some(srv)
}

/// The app on the sign-in screen, the identifier given.
async fn identified(srv: &TestServer, email: &str) -> App {
    let mut app = App::on(srv);
    app.client.start().await;
    app.client.identify(email).await.unwrap();
    app
}

async fn a_busy_server_is_waited_out_and_the_sign_in_goes_through(b: Backend) {
    let email = "rush.hour@corp.cn";
    let Some(srv) = busy_server(b, email).await else {
        return;
    };
    let mut app = identified(&srv, email).await;
    let held = srv.state.hasher.admit().unwrap();
    let started = Instant::now();
    // The place is given back as soon as the app has been refused once.
    let release = async {
        while srv.state.hasher.refusals() == 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        drop(held);
    };
    let (step, ()) = tokio::join!(app.client.sign_in(secret(PASSWORD), false), release);
    let step = step.unwrap();
    assert!(
        matches!(step, Step::SignedIn { .. } | Step::TotpOffer),
        "{step:?}"
    );
    // One refusal, then the try after the pause: the server's Retry-After (at least a
    // second) was waited before sending again.
    assert_eq!(srv.state.hasher.refusals(), 1);
    assert!(started.elapsed() >= Duration::from_secs(1));
}

async fn a_server_busy_for_long_is_told_after_a_few_spaced_tries(b: Backend) {
    let email = "monday.morning@corp.cn";
    let Some(srv) = busy_server(b, email).await else {
        return;
    };
    let mut app = identified(&srv, email).await;
    let held = srv.state.hasher.admit().unwrap();
    let started = Instant::now();
    let e = app
        .client
        .sign_in(secret(PASSWORD), false)
        .await
        .unwrap_err();
    assert!(
        matches!(e, ClientError::ServerBusy { retry_after: Some(s) } if s >= 1),
        "{e:?}"
    );
    let ui = e.to_ui();
    assert_eq!(ui.code, Code::ServerBusy);
    assert_eq!(ui.next_step, NextStep::RetryLater);
    assert!(ui.retry_after.is_some());
    // The first try and BUSY_RETRIES more, each after at least a second: not a stream.
    assert_eq!(srv.state.hasher.refusals(), 1 + u64::from(BUSY_RETRIES));
    assert!(started.elapsed() >= Duration::from_secs(u64::from(BUSY_RETRIES)));
    // Nothing was counted: once the server has time again, the sign-in goes through.
    drop(held);
    let step = app.client.sign_in(secret(PASSWORD), false).await.unwrap();
    assert!(
        matches!(step, Step::SignedIn { .. } | Step::TotpOffer),
        "{step:?}"
    );
}
