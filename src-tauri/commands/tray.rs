//! The tray menu's words, from the UI's catalogs.

use tauri::AppHandle;

use crate::error::Result;
use crate::tray::{self, TrayLabels};

/// The tray menu in the UI's language (at start and when the language changes).
pub async fn tray_labels(app: AppHandle, labels: TrayLabels) -> Result<()> {
    tray::set_labels(&app, labels);
    Ok(())
}
