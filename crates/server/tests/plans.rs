//! Every statement the server runs on the sign-in, new-device, refresh, recovery and
//! `/v1/me` paths uses an index on SQLite (issue 20): none reads a whole table, so the
//! paths cost the same with a million accounts as with ten.
//!
//! The statements are not listed by hand (a list would drift from the code): sqlx logs
//! every statement it runs (target `sqlx::query`), and this test captures them while it
//! walks the paths over HTTP against a real server, then asks SQLite for the plan of
//! each (`EXPLAIN QUERY PLAN`, parameters unbound, as when a statement is prepared). A
//! plan with `SCAN <table>` fails the test, naming the statement. With
//! `LATCHKEY_PLANS_OUT=FILE` the statements are also written to FILE, one per line, for
//! `cargo bench --bench seed -- --explain FILE` (the plans at a million accounts in
//! `docs/benchmarks.md`). `LATCHKEY_PLANS_BACKEND=postgres` walks the same paths on
//! PostgreSQL to write its statements (its plans on an empty database say nothing —
//! PostgreSQL reads small tables whole — so only SQLite's are checked here).
//!
//! Its own test binary: the capture is the process's global tracing subscriber.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../benches/seed/explain.rs"]
mod explain;

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::time::Duration;

use latchkey_testkit::smtp::SmtpSink;
use latchkey_testkit::{Backend, TestServer};
use serde_json::json;
use sqlx::Connection;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::Layer;

const EMAIL: &str = "plan.user@corp.example";
const PASSWORD: &str = "Plum-orchard-violin-73";
const NEW_PASSWORD: &str = "Quartz-meadow-lantern-19";

/// Tables small by design that a statement may read whole: the server's switches and
/// policies (a handful of rows, read together into a cache) and sqlx's migration list.
const WHOLE_BY_DESIGN: &[&str] = &["settings", "_sqlx_migrations"];

static SEEN: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());

/// Keeps the text of every statement sqlx logs.
struct Capture;

#[derive(Default)]
struct Fields {
    summary: String,
    statement: String,
}

impl tracing::field::Visit for Fields {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        match field.name() {
            "summary" => value.clone_into(&mut self.summary),
            "db.statement" => value.clone_into(&mut self.statement),
            _ => {}
        }
    }
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        let text = format!("{value:?}");
        match field.name() {
            "summary" => self.summary = text.trim_matches('"').to_owned(),
            "db.statement" => self.statement = text.trim_matches('"').to_owned(),
            _ => {}
        }
    }
}

impl<S: tracing::Subscriber> Layer<S> for Capture {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        if event.metadata().target() != "sqlx::query" {
            return;
        }
        let mut fields = Fields::default();
        event.record(&mut fields);
        // A short statement is logged whole as its summary, a longer one in db.statement.
        let text = if fields.statement.trim().is_empty() {
            fields.summary
        } else {
            fields.statement
        };
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        SEEN.lock().unwrap().insert(text);
    }
}

fn take_seen() -> BTreeSet<String> {
    std::mem::take(&mut *SEEN.lock().unwrap())
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
    let subscriber = tracing_subscriber::registry().with(
        Capture.with_filter(
            tracing_subscriber::filter::Targets::new()
                .with_target("sqlx::query", tracing::Level::TRACE),
        ),
    );
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");

    let sink = SmtpSink::start().await;
    let url = sink.url();
    let postgres = std::env::var("LATCHKEY_PLANS_BACKEND").is_ok_and(|b| b == "postgres");
    let backend = if postgres {
        Backend::Postgres
    } else {
        Backend::Sqlite
    };
    let Some(srv) = TestServer::bare_with(backend, |c| {
        c.delivery.smtp_url = Some(url);
        c.devices.verify_new = true;
    })
    .await
    else {
        return;
    };
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

    let statements: Vec<String> = take_seen()
        .into_iter()
        .filter(|s| touches_tables(s))
        .collect();
    assert!(
        statements.len() >= 20,
        "too few statements captured: {statements:#?}"
    );
    if let Ok(out) = std::env::var("LATCHKEY_PLANS_OUT") {
        std::fs::write(&out, statements.join("\n") + "\n").unwrap();
    }
    if postgres {
        return;
    }
    let mut conn = sqlx::AnyConnection::connect(srv.database_url())
        .await
        .unwrap();
    let tables: Vec<String> =
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table'")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    let watched: Vec<String> = tables
        .into_iter()
        .filter(|t| !WHOLE_BY_DESIGN.contains(&t.as_str()))
        .collect();
    let mut scans = Vec::new();
    for statement in &statements {
        let plan = explain::sqlite_plan(&mut conn, statement)
            .await
            .unwrap_or_else(|e| panic!("no plan for {statement}: {e}"));
        let bad = explain::full_scans(&plan, &watched);
        if !bad.is_empty() {
            scans.push(format!("{statement}\n    {}", plan.join("\n    ")));
        }
    }
    assert!(
        scans.is_empty(),
        "{} of {} statements read a whole table:\n{}",
        scans.len(),
        statements.len(),
        scans.join("\n\n")
    );
}
