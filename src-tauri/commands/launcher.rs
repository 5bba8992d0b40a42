//! The company's applications: the launcher's tiles (also the tray menu's entries), one
//! opened signed in, and the applications signed in through Latchkey.

use latchkey_proto::LauncherApp;
use tauri::{AppHandle, State};
use tauri_plugin_opener::OpenerExt;

use crate::error::{AppError, Result};
use crate::state::AppState;
use crate::tray;
use crate::view::SignedInAppView;

/// The launcher's applications; the tray menu lists them too.
pub async fn launcher_apps(app: AppHandle, state: State<'_, AppState>) -> Result<Vec<LauncherApp>> {
    let apps = state.client().await.launcher().await?;
    tray::show_apps(&app, &apps);
    Ok(apps)
}

/// Opens `client_id` in the default browser, signed in through a one-time launch ticket.
pub async fn launch_app(
    app: AppHandle,
    state: State<'_, AppState>,
    client_id: String,
) -> Result<()> {
    let url = state.client().await.launch(&client_id).await?;
    app.opener()
        .open_url(url.expose(), None::<&str>)
        .map_err(|e| {
            tracing::warn!(error = %e, "cannot open the application in the browser");
            AppError::from(latchkey_client::ClientError::InvalidInput("url"))
        })
}

pub async fn signed_in_apps(state: State<'_, AppState>) -> Result<Vec<SignedInAppView>> {
    let apps = state.client().await.signed_in_apps().await?;
    Ok(apps.into_iter().map(SignedInAppView::from).collect())
}

/// Signs out of one application: the browser must sign in there again.
pub async fn signed_in_app_sign_out(state: State<'_, AppState>, client_id: String) -> Result<()> {
    Ok(state.client().await.sign_out_of_app(&client_id).await?)
}
