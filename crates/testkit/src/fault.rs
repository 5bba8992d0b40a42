//! A TCP proxy on loopback that loses answers on purpose: put it between a client and
//! a [`crate::TestServer`], and tell it to drop the answer of the next connections —
//! the request reaches the server and is acted on, then the connection is closed before
//! a byte of the answer goes back (a Wi-Fi drop at the worst moment).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub struct FaultProxy {
    addr: SocketAddr,
    drop_answers: Arc<AtomicUsize>,
    dropped: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl FaultProxy {
    /// A proxy on 127.0.0.1:0 in front of `target`.
    pub async fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy addr");
        let drop_answers = Arc::new(AtomicUsize::new(0));
        let dropped = Arc::new(AtomicUsize::new(0));
        let (to_drop, count) = (drop_answers.clone(), dropped.clone());
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (to_drop, count) = (to_drop.clone(), count.clone());
                tokio::spawn(async move {
                    let _ = relay(client, target, &to_drop, &count).await;
                });
            }
        });
        Self {
            addr,
            drop_answers,
            dropped,
            task,
        }
    }

    /// `http://127.0.0.1:PORT` of the proxy.
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The next `n` answers are lost, on whatever connection they come (also a
    /// kept-alive one).
    pub fn drop_next_answers(&self, n: usize) {
        self.drop_answers.store(n, Ordering::SeqCst);
    }

    /// How many answers were lost so far.
    pub fn dropped(&self) -> usize {
        self.dropped.load(Ordering::SeqCst)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Passes bytes both ways. When the server starts an answer (its first bytes after
/// the client spoke) while answers are to be lost, the connection is closed instead:
/// the server has acted, the client never hears of it.
async fn relay(
    mut client: TcpStream,
    target: SocketAddr,
    to_drop: &AtomicUsize,
    dropped: &AtomicUsize,
) -> std::io::Result<()> {
    let mut server = TcpStream::connect(target).await?;
    let (mut cr, mut cw) = client.split();
    let (mut sr, mut sw) = server.split();
    let mut up = vec![0u8; 64 * 1024];
    let mut down = vec![0u8; 64 * 1024];
    let mut answer_starts = false;
    loop {
        tokio::select! {
            n = cr.read(&mut up) => {
                let n = n?;
                if n == 0 { return Ok(()); }
                sw.write_all(&up[..n]).await?;
                answer_starts = true;
            }
            n = sr.read(&mut down) => {
                let n = n?;
                if n == 0 { return Ok(()); }
                if answer_starts
                    && to_drop
                        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |d| d.checked_sub(1))
                        .is_ok()
                {
                    dropped.fetch_add(1, Ordering::SeqCst);
                    // Closing without the answer: the client sees the connection end.
                    return Ok(());
                }
                answer_starts = false;
                cw.write_all(&down[..n]).await?;
            }
        }
    }
}
