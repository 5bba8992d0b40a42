//! A small but real SMTP server for tests: it speaks EHLO/HELO, MAIL, RCPT, DATA, RSET,
//! NOOP and QUIT over TCP on 127.0.0.1, keeps every message it accepts, and can be
//! stopped and started again on the same port (to play a mail server that is down).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

/// One accepted message.
#[derive(Clone, Debug)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    /// The DATA section, dot-unstuffed, with CRLF line ends.
    pub data: String,
}

impl Received {
    fn parsed(&self) -> mail_parser::Message<'_> {
        mail_parser::MessageParser::default()
            .parse(self.data.as_bytes())
            .expect("a parsable e-mail")
    }

    /// The decoded subject.
    pub fn subject(&self) -> String {
        self.parsed().subject().unwrap_or_default().to_owned()
    }

    /// The decoded text/plain part.
    pub fn text(&self) -> String {
        self.parsed()
            .body_text(0)
            .expect("a text part")
            .into_owned()
    }

    /// The decoded text/html part, if the message has one.
    pub fn html(&self) -> Option<String> {
        // mail-parser turns text into HTML when there is no HTML part: look first.
        let has_html = self
            .data
            .to_ascii_lowercase()
            .contains("content-type: text/html");
        has_html.then(|| self.parsed().body_html(0).expect("html part").into_owned())
    }

    /// A header's raw value, such as `From` or `Message-ID`.
    pub fn header(&self, name: &str) -> Option<String> {
        self.parsed().header_raw(name).map(|v| v.trim().to_owned())
    }

    /// The first run of exactly six digits in the text part (a one-time code).
    pub fn code(&self) -> Option<String> {
        six_digits(&self.text())
    }
}

/// The first run of exactly six ASCII digits in `s`.
pub fn six_digits(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_digit() {
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            if i - start == 6 {
                return Some(s[start..i].to_owned());
            }
        } else {
            i += 1;
        }
    }
    None
}

#[derive(Default)]
struct Inbox {
    messages: Mutex<Vec<Received>>,
    arrived: Notify,
}

pub struct SmtpSink {
    pub addr: SocketAddr,
    inbox: Arc<Inbox>,
    task: Option<JoinHandle<()>>,
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.stop();
    }
}

impl SmtpSink {
    /// Starts on a free port of 127.0.0.1.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind SMTP");
        let addr = listener.local_addr().expect("addr");
        let inbox = Arc::new(Inbox::default());
        let task = Some(tokio::spawn(accept(listener, inbox.clone())));
        Self { addr, inbox, task }
    }

    /// `smtp://127.0.0.1:PORT`, a plain relay.
    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    /// Closes the port and every open connection: the mail server is down.
    pub fn stop(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }

    /// Listens again on the same port.
    pub async fn restart(&mut self) {
        self.stop();
        let mut tries = 0;
        let listener = loop {
            match TcpListener::bind(self.addr).await {
                Ok(l) => break l,
                Err(e) if tries < 50 => {
                    tries += 1;
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("cannot listen on {} again: {e}", self.addr),
            }
        };
        self.task = Some(tokio::spawn(accept(listener, self.inbox.clone())));
    }

    pub fn messages(&self) -> Vec<Received> {
        self.inbox.messages.lock().expect("inbox").clone()
    }

    /// The code of the first mail after the first `skip` that carries one, waiting up
    /// to 10 s (notices without a code may arrive before it, in any order).
    pub async fn code_after(&self, skip: usize) -> String {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let notified = self.inbox.arrived.notified();
            if let Some(code) = self.messages().iter().skip(skip).find_map(Received::code) {
                return code;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!("no mail with a code after the first {skip}");
            }
        }
    }

    /// Waits until at least `n` messages have arrived (at most 10 s).
    pub async fn wait_for(&self, n: usize) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let notified = self.inbox.arrived.notified();
            let got = self.messages();
            if got.len() >= n {
                return got;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!("expected {n} e-mails, got {}", self.messages().len());
            }
        }
    }
}

async fn accept(listener: TcpListener, inbox: Arc<Inbox>) {
    // The sessions live in this set, so aborting the accept task drops them all.
    let mut sessions = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                sessions.spawn(session(stream, inbox.clone()));
            }
            Some(_) = sessions.join_next(), if !sessions.is_empty() => {}
        }
    }
}

async fn session(stream: TcpStream, inbox: Arc<Inbox>) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    write.write_all(b"220 sink.test ESMTP ready\r\n").await?;
    let (mut from, mut to) = (String::new(), Vec::new());
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let cmd = line.trim_end();
        let verb = cmd
            .split([' ', ':'])
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        let reply: &[u8] = match verb.as_str() {
            "EHLO" => b"250-sink.test\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 OK\r\n",
            "HELO" | "NOOP" => b"250 OK\r\n",
            "RSET" => {
                from.clear();
                to.clear();
                b"250 OK\r\n"
            }
            "MAIL" => {
                from = address(cmd);
                to.clear();
                b"250 OK\r\n"
            }
            "RCPT" => {
                to.push(address(cmd));
                b"250 OK\r\n"
            }
            "DATA" => {
                write.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await?;
                let mut data = String::new();
                loop {
                    line.clear();
                    if lines.read_line(&mut line).await? == 0 {
                        return Ok(());
                    }
                    if line == ".\r\n" || line == ".\n" {
                        break;
                    }
                    data.push_str(line.strip_prefix('.').unwrap_or(&line));
                }
                let msg = Received {
                    from: std::mem::take(&mut from),
                    to: std::mem::take(&mut to),
                    data,
                };
                inbox.messages.lock().expect("inbox").push(msg);
                inbox.arrived.notify_waiters();
                b"250 OK queued\r\n"
            }
            "QUIT" => {
                write.write_all(b"221 bye\r\n").await?;
                return Ok(());
            }
            _ => b"502 command not implemented\r\n",
        };
        write.write_all(reply).await?;
    }
}

/// The address in `MAIL FROM:<a> ...` or `RCPT TO:<a>`.
fn address(cmd: &str) -> String {
    match (cmd.find('<'), cmd.find('>')) {
        (Some(a), Some(b)) if a < b => cmd[a + 1..b].to_owned(),
        _ => String::new(),
    }
}
