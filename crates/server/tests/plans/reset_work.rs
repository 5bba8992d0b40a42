//! The reset's start does the same work for an unknown identifier as for a known one
//! (`http/reset.rs`): the same statements, as many, on the same tables, in the same
//! order — the unknown path's decoy look-ups stand in for the known path's writes of
//! the reset link and the message — and the same answer, byte for byte but for the id.
//! Counted, not timed: the time both take is measured by `cargo bench --bench load`
//! (`LATCHKEY_BENCH_ONLY=reset`, figures in `docs/benchmarks.md`).

use std::collections::BTreeSet;

use latchkey_testkit::smtp::SmtpSink;
use latchkey_testkit::{Backend, TestServer};
use serde_json::{json, Value};

use crate::capture;

const EMAIL: &str = "reset.work@corp.example";
const PASSWORD: &str = "Plum-orchard-violin-73";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_start_runs_the_same_statements_for_unknown_and_known() {
    let _alone = capture::start().await;
    for backend in [Backend::Sqlite, Backend::Postgres] {
        same_work(backend).await;
    }
}

async fn same_work(backend: Backend) {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    // No dispatcher: its sending of the queued e-mail would run statements of its own
    // amid the next request's.
    let Some(srv) = TestServer::bare_with(backend, |c| {
        c.delivery.smtp_url = Some(url);
        c.delivery.dispatcher = false;
    })
    .await
    else {
        return;
    };
    srv.add_user(EMAIL, PASSWORD).await;
    // The janitor's statements, to tell them apart: its first run, at the server's
    // start, may not be over yet.
    capture::take();
    latchkey_server::retention::prune(&srv.state, srv.state.now())
        .await
        .unwrap();
    let janitor: BTreeSet<String> = capture::take().into_iter().collect();

    // Identifiers that could be an account's. One that cannot (`not an identifier!`)
    // skips the account look-up: its form alone tells it is none, so its time tells
    // nothing more.
    let unknowns = [
        "nobody@corp.example",
        "13900000000",
        "Nobody.Else@Corp.Example",
    ];
    for (round, unknown) in unknowns.iter().enumerate() {
        // An hour later each round, so that the resend limits never answer.
        srv.advance(3601);
        // Both orders: whichever runs first reads the switches again (their cache is
        // older than a second by the clock just moved), which is not counted anyway.
        let order = if round % 2 == 0 {
            [EMAIL, unknown]
        } else {
            [unknown, EMAIL]
        };
        let mut seen = Vec::new();
        for identifier in order {
            seen.push((identifier, start(&srv, identifier, &janitor).await));
        }
        let (known, other) = if seen[0].0 == EMAIL {
            (&seen[0].1, &seen[1].1)
        } else {
            (&seen[1].1, &seen[0].1)
        };
        assert_eq!(
            known.body, other.body,
            "{backend:?}: the answers differ for {unknown:?}"
        );
        assert!(
            known.statements.len() >= 8,
            "{backend:?}: too few statements captured: {:#?}",
            known.statements
        );
        assert_eq!(
            tables(&known.statements),
            tables(&other.statements),
            "{backend:?}: the known path and the unknown one ({unknown:?}) differ in \
             their statements:\nknown: {:#?}\nunknown: {:#?}",
            known.statements,
            other.statements
        );
    }
    // The known path was the one that queued mail.
    let queued: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM messages WHERE status = 'pending'")
        .fetch_one(&srv.state.db)
        .await
        .unwrap();
    assert_eq!(queued, 3, "{backend:?}");
}

/// What one start did.
struct Work {
    /// The answer, its id blanked, as bytes.
    body: Vec<u8>,
    statements: Vec<String>,
}

/// `POST /v1/recovery/start` for `identifier`; its statements, without the janitor's,
/// the WAL checkpoints' (`PRAGMA`) and the switches' cache reads (the guard's, before
/// any route: they depend on the cache's age, not on the identifier).
async fn start(srv: &TestServer, identifier: &str, janitor: &BTreeSet<String>) -> Work {
    capture::take();
    let (status, mut body) = srv
        .post("/v1/recovery/start", json!({"identifier": identifier}))
        .await;
    let statements: Vec<String> = capture::take()
        .into_iter()
        .filter(|s| !janitor.contains(s))
        .filter(|s| !s.to_uppercase().starts_with("PRAGMA"))
        .filter(|s| s != "SELECT name, value FROM settings")
        .collect();
    assert_eq!(status, 202, "{identifier}: {body}");
    if let Some(id) = body.get_mut("recovery_id") {
        assert_eq!(id.as_str().unwrap().len(), 32, "{id}");
        *id = Value::from("<id>");
    }
    Work {
        body: serde_json::to_vec(&body).unwrap(),
        statements,
    }
}

/// Per statement, its kind (BEGIN, COMMIT, a read or a write) of which table: a decoy
/// `SELECT COUNT(*) FROM challenges` stands for an `INSERT INTO challenges`.
fn tables(statements: &[String]) -> Vec<String> {
    statements
        .iter()
        .map(|s| {
            let words: Vec<&str> = s.split_whitespace().collect();
            let after = |keyword: &str| {
                words
                    .iter()
                    .position(|w| w.eq_ignore_ascii_case(keyword))
                    .and_then(|i| words.get(i + 1))
                    .map(|w| w.to_lowercase())
            };
            after("INTO")
                .or_else(|| after("UPDATE"))
                .or_else(|| after("FROM"))
                .unwrap_or_else(|| s.to_uppercase())
        })
        .collect()
}
