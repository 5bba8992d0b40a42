//! Commands about the app itself: its version, and where the UI starts.

use std::io::Write;

use tauri::State;

use crate::error::Result;
use crate::state::AppState;
use crate::view::{ServerInfo, Start, Step};

/// The version of the desktop app, as in `Cargo.toml` (shown on screen and sent to the
/// server, which may require a newer one).
#[tauri::command]
pub fn app_version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

/// Where the UI starts: server setup, the sign-in form, the account (signed in through
/// the keychain's refresh token), or the new password of a reset link that launched
/// the app.
#[tauri::command]
pub async fn app_start(state: State<'_, AppState>) -> Result<Start> {
    let mut client = state.client().await;
    let mut step = client.start().await;
    if let Some(link) = state.take_pending_link() {
        // A broken or foreign link must not keep the user from signing in.
        match client.open_reset_link(&link) {
            Ok(reset) => step = reset,
            Err(e) => tracing::info!(code = ?e.code(), "reset link refused"),
        }
    }
    Ok(Start {
        server: ServerInfo::current(&client),
        step: Step::of(&step)?,
    })
}

/// The UI's first screen is on display: logged with the time since the process
/// started, and, with `LATCHKEY_REPORT_READY=1`, printed as `ready <screen>` on stdout
/// (how `cargo bench --bench startup` times the start-up).
#[tauri::command]
pub fn ui_ready(screen: String) {
    let screen: String = screen
        .chars()
        .filter(char::is_ascii_graphic)
        .take(40)
        .collect();
    let ms = crate::STARTED.get().map(|t| t.elapsed().as_millis());
    tracing::info!(screen, ms, "first screen ready");
    if std::env::var_os("LATCHKEY_REPORT_READY").is_some() {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "ready {screen}");
        let _ = out.flush();
    }
}
