//! The Latchkey desktop app: the Tauri shell around the web UI in `ui/`.
//!
//! This crate is glue. Commands (in [`commands`]) stay a few lines each and hand the work
//! to the workspace crates, so that the logic can be tested without a window. Every
//! command the UI may call is listed three times, and the lists must agree: in
//! [`run`]'s `generate_handler!`, in `src-tauri/build.rs` (which generates its
//! `allow-…` permission) and in `src-tauri/capabilities/` (which grants it).

mod commands;

/// Builds the app from `tauri.conf.json` and runs it until the last window closes.
///
/// # Errors
///
/// When the web view or the window cannot be created (for example no display, or
/// WebKitGTK missing on Linux).
pub fn run() -> tauri::Result<()> {
    tauri::Builder::default()
        .invoke_handler(tauri::generate_handler![commands::app::app_version])
        .run(tauri::generate_context!())
}
