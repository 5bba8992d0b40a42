//! Sessions: rotation on refresh, reuse revokes the family, expiry of both tokens,
//! sign-out, device list and revocation, hashes-only storage.

use latchkey_proto::Session;
use reqwest::Method;
use serde_json::json;

use latchkey_testkit::api::{assert_error, PASSWORD};
use latchkey_testkit::{on_both, Backend, TestServer};

on_both!(
    refresh_rotates_both_tokens,
    reusing_a_refresh_token_revokes_the_whole_family,
    concurrent_refreshes_of_one_token_have_one_winner,
    concurrent_refreshes_of_many_sessions_each_get_their_own,
    concurrent_retries_of_one_token_get_one_successor,
    no_grace_period_when_it_is_off,
    access_tokens_expire_after_fifteen_minutes,
    refresh_tokens_expire_after_thirty_days,
    logout_ends_this_or_every_session,
    devices_are_listed_and_revocable,
    only_token_hashes_are_stored,
);

pub(super) async fn refresh(
    srv: &TestServer,
    token: &str,
) -> (reqwest::StatusCode, serde_json::Value) {
    srv.post("/v1/auth/refresh", json!({"refresh_token": token}))
        .await
}

/// Sends all the refreshes at once, each on a task of its own; answers in order.
async fn refresh_at_once<'a>(
    srv: &TestServer,
    tokens: impl Iterator<Item = &'a str>,
) -> Vec<(reqwest::StatusCode, serde_json::Value)> {
    let url = srv.url("/v1/auth/refresh");
    let tasks: Vec<_> = tokens
        .map(|token| {
            let request = reqwest::Client::new()
                .post(&url)
                .json(&json!({ "refresh_token": token }));
            tokio::spawn(async move {
                let response = request.send().await.expect("request");
                let status = response.status();
                (status, response.json().await.expect("JSON"))
            })
        })
        .collect();
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.expect("task"));
    }
    answers
}

async fn rotate(srv: &TestServer, s: &Session) -> Session {
    let (status, body) = refresh(srv, s.refresh_token.expose()).await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_value(body).unwrap()
}

async fn refresh_rotates_both_tokens(b: Backend) {
    let Some(srv) = TestServer::bare(b).await else {
        return;
    };
    srv.add_user("rot@corp.cn", PASSWORD).await;
    let s1 = srv.login("rot@corp.cn", PASSWORD).await;
    let s2 = rotate(&srv, &s1).await;
    assert_eq!(s2.session_id, s1.session_id);
    assert_eq!(s2.user.email.as_deref(), Some("rot@corp.cn"));
    assert_ne!(s2.access_token, s1.access_token);
    assert_ne!(s2.refresh_token, s1.refresh_token);
    let (s, _) = srv.get("/v1/me", s2.access_token.expose()).await;
    assert_eq!(s, 200);
    // The replaced access token no longer works.
    let (s, body) = srv.get("/v1/me", s1.access_token.expose()).await;
    assert_error(s, &body, 401, "unauthenticated");
    // A chain of rotations keeps working.
    let mut cur = s2;
    for _ in 0..5 {
        cur = rotate(&srv, &cur).await;
    }
    let (s, _) = srv.get("/v1/me", cur.access_token.expose()).await;
    assert_eq!(s, 200);
}

async fn reusing_a_refresh_token_revokes_the_whole_family(b: Backend) {
    let Some(srv) = TestServer::bare(b).await else {
        return;
    };
    srv.add_user("reuse@corp.cn", PASSWORD).await;
    let other = srv.login("reuse@corp.cn", PASSWORD).await;
    let s1 = srv.login("reuse@corp.cn", PASSWORD).await;
    let s2 = rotate(&srv, &s1).await;
    // Within the grace period (30 s) the same token is a retry whose answer was lost:
    // it gets the same successor, and nothing ends (issue 21).
    let (s, body) = refresh(&srv, s1.refresh_token.expose()).await;
    assert_eq!(s, 200, "{body}");
    let again: Session = serde_json::from_value(body).unwrap();
    assert_eq!(again.refresh_token, s2.refresh_token);
    assert_eq!(again.access_token, s2.access_token);
    let (s, _) = srv.get("/v1/me", s2.access_token.expose()).await;
    assert_eq!(s, 200);
    // After it, the old token back is a copy: the family ends.
    srv.advance(31);
    let (s, body) = refresh(&srv, s1.refresh_token.expose()).await;
    assert_error(s, &body, 401, "refresh_token_reused");
    // The thief's copy and the legitimate newer tokens are all dead now.
    let (s, body) = refresh(&srv, s2.refresh_token.expose()).await;
    assert_error(s, &body, 401, "token_invalid");
    let (s, _) = srv.get("/v1/me", s2.access_token.expose()).await;
    assert_eq!(s, 401);
    // Another device's session is untouched.
    let (s, _) = srv.get("/v1/me", other.access_token.expose()).await;
    assert_eq!(s, 200);
    let (_, activity) = srv
        .get("/v1/me/activity", other.access_token.expose())
        .await;
    assert!(activity["entries"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["kind"] == "refresh_reuse"));
    // Garbage is simply invalid.
    let (s, body) = refresh(&srv, "lkr_nonsense").await;
    assert_error(s, &body, 401, "token_invalid");
}

