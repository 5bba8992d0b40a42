//! In-app updates ([`crate::updates`]): what the background check found, a check now,
//! and "Update now" (download with progress, signature check, install, restart).

use serde_json::json;
use tauri::{AppHandle, Emitter, State};

use crate::error::{AppError, Result};
use crate::state::AppState;
use crate::updates::{self, UpdateOffer};

/// The release the last check found, if any (for a window that listens late).
pub async fn update_offer(state: State<'_, AppState>) -> Result<Option<UpdateOffer>> {
    Ok(state.update().as_ref().map(updates::offer))
}

/// Asks the server now (the "update required" screen does, not waiting for the
/// background check).
pub async fn update_check(
    app: AppHandle,
    state: State<'_, AppState>,
) -> Result<Option<UpdateOffer>> {
    updates::check_now(&app, &state)
        .await
        .map_err(AppError::from)
}

/// Downloads, checks and installs the release found, telling the UI the progress
/// (`update-progress`: `downloaded`, `total` bytes), then restarts into it.
pub async fn update_install(app: AppHandle, state: State<'_, AppState>) -> Result<()> {
    if state.update().is_none() {
        updates::check_now(&app, &state)
            .await
            .map_err(AppError::from)?;
    }
    let update = state.update().ok_or_else(|| {
        AppError::from(latchkey_client::ClientError::UpdateUnavailable(
            "no release",
        ))
    })?;
    let progress = app.clone();
    updates::install(&update, move |downloaded, total| {
        let _ = progress.emit(
            "update-progress",
            json!({ "downloaded": downloaded, "total": total }),
        );
    })
    .await
    .map_err(AppError::from)?;
    app.restart()
}
