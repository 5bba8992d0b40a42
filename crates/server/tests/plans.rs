//! Every statement the server runs on the sign-in, new-device, refresh, recovery and
//! `/v1/me` paths uses an index, on SQLite and on PostgreSQL (issue 20): none reads a
//! whole table, so the paths cost the same with a million accounts as with ten. So does
//! every delete of the janitor: on SQLite a delete that reads a table whole holds the
//! one writer (at a million accounts, 0.4 s for sessions and refresh tokens).
//!
//! The statements are not listed by hand (a list would drift from the code): sqlx logs
//! every statement it runs (target `sqlx::query`), and this test captures them while it
//! walks the paths over HTTP against a real server, then runs the janitor once, and asks
//! the database for the plan of each (parameters unbound, as when a statement is
//! prepared). SQLite: `EXPLAIN QUERY PLAN`, and a plan with `SCAN <table>` fails the
//! test, naming the statement. PostgreSQL (the same walk on a server of its own): the
//! generic plan with `enable_seqscan = off` — on an almost empty database PostgreSQL
//! reads small tables whole by choice, and forbidding that shows whether an index *can*
//! serve the statement — and a plan with `Seq Scan on <table>` fails it. With
//! `LATCHKEY_PLANS_OUT=FILE` the statements are also written to FILE, one per line, for
//! `cargo bench --bench seed -- --explain FILE` (the plans at a million accounts in
//! `docs/benchmarks.md`); `LATCHKEY_PLANS_BACKEND=postgres|sqlite` walks on one
//! database only (both by default).
//!
//! Its own test binary: the capture is the process's global tracing subscriber
//! (`plans/capture.rs`). `plans/reset_work.rs` uses it too: the reset's start runs the
//! same statements for an unknown identifier as for a known one.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "plans/capture.rs"]
mod capture;
#[path = "../benches/seed/explain.rs"]
mod explain;
#[path = "plans/reset_work.rs"]
mod reset_work;

use std::collections::BTreeSet;
use std::time::Duration;

use latchkey_testkit::smtp::SmtpSink;
use latchkey_testkit::{Backend, TestServer};
use serde_json::json;
use sqlx::Connection;

const EMAIL: &str = "plan.user@corp.example";
const PASSWORD: &str = "Plum-orchard-violin-73";
const NEW_PASSWORD: &str = "Quartz-meadow-lantern-19";

/// Tables small by design that a statement may read whole: the server's switches and
/// policies (a handful of rows, read together into a cache), sqlx's migration list, and
/// the OpenID Connect signing keys (a few; the janitor drops the retired ones).
const WHOLE_BY_DESIGN: &[&str] = &["settings", "_sqlx_migrations", "oidc_keys"];

/// Tables the janitor deletes from, at the least (it may delete from more).
const JANITOR_TABLES: &[&str] = &[
    "refresh_tokens",
    "challenges",
    "sessions",
    "lockouts",
    "throttles",
    "sends",
    "send_limits",
    "recoveries",
    "activity",
    "messages",
];

fn take_seen() -> BTreeSet<String> {
    capture::take().into_iter().collect()
}

