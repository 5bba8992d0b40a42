//! The Latchkey desktop app: the Tauri shell around the web UI in `ui/`.
//!
//! This crate is glue. Commands (in [`commands`]) stay a few lines each and hand the work
//! to `latchkey-client`, so that the logic is tested without a window. Every command the
//! UI may call is listed three times, and the lists must agree: in [`run`]'s
//! `generate_handler!`, in `src-tauri/build.rs` (which generates its `allow-…`
//! permission) and in `src-tauri/capabilities/` (which grants it).
//!
//! Besides the commands the shell does two things on its own: it hands a
//! `latchkey://reset?token=…` link (the recovery e-mail) to the client, and while the
//! user is signed in offline it asks the client every [`REVALIDATE_EVERY`] whether the
//! server is back, telling the UI through the `connectivity` and `session-ended` events.

mod commands;
mod error;
mod state;
mod view;

use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use latchkey_client::{Client, Code, Options, Revalidation, Step as ClientStep};
use serde_json::json;
use tauri::{AppHandle, Emitter, Manager};
use tauri_plugin_deep_link::DeepLinkExt;

use crate::state::AppState;

/// When [`run`] was called: the start of the start-up the UI reports (`ui_ready`), on
/// the monotonic clock and on the wall clock (the UI's marks are wall-clock times).
static STARTED: OnceLock<(Instant, SystemTime)> = OnceLock::new();

/// Milliseconds since [`run`] was called (0 before).
pub(crate) fn since_start() -> u64 {
    STARTED.get().map_or(0, |(t, _)| {
        u64::try_from(t.elapsed().as_millis()).unwrap_or(u64::MAX)
    })
}

/// How long the window waits for the client's start before it opens on the loading
/// screen (the start takes some 30 ms and began long before; this is for a server
/// that does not answer).
const START_WAIT: Duration = Duration::from_millis(250);

/// How often an offline session checks whether the server is reachable again.
const REVALIDATE_EVERY: Duration = Duration::from_secs(15);

/// Builds the app from `tauri.conf.json` and runs it until the last window closes.
///
/// # Errors
///
/// When the web view or the window cannot be created (for example no display, or
/// WebKitGTK missing on Linux), or the app's folders cannot be determined.
pub fn run() -> tauri::Result<()> {
    let _ = STARTED.set((Instant::now(), SystemTime::now()));
    let options = Options::platform().map_err(setup_error)?;
    // The log file is the IT person's first stop; without it the app still runs.
    if let Ok(guard) = latchkey_client::logging::init(&options.dirs.logs, None)
        .map_err(|e| eprintln!("latchkey: no log file: {e}"))
    {
        set_log_guard(Some(Box::new(guard)));
    }
    log_panics();
    tracing::debug!(at_ms = since_start(), "log open");
    let client = Client::new(options).map_err(setup_error)?;
    tracing::debug!(at_ms = since_start(), "client ready");
    // The client's start (server meta, keychain, automatic sign-in) runs while GTK and
    // the web view start up; its answer is handed to the page with the page itself
    // (see `setup`), so the first screen waits for no round trip.
    let client = Arc::new(tokio::sync::Mutex::new(client));
    let starting_client = client.clone();
    let mut starting =
        tauri::async_runtime::spawn(async move { starting_client.lock().await.start().await });

    let result = tauri::Builder::default()
        // First, so that a second launch (how Linux and Windows deliver a link) is
        // handed to this instance before anything else starts.
        .plugin(tauri_plugin_single_instance::init(|app, _argv, _cwd| {
            if let Some(window) = app.get_webview_window("main") {
                let _ = window.set_focus();
            }
        }))
        .plugin(tauri_plugin_deep_link::init())
        .plugin(tauri_plugin_opener::init())
        // The save dialog of the recovery codes, opened by `recovery_codes_save` (the
        // web view is granted none of the plugin's own commands).
        .plugin(tauri_plugin_dialog::init())
        .on_page_load(|_, payload| {
            tracing::debug!(at_ms = since_start(), event = ?payload.event(), "page load");
        })
        .manage(AppState::new(client))
        .setup(move |app| {
            tracing::info!(at_ms = since_start(), "window setup");
            // A link that launched the app opens its new-password screen.
            let link = app
                .deep_link()
                .get_current()
                .ok()
                .flatten()
                .and_then(|urls| urls.into_iter().next())
                .map(|url| url.to_string());
            // Usually the start is over by now. A server that is slow to answer (or
            // silent: up to the connect timeout) must not keep the window away: after
            // START_WAIT it opens on the loading screen, and `app_start` waits.
            let state = app.state::<AppState>();
            let done = tauri::async_runtime::block_on(async {
                tokio::time::timeout(START_WAIT, &mut starting).await
            });
            let first = match done {
                Ok(Ok(step)) => {
                    let mut client = tauri::async_runtime::block_on(state.client());
                    tauri::async_runtime::block_on(commands::app::start_view(
                        &mut client,
                        step,
                        link,
                    ))
                    .map_err(|e| tracing::warn!(code = ?e.code(), "no first screen"))
                    .ok()
                }
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "the client's start failed; app_start starts again");
                    None
                }
                Err(_) => {
                    tracing::info!("the client's start is slow; the window opens first");
                    state.set_starting(starting, link);
                    None
                }
            };
            main_window(app, first.as_ref())?;
            let handle = app.handle().clone();
            let on_link = handle.clone();
            app.deep_link().on_open_url(move |event| {
                if let Some(url) = event.urls().into_iter().next() {
                    tauri::async_runtime::spawn(open_link(on_link.clone(), url.to_string()));
                }
            });
            tauri::async_runtime::spawn(revalidate_offline(handle));
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::app::app_version,
            commands::app::app_start,
            commands::app::ui_ready,
            commands::app::open_link,
            commands::server::server_test,
            commands::server::server_save,
            commands::sign_in::sign_in,
            commands::sign_in::second_factor,
            commands::sign_in::device_code,
            commands::sign_in::forced_password_change,
            commands::sign_in::password_strength,
            commands::sign_in::totp_begin,
            commands::sign_in::totp_confirm,
            commands::sign_in::totp_skip,
            commands::sign_in::totp_done,
            commands::recovery::recovery_start,
            commands::recovery::recovery_resend,
            commands::recovery::recovery_verify,
            commands::recovery::recovery_complete,
            commands::recovery::reset_link_answer,
            commands::account::account_details,
            commands::account::change_password,
            commands::account::totp_disable,
            commands::account::recovery_codes_regenerate,
            commands::account::recovery_codes_save,
            commands::account::session_revoke,
            commands::account::sign_out,
            commands::account::sign_out_everywhere,
            commands::account::forget_device,
        ])
        .run(tauri::generate_context!());
    // Writes out what the log still holds.
    set_log_guard(None);
    result
}

