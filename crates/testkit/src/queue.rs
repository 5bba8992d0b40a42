//! The server's outbound message queue as the tests look at it: a row of `messages`,
//! and a dispatcher to drive by hand.

use crate::TestServer;

/// A row of the outbound message queue.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MessageRow {
    pub id: String,
    pub channel: String,
    pub recipient: String,
    pub locale: String,
    pub kind: String,
    pub payload: String,
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub sent_at: Option<i64>,
    pub last_error: Option<String>,
}

impl TestServer {
    /// The queue row of message `id`.
    pub async fn message(&self, id: &str) -> MessageRow {
        sqlx::query_as(
            "SELECT id, channel, recipient, locale, kind, payload, status, attempts, \
             next_attempt_at, sent_at, last_error FROM messages WHERE id = $1",
        )
        .bind(id)
        .fetch_one(&self.state.db)
        .await
        .expect("message row")
    }

    /// A dispatcher of this server's configuration, to drive with `run_once`.
    pub fn dispatcher(&self) -> latchkey_server::delivery::Dispatcher {
        latchkey_server::delivery::Dispatcher::new(&self.state).expect("dispatcher")
    }
}