/// Four refreshes of the same token at once, with the grace period off: the rotation
/// is one atomic claim, so exactly one gets new tokens; the others present a token
/// that is by then used, which is a reuse and ends the session (the winner's new
/// tokens included).
async fn concurrent_refreshes_of_one_token_have_one_winner(b: Backend) {
    let Some(srv) = TestServer::bare_with(b, |c| c.sessions.refresh_grace_seconds = 0).await else {
        return;
    };
    srv.add_user("race@corp.cn", PASSWORD).await;
    let s1 = srv.login("race@corp.cn", PASSWORD).await;
    let token = s1.refresh_token.expose();
    let (a, b2, c, d) = tokio::join!(
        refresh(&srv, token),
        refresh(&srv, token),
        refresh(&srv, token),
        refresh(&srv, token)
    );
    let answers = [a, b2, c, d];
    let winners: Vec<Session> = answers
        .iter()
        .filter(|(status, _)| *status == 200)
        .map(|(_, body)| serde_json::from_value(body.clone()).unwrap())
        .collect();
    assert_eq!(winners.len(), 1, "{answers:?}");
    for (status, body) in answers.iter().filter(|(status, _)| *status != 200) {
        assert_error(*status, body, 401, "refresh_token_reused");
    }
    let winner = &winners[0];
    assert_eq!(winner.session_id, s1.session_id);
    let (s, body) = refresh(&srv, winner.refresh_token.expose()).await;
    assert_error(s, &body, 401, "token_invalid");
    let (s, _) = srv.get("/v1/me", winner.access_token.expose()).await;
    assert_eq!(s, 401);
    // One new refresh token was stored, and only the presented one is marked used.
    let (stored, used): (i64, i64) =
        sqlx::query_as("SELECT COUNT(*), COUNT(used_at) FROM refresh_tokens WHERE session_id = $1")
            .bind(&s1.session_id)
            .fetch_one(&srv.state.db)
            .await
            .unwrap();
    assert_eq!((stored, used), (2, 1));
}

/// Many sessions refreshing at once (on SQLite their rotations are committed in
/// batches): every one gets new tokens of its own session and account, twice over, and
/// a token of the first round presented again in the second is a reuse that ends only
/// its own session.
async fn concurrent_refreshes_of_many_sessions_each_get_their_own(b: Backend) {
    // The grace period off: the stale token below is a reuse at once.
    let Some(srv) = TestServer::bare_with(b, |c| c.sessions.refresh_grace_seconds = 0).await else {
        return;
    };
    let mut sessions = Vec::new();
    for i in 0..8 {
        let email = format!("many{i}@corp.cn");
        srv.add_user(&email, PASSWORD).await;
        sessions.push((email.clone(), srv.login(&email, PASSWORD).await));
    }
    for round in 0..2 {
        let tokens = sessions.iter().map(|(_, s)| s.refresh_token.expose());
        let answers = refresh_at_once(&srv, tokens).await;
        let mut next = Vec::new();
        for ((email, old), (status, body)) in sessions.iter().zip(answers) {
            assert_eq!(status, 200, "round {round}, {email}: {body}");
            let new: Session = serde_json::from_value(body).unwrap();
            assert_eq!(new.session_id, old.session_id, "{email}");
            let (status, me) = srv.get("/v1/me", new.access_token.expose()).await;
            assert_eq!(status, 200, "{email}");
            assert_eq!(me["user"]["email"], email.as_str());
            next.push((email.clone(), new));
        }
        if round == 0 {
            // The first session's used token comes back alongside the others' new ones.
            let (reused, _) = &sessions[0];
            let stale = sessions[0].1.refresh_token.expose().to_owned();
            let tokens = std::iter::once(stale.as_str())
                .chain(next[1..].iter().map(|(_, s)| s.refresh_token.expose()));
            let answers = refresh_at_once(&srv, tokens).await;
            let (status, body) = &answers[0];
            assert_error(*status, body, 401, "refresh_token_reused");
            let (status, _) = srv.get("/v1/me", next[0].1.access_token.expose()).await;
            assert_eq!(status, 401, "{reused}'s session ended");
            sessions = vec![];
            for ((email, _), (status, body)) in next[1..].iter().zip(&answers[1..]) {
                assert_eq!(*status, 200, "{email}: {body}");
                sessions.push((email.clone(), serde_json::from_value(body.clone()).unwrap()));
            }
        }
    }
}