/// A statement that reads or writes a table (not BEGIN, PRAGMA, SELECT 1, …).
fn touches_tables(statement: &str) -> bool {
    let upper = statement.to_uppercase();
    ["SELECT", "INSERT", "UPDATE", "DELETE", "WITH"]
        .iter()
        .any(|k| upper.starts_with(k))
        && (upper.contains(" FROM ") || upper.contains("INTO ") || upper.starts_with("UPDATE"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_statement_of_the_hot_paths_uses_an_index() {
    let _alone = capture::start().await;
    let only = std::env::var("LATCHKEY_PLANS_BACKEND").ok();
    let mut failures = Vec::new();
    let mut written = Vec::new();
    for (name, backend) in [("sqlite", Backend::Sqlite), ("postgres", Backend::Postgres)] {
        if only.as_deref().is_some_and(|o| o != name) {
            continue;
        }
        let Some((srv, statements)) = walk(backend).await else {
            continue;
        };
        let mut conn = sqlx::AnyConnection::connect(srv.database_url())
            .await
            .unwrap();
        let watched = watched_tables(&mut conn, backend).await;
        let mut statements = statements;
        if backend == Backend::Sqlite {
            // The refresh batch goes through the connection's own table, whose trigger
            // runs the rotation's statements (not logged by sqlx): make the table here
            // too, and check the trigger's statements with parameters for its values.
            for setup in latchkey_server::session::sqlite_rotation_setup() {
                sqlx::query(&setup).execute(&mut conn).await.unwrap();
            }
            use latchkey_server::session::{rotation_steps, ROTATION_COLUMNS};
            statements.extend(rotation_steps(|column| {
                let k = ROTATION_COLUMNS.iter().position(|c| *c == column).unwrap();
                format!("${}", k + 1)
            }));
        }
        for statement in &statements {
            if let Some(plan) = whole_table_read(&mut conn, backend, statement, &watched).await {
                failures.push(format!("{name}: {statement}\n    {}", plan.join("\n    ")));
            }
        }
        eprintln!("{name}: {} statements checked", statements.len());
        written.extend(statements);
    }
    if let Ok(out) = std::env::var("LATCHKEY_PLANS_OUT") {
        std::fs::write(&out, written.join("\n") + "\n").unwrap();
    }
    assert!(
        failures.is_empty(),
        "{} statements read a whole table:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// Walks the paths on a server of `backend`, then runs the janitor once; returns the
/// server and the statements to check: every one of the walk and of the janitor.
async fn walk(backend: Backend) -> Option<(TestServer, Vec<String>)> {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let srv = TestServer::bare_with(backend, |c| {
        c.delivery.smtp_url = Some(url);
        c.devices.verify_new = true;
    })
    .await?;
    srv.add_user(EMAIL, PASSWORD).await;
    // Only what the paths below run from here on (and the background tasks meanwhile).
    take_seen();
    // Sign-in from a new device: the code by e-mail, then the session.
    let (s, body) = srv.login_device(EMAIL, PASSWORD, "laptop").await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["status"], "device_verification_required", "{body}");
    let challenge = body["challenge_token"].as_str().unwrap().to_owned();
    let code = sink.code_after(0).await;
    let (s, session) = srv
        .post(
            "/v1/auth/device/verify",
            json!({"challenge_token": challenge, "code": code}),
        )
        .await;
    assert_eq!(s, 200, "{session}");
    // A wrong password and an unknown identifier, from the known device.
    let (s, _) = srv.login_device(EMAIL, NEW_PASSWORD, "laptop").await;
    assert_eq!(s, 401);
    let (s, _) = srv
        .login_device("nobody@corp.example", PASSWORD, "laptop")
        .await;
    assert_eq!(s, 401);
    // Refresh, twice (the second with the rotated token), and a reuse.
    let first = session["refresh_token"].as_str().unwrap().to_owned();
    let (s, rotated) = srv
        .post("/v1/auth/refresh", json!({"refresh_token": first}))
        .await;
    assert_eq!(s, 200, "{rotated}");
    let access = rotated["access_token"].as_str().unwrap().to_owned();
    // /v1/me and what the account screen reads.
    for path in ["/v1/me", "/v1/me/activity", "/v1/me/sessions"] {
        let (s, body) = srv.get(path, &access).await;
        assert_eq!(s, 200, "{path}: {body}");
    }
    // Password reset by e-mail, for a known and an unknown identifier.
    let before = sink.messages().len();
    let (s, started) = srv
        .post("/v1/recovery/start", json!({"identifier": EMAIL}))
        .await;
    assert_eq!(s, 202, "{started}");
    let (s, _) = srv
        .post(
            "/v1/recovery/start",
            json!({"identifier": "nobody@corp.example"}),
        )
        .await;
    assert_eq!(s, 202);
    let id = started["recovery_id"].as_str().unwrap();
    let code = sink.code_after(before).await;
    let (s, verified) = srv
        .post(
            "/v1/recovery/verify",
            json!({"recovery_id": id, "code": code}),
        )
        .await;
    assert_eq!(s, 200, "{verified}");
    let token = verified["reset_token"].as_str().unwrap();
    let (s, done) = srv
        .post(
            "/v1/recovery/complete",
            json!({"reset_token": token, "new_password": NEW_PASSWORD}),
        )
        .await;
    assert!(s.is_success(), "{done}");
    // A reused refresh token (the reset revoked the session anyway).
    let (s, _) = srv
        .post("/v1/auth/refresh", json!({"refresh_token": first}))
        .await;
    assert_eq!(s, 401);
    tokio::time::sleep(Duration::from_millis(200)).await;

    let walked: BTreeSet<String> = take_seen()
        .into_iter()
        .filter(|s| touches_tables(s))
        .collect();
    latchkey_server::retention::prune(&srv.state, srv.state.now())
        .await
        .unwrap();
    let janitor: BTreeSet<String> = take_seen()
        .into_iter()
        .filter(|s| touches_tables(s))
        .collect();
    for table in JANITOR_TABLES {
        assert!(
            janitor
                .iter()
                .any(|s| s.starts_with(&format!("DELETE FROM {table} "))),
            "the janitor's delete from {table} was not captured: {janitor:#?}"
        );
    }
    let mut statements: Vec<String> = walked.difference(&janitor).cloned().collect();
    assert!(
        statements.len() >= 20,
        "too few statements captured: {statements:#?}"
    );
    statements.extend(janitor);
    Some((srv, statements))
}

/// The tables a plan must not read whole: all but [`WHOLE_BY_DESIGN`].
async fn watched_tables(conn: &mut sqlx::AnyConnection, backend: Backend) -> Vec<String> {
    let sql = match backend {
        Backend::Sqlite => "SELECT name FROM sqlite_master WHERE type = 'table'",
        Backend::Postgres => {
            "SELECT CAST(tablename AS TEXT) FROM pg_tables WHERE schemaname = current_schema()"
        }
    };
    let tables: Vec<String> = sqlx::query_scalar(sql).fetch_all(&mut *conn).await.unwrap();
    assert!(tables.iter().any(|t| t == "users"), "no tables: {tables:?}");
    tables
        .into_iter()
        .filter(|t| !WHOLE_BY_DESIGN.contains(&t.as_str()))
        .collect()
}

/// The plan of `statement` if it reads a whole table of `watched`.
async fn whole_table_read(
    conn: &mut sqlx::AnyConnection,
    backend: Backend,
    statement: &str,
    watched: &[String],
) -> Option<Vec<String>> {
    let (plan, bad) = match backend {
        Backend::Sqlite => {
            let plan = explain::sqlite_plan(conn, statement)
                .await
                .unwrap_or_else(|e| panic!("no plan for {statement}: {e}"));
            let bad = explain::full_scans(&plan, watched);
            (plan, bad)
        }
        Backend::Postgres => {
            sqlx::query("SET enable_seqscan = off")
                .execute(&mut *conn)
                .await
                .unwrap();
            let plan = explain::postgres_plan(conn, statement)
                .await
                .unwrap_or_else(|e| panic!("no plan for {statement}: {e}"));
            let bad: Vec<String> = explain::seq_scans(&plan)
                .into_iter()
                .filter(|line| {
                    let table = line
                        .split("Seq Scan on ")
                        .nth(1)
                        .and_then(|rest| rest.split_whitespace().next())
                        .unwrap_or_default();
                    watched.iter().any(|t| t == table)
                })
                .collect();
            (plan, bad)
        }
    };
    (!bad.is_empty()).then_some(plan)
}
