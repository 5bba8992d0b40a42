//! The stored keys: they expire and are pruned, the database holds nothing usable
//! without them, and another process finds them.

use super::*;

on_both!(
    keys_expire_and_are_pruned,
    the_database_holds_nothing_usable_without_the_key,
    a_retry_reaching_another_process_gets_the_answer,
);

async fn keys_expire_and_are_pruned(b: Backend) {
    let Some(srv) = TestServer::bare(b).await else {
        return;
    };
    srv.add_user("expire@corp.cn", PASSWORD).await;
    let (_, _, first) = login(&srv, "expire@corp.cn", PASSWORD, KEY).await;
    assert_eq!(
        count(&srv, "SELECT COUNT(*) FROM idempotency_keys").await,
        1
    );
    srv.advance(srv.state.config().sessions.idempotency_ttl_seconds + 1);
    // An expired key is a new one: the sign-in runs again.
    let (s, replayed, again) = login(&srv, "expire@corp.cn", PASSWORD, KEY).await;
    assert_eq!(s, StatusCode::OK);
    assert!(!replayed);
    assert_ne!(again, first);
    srv.advance(srv.state.config().sessions.idempotency_ttl_seconds + 1);
    latchkey_server::retention::prune(&srv.state, srv.state.now())
        .await
        .unwrap();
    assert_eq!(
        count(&srv, "SELECT COUNT(*) FROM idempotency_keys").await,
        0
    );
}

async fn the_database_holds_nothing_usable_without_the_key(b: Backend) {
    let Some(srv) = TestServer::bare(b).await else {
        return;
    };
    srv.add_user("dump@corp.cn", PASSWORD).await;
    let (_, _, answer) = login(&srv, "dump@corp.cn", PASSWORD, KEY).await;
    let access = answer["session"]["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let refresh = answer["session"]["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let rows: Vec<(String, String, String, Option<String>)> =
        sqlx::query_as("SELECT lookup, fingerprint, state, answer FROM idempotency_keys")
            .fetch_all(&srv.state.db)
            .await
            .unwrap();
    assert_eq!(rows.len(), 1);
    let dump = format!("{rows:?}");
    for secret in [
        KEY,
        &access,
        &refresh,
        PASSWORD,
        "dump@corp.cn",
        "access_token",
    ] {
        assert!(!dump.contains(secret), "{secret} in {dump}");
    }
    assert_eq!(rows[0].2, "done");
}

async fn a_retry_reaching_another_process_gets_the_answer(b: Backend) {
    if b == Backend::Sqlite {
        // Several processes share PostgreSQL; SQLite serves one.
        return;
    }
    let Some(srv) = TestServer::bare(b).await else {
        return;
    };
    let sibling = srv.sibling(|_| {}).await;
    srv.add_user("two@corp.cn", PASSWORD).await;
    let (s, _, first) = login(&srv, "two@corp.cn", PASSWORD, KEY).await;
    assert_eq!(s, StatusCode::OK);
    let (s, replayed, again) = login(&sibling, "two@corp.cn", PASSWORD, KEY).await;
    assert_eq!(s, StatusCode::OK);
    assert!(replayed);
    assert_eq!(again, first);
    // Copies at once on both processes: one sign-in.
    let both = futures_util::future::join(
        login(&srv, "two@corp.cn", PASSWORD, OTHER_KEY),
        login(&sibling, "two@corp.cn", PASSWORD, OTHER_KEY),
    )
    .await;
    assert_eq!(both.0 .2, both.1 .2);
    assert_eq!(count(&srv, "SELECT COUNT(*) FROM sessions").await, 2);
}
