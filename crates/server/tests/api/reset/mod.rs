//! Password reset (`/v1/recovery/*`) over real HTTP, with the codes read from the
//! e-mails a real SMTP server on loopback received (or the SMS a real webhook
//! received), never from the database.
//!
//! The tests are in one file per area; this module holds what they share.

mod channels;
mod enumeration;
mod rules;
mod voided;

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};

use super::totp::KEY;
use latchkey_testkit::smtp::{Received, SmtpSink};
use latchkey_testkit::{Backend, TestServer};

const EMAIL: &str = "zhang.wei@corp.cn";

pub(crate) async fn with_smtp(b: Backend) -> Option<(TestServer, SmtpSink)> {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let srv = TestServer::bare_with(b, |c| {
        c.delivery.smtp_url = Some(url);
        c.delivery.secret_key = Some(KEY.into());
    })
    .await?;
    Some((srv, sink))
}

pub(crate) async fn start(srv: &TestServer, identifier: &str) -> (StatusCode, Value) {
    srv.post("/v1/recovery/start", json!({"identifier": identifier}))
        .await
}

pub(crate) async fn started_id(srv: &TestServer, identifier: &str) -> String {
    let (s, body) = start(srv, identifier).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{body}");
    body["recovery_id"].as_str().unwrap().to_owned()
}

pub(crate) async fn verify(srv: &TestServer, id: &str, code: &str) -> (StatusCode, Value) {
    srv.post(
        "/v1/recovery/verify",
        json!({"recovery_id": id, "code": code}),
    )
    .await
}

pub(crate) async fn complete(srv: &TestServer, token: &str, password: &str) -> (StatusCode, Value) {
    srv.post(
        "/v1/recovery/complete",
        json!({"reset_token": token, "new_password": password}),
    )
    .await
}

/// The `n`-th e-mail (from 1) that carries a code, waiting up to 10 s for it; notices
/// (such as "new sign-in") are skipped.
pub(crate) async fn code_mail(sink: &SmtpSink, n: usize) -> Received {
    mail_where(sink, n, |m| m.code().is_some()).await
}

/// The `n`-th e-mail (from 1) that `pred` accepts, waiting up to 10 s for it.
pub(crate) async fn mail_where(
    sink: &SmtpSink,
    n: usize,
    pred: impl Fn(&Received) -> bool,
) -> Received {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let found: Vec<Received> = sink.messages().into_iter().filter(|m| pred(m)).collect();
        if found.len() >= n {
            return found[n - 1].clone();
        }
        assert!(
            Instant::now() < deadline,
            "only {} such e-mails",
            found.len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub(crate) fn link_token(mail: &Received) -> String {
    let text = mail.text();
    let at = text
        .find("latchkey://reset?token=")
        .unwrap_or_else(|| panic!("a reset link in the e-mail: {text}"));
    text[at + "latchkey://reset?token=".len()..]
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
}

/// A wrong code that is surely not `code`.
pub(crate) fn wrong(code: &str) -> String {
    let n: u32 = code.parse().unwrap();
    format!("{:06}", (n + 1) % 1_000_000)
}
