//! A TCP proxy on loopback that injects the faults of a real office network between a
//! client and a [`crate::TestServer`], on whatever connection the next request comes
//! (also a kept-alive one):
//! - [`FaultProxy::reset_next_requests`]: the connection is reset when a request
//!   starts, before a byte of it reaches the server (a Wi-Fi drop as the request leaves);
//! - [`FaultProxy::drop_next_answers`]: the request reaches the server and is acted on,
//!   then the connection is closed before a byte of the answer goes back;
//! - [`FaultProxy::stall_next_answers`]: the answer is held for a while, then delivered
//!   (a VPN reconnecting);
//! - [`FaultProxy::black_hole`]: connections are accepted and requests read, but
//!   nothing reaches the server and nothing comes back (a server that accepts and never
//!   answers, or a half-dead middlebox).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the proxy is told to do, and what it did.
#[derive(Default)]
struct Faults {
    reset_requests: AtomicUsize,
    drop_answers: AtomicUsize,
    stall_answers: AtomicUsize,
    stall_ms: AtomicU64,
    black_hole: AtomicBool,
    reset: AtomicUsize,
    dropped: AtomicUsize,
    stalled: AtomicUsize,
    swallowed: AtomicUsize,
}

/// Takes one from a counter of faults still to inject.
fn take(counter: &AtomicUsize) -> bool {
    counter
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |d| d.checked_sub(1))
        .is_ok()
}

pub struct FaultProxy {
    addr: SocketAddr,
    faults: Arc<Faults>,
    task: tokio::task::JoinHandle<()>,
}

impl FaultProxy {
    /// A proxy on 127.0.0.1:0 in front of `target`.
    pub async fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy addr");
        let faults = Arc::new(Faults::default());
        let shared = faults.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let faults = shared.clone();
                tokio::spawn(async move {
                    let _ = relay(client, target, &faults).await;
                });
            }
        });
        Self { addr, faults, task }
    }

    /// `http://127.0.0.1:PORT` of the proxy.
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The next `n` requests meet a connection reset before reaching the server.
    pub fn reset_next_requests(&self, n: usize) {
        self.faults.reset_requests.store(n, Ordering::SeqCst);
    }

    /// The next `n` answers are lost after the server acted.
    pub fn drop_next_answers(&self, n: usize) {
        self.faults.drop_answers.store(n, Ordering::SeqCst);
    }

    /// The next `n` answers are held for `stall`, then delivered.
    pub fn stall_next_answers(&self, n: usize, stall: Duration) {
        let ms = u64::try_from(stall.as_millis()).unwrap_or(u64::MAX);
        self.faults.stall_ms.store(ms, Ordering::SeqCst);
        self.faults.stall_answers.store(n, Ordering::SeqCst);
    }

    /// While on, requests are swallowed: read, never passed on, never answered.
    pub fn black_hole(&self, on: bool) {
        self.faults.black_hole.store(on, Ordering::SeqCst);
    }

    /// How many connections were reset before their request reached the server.
    pub fn reset(&self) -> usize {
        self.faults.reset.load(Ordering::SeqCst)
    }

    /// How many answers were lost so far.
    pub fn dropped(&self) -> usize {
        self.faults.dropped.load(Ordering::SeqCst)
    }

    /// How many answers were held.
    pub fn stalled(&self) -> usize {
        self.faults.stalled.load(Ordering::SeqCst)
    }

    /// How many requests the black hole swallowed.
    pub fn swallowed(&self) -> usize {
        self.faults.swallowed.load(Ordering::SeqCst)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Passes bytes both ways, injecting the faults asked for. A request starts with the
/// client's first bytes after an answer (or on a new connection); an answer with the
/// server's first bytes after the client spoke.
async fn relay(mut client: TcpStream, target: SocketAddr, faults: &Faults) -> std::io::Result<()> {
    let mut server = TcpStream::connect(target).await?;
    let (mut cr, mut cw) = client.split();
    let (mut sr, mut sw) = server.split();
    let mut up = vec![0u8; 64 * 1024];
    let mut down = vec![0u8; 64 * 1024];
    let mut answer_starts = false;
    let mut swallowing = false;
    let reset = loop {
        tokio::select! {
            n = cr.read(&mut up) => {
                let n = n?;
                if n == 0 { break false; }
                let request_starts = !answer_starts;
                if request_starts && faults.black_hole.load(Ordering::SeqCst) {
                    faults.swallowed.fetch_add(1, Ordering::SeqCst);
                    swallowing = true;
                }
                if swallowing {
                    // Read and forgotten; this connection never answers again.
                    answer_starts = true;
                    continue;
                }
                if request_starts && take(&faults.reset_requests) {
                    faults.reset.fetch_add(1, Ordering::SeqCst);
                    break true;
                }
                sw.write_all(&up[..n]).await?;
                answer_starts = true;
            }
            n = sr.read(&mut down), if !swallowing => {
                let n = n?;
                if n == 0 { break false; }
                if answer_starts && take(&faults.drop_answers) {
                    faults.dropped.fetch_add(1, Ordering::SeqCst);
                    // Closing without the answer: the client sees the connection end.
                    break false;
                }
                if answer_starts && take(&faults.stall_answers) {
                    faults.stalled.fetch_add(1, Ordering::SeqCst);
                    let ms = faults.stall_ms.load(Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                }
                answer_starts = false;
                cw.write_all(&down[..n]).await?;
            }
        }
    };
    if reset {
        // SO_LINGER 0: closing sends a reset, not a graceful end.
        client.set_zero_linger()?;
    }
    Ok(())
}
