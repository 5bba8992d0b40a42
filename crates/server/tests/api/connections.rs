//! The connection cap (issue 13, `limits.max_connections`): beyond it, a connection
//! waits in the kernel's backlog and is served once a place is free. (Half-sent
//! requests and the header timeout are in `review.rs`.)

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use latchkey_testkit::{on_both, Backend, TestServer};

on_both!(connections_beyond_the_cap_wait_for_a_free_place);

const META: &[u8] = b"GET /v1/meta HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

/// The first bytes of the answer on `stream`, or `None` if none came within `wait`.
async fn answer(stream: &mut TcpStream, wait: Duration) -> Option<String> {
    let mut buf = [0u8; 64];
    match tokio::time::timeout(wait, stream.read(&mut buf)).await {
        Ok(Ok(n)) if n > 0 => Some(String::from_utf8_lossy(&buf[..n]).into_owned()),
        Ok(_) => Some(String::new()),
        Err(_) => None,
    }
}

async fn connections_beyond_the_cap_wait_for_a_free_place(b: Backend) {
    let Some(srv) = TestServer::bare_with(b, |c| {
        c.limits.max_connections = 3;
        c.limits.header_timeout_ms = 30_000;
    })
    .await
    else {
        return;
    };
    // Three half-sent requests take the three places.
    let mut idle = Vec::new();
    for _ in 0..3 {
        let mut stream = TcpStream::connect(&srv.addr).await.unwrap();
        stream
            .write_all(b"GET /v1/meta HTTP/1.1\r\nHo")
            .await
            .unwrap();
        idle.push(stream);
    }
    // A fourth connection is taken by the kernel, but not served: the server accepts in
    // the backlog's order, and stops accepting while the three hold their places.
    let mut fourth = TcpStream::connect(&srv.addr).await.unwrap();
    fourth.write_all(META).await.unwrap();
    assert_eq!(answer(&mut fourth, Duration::from_millis(700)).await, None);
    // One place freed (the first connection gives up): the fourth is served.
    drop(idle.remove(0));
    let head = answer(&mut fourth, Duration::from_secs(10)).await;
    assert!(
        head.as_deref()
            .is_some_and(|h| h.starts_with("HTTP/1.1 200")),
        "{head:?}"
    );
}
