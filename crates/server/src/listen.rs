//! The accept loop: HTTP/1.1 connections served with hyper, at most
//! `limits.max_connections` at once, each closed if it has not sent a whole request
//! head within `limits.header_timeout_ms` (a slowloris client holding hundreds of
//! half-sent requests open ties up neither memory nor the server's answers).
//!
//! axum's own `serve` sets no header timeout and no connection cap, hence this loop.
//! It gives each request the peer address as `ConnectInfo`, as axum's does, and on
//! shutdown stops accepting, lets requests in flight finish, and then returns.
//!
//! A request is in flight for its client as soon as its connection is made, so on
//! shutdown the connections the kernel has already completed (the listen backlog) are
//! taken and served before the port closes — closing it would reset them — and every
//! connection gets [`SETTLE`] to send its request before idle ones are closed.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;

use crate::config::LimitsConfig;

/// After the port closes, how long a connection that has not sent its first request
/// yet (it was just accepted) is given before hyper counts it idle and closes it.
/// Clients send the request at once; this covers a round trip or two.
const SETTLE: Duration = Duration::from_millis(250);

/// Serves `app` on `listener` until `shutdown` resolves; then requests in flight have
/// `drain` to finish.
pub async fn serve(
    app: Router,
    listener: TcpListener,
    limits: &LimitsConfig,
    drain: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(Duration::from_millis(limits.header_timeout_ms.max(1)));
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        // A free place first, then the next connection: beyond the cap, connections
        // wait in the kernel's backlog rather than in our memory.
        let permit = tokio::select! {
            permit = Arc::clone(&permits).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait, do not spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        spawn(&app, &http, &graceful, stream, peer, Some(permit));
    }
    // The connections already made, without waiting for more (and past the cap: they
    // are few, and closing the port would reset them).
    let listener = listener.into_std()?;
    loop {
        match listener.accept() {
            Ok((stream, peer)) => {
                let stream = stream
                    .set_nonblocking(true)
                    .and_then(|()| tokio::net::TcpStream::from_std(stream));
                if let Ok(stream) = stream {
                    spawn(&app, &http, &graceful, stream, peer, None);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => {
                tracing::warn!(error = %e, "accept failed while closing the port");
                break;
            }
        }
    }
    drop(listener);
    if graceful.count() > 0 {
        tokio::time::sleep(SETTLE).await;
    }
    if tokio::time::timeout(drain, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still running {drain:?} after shutdown; closing them");
    }
    Ok(())
}

/// Serves one connection on a task of its own, watched by `graceful`.
fn spawn(
    app: &Router,
    http: &hyper::server::conn::http1::Builder,
    graceful: &GracefulShutdown,
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    permit: Option<tokio::sync::OwnedSemaphorePermit>,
) {
    let _ = stream.set_nodelay(true);
    let service = app.clone().map_request(
        move |mut req: axum::extract::Request<hyper::body::Incoming>| {
            req.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
            req
        },
    );
    let conn = http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
    let conn = graceful.watch(conn);
    tokio::spawn(async move {
        // A client that goes away or times out is no error of ours.
        let _ = conn.await;
        drop(permit);
    });
}
