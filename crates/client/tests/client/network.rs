use std::time::Duration;

use latchkey_client::api::{Api, Timeouts};
use latchkey_client::net::ServerUrl;
use latchkey_client::{ClientError, Code, NextStep};
use latchkey_testkit::{Backend, TestServer};

fn api(url: &str, timeouts: Timeouts) -> Api {
    Api::new(ServerUrl::parse(url).unwrap(), "1.0.0", timeouts).unwrap()
}

fn short() -> Timeouts {
    Timeouts {
        connect: Duration::from_secs(2),
        request: Duration::from_secs(1),
    }
}

#[tokio::test]
async fn refused_port() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let e = api(&format!("http://127.0.0.1:{port}"), short())
        .meta()
        .await
        .unwrap_err();
    assert!(matches!(e, ClientError::ConnectionRefused), "{e:?}");
    assert_eq!(e.next_step(), NextStep::CheckServerAddress);
    assert!(e.is_unreachable());
}

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    // Accepts and keeps the connections open, never writes a byte.
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        loop {
            if let Ok((s, _)) = listener.accept().await {
                held.push(s);
            }
        }
    });
    let started = std::time::Instant::now();
    let e = api(&format!("http://{addr}"), short())
        .meta()
        .await
        .unwrap_err();
    assert!(matches!(e, ClientError::Timeout), "{e:?}");
    assert_eq!(e.to_ui().code, Code::Timeout);
    assert_eq!(e.next_step(), NextStep::CheckNetwork);
    assert!(started.elapsed() < Duration::from_secs(5));
    task.abort();
}

#[tokio::test]
async fn an_invalid_name_is_a_dns_failure() {
    // Generous timeouts: a slow resolver on a busy machine must not turn the DNS
    // failure this test is about into a timeout.
    let patient = Timeouts {
        connect: Duration::from_secs(15),
        request: Duration::from_secs(15),
    };
    let e = api("https://latchkey-does-not-exist.invalid", patient)
        .meta()
        .await
        .unwrap_err();
    assert!(matches!(e, ClientError::Dns), "{e:?}");
    assert_eq!(e.to_ui().code, Code::DnsFailed);
}

#[tokio::test]
async fn https_to_a_plain_http_port_is_a_tls_error() {
    let srv = TestServer::start(Backend::Sqlite, |_| {}).await.unwrap();
    let e = api(&format!("https://{}", srv.addr), short())
        .meta()
        .await
        .unwrap_err();
    assert!(matches!(e, ClientError::Tls { .. }), "{e:?}");
    assert_eq!(e.next_step(), NextStep::ContactIt);
    assert!(
        !e.is_unreachable(),
        "a TLS failure must not open an offline session"
    );
    // And plain http to it works.
    let meta = api(&srv.base(), short()).meta().await.unwrap();
    assert_eq!(meta.api_version, "v1");
}

#[tokio::test]
async fn a_foreign_http_server_is_an_unexpected_answer() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        loop {
            let Ok((mut s, _)) = listener.accept().await else {
                continue;
            };
            let mut buf = [0u8; 2048];
            let _ = s.read(&mut buf).await;
            let body = "<html>captive portal</html>";
            let _ = s
                .write_all(
                    format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    )
                    .as_bytes(),
                )
                .await;
        }
    });
    let e = api(&format!("http://{addr}"), short())
        .meta()
        .await
        .unwrap_err();
    assert!(
        matches!(e, ClientError::UnexpectedResponse { status: 200 }),
        "{e:?}"
    );
    task.abort();
}
