//! Delivery: the message queue, sent through a real SMTP server and a real SMS webhook
//! on loopback, retried with backoff while they are down, written to the outbox when
//! none is configured, never sent twice by two dispatchers on one database.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use latchkey_proto::Secret;
use latchkey_server::delivery::{self, Channel, MessageKind, Outgoing};
use serde_json::json;

use latchkey_testkit::queue::MessageRow;
use latchkey_testkit::sms::SmsGateway;
use latchkey_testkit::smtp::SmtpSink;
use latchkey_testkit::{on_both, Backend, TestServer};

on_both!(
    email_arrives_in_both_languages,
    sms_arrives_at_the_webhook,
    smtp_down_then_back_arrives_once,
    enqueue_never_waits_for_a_hanging_server,
    webhook_errors_are_retried,
    outbox_writes_a_file_but_logs_no_code,
    codes_are_given_up_when_they_expire,
    two_dispatchers_never_send_twice,
);

/// A reset code (with its reset link) to `to`.
fn reset_code(to: &str, locale: &str, code: &str) -> Outgoing {
    Outgoing {
        channel: Channel::Email,
        recipient: to.into(),
        locale: locale.into(),
        kind: MessageKind::ResetCode {
            code: Secret::from(code),
            link: Some(Secret::from("latchkey://reset?token=lkr_AbC-123")),
            minutes: 10,
        },
    }
}

fn device_sms(to: &str, code: &str) -> Outgoing {
    Outgoing {
        channel: Channel::Sms,
        recipient: to.into(),
        locale: "zh-CN".into(),
        kind: MessageKind::DeviceCode {
            code: Secret::from(code),
            minutes: 10,
        },
    }
}