/// The log writer's guard: dropping it writes out the lines not yet in the file.
static LOG_GUARD: Mutex<Option<Box<dyn Send>>> = Mutex::new(None);

fn set_log_guard(guard: Option<Box<dyn Send>>) {
    let old = LOG_GUARD
        .lock()
        .map(|mut slot| std::mem::replace(&mut *slot, guard));
    drop(old);
}

/// The shipped app is built with `panic = "abort"` (Cargo profile `desktop`), so a
/// panic ends the process at once: say where in the log and on stderr first, and (when
/// the process is about to end) write out the log. Only the location, and the message when it is a fixed text: a formatted
/// panic message could carry what the user typed.
fn log_panics() {
    std::panic::set_hook(Box::new(|info| {
        let at = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let message = info.payload().downcast_ref::<&str>().copied().unwrap_or("");
        tracing::error!(at, message, "the app stopped on a bug (panic)");
        eprintln!("latchkey: stopped on a bug at {at} {message}");
        if cfg!(panic = "abort") {
            set_log_guard(None);
        }
    }));
}

/// The main window of `tauri.conf.json` (`"create": false` there), built here so that
/// its page can start with the answer of the first `app_start`
/// (`window.__LATCHKEY_START__`, which the UI takes once; later `app_start`s are
/// commands). It holds what the command would answer — the server and the first step —
/// and nothing secret.
fn main_window(
    app: &tauri::App,
    first: Option<&view::Start>,
) -> Result<(), Box<dyn std::error::Error>> {
    let config = app
        .config()
        .app
        .windows
        .iter()
        .find(|w| w.label == "main")
        .ok_or("no main window in tauri.conf.json")?
        .clone();
    let mut window = tauri::WebviewWindowBuilder::from_config(app.handle(), &config)?;
    if let Some(first) = first {
        let script = format!(
            "window.__LATCHKEY_START__ = {};",
            serde_json::to_string(first)?
        );
        window = window.initialization_script(&script);
    }
    window.build()?;
    Ok(())
}

fn setup_error(e: latchkey_client::ClientError) -> tauri::Error {
    tauri::Error::Setup(Box::<dyn std::error::Error>::from(e.to_string()).into())
}

/// A reset link while the app runs: the new-password screen, or, in the middle of a
/// sign-in or another reset, a question first (the UI answers with
/// `reset_link_answer`); a link that no longer works is said so at once
/// ([`view::ResetLinkEvent`]). Ignored while someone is signed in: it is not worth
/// losing their work.
async fn open_link(app: AppHandle, link: String) {
    let state = app.state::<AppState>();
    let mut client = state.client().await;
    if matches!(client.step(), ClientStep::SignedIn { .. }) {
        tracing::info!("reset link ignored while signed in");
        return;
    }
    let outcome = client.offer_reset_link(&link).await;
    if let Err(e) = &outcome {
        tracing::info!(code = ?e.code(), "reset link refused");
        if e.code() == Code::WrongStep || e.code() == Code::InvalidInput {
            return; // not a link of ours, or no server yet: nothing to tell
        }
    }
    let _ = app.emit("deep-link-reset", view::ResetLinkEvent::of(outcome));
}

/// While signed in offline: is the server back, and does it still accept this device?
async fn revalidate_offline(app: AppHandle) {
    loop {
        tokio::time::sleep(REVALIDATE_EVERY).await;
        let state = app.state::<AppState>();
        let Some(mut client) = state.try_client() else {
            continue;
        };
        if !matches!(client.step(), ClientStep::SignedIn { offline: true, .. }) {
            continue;
        }
        match client.revalidate().await {
            Ok(Revalidation::Online) => {
                let _ = app.emit("connectivity", json!({ "online": true }));
            }
            Ok(Revalidation::Ended(reason)) => {
                let _ = app.emit("session-ended", json!({ "reason": reason }));
            }
            Ok(Revalidation::StillOffline | Revalidation::NotNeeded) => {}
            Err(e) => tracing::info!(code = ?e.code(), "re-validation failed"),
        }
    }
}

#[cfg(test)]
mod bindings;
