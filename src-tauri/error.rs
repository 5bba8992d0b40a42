//! Errors as the UI receives them: `{code, next_step, …}` with the numbers a screen
//! shows (seconds to wait, the minimum version), never an English sentence — the UI
//! translates the codes in both languages.

use latchkey_client::{ClientError, Code, NextStep};
use latchkey_proto::{PasswordReason, PasswordSuggestion};
use serde::Serialize;
use ts_rs::TS;

/// What every command rejects with.
#[derive(Clone, Debug, Serialize, TS)]
pub struct AppError {
    pub code: Code,
    pub next_step: NextStep,
    /// Seconds to wait (`account_locked`, `rate_limited`).
    pub retry_after: Option<u32>,
    /// The operators' maintenance message, shown as written.
    pub message: Option<String>,
    /// End of maintenance, RFC 3339.
    pub until: Option<String>,
    pub min_version: Option<String>,
    pub download_url: Option<String>,
    pub reasons: Vec<PasswordReason>,
    pub suggestions: Vec<PasswordSuggestion>,
    /// Offline sign-in: wrong passwords left before the server is needed.
    pub attempts_left: Option<u32>,
}

impl From<ClientError> for AppError {
    fn from(e: ClientError) -> Self {
        let ui = e.to_ui();
        // The details (never secret: see ClientError's Display) go to the log once, here.
        tracing::info!(code = ?ui.code, error = %e, "command failed");
        Self {
            code: ui.code,
            next_step: ui.next_step,
            retry_after: ui.retry_after.map(|s| u32::try_from(s).unwrap_or(u32::MAX)),
            message: ui.maintenance_message,
            until: ui.until,
            min_version: ui.min_version,
            download_url: ui.download_url,
            reasons: ui.reasons,
            suggestions: ui.suggestions,
            attempts_left: ui.attempts_left,
        }
    }
}

impl AppError {
    /// A command called on a screen it does not belong to (a stale window, a double
    /// click that raced a transition).
    pub fn wrong_step(step: &'static str) -> Self {
        ClientError::WrongStep(step).into()
    }
}

/// What commands return.
pub type Result<T> = std::result::Result<T, AppError>;