/// Waits until the dispatcher has recorded the message as `status` (at most 10 s).
async fn wait_status(srv: &TestServer, id: &str, status: &str) -> MessageRow {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let row = srv.message(id).await;
        if row.status == status {
            return row;
        }
        assert!(Instant::now() < deadline, "message still {row:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The background dispatcher is woken by the enqueue itself, and the e-mail arrives by
/// SMTP as text + HTML in the user's language, with the code blanked from the queue.
async fn email_arrives_in_both_languages(b: Backend) {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let Some(srv) = TestServer::bare_with(b, |c| c.delivery.smtp_url = Some(url)).await else {
        return;
    };
    let zh = delivery::enqueue(
        &srv.state,
        &reset_code("zhang.wei@corp.cn", "zh-CN", "493817"),
    )
    .await
    .unwrap();
    let mails = sink.wait_for(1).await;
    let en_notice = Outgoing {
        channel: Channel::Email,
        recipient: "li.na@corp.cn".into(),
        locale: "en-US".into(),
        kind: MessageKind::NewDeviceSignIn {
            device_name: "<script>alert(1)</script> & Co".into(),
            ip: Some("10.1.2.3".into()),
            at: 0,
        },
    };
    delivery::enqueue(&srv.state, &en_notice).await.unwrap();
    let mails = [mails, sink.wait_for(2).await[1..].to_vec()].concat();

    let m = &mails[0];
    assert_eq!(m.to, ["zhang.wei@corp.cn"]);
    assert_eq!(m.from, "no-reply@localhost");
    assert_eq!(m.subject(), "[Latchkey] 密码重置验证码");
    let text = m.text();
    assert!(text.contains("验证码 10 分钟内有效"), "{text}");
    assert_eq!(m.code().as_deref(), Some("493817"));
    assert!(
        text.contains("latchkey://reset?token=lkr_AbC-123"),
        "{text}"
    );
    let html = m.html().expect("an HTML part");
    assert!(
        html.contains("493817") && html.contains("href=\"latchkey://reset?token=lkr_AbC-123\"")
    );
    assert!(
        m.header("Message-ID").unwrap().contains(&zh),
        "id in Message-ID"
    );

    let m = &mails[1];
    assert_eq!(m.to, ["li.na@corp.cn"]);
    assert_eq!(m.subject(), "[Latchkey] New sign-in to your account");
    assert!(m.text().contains("Device: <script>alert(1)</script> & Co"));
    assert!(m.text().contains("IP address: 10.1.2.3"));
    let html = m.html().expect("an HTML part");
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co"),
        "{html}"
    );
    assert!(!html.contains("<script>"), "{html}");

    let row = wait_status(&srv, &zh, "sent").await;
    assert_eq!(row.payload, "", "the code is gone from the queue");
    assert_eq!((row.attempts, row.locale.as_str()), (1, "zh-CN"));
    assert!(row.sent_at.is_some() && row.last_error.is_none());
}

async fn sms_arrives_at_the_webhook(b: Backend) {
    let gw = SmsGateway::start().await;
    let url = gw.url.clone();
    let Some(srv) = TestServer::bare_with(b, |c| {
        c.delivery.sms_webhook_url = Some(url);
        c.delivery.dispatcher = false;
    })
    .await
    else {
        return;
    };
    let id = delivery::enqueue(&srv.state, &device_sms("+8613800138000", "271828"))
        .await
        .unwrap();
    assert!(srv.message(&id).await.payload.contains("271828"));
    assert_eq!(srv.dispatcher().run_once().await, 1);
    let got = gw.requests();
    assert_eq!(got.len(), 1);
    let text = got[0].body["text"].as_str().unwrap().to_owned();
    assert_eq!(
        got[0].body,
        json!({"to": "+8613800138000", "text": text, "locale": "zh-CN", "kind": "device_code"})
    );
    assert!(text.contains("新设备登录验证码 271828"), "{text}");
    assert_eq!(got[0].code().as_deref(), Some("271828"));
    assert_eq!(got[0].idempotency_key.as_deref(), Some(id.as_str()));
    let row = srv.message(&id).await;
    assert_eq!((row.status.as_str(), row.payload.as_str()), ("sent", ""));
    assert_eq!(srv.dispatcher().run_once().await, 0, "nothing left");
}

/// The scenario: the mail server is down when the code is requested; the
/// request answers at once, the queue retries with backoff, and when the server is
/// back the e-mail arrives, exactly once.
async fn smtp_down_then_back_arrives_once(b: Backend) {
    let mut sink = SmtpSink::start().await;
    sink.stop();
    let url = sink.url();
    let Some(srv) = TestServer::bare_with(b, |c| {
        c.delivery.smtp_url = Some(url);
        c.delivery.dispatcher = false;
    })
    .await
    else {
        return;
    };
    let d = srv.dispatcher();
    let started = Instant::now();
    let id = delivery::enqueue(&srv.state, &reset_code("wang@corp.cn", "en", "161803"))
        .await
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(1));

    // Attempts 1, 2, 3 fail; each waits twice as long as the one before.
    for (attempt, delay_ms) in [(1, 2_000), (2, 4_000), (3, 8_000)] {
        assert_eq!(d.run_once().await, 1);
        let row = srv.message(&id).await;
        assert_eq!((row.status.as_str(), row.attempts), ("pending", attempt));
        let wait = row.next_attempt_at - srv.state.now();
        assert!(wait > delay_ms - 1_000 && wait <= delay_ms, "{wait}");
        let err = row.last_error.unwrap();
        assert!(err.starts_with("SMTP") && !err.contains("161803"), "{err}");
        assert!(row.payload.contains("161803"), "kept until sent");
        assert_eq!(d.run_once().await, 0, "not due yet");
        srv.advance_ms(delay_ms as u64);
    }
    assert!(sink.messages().is_empty());

    sink.restart().await;
    assert_eq!(d.run_once().await, 1);
    let mails = sink.wait_for(1).await;
    assert_eq!(mails[0].code().as_deref(), Some("161803"));
    let row = srv.message(&id).await;
    assert_eq!((row.status.as_str(), row.attempts), ("sent", 4));
    assert_eq!(row.payload, "");

    srv.advance(3600);
    assert_eq!(d.run_once().await, 0);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(sink.messages().len(), 1, "exactly once");
}

