//! The tray icon (issue 16): the app keeps running when its window is closed, so that
//! approvals (`latchkey://approve`) and the offline re-validation go on. Its menu opens
//! the window, lists the launcher's applications (each opened signed in), locks (signs
//! out) and quits.
//!
//! The menu's words come from the UI's catalogs, in the UI's language (`tray_labels`),
//! and its applications from the last `launcher_apps`. A desktop without a tray (the
//! icon cannot be made) keeps the old behaviour: closing the window quits.

use std::sync::Mutex;

use latchkey_proto::LauncherApp;
use serde::Deserialize;
use serde_json::json;
use tauri::menu::{MenuBuilder, MenuEvent};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Emitter, Manager};
use tauri_plugin_opener::OpenerExt;
use ts_rs::TS;

use crate::state::AppState;

const ID: &str = "latchkey";
const OPEN: &str = "open";
const LOCK: &str = "lock";
const QUIT: &str = "quit";
/// A launcher application's menu id: this, then its client id.
const APP: &str = "app:";

/// The tray menu's words, in the UI's language.
#[derive(Clone, Debug, Deserialize, TS)]
pub struct TrayLabels {
    pub open: String,
    pub lock: String,
    pub quit: String,
}

impl Default for TrayLabels {
    /// Until the UI says (it does at once).
    fn default() -> Self {
        Self {
            open: "Open Latchkey".into(),
            lock: "Lock (sign out)".into(),
            quit: "Quit Latchkey".into(),
        }
    }
}

/// What the menu shows; managed state.
#[derive(Default)]
struct Contents {
    labels: TrayLabels,
    /// Client id and name of each launcher application.
    apps: Vec<(String, String)>,
}

#[derive(Default)]
struct TrayMenu(Mutex<Contents>);

/// Makes the tray icon; false when this desktop has none (closing the window then quits).
pub fn create(app: &tauri::App) -> bool {
    app.manage(TrayMenu::default());
    let mut builder = TrayIconBuilder::with_id(ID)
        .tooltip("Latchkey")
        .on_menu_event(on_menu);
    if let Some(icon) = app.default_window_icon() {
        builder = builder.icon(icon.clone());
    }
    let made = menu(app.handle()).and_then(|m| builder.menu(&m).build(app));
    match made {
        Ok(_) => true,
        Err(e) => {
            tracing::warn!(error = %e, "no tray icon; closing the window quits");
            false
        }
    }
}

/// Whether the tray icon is there (to keep the app running without a window).
pub fn exists(app: &AppHandle) -> bool {
    app.tray_by_id(ID).is_some()
}

/// The launcher's applications in the menu (none after a sign-out).
pub fn show_apps(app: &AppHandle, apps: &[LauncherApp]) {
    if let Some(state) = app.try_state::<TrayMenu>() {
        if let Ok(mut contents) = state.0.lock() {
            contents.apps = apps
                .iter()
                .map(|a| (a.client_id.clone(), a.name.clone()))
                .collect();
        }
    }
    refresh(app);
}

/// The menu's words in the UI's language.
pub fn set_labels(app: &AppHandle, labels: TrayLabels) {
    if let Some(state) = app.try_state::<TrayMenu>() {
        if let Ok(mut contents) = state.0.lock() {
            contents.labels = labels;
        }
    }
    refresh(app);
}

fn refresh(app: &AppHandle) {
    let Some(tray) = app.tray_by_id(ID) else {
        return;
    };
    if let Err(e) = menu(app).and_then(|m| tray.set_menu(Some(m))) {
        tracing::warn!(error = %e, "cannot update the tray menu");
    }
}

fn menu(app: &AppHandle) -> tauri::Result<tauri::menu::Menu<tauri::Wry>> {
    let (labels, apps) = match app.try_state::<TrayMenu>() {
        Some(state) => match state.0.lock() {
            Ok(c) => (c.labels.clone(), c.apps.clone()),
            Err(_) => (TrayLabels::default(), Vec::new()),
        },
        None => (TrayLabels::default(), Vec::new()),
    };
    let mut builder = MenuBuilder::new(app).text(OPEN, &labels.open);
    if !apps.is_empty() {
        builder = builder.separator();
        for (client_id, name) in &apps {
            builder = builder.text(format!("{APP}{client_id}"), name);
        }
    }
    builder
        .separator()
        .text(LOCK, &labels.lock)
        .text(QUIT, &labels.quit)
        .build()
}

fn on_menu(app: &AppHandle, event: MenuEvent) {
    match event.id().as_ref() {
        OPEN => show_window(app),
        LOCK => {
            tauri::async_runtime::spawn(lock(app.clone()));
        }
        QUIT => app.exit(0),
        id => {
            if let Some(client_id) = id.strip_prefix(APP) {
                tauri::async_runtime::spawn(launch(app.clone(), client_id.to_owned()));
            }
        }
    }
}

/// Shows the main window in front (from the tray, or for an approval).
pub fn show_window(app: &AppHandle) {
    if let Some(window) = app.get_webview_window("main") {
        let _ = window.show();
        let _ = window.unminimize();
        let _ = window.set_focus();
    }
}

/// Signs out; the UI goes back to the sign-in, saying the app was locked.
async fn lock(app: AppHandle) {
    let state = app.state::<AppState>();
    let signed_out = state.client().await.sign_out().await;
    show_apps(&app, &[]);
    match signed_out {
        Ok(_) => {
            let _ = app.emit("session-ended", json!({ "reason": "locked" }));
        }
        Err(e) => tracing::info!(code = ?e.code(), "nothing to lock"),
    }
}

/// Opens a launcher application signed in, as its tile does.
async fn launch(app: AppHandle, client_id: String) {
    let state = app.state::<AppState>();
    let url = state.client().await.launch(&client_id).await;
    match url {
        Ok(url) => {
            if let Err(e) = app.opener().open_url(url.expose(), None::<&str>) {
                tracing::warn!(error = %e, "cannot open the application in the browser");
            }
        }
        Err(e) => {
            tracing::info!(code = ?e.code(), "cannot open the application");
            show_window(&app);
        }
    }
}
