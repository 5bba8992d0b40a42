//! Session tokens carry the time they were made, so that their stored keys sort by it
//! (issue 20: the unique indexes grow at their end); the tokens a server made before
//! stamps keep working after an upgrade, and so does a retry of a rotation such a
//! server made.

use hmac::{Mac, SimpleHmac};
use latchkey_proto::Session;

use super::sessions::refresh;
use latchkey_server::tokens::{hash_token, new_token, session_token_key, unstamped_token};
use latchkey_testkit::api::{assert_error, PASSWORD};
use latchkey_testkit::{on_both, Backend, TestServer};

on_both!(
    keys_sort_in_the_order_tokens_were_made,
    tokens_made_before_stamps_keep_working,
    a_retry_of_a_rotation_made_before_stamps_gets_its_successor,
);

async fn rotate(srv: &TestServer, token: &str) -> Session {
    let (status, body) = refresh(srv, token).await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_value(body).unwrap()
}

/// `lka_`/`lkr_`, twelve lowercase hex digits of the time, a dot, 43 base64url.
fn is_stamped(token: &str, prefix: &str) -> bool {
    let Some(rest) = token.strip_prefix(prefix).and_then(|t| t.strip_prefix('_')) else {
        return false;
    };
    rest.len() == 12 + 1 + 43
        && rest[..12]
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        && rest.as_bytes()[12] == b'.'
        && rest[13..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

async fn keys_sort_in_the_order_tokens_were_made(b: Backend) {
    let Some(srv) = TestServer::bare(b).await else {
        return;
    };
    srv.add_user("order@corp.cn", PASSWORD).await;
    let mut s = srv.login("order@corp.cn", PASSWORD).await;
    let mut made = vec![s.clone()];
    for _ in 0..4 {
        srv.advance(1);
        s = rotate(&srv, s.refresh_token.expose()).await;
        made.push(s.clone());
    }
    for s in &made {
        assert!(
            is_stamped(s.access_token.expose(), "lka"),
            "{:?}",
            s.access_token.expose()
        );
        assert!(is_stamped(s.refresh_token.expose(), "lkr"));
    }
    let keys: Vec<String> = made
        .iter()
        .map(|s| session_token_key(s.refresh_token.expose()))
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "each key sorts after the one before");
    // The stored keys are these, and the time in them is the clock's.
    let stored: Vec<String> =
        sqlx::query_scalar("SELECT token_hash FROM refresh_tokens ORDER BY token_hash")
            .fetch_all(&srv.state.db)
            .await
            .unwrap();
    assert_eq!(stored, sorted);
    let first_ms = i64::from_str_radix(&keys[0][..12], 16).unwrap();
    let now = srv.state.clock.now_ms();
    assert!(
        (now - 4_000 - 1_000..=now - 4_000).contains(&first_ms),
        "{first_ms} vs {now}"
    );
}

/// Gives session `id` an access and a refresh token in the form made before stamps, as
/// a server of that version stored them.
async fn unstamped_tokens(srv: &TestServer, id: &str) -> (String, String) {
    let (access, access_hash) = new_token("lka");
    let (refresh, refresh_hash) = new_token("lkr");
    let db = &srv.state.db;
    sqlx::query("UPDATE sessions SET access_hash = $1 WHERE id = $2")
        .bind(&access_hash)
        .bind(id)
        .execute(db)
        .await
        .unwrap();
    let moved = sqlx::query(
        "UPDATE refresh_tokens SET token_hash = $1 WHERE session_id = $2 AND used_at IS NULL",
    )
    .bind(&refresh_hash)
    .bind(id)
    .execute(db)
    .await
    .unwrap();
    assert_eq!(moved.rows_affected(), 1);
    (access.expose().to_owned(), refresh.expose().to_owned())
}

async fn tokens_made_before_stamps_keep_working(b: Backend) {
    let Some(srv) = TestServer::bare(b).await else {
        return;
    };
    srv.add_user("before@corp.cn", PASSWORD).await;
    let s1 = srv.login("before@corp.cn", PASSWORD).await;
    let (access, refresh_token) = unstamped_tokens(&srv, &s1.session_id).await;
    assert_eq!(
        session_token_key(&refresh_token),
        hash_token(&refresh_token)
    );

    let (status, body) = srv.get("/v1/me", &access).await;
    assert_eq!(status, 200, "{body}");
    let s2 = rotate(&srv, &refresh_token).await;
    assert_eq!(s2.session_id, s1.session_id);
    assert!(is_stamped(s2.refresh_token.expose(), "lkr"));
    let (status, _) = srv.get("/v1/me", s2.access_token.expose()).await;
    assert_eq!(status, 200);
    let (status, _) = srv.get("/v1/me", &access).await;
    assert_eq!(status, 401, "the old access token ended with the rotation");
    // A retry of the old token within the grace period gets the same successor.
    let again = rotate(&srv, &refresh_token).await;
    assert_eq!(again.refresh_token, s2.refresh_token);
    assert_eq!(again.access_token, s2.access_token);
    // Once the successor rotated, the old token is a copy.
    let s3 = rotate(&srv, s2.refresh_token.expose()).await;
    let (status, body) = refresh(&srv, &refresh_token).await;
    assert_error(status, &body, 401, "refresh_token_reused");
    let (status, _) = srv.get("/v1/me", s3.access_token.expose()).await;
    assert_eq!(status, 401, "the family is revoked");
}

/// What a server from before stamps did when it rotated `token`: its successors, with
/// the database's successor key, in the unstamped form.
fn unstamped_successors(key: &[u8], token: &str) -> [(String, String); 2] {
    ["access", "refresh"].map(|label| {
        let mut mac = <SimpleHmac<sha2::Sha256> as Mac>::new_from_slice(key).unwrap();
        mac.update(label.as_bytes());
        mac.update(&[0]);
        mac.update(token.as_bytes());
        let prefix = if label == "access" { "lka" } else { "lkr" };
        let (t, h) = unstamped_token(prefix, &mac.finalize().into_bytes());
        (t.expose().to_owned(), h)
    })
}

/// The answer to a rotation made by a server from before stamps was lost; the client
/// retries against the upgraded server within the grace period: it gets the successor
/// the old server made, and is not signed out.
async fn a_retry_of_a_rotation_made_before_stamps_gets_its_successor(b: Backend) {
    let Some(srv) = TestServer::bare(b).await else {
        return;
    };
    srv.add_user("lost@corp.cn", PASSWORD).await;
    let s1 = srv.login("lost@corp.cn", PASSWORD).await;
    // Any rotation makes the database's successor key.
    let s1 = rotate(&srv, s1.refresh_token.expose()).await;
    let (_, token) = unstamped_tokens(&srv, &s1.session_id).await;
    let db = &srv.state.db;
    let key: String =
        sqlx::query_scalar("SELECT value FROM settings WHERE name = 'refresh_successor_key'")
            .fetch_one(db)
            .await
            .unwrap();
    let key = hex::decode(key).unwrap();
    let [(access, access_hash), (next, next_hash)] = unstamped_successors(&key, &token);
    // The old server's rotation: the claim, the session's new access token, the new
    // refresh token.
    let now = srv.state.clock.now_ms();
    sqlx::query("UPDATE refresh_tokens SET used_at = $1 WHERE token_hash = $2")
        .bind(now)
        .bind(hash_token(&token))
        .execute(db)
        .await
        .unwrap();
    sqlx::query("UPDATE sessions SET access_hash = $1 WHERE id = $2")
        .bind(&access_hash)
        .bind(&s1.session_id)
        .execute(db)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO refresh_tokens (token_hash, session_id, expires_at) VALUES ($1, $2, $3)",
    )
    .bind(&next_hash)
    .bind(&s1.session_id)
    .bind(now + 86_400_000)
    .execute(db)
    .await
    .unwrap();
    srv.advance(2);
    let retried = rotate(&srv, &token).await;
    assert_eq!(retried.refresh_token.expose(), next);
    assert_eq!(retried.access_token.expose(), access);
    let (status, _) = srv.get("/v1/me", &access).await;
    assert_eq!(status, 200);
    // And the old server's successor rotates on the new one, into a stamped token.
    let s2 = rotate(&srv, &next).await;
    assert!(is_stamped(s2.refresh_token.expose(), "lkr"));
}
