//! The embedded default transport: each message becomes a text file in a folder
//! (`LATCHKEY_OUTBOX_DIR`, default `outbox/` in the platform data directory), and one
//! log line names the file. A developer running the demo reads the code there without
//! a mail server. The file is readable by its owner only (0600, in a 0700 folder); the
//! log line carries the path, kind and id, never the code.

use std::path::{Path, PathBuf};

use time::OffsetDateTime;

use super::dispatcher::Envelope;
use super::templates::Rendered;
use super::{Channel, DeliveryError};

pub struct Outbox {
    dir: PathBuf,
}

impl Outbox {
    /// `dir`, or `outbox/` under the platform data directory (or the working directory
    /// when the platform has none).
    pub fn new(dir: Option<&Path>) -> Self {
        let dir = dir.map(Path::to_owned).unwrap_or_else(|| {
            directories::ProjectDirs::from("cn", "Latchkey", "latchkey-server")
                .map(|d| d.data_dir().join("outbox"))
                .unwrap_or_else(|| PathBuf::from("outbox"))
        });
        Self { dir }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes the message; returns the file's path.
    pub(crate) async fn write(
        &self,
        m: &Envelope,
        now: i64,
        msg: &Rendered,
    ) -> Result<PathBuf, DeliveryError> {
        let (channel, to, id, kind, locale) = (m.channel, &m.recipient, &m.id, &m.kind, &m.locale);
        let io = |e: std::io::Error| DeliveryError::Transient(format!("outbox: {e}"));
        let mut dir = tokio::fs::DirBuilder::new();
        dir.recursive(true);
        #[cfg(unix)]
        dir.mode(0o700);
        dir.create(&self.dir).await.map_err(io)?;
        let path = self.dir.join(format!("{}-{kind}-{id}.txt", stamp(now)));
        let body = match channel {
            Channel::Email => &msg.text,
            Channel::Sms => &msg.sms,
        };
        let content = format!(
            "To: {to}\nSubject: {subject}\nChannel: {channel}\nLocale: {locale}\nKind: {kind}\n\
             Message-Id: {id}\n\n{body}\n",
            subject = msg.subject,
            channel = channel.as_str(),
        );
        let mut options = tokio::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        options.mode(0o600);
        let mut file = options.open(&path).await.map_err(io)?;
        tokio::io::AsyncWriteExt::write_all(&mut file, content.as_bytes())
            .await
            .map_err(io)?;
        tokio::io::AsyncWriteExt::flush(&mut file)
            .await
            .map_err(io)?;
        tracing::info!(
            path = %path.display(),
            kind = %kind,
            id = %id,
            channel = channel.as_str(),
            "message written to the outbox (no SMTP server or SMS webhook configured)"
        );
        Ok(path)
    }
}

/// `20260501T080000123Z`: sorts by time, safe in every file system.
fn stamp(ms: i64) -> String {
    let t = OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_sort_by_time() {
        assert_eq!(stamp(0), "19700101T000000000Z");
        assert_eq!(stamp(1_000_123), "19700101T001640123Z");
    }
}