/// An SMTP server that accepts connections and never answers: the request that queues
/// the message answers at once while the background dispatcher waits on it.
async fn enqueue_never_waits_for_a_hanging_server(b: Backend) {
    let hole = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("smtp://{}", hole.local_addr().unwrap());
    let held = Arc::new(Mutex::new(Vec::new()));
    let keep = held.clone();
    let accept = tokio::spawn(async move {
        while let Ok((s, _)) = hole.accept().await {
            keep.lock().unwrap().push(s);
        }
    });
    let Some(srv) = TestServer::bare_with(b, |c| c.delivery.smtp_url = Some(url)).await else {
        accept.abort();
        return;
    };
    for i in 0..3 {
        let started = Instant::now();
        let id = delivery::enqueue(&srv.state, &reset_code("a@corp.cn", "en", "000111"))
            .await
            .unwrap();
        assert!(
            started.elapsed() < Duration::from_millis(500),
            "attempt {i}"
        );
        assert_eq!(srv.message(&id).await.status, "pending");
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while held.lock().unwrap().is_empty() {
        assert!(Instant::now() < deadline, "the dispatcher never connected");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    accept.abort();
}

async fn webhook_errors_are_retried(b: Backend) {
    let gw = SmsGateway::start().await;
    gw.answer(500);
    let url = gw.url.clone();
    let Some(srv) = TestServer::bare_with(b, |c| {
        c.delivery.sms_webhook_url = Some(url);
        c.delivery.dispatcher = false;
    })
    .await
    else {
        return;
    };
    let d = srv.dispatcher();
    let id = delivery::enqueue(&srv.state, &device_sms("+8613900139000", "314159"))
        .await
        .unwrap();
    assert_eq!(d.run_once().await, 1);
    let row = srv.message(&id).await;
    assert_eq!((row.status.as_str(), row.attempts), ("pending", 1));
    let err = row.last_error.unwrap();
    assert!(err.contains("500"), "{err}");
    assert!(
        !err.contains("314159") && !err.contains("gw-secret"),
        "{err}"
    );

    gw.answer(200);
    assert_eq!(d.run_once().await, 0, "waits for the backoff");
    srv.advance(2);
    assert_eq!(d.run_once().await, 1);
    let got = gw.requests();
    assert_eq!(got.len(), 2);
    assert_eq!(gw.delivered().len(), 1);
    assert_eq!(
        got[0].idempotency_key, got[1].idempotency_key,
        "same key on retry"
    );
    let row = srv.message(&id).await;
    assert_eq!((row.status.as_str(), row.attempts), ("sent", 2));
    assert_eq!(row.payload, "");
}

/// Captures what the code under test logs on this thread.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Log {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// With no SMTP server and no webhook, messages become files in the outbox (0600) and
/// a log line names the file; neither the line nor the file name holds the code.
async fn outbox_writes_a_file_but_logs_no_code(b: Backend) {
    let Some(srv) = TestServer::bare_with(b, |c| c.delivery.dispatcher = false).await else {
        return;
    };
    let log = Log::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .finish();
    let guard = tracing::subscriber::set_default(subscriber);
    let mail = delivery::enqueue(&srv.state, &reset_code("zhao@corp.cn", "zh-CN", "577215"))
        .await
        .unwrap();
    let sms = delivery::enqueue(&srv.state, &device_sms("+8613700137000", "141421"))
        .await
        .unwrap();
    assert_eq!(srv.dispatcher().run_once().await, 2);
    drop(guard);
    let log = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();

    let dir = srv.dir.path().join("outbox");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 2, "{files:?}");
    for (id, code, kind) in [
        (&mail, "577215", "recovery_code"),
        (&sms, "141421", "device_code"),
    ] {
        let path = files
            .iter()
            .find(|p| p.to_string_lossy().ends_with(&format!("-{kind}-{id}.txt")))
            .unwrap_or_else(|| panic!("no file for {kind}: {files:?}"));
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        assert!(!name.contains(code), "{name}");
        let content = std::fs::read_to_string(path).unwrap();
        assert!(content.contains(code), "{content}");
        assert!(log.contains(&name), "the log names the file: {log}");
        assert!(!log.contains(code), "the log holds a code: {log}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{name}");
        }
        let row = srv.message(id).await;
        assert_eq!((row.status.as_str(), row.payload.as_str()), ("sent", ""));
    }
    let content = std::fs::read_to_string(
        files
            .iter()
            .find(|p| p.to_string_lossy().contains("recovery_code"))
            .unwrap(),
    )
    .unwrap();
    assert!(content.starts_with("To: zhao@corp.cn\nSubject: [Latchkey] 密码重置验证码\n"));
    assert!(content.contains("latchkey://reset?token="));
}

