//! An unknown identifier gets the same answer as a known one, byte for byte. That it
//! costs the same work (the same statements, decoys standing in for the known path's
//! writes) is checked by `tests/plans/reset_work.rs`, which counts the statements; the
//! time of both is measured by `cargo bench --bench load` (`LATCHKEY_BENCH_ONLY=reset`),
//! not asserted here.

use std::time::Duration;

use latchkey_testkit::api::{assert_error, PASSWORD};
use latchkey_testkit::smtp::SmtpSink;
use latchkey_testkit::{on_both, Backend, TestServer};
use reqwest::StatusCode;
use serde_json::{json, Value};

use super::{start, verify, with_smtp, EMAIL};

on_both!(
    unknown_identifiers_get_the_same_answers,
    start_answers_the_same_bytes_for_unknown_and_known,
);

/// The shape of an answer with its ids blanked.
fn shape(mut v: Value) -> Value {
    if let Some(id) = v.get_mut("recovery_id") {
        assert_eq!(id.as_str().unwrap().len(), 32, "{id}");
        *id = json!("<id>");
    }
    v
}

async fn unknown_identifiers_get_the_same_answers(b: Backend) {
    let Some((srv, sink)) = with_smtp(b).await else {
        return;
    };
    srv.add_user(EMAIL, PASSWORD).await;
    for (known, unknown) in [
        (EMAIL, "nobody@corp.cn"),
        (EMAIL, "not an identifier!"),
        (EMAIL, "13900000000"),
    ] {
        srv.advance(3600);
        let (s1, b1) = start(&srv, known).await;
        let (s2, b2) = start(&srv, unknown).await;
        assert_eq!(s1, s2);
        assert_eq!(shape(b1.clone()), shape(b2.clone()));
        // The resend wait looks the same too.
        let (s3, b3) = start(&srv, known).await;
        let (s4, b4) = start(&srv, unknown).await;
        assert_eq!(
            (s3, s4),
            (StatusCode::TOO_MANY_REQUESTS, StatusCode::TOO_MANY_REQUESTS)
        );
        assert_eq!(b3, b4);
        // A code for the unknown one is simply wrong, then used up, like any other.
        let id = b2["recovery_id"].as_str().unwrap();
        let (s, body) = verify(&srv, id, "123456").await;
        assert_error(s, &body, 400, "code_invalid");
    }
    // Only the known account got mail.
    assert_eq!(sink.wait_for(3).await.len(), 3);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sink.messages().len(), 3);
    assert!(sink
        .messages()
        .iter()
        .all(|m| m.to == vec![EMAIL.to_owned()]));
}

/// 50 tries each, interleaved: the answers are byte-identical apart from the id.
///
/// This server only queues (no dispatcher), as in the statement count of
/// `tests/plans/reset_work.rs`.
async fn start_answers_the_same_bytes_for_unknown_and_known(b: Backend) {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let Some(srv) = TestServer::bare_with(b, |c| {
        c.delivery.smtp_url = Some(url);
        c.delivery.dispatcher = false;
    })
    .await
    else {
        return;
    };
    srv.add_user(EMAIL, PASSWORD).await;
    for i in 0..50 {
        // An hour later each round, so that the resend limits never answer.
        srv.advance(3601);
        let order = if i % 2 == 0 {
            [EMAIL, "nobody@corp.cn"]
        } else {
            ["nobody@corp.cn", EMAIL]
        };
        let mut bodies = Vec::new();
        for id in order {
            let (s, body) = start(&srv, id).await;
            assert_eq!(s, StatusCode::ACCEPTED, "{body}");
            bodies.push(serde_json::to_vec(&shape(body)).unwrap());
        }
        assert_eq!(bodies[0], bodies[1]);
    }
}
