//! Commands about the app itself rather than the user's account.

/// The version of the desktop app, as in `Cargo.toml` (shown on screen and sent to the
/// server, which may require a newer one).
#[tauri::command]
pub fn app_version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}