/// The same token sent four times at once (a client that retried while the first
/// answer was on its way), grace period on: one rotation, and every answer is that
/// same successor; nothing ends. The successor then rotates as usual, and after that
/// the first token is a copy.
async fn concurrent_retries_of_one_token_get_one_successor(b: Backend) {
    let Some(srv) = TestServer::bare(b).await else {
        return;
    };
    srv.add_user("retry@corp.cn", PASSWORD).await;
    let s1 = srv.login("retry@corp.cn", PASSWORD).await;
    let token = s1.refresh_token.expose();
    let (a, b2, c, d) = tokio::join!(
        refresh(&srv, token),
        refresh(&srv, token),
        refresh(&srv, token),
        refresh(&srv, token)
    );
    let answers: Vec<Session> = [a, b2, c, d]
        .into_iter()
        .map(|(status, body)| {
            assert_eq!(status, 200, "{body}");
            serde_json::from_value(body).unwrap()
        })
        .collect();
    assert!(answers
        .iter()
        .all(|s| s.refresh_token == answers[0].refresh_token
            && s.access_token == answers[0].access_token
            && s.session_id == s1.session_id));
    let (stored, used): (i64, i64) =
        sqlx::query_as("SELECT COUNT(*), COUNT(used_at) FROM refresh_tokens WHERE session_id = $1")
            .bind(&s1.session_id)
            .fetch_one(&srv.state.db)
            .await
            .unwrap();
    assert_eq!((stored, used), (2, 1), "one rotation");
    let next = rotate(&srv, &answers[0]).await;
    let (s, body) = refresh(&srv, token).await;
    assert_error(s, &body, 401, "refresh_token_reused");
    let (s, _) = srv.get("/v1/me", next.access_token.expose()).await;
    assert_eq!(s, 401);
}

/// With `refresh_grace_seconds = 0` a retry is a reuse at once, as before issue 21.
async fn no_grace_period_when_it_is_off(b: Backend) {
    let Some(srv) = TestServer::bare_with(b, |c| c.sessions.refresh_grace_seconds = 0).await else {
        return;
    };
    srv.add_user("strict@corp.cn", PASSWORD).await;
    let s1 = srv.login("strict@corp.cn", PASSWORD).await;
    rotate(&srv, &s1).await;
    let (s, body) = refresh(&srv, s1.refresh_token.expose()).await;
    assert_error(s, &body, 401, "refresh_token_reused");
}

async fn access_tokens_expire_after_fifteen_minutes(b: Backend) {
    let Some(srv) = TestServer::bare(b).await else {
        return;
    };
    srv.add_user("exp@corp.cn", PASSWORD).await;
    let s1 = srv.login("exp@corp.cn", PASSWORD).await;
    srv.advance(14 * 60);
    let (s, _) = srv.get("/v1/me", s1.access_token.expose()).await;
    assert_eq!(s, 200);
    srv.advance(60 + 1);
    let (s, body) = srv.get("/v1/me", s1.access_token.expose()).await;
    assert_error(s, &body, 401, "token_expired");
    let s2 = rotate(&srv, &s1).await;
    let (s, _) = srv.get("/v1/me", s2.access_token.expose()).await;
    assert_eq!(s, 200);
}

