//! A lost answer never signs anyone out (issue 21): a fault proxy between the app and
//! the real server lets the refresh reach the server, which rotates the token, and
//! closes the connection before the answer comes back. The app tries again with the
//! token it still has, within the server's grace period, and stays signed in.

use latchkey_client::Step;
use latchkey_testkit::fault::FaultProxy;
use latchkey_testkit::{on_both, Backend, TestServer};

use super::common::*;

on_both!(a_lost_refresh_answer_keeps_the_session);

async fn a_lost_refresh_answer_keeps_the_session(b: Backend) {
    let Some(srv) = TestServer::bare(b).await else {
        return;
    };
    srv.add_user("lost@corp.cn", PASSWORD).await;
    let proxy = FaultProxy::start(srv.addr).await;
    let mut app = App::new(&proxy.base(), store());
    app.client.start().await;
    signed_in(&mut app, &srv, "lost@corp.cn", PASSWORD, false).await;
    app.client.profile().await.unwrap();
    // The access token is about to expire: the next call refreshes, and the answer of
    // that refresh is lost on the way back.
    app.clock.advance(15 * 60);
    srv.advance(15 * 60);
    proxy.drop_next_answers(1);
    let profile = app.client.profile().await;
    assert!(profile.is_ok(), "{profile:?}");
    assert_eq!(proxy.dropped(), 1, "the answer was lost once");
    assert!(matches!(app.client.step(), Step::SignedIn { .. }));
    // The server saw no reuse: the session was not ended.
    let other = srv.login("lost@corp.cn", PASSWORD).await;
    let (_, activity) = srv
        .get("/v1/me/activity", other.access_token.expose())
        .await;
    assert!(
        !activity.to_string().contains("refresh_reuse"),
        "{activity}"
    );
    let sessions = app.client.sessions().await.unwrap();
    assert_eq!(sessions.sessions.len(), 2, "the app's and the check's");
    // The next refresh goes on from the successor.
    app.clock.advance(15 * 60);
    srv.advance(15 * 60);
    app.client.profile().await.unwrap();
}
