//! The statements sqlx runs, captured from its log (target `sqlx::query`) by the test
//! process's global tracing subscriber: every statement of every connection, whichever
//! thread runs it (SQLite's run on a worker thread of their connection, which a
//! thread-local subscriber would miss). The tests of this binary take turns
//! ([`start`]), so that each capture holds one test's statements.

use std::sync::{Mutex, Once, PoisonError};

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::Layer;

/// One test at a time: the capture is the whole process's.
static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
static INSTALL: Once = Once::new();

/// Installs the capture (once per process) and waits for this test's turn; the
/// capture is this test's while the guard lives.
pub async fn start() -> tokio::sync::MutexGuard<'static, ()> {
    INSTALL.call_once(|| {
        let subscriber = tracing_subscriber::registry().with(
            Capture.with_filter(
                tracing_subscriber::filter::Targets::new()
                    .with_target("sqlx::query", tracing::Level::TRACE),
            ),
        );
        tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");
    });
    let turn = TURN.lock().await;
    take();
    turn
}

/// The statements run since the last call, in the order they finished, each on one
/// line with its spaces collapsed.
pub fn take() -> Vec<String> {
    std::mem::take(&mut *LOG.lock().unwrap_or_else(PoisonError::into_inner))
}

static LOG: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Keeps the text of every statement sqlx logs.
struct Capture;

#[derive(Default)]
struct Fields {
    summary: String,
    statement: String,
}

impl tracing::field::Visit for Fields {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        match field.name() {
            "summary" => value.clone_into(&mut self.summary),
            "db.statement" => value.clone_into(&mut self.statement),
            _ => {}
        }
    }
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        let text = format!("{value:?}");
        match field.name() {
            "summary" => self.summary = text.trim_matches('"').to_owned(),
            "db.statement" => self.statement = text.trim_matches('"').to_owned(),
            _ => {}
        }
    }
}

impl<S: tracing::Subscriber> Layer<S> for Capture {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        if event.metadata().target() != "sqlx::query" {
            return;
        }
        let mut fields = Fields::default();
        event.record(&mut fields);
        // A short statement is logged whole as its summary, a longer one in db.statement.
        let text = if fields.statement.trim().is_empty() {
            fields.summary
        } else {
            fields.statement
        };
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        LOG.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(text);
    }
}
