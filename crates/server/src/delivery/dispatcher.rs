//! The dispatcher: claims due messages one at a time with a lease, renders and sends
//! them, and marks them sent or reschedules them with backoff.
//!
//! The claim is a compare-and-set on `claimed_until` (`UPDATE … WHERE claimed_until <=
//! now`), which PostgreSQL and SQLite both apply atomically, so of several processes
//! racing for a row exactly one wins. Each claim covers one send only, and the lease
//! ([`LEASE_MS`]) is longer than the longest send (SMTP 30 s per step, webhook 10 s),
//! so a slow send never lets another process take the same message.

use std::time::Duration;

use super::outbox::Outbox;
use super::sms::Webhook;
use super::smtp::Smtp;
use super::templates::{self, Rendered};
use super::{mask, Channel, MessageKind};
use crate::ops::metrics as ops;
use crate::state::AppState;
use crate::tokens::new_id;

/// How long a claimed message is reserved for the process that claimed it.
pub const LEASE_MS: i64 = 2 * 60 * 1000;
/// The longest a message is retried before it is marked `failed`.
pub const MAX_AGE_MS: i64 = 24 * 3600 * 1000;
/// First retry delay; each further failure doubles it, up to [`MAX_BACKOFF_MS`].
pub const FIRST_BACKOFF_MS: i64 = 2_000;
pub const MAX_BACKOFF_MS: i64 = 5 * 60 * 1000;
/// How often an idle dispatcher looks for work that another process queued.
const POLL: Duration = Duration::from_secs(5);
/// Messages handled by one `run_once` at most, so that it always returns.
const BATCH: usize = 100;

#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// The delivery configuration is unusable (bad URL or sender); found at start.
    #[error("delivery configuration: {0}")]
    Config(String),
    /// Worth retrying: connection refused, timeout, 4xx/5xx from a webhook, 4xx SMTP.
    #[error("{0}")]
    Transient(String),
    /// Retrying cannot help: an invalid address, a permanent SMTP rejection.
    #[error("{0}")]
    Rejected(String),
}

/// The delay before retry number `attempts` (1 after the first failure): 2 s, 4 s,
/// 8 s, … 5 min.
pub fn backoff_ms(attempts: i64) -> i64 {
    let exp = u32::try_from(attempts.saturating_sub(1).clamp(0, 20)).unwrap_or(20);
    FIRST_BACKOFF_MS
        .saturating_mul(1_i64 << exp)
        .min(MAX_BACKOFF_MS)
}

/// The addressing of a claimed message.
#[derive(sqlx::FromRow)]
pub(crate) struct Envelope {
    pub id: String,
    #[sqlx(try_from = "String")]
    pub channel: Channel,
    pub recipient: String,
    pub locale: String,
    pub kind: String,
}

impl TryFrom<String> for Channel {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Channel::parse(&s).ok_or(s)
    }
}

#[derive(sqlx::FromRow)]
struct Claimed {
    #[sqlx(flatten)]
    env: Envelope,
    payload: String,
    attempts: i64,
    give_up_at: i64,
}

/// Sends queued messages; one per server process (see [`crate::serve`]).
pub struct Dispatcher {
    state: AppState,
    smtp: Option<Smtp>,
    sms: Option<Webhook>,
    outbox: Option<Outbox>,
}

impl Dispatcher {
    /// Builds the transports the configuration names (without connecting).
    pub fn new(state: &AppState) -> Result<Self, DeliveryError> {
        let d = &state.config().delivery;
        let smtp = match &d.smtp_url {
            Some(url) => Some(Smtp::new(url, d.mail_from.as_deref(), d.allow_insecure)?),
            None => None,
        };
        let sms = match &d.sms_webhook_url {
            Some(url) => Some(Webhook::new(url, d.allow_insecure)?),
            None => None,
        };
        let outbox = if smtp.is_none() || sms.is_none() {
            Some(Outbox::new(d.outbox_dir.as_deref()))
        } else {
            None
        };
        Ok(Self {
            state: state.clone(),
            smtp,
            sms,
            outbox,
        })
    }