async fn refresh_tokens_expire_after_thirty_days(b: Backend) {
    let Some(srv) = TestServer::bare(b).await else {
        return;
    };
    srv.add_user("old@corp.cn", PASSWORD).await;
    let s1 = srv.login("old@corp.cn", PASSWORD).await;
    srv.advance(29 * 86_400);
    let s2 = rotate(&srv, &s1).await;
    // Rotation starts a new 30 days for the new token.
    srv.advance(29 * 86_400);
    let s3 = rotate(&srv, &s2).await;
    srv.advance(30 * 86_400 + 1);
    let (s, body) = refresh(&srv, s3.refresh_token.expose()).await;
    assert_error(s, &body, 401, "token_invalid");
}

async fn logout_ends_this_or_every_session(b: Backend) {
    let Some(srv) = TestServer::bare(b).await else {
        return;
    };
    srv.add_user("bye@corp.cn", PASSWORD).await;
    let a = srv.login("bye@corp.cn", PASSWORD).await;
    let b2 = srv.login("bye@corp.cn", PASSWORD).await;
    let c = srv.login("bye@corp.cn", PASSWORD).await;
    // No body: this session only.
    let (s, _) = srv
        .call(
            Method::POST,
            "/v1/auth/logout",
            Some(a.access_token.expose()),
            None,
        )
        .await;
    assert_eq!(s, 204);
    let (s, _) = srv.get("/v1/me", a.access_token.expose()).await;
    assert_eq!(s, 401);
    let (s, body) = refresh(&srv, a.refresh_token.expose()).await;
    assert_error(s, &body, 401, "token_invalid");
    let (s, _) = srv.get("/v1/me", b2.access_token.expose()).await;
    assert_eq!(s, 200);
    // all: every session.
    let (s, _) = srv
        .call(
            Method::POST,
            "/v1/auth/logout",
            Some(b2.access_token.expose()),
            Some(json!({"all": true})),
        )
        .await;
    assert_eq!(s, 204);
    for t in [&b2, &c] {
        let (s, _) = srv.get("/v1/me", t.access_token.expose()).await;
        assert_eq!(s, 401);
    }
    let (s, body) = srv.call(Method::POST, "/v1/auth/logout", None, None).await;
    assert_error(s, &body, 401, "unauthenticated");
}

