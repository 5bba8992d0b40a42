//! The server's database goes away while the app refreshes its session (issue 21, item
//! 4): a PostgreSQL of this test's own is stopped; the server answers `503
//! server_unavailable` (at once on the connection the stop broke, after 10 s of trying
//! to open another); the app sends the same refresh again, the database is back by its
//! last try, and the person stays signed in without seeing anything but a slow moment.
//! (Without the app's retry on `server_unavailable` the first 503 is the answer.)

use std::time::{Duration, Instant};

use latchkey_client::Step;
use latchkey_testkit::postgres::PrivatePostgres;
use latchkey_testkit::TestServer;

use super::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_answered_server_unavailable_is_sent_again() {
    let Some(pg) = tokio::task::spawn_blocking(PrivatePostgres::start)
        .await
        .expect("start postgres")
    else {
        return;
    };
    let srv = TestServer::bare_over(&pg.url(), |_| {}).await;
    srv.add_user("restart@corp.cn", PASSWORD).await;
    let mut app = App::new(&srv.base(), store());
    app.client.start().await;
    signed_in(&mut app, &srv, "restart@corp.cn", PASSWORD, false).await;
    app.client.profile().await.unwrap();
    // The access token is about to expire: the next call refreshes, while the
    // database is down.
    app.clock.advance(15 * 60);
    srv.advance(15 * 60);
    let pg = tokio::task::spawn_blocking(move || {
        let mut pg = pg;
        pg.stop();
        pg
    })
    .await
    .expect("stop postgres");
    let stopped = Instant::now();
    // Back after the server's first answer (503 at 10 s), before the app's retries
    // run out (20 s).
    let back = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(12)).await;
        tokio::task::spawn_blocking(move || {
            let mut pg = pg;
            pg.resume();
            pg
        })
        .await
        .expect("resume postgres")
    });
    let profile = app.client.profile().await;
    let took = stopped.elapsed();
    let pg = back.await.expect("resume");
    assert!(profile.is_ok(), "after {took:?}: {profile:?}");
    assert!(
        took >= Duration::from_secs(12),
        "the database was down: {took:?}"
    );
    assert!(matches!(app.client.step(), Step::SignedIn { .. }));
    drop(srv);
    drop(pg);
}