/// A code is only worth sending while it is valid, and an address that cannot work
/// is not retried; either way the code leaves the queue.
async fn codes_are_given_up_when_they_expire(b: Backend) {
    let mut sink = SmtpSink::start().await;
    sink.stop();
    let url = sink.url();
    let Some(srv) = TestServer::bare_with(b, |c| {
        c.delivery.smtp_url = Some(url);
        c.delivery.dispatcher = false;
    })
    .await
    else {
        return;
    };
    let d = srv.dispatcher();
    let late = delivery::enqueue(&srv.state, &reset_code("x@corp.cn", "en", "123456"))
        .await
        .unwrap();
    let bad = delivery::enqueue(&srv.state, &reset_code("not an address", "en", "654321"))
        .await
        .unwrap();
    assert_eq!(d.run_once().await, 2);
    let row = srv.message(&bad).await;
    assert_eq!((row.status.as_str(), row.attempts), ("failed", 1));
    assert_eq!(row.payload, "");
    assert!(!row.last_error.unwrap().contains("654321"));

    // Retries never go past the code's 10 minutes; the last one is at the expiry.
    let mut tries = 1;
    loop {
        let row = srv.message(&late).await;
        if row.status != "pending" {
            break;
        }
        assert!(tries < 20, "{row:?}");
        srv.advance_ms(u64::try_from(row.next_attempt_at - srv.state.now()).unwrap_or(0));
        assert_eq!(d.run_once().await, 1);
        tries += 1;
    }
    let row = srv.message(&late).await;
    assert_eq!(row.status, "failed");
    assert_eq!(row.payload, "", "no code at rest after giving up");
    assert!(row.attempts >= 8, "{row:?}");
    sink.restart().await;
    srv.advance(3600);
    assert_eq!(d.run_once().await, 0);
    assert!(sink.messages().is_empty());
}

/// Two server processes on one database claim with a lease: each message goes out once.
async fn two_dispatchers_never_send_twice(b: Backend) {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let Some(a) = TestServer::bare_with(b, |c| {
        c.delivery.smtp_url = Some(url);
        c.delivery.dispatcher = false;
    })
    .await
    else {
        return;
    };
    let b2 = a.sibling(|_| {}).await;
    const N: usize = 24;
    for i in 0..N {
        let srv = if i % 2 == 0 { &a } else { &b2 };
        delivery::enqueue(
            &srv.state,
            &reset_code(&format!("u{i}@corp.cn"), "en", "999000"),
        )
        .await
        .unwrap();
    }
    let (da, db) = (a.dispatcher(), b2.dispatcher());
    let (mut tried, mut rounds) = (0, 0);
    loop {
        let (na, nb) = tokio::join!(da.run_once(), db.run_once());
        if na + nb == 0 {
            break;
        }
        tried += na + nb;
        rounds += 1;
        assert!(rounds < 10);
    }
    assert_eq!(tried, N, "every message tried once");
    let mails = sink.wait_for(N).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut to: Vec<String> = sink.messages().iter().map(|m| m.to[0].clone()).collect();
    assert_eq!(mails.len(), N);
    to.sort();
    to.dedup();
    assert_eq!(to.len(), N, "a message was sent twice");
    let sent: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM messages WHERE status = 'sent'")
        .fetch_one(&a.state.db)
        .await
        .unwrap();
    assert_eq!(sent, N as i64);
}