async fn devices_are_listed_and_revocable(b: Backend) {
    let Some(srv) = TestServer::bare(b).await else {
        return;
    };
    srv.add_user("dev@corp.cn", PASSWORD).await;
    let (_, body) = srv.login_device("dev@corp.cn", PASSWORD, "laptop").await;
    let laptop: Session = serde_json::from_value(body["session"].clone()).unwrap();
    let (_, body) = srv.login_device("dev@corp.cn", PASSWORD, "desktop").await;
    let desktop: Session = serde_json::from_value(body["session"].clone()).unwrap();
    let (s, list) = srv
        .get("/v1/me/sessions", laptop.access_token.expose())
        .await;
    assert_eq!(s, 200);
    let sessions = list["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 2);
    let me = sessions.iter().find(|x| x["current"] == true).unwrap();
    assert_eq!(me["id"], laptop.session_id.as_str());
    // The device id skips new-device verification: the server keeps and shows only
    // its hash (issue 13), never the id itself.
    let stored = latchkey_server::devices::stored_id("laptop");
    assert_eq!(
        me["device"],
        json!({"id": stored, "name": "laptop name", "platform": "linux"})
    );
    assert!(!list.to_string().contains("\"laptop\""), "{list}");
    assert_eq!(me["ip"], "127.0.0.1");
    assert!(me["created_at"].as_str().unwrap().ends_with('Z'));
    let path = format!("/v1/me/sessions/{}", desktop.session_id);
    let (s, _) = srv
        .call(
            Method::DELETE,
            &path,
            Some(laptop.access_token.expose()),
            None,
        )
        .await;
    assert_eq!(s, 204);
    let (s, _) = srv.get("/v1/me", desktop.access_token.expose()).await;
    assert_eq!(s, 401);
    let (_, list) = srv
        .get("/v1/me/sessions", laptop.access_token.expose())
        .await;
    assert_eq!(list["sessions"].as_array().unwrap().len(), 1);
    // Already revoked, unknown, or someone else's: not found.
    let (s, body) = srv
        .call(
            Method::DELETE,
            &path,
            Some(laptop.access_token.expose()),
            None,
        )
        .await;
    assert_error(s, &body, 404, "resource_not_found");
    srv.add_user("stranger@corp.cn", PASSWORD).await;
    let stranger = srv.login("stranger@corp.cn", PASSWORD).await;
    let path = format!("/v1/me/sessions/{}", laptop.session_id);
    let (s, _) = srv
        .call(
            Method::DELETE,
            &path,
            Some(stranger.access_token.expose()),
            None,
        )
        .await;
    assert_eq!(s, 404);
    let (s, _) = srv.get("/v1/me", laptop.access_token.expose()).await;
    assert_eq!(s, 200);
}

async fn only_token_hashes_are_stored(b: Backend) {
    let Some(srv) = TestServer::bare(b).await else {
        return;
    };
    srv.add_user("hash@corp.cn", PASSWORD).await;
    let s1 = srv.login("hash@corp.cn", PASSWORD).await;
    let s2 = rotate(&srv, &s1).await;
    let db = &srv.state.db;
    let stored: Vec<String> = sqlx::query_scalar("SELECT access_hash FROM sessions")
        .fetch_all(db)
        .await
        .unwrap();
    assert_eq!(
        stored,
        vec![latchkey_server::tokens::session_token_key(
            s2.access_token.expose()
        )]
    );
    let refresh: Vec<String> = sqlx::query_scalar("SELECT token_hash FROM refresh_tokens")
        .fetch_all(db)
        .await
        .unwrap();
    assert_eq!(refresh.len(), 2);
    for token in [
        &s1.access_token,
        &s1.refresh_token,
        &s2.access_token,
        &s2.refresh_token,
    ] {
        let raw = token.expose();
        assert!(!stored
            .iter()
            .chain(&refresh)
            .any(|h| h.contains(raw) || raw.contains(h.as_str())));
    }
    assert!(
        refresh.contains(&latchkey_server::tokens::session_token_key(
            s2.refresh_token.expose()
        ))
    );
}

/// The server copies its SQLite WAL back into the database file by itself: what a
/// request wrote shows in a copy of the main file alone (no WAL) within a few
/// checkpoint periods, long before the 10,000-page automatic checkpoint would run.
#[tokio::test]
async fn sqlite_wal_is_checkpointed_in_the_background() {
    let srv = TestServer::bare(Backend::Sqlite)
        .await
        .expect("a SQLite server");
    srv.add_user("wal@corp.cn", PASSWORD).await;
    srv.login("wal@corp.cn", PASSWORD).await;
    let main = srv
        .database_url()
        .strip_prefix("sqlite://")
        .expect("a SQLite URL")
        .to_owned();
    let copy = srv.dir.path().join("main-file-only.db");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", copy.display()));
        }
        std::fs::copy(&main, &copy).expect("copy the database file");
        let db = latchkey_server::db::connect(&format!("sqlite://{}", copy.display()))
            .await
            .expect("open the copy");
        // A copy taken in the middle of a checkpoint may not read: try again.
        let sessions: Result<i64, _> = sqlx::query_scalar(
            "SELECT COUNT(*) FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE u.email = 'wal@corp.cn'",
        )
        .fetch_one(&db)
        .await;
        db.close().await;
        if matches!(sessions, Ok(1)) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the sign-in is still only in the WAL after 10 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// Under a steady stream of writes the WAL starts again from its beginning about every
/// thousand pages, through the server's own checkpointer (`db::checkpoint_wal`), which
/// holds the writer only for its last small copy: not only at SQLite's automatic
/// checkpoint (10,000 pages, 40 MB), which would run inside a request's commit. The WAL
/// header's checkpoint sequence number (bytes 12–15) counts those new starts, and the
/// WAL file, which keeps its largest size, stays below 2,500 pages (about 1,100 here;
/// without the checkpointer's own restarts it reached 3,900 on the same run, as the
/// background copy sometimes catches up by itself between requests).
#[tokio::test]
async fn sqlite_wal_starts_again_under_a_steady_write_load() {
    let srv = TestServer::bare(Backend::Sqlite)
        .await
        .expect("a SQLite server");
    let wal = wal_file(&srv);
    let (first, _) = wal_header(&wal);
    let rotations = rotate_steadily(&srv, "steady").await;
    let (last, size) = wal_header(&wal);
    assert!(
        last.wrapping_sub(first) >= 2,
        "the WAL started again {} times in {rotations} rotations",
        last.wrapping_sub(first),
    );
    assert!(
        size < 2_500 * WAL_FRAME,
        "the WAL file grew to {size} bytes ({} pages)",
        size / WAL_FRAME
    );
}

/// IT runs an admin command while the server runs, after the checkpointer has started
/// the WAL again (and so written the files to disk through handles of its own): the
/// command's process closes its connection, and the WAL stays where it is, and what
/// the server writes next is in the database that the next command reads. When the
/// checkpointer closed its handles after each fsync, the server lost its SQLite locks
/// on the database file (on Unix, closing any descriptor of a file drops all of the
/// process's locks on it): the command, finding itself alone, deleted the WAL under
/// the running server, and an account added after it was not there.
#[tokio::test]
async fn sqlite_admin_command_beside_the_checkpointer_loses_nothing() {
    let srv = TestServer::bare(Backend::Sqlite)
        .await
        .expect("a SQLite server");
    let wal = wal_file(&srv);
    // A reader holds its snapshot while the server writes, so that no checkpoint can
    // finish and the WAL grows past the checkpointer's threshold for its fsyncs.
    let reader = latchkey_server::db::connect(srv.database_url())
        .await
        .expect("a second connection");
    let mut snapshot = reader.begin().await.expect("a read transaction");
    let _: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(&mut *snapshot)
        .await
        .expect("a read");
    rotate_steadily(&srv, "beside").await;
    let (grown, bytes) = wal_header(&wal);
    assert!(bytes > 2_000 * WAL_FRAME, "the WAL grew: {bytes} bytes");
    snapshot.commit().await.expect("end the read");
    reader.close().await;
    // Then the checkpointer writes the files to disk, copies the rest, and the next
    // write starts the WAL again.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    for n in 0.. {
        srv.add_user(&format!("tick{n}@corp.cn"), PASSWORD).await;
        if wal_header(&wal).0 != grown {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the WAL did not start again"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    // A closing process deletes the WAL only if its last checkpoint finishes; ten
    // commands in a row.
    for i in 0..10 {
        let run = crate::api::admin_cli::cli(&srv, &["user", "list"], None).await;
        run.ok().stdout_has("beside0@corp.cn");
        assert!(
            std::path::Path::new(&wal).exists(),
            "the WAL was deleted under the running server (command {i})"
        );
        let email = format!("after-command-{i}@corp.cn");
        srv.add_user(&email, PASSWORD).await;
        let run = crate::api::admin_cli::cli(&srv, &["user", "list"], None).await;
        run.ok().stdout_has(&email);
    }
}

/// The size of a WAL frame: its header and a 4 KiB page.
const WAL_FRAME: u64 = 24 + 4096;

/// The WAL file of a SQLite test server.
fn wal_file(srv: &TestServer) -> String {
    format!(
        "{}-wal",
        srv.database_url()
            .strip_prefix("sqlite://")
            .expect("a SQLite URL")
    )
}

/// The WAL header's checkpoint sequence (bytes 12–15: one more each time the WAL
/// starts again) and the file's size.
fn wal_header(wal: &str) -> (u32, u64) {
    let bytes = std::fs::read(wal).expect("the WAL file");
    let sequence = u32::from_be_bytes(bytes[12..16].try_into().unwrap());
    (sequence, bytes.len() as u64)
}

/// Eight chains of accounts `{prefix}{i}@corp.cn` rotating side by side, 250 times
/// each: a few pages per rotation, some 10,000 in all. The rotations made.
async fn rotate_steadily(srv: &TestServer, prefix: &str) -> usize {
    let mut chains = Vec::new();
    for i in 0..8 {
        let email = format!("{prefix}{i}@corp.cn");
        srv.add_user(&email, PASSWORD).await;
        chains.push(srv.login(&email, PASSWORD).await);
    }
    let rounds = 250;
    let tasks: Vec<_> = chains
        .into_iter()
        .map(|mut session| {
            let url = srv.url("/v1/auth/refresh");
            tokio::spawn(async move {
                let http = reqwest::Client::new();
                for _ in 0..rounds {
                    let response = http
                        .post(&url)
                        .json(&json!({ "refresh_token": session.refresh_token.expose() }))
                        .send()
                        .await
                        .expect("request");
                    assert_eq!(response.status(), 200);
                    session = response.json().await.expect("a session");
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("a refresh chain");
    }
    8 * rounds
}
