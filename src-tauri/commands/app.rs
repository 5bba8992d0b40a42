//! Commands about the app itself: its version, and where the UI starts.

use std::io::Write;

use tauri::{AppHandle, State};
use tauri_plugin_opener::OpenerExt;

use crate::error::{AppError, Result};
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

/// Opens `url` in the system browser — only a link the server published (its download
/// or support address, from `/v1/meta`), so the web view cannot send the user anywhere
/// else. The meta is fetched again once when the link is not in the cached one (IT may
/// have just set a download address).
#[tauri::command]
pub async fn open_link(app: AppHandle, state: State<'_, AppState>, url: String) -> Result<()> {
    let published = |meta: &latchkey_proto::Meta| {
        [meta.download_url.as_deref(), meta.support.url.as_deref()].contains(&Some(url.as_str()))
    };
    let web = url.starts_with("https://") || url.starts_with("http://");
    let mut client = state.client().await;
    let mut allowed = web && client.meta().is_some_and(published);
    if web && !allowed {
        allowed = client.refresh_meta().await.is_ok_and(published);
    }
    drop(client);
    if !allowed {
        tracing::info!("refused to open a link the server did not publish");
        return Err(latchkey_client::ClientError::InvalidInput("url").into());
    }
    app.opener().open_url(&url, None::<&str>).map_err(|e| {
        tracing::warn!(error = %e, "cannot open a link in the browser");
        AppError::from(latchkey_client::ClientError::InvalidInput("url"))
    })
}