    /// Sends due messages until the queue has none; wakes on [`super::wake`] or every
    /// few seconds. Runs until its task is aborted.
    pub async fn run(self) {
        let outbox = self.outbox.as_ref().map(|o| o.dir().display().to_string());
        tracing::info!(
            email = if self.smtp.is_some() {
                "smtp"
            } else {
                "outbox"
            },
            sms = if self.sms.is_some() {
                "webhook"
            } else {
                "outbox"
            },
            outbox = outbox.as_deref().unwrap_or("-"),
            "message dispatcher started"
        );
        loop {
            self.run_once().await;
            let wait = match self.next_due().await {
                Ok(Some(at)) => {
                    let ms = u64::try_from(at.saturating_sub(self.state.now())).unwrap_or(0);
                    Duration::from_millis(ms).clamp(Duration::from_millis(50), POLL)
                }
                Ok(None) => POLL,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read the message queue");
                    POLL
                }
            };
            tokio::select! {
                () = self.state.outbound.notified() => {}
                () = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// Claims and tries every message that is due now (up to a batch); returns how
    /// many were tried, sent or not.
    pub async fn run_once(&self) -> usize {
        let mut tried = 0;
        while tried < BATCH {
            let lease = new_id();
            match self.claim(&lease).await {
                Ok(Some(m)) => {
                    self.process(m, &lease).await;
                    tried += 1;
                }
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot claim a message");
                    break;
                }
            }
        }
        tried
    }

    /// When the next pending message becomes due (or its lease ends).
    async fn next_due(&self) -> Result<Option<i64>, sqlx::Error> {
        sqlx::query_scalar(
            "SELECT MIN(CASE WHEN claimed_until > next_attempt_at THEN claimed_until \
             ELSE next_attempt_at END) FROM messages WHERE status = 'pending'",
        )
        .fetch_one(&self.state.db)
        .await
    }

    async fn claim(&self, lease: &str) -> Result<Option<Claimed>, sqlx::Error> {
        let db = &self.state.db;
        // A few rounds: losing a race to another process only means trying the next row.
        for _ in 0..8 {
            let now = self.state.now();
            let id: Option<String> = sqlx::query_scalar(
                "SELECT id FROM messages WHERE status = 'pending' AND next_attempt_at <= $1 \
                 AND claimed_until <= $1 ORDER BY next_attempt_at, id LIMIT 1",
            )
            .bind(now)
            .fetch_optional(db)
            .await?;
            let Some(id) = id else { return Ok(None) };
            let won = sqlx::query(
                "UPDATE messages SET claimed_until = $1, claim_token = $2 WHERE id = $3 \
                 AND status = 'pending' AND next_attempt_at <= $4 AND claimed_until <= $4",
            )
            .bind(now.saturating_add(LEASE_MS))
            .bind(lease)
            .bind(&id)
            .bind(now)
            .execute(db)
            .await?
            .rows_affected()
                == 1;
            if won {
                return sqlx::query_as(
                    "SELECT id, channel, recipient, locale, kind, payload, attempts, give_up_at \
                     FROM messages WHERE id = $1 AND claim_token = $2",
                )
                .bind(&id)
                .bind(lease)
                .fetch_optional(db)
                .await;
            }
        }
        Ok(None)
    }

    #[tracing::instrument(skip_all, fields(id = %m.env.id, kind = %m.env.kind))]
    async fn process(&self, m: Claimed, lease: &str) {
        let result = match serde_json::from_str::<MessageKind>(&m.payload) {
            Ok(kind) => {
                let rendered =
                    templates::render(&kind, &m.env.locale, &self.state.config().server_name);
                self.send(&m.env, &rendered).await
            }
            Err(_) => Err(DeliveryError::Rejected("unreadable message payload".into())),
        };
        let now = self.state.now();
        let attempts = m.attempts.saturating_add(1);
        let outcome = match result {
            Ok(()) => {
                metrics::counter!(ops::MESSAGES_SENT, "channel" => m.env.channel.as_str())
                    .increment(1);
                tracing::info!(
                    channel = m.env.channel.as_str(),
                    to = %mask(&m.env.recipient),
                    attempts,
                    "message sent"
                );
                self.finish(&m.env.id, lease, "sent", attempts, now, None)
                    .await
            }
            Err(e) => {
                let give_up = matches!(e, DeliveryError::Rejected(_)) || now >= m.give_up_at;
                if give_up {
                    metrics::counter!(ops::MESSAGES_GIVEN_UP, "channel" => m.env.channel.as_str())
                        .increment(1);
                    tracing::warn!(error = %e, attempts, "message given up");
                    self.finish(&m.env.id, lease, "failed", attempts, now, Some(&e))
                        .await
                } else {
                    metrics::counter!(ops::MESSAGES_RETRIED, "channel" => m.env.channel.as_str())
                        .increment(1);
                    let next = now.saturating_add(backoff_ms(attempts)).min(m.give_up_at);
                    tracing::warn!(
                        error = %e,
                        attempts,
                        retry_in_ms = next - now,
                        "message not sent; will retry"
                    );
                    self.reschedule(&m.env.id, lease, attempts, next, &e).await
                }
            }
        };
        match outcome {
            Ok(true) => {}
            Ok(false) => tracing::warn!("lost the lease of a message while sending it"),
            Err(e) => tracing::warn!(error = %e, "cannot record the outcome of a message"),
        }
    }

    async fn send(&self, env: &Envelope, msg: &Rendered) -> Result<(), DeliveryError> {
        let now = self.state.now();
        match (env.channel, &self.smtp, &self.sms, &self.outbox) {
            (Channel::Email, Some(smtp), _, _) => smtp.send(&env.recipient, &env.id, msg).await,
            (Channel::Sms, _, Some(hook), _) => {
                hook.send(&env.recipient, &env.id, &msg.sms, &env.locale, &env.kind)
                    .await
            }
            (_, _, _, Some(outbox)) => outbox.write(env, now, msg).await.map(|_| ()),
            _ => Err(DeliveryError::Transient(
                "no transport for this channel".into(),
            )),
        }
    }

    /// Marks the message sent or failed and blanks its payload (the code).
    async fn finish(
        &self,
        id: &str,
        lease: &str,
        status: &str,
        attempts: i64,
        now: i64,
        error: Option<&DeliveryError>,
    ) -> Result<bool, sqlx::Error> {
        let sent_at = (status == "sent").then_some(now);
        let done = sqlx::query(
            "UPDATE messages SET status = $1, payload = '', attempts = $2, sent_at = $3, \
             last_error = $4, claimed_until = 0, claim_token = NULL \
             WHERE id = $5 AND claim_token = $6",
        )
        .bind(status)
        .bind(attempts)
        .bind(sent_at)
        .bind(error.map(error_text))
        .bind(id)
        .bind(lease)
        .execute(&self.state.db)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn reschedule(
        &self,
        id: &str,
        lease: &str,
        attempts: i64,
        next: i64,
        error: &DeliveryError,
    ) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE messages SET attempts = $1, next_attempt_at = $2, last_error = $3, \
             claimed_until = 0, claim_token = NULL WHERE id = $4 AND claim_token = $5",
        )
        .bind(attempts)
        .bind(next)
        .bind(error_text(error))
        .bind(id)
        .bind(lease)
        .execute(&self.state.db)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}

/// The stored form of an error: bounded, and built only from transport replies.
fn error_text(e: &DeliveryError) -> String {
    e.to_string().chars().take(500).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_two_seconds_to_five_minutes() {
        let delays: Vec<i64> = (1..=10).map(backoff_ms).collect();
        assert_eq!(
            delays,
            [2_000, 4_000, 8_000, 16_000, 32_000, 64_000, 128_000, 256_000, 300_000, 300_000]
        );
        assert_eq!(backoff_ms(0), 2_000);
        assert_eq!(backoff_ms(i64::MAX), 300_000);
    }
}
