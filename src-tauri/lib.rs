//! The Latchkey desktop app: the Tauri shell around the web UI in `ui/`.
//!
//! This crate is glue. Commands (in [`commands`]) stay a few lines each and hand the work
//! to `latchkey-client`, so that the logic is tested without a window. Every command the
//! UI may call is declared once, in `src-tauri/command_list.rs`: the handler ([`ipc`]),
//! its permission and the capability's grant (`src-tauri/build.rs`), and the UI's typed
//! contract (`ui/src/bindings/commands.ts`) are generated from it.
//!
//! The app's state is Tauri's managed state ([`AppState`], [`LogFile`]), reached by
//! commands through `State<'_, AppState>`; nothing is global.
//!
//! Besides the commands the shell does a few things on its own: it hands a
//! `latchkey://reset?token=…` link (the reset e-mail) and a `latchkey://approve?…` link
//! (a browser sign-in to approve) to the client, telling the UI with the
//! `deep-link-reset` and `deep-link-approve` events; while the user is signed in
//! offline it asks the client every [`REVALIDATE_EVERY`] whether the server is back,
//! telling the UI through the `connectivity` and `session-ended` events; it tells the
//! UI whether the server answers at all (the `link` event, "reconnecting…"); and it keeps
//! a tray icon ([`tray`]), so that closing the window hides it instead of quitting; and
//! it asks the server for a signed update at start and every few hours ([`updates`]).

mod commands;
mod error;
mod ipc;
mod state;
mod tray;
pub mod updates;
mod view;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use latchkey_client::link::Link;
use latchkey_client::{ApprovalLink, Client, Code, Options, Revalidation, Step as ClientStep};
use serde_json::json;
use tauri::{AppHandle, Emitter, Manager, RunEvent, WindowEvent};
use tauri_plugin_deep_link::DeepLinkExt;

use crate::state::{AppState, Started};

/// How long the window waits for the client's start before it opens on the loading
/// screen (the start takes some 30 ms and began long before; this is for a server
/// that does not answer).
const START_WAIT: Duration = Duration::from_millis(250);

/// How often an offline session checks whether the server is reachable again.
const REVALIDATE_EVERY: Duration = Duration::from_secs(15);

/// How often a server that stopped answering is looked at again.
const PROBE_EVERY: Duration = Duration::from_secs(3);

/// Builds the app from `tauri.conf.json` and runs it until the last window closes.
///
/// # Errors
///
/// When the web view or the window cannot be created (for example no display, or
/// WebKitGTK missing on Linux), or the app's folders cannot be determined.
pub fn run() -> tauri::Result<()> {
    let started = Started::now();
    let options = Options::platform().map_err(setup_error)?;
    // The log file is the IT person's first stop; without it the app still runs.
    let log = LogFile::default();
    if let Ok(guard) = latchkey_client::logging::init(&options.dirs.logs, None)
        .map_err(|e| eprintln!("latchkey: no log file: {e}"))
    {
        log.keep(Box::new(guard));
    }
    log_panics(log.clone());
    tracing::debug!(at_ms = started.ms(), "log open");
    let client = Client::new(options).map_err(setup_error)?;
    let server_link = client.link();
    tracing::debug!(at_ms = started.ms(), "client ready");
    // The client's start (server meta, keychain, automatic sign-in) runs while GTK and
    // the web view start up; its answer is handed to the page with the page itself
    // (see `setup`), so the first screen waits for no round trip.
    let client = Arc::new(tokio::sync::Mutex::new(client));
    let starting_client = client.clone();
    let starting =
        tauri::async_runtime::spawn(async move { starting_client.lock().await.start().await });

    let app = tauri::Builder::default()
        // First, so that a second launch (how Linux and Windows deliver a link) is
        // handed to this instance before anything else starts.
        .plugin(tauri_plugin_single_instance::init(|app, _argv, _cwd| {
            tray::show_window(app);
        }))
        .plugin(tauri_plugin_deep_link::init())
        .plugin(tauri_plugin_opener::init())
        // The save dialog of the recovery codes, opened by `recovery_codes_save` (the
        // web view is granted none of the plugin's own commands).
        .plugin(tauri_plugin_dialog::init())
        // Signed in-app updates (`updates`): the public key is `tauri.conf.json`'s; the
        // web view is granted none of the plugin's own commands.
        .plugin(tauri_plugin_updater::Builder::new().build())
        .on_page_load(|webview, payload| {
            let at_ms = webview.state::<AppState>().started().ms();
            tracing::debug!(at_ms, event = ?payload.event(), "page load");
        })
        // With a tray icon, closing the window hides it: approvals and the offline
        // re-validation go on; the tray's Quit ends the app.
        .on_window_event(|window, event| {
            if let WindowEvent::CloseRequested { api, .. } = event {
                if window.label() == "main" && tray::exists(window.app_handle()) {
                    api.prevent_close();
                    let _ = window.hide();
                }
            }
        })
        .manage(AppState::new(client, started))
        .manage(log.clone())
        .setup(move |app| {
            tracing::info!(at_ms = started.ms(), "window setup");
            // A link that launched the app opens its new-password screen.
            let link = app
                .deep_link()
                .get_current()
                .ok()
                .flatten()
                .and_then(|urls| urls.into_iter().next())
                .map(|url| url.to_string());
            // An approval link waits for the UI (`approval_pending`); a reset link
            // opens with the first screen.
            let link = match link {
                Some(link) if ApprovalLink::is_one(&link) => {
                    app.state::<AppState>().set_approval_link(link);
                    None
                }
                other => other,
            };
            let first = first_screen(app, starting, link);
            main_window(app, first.as_ref())?;
            tray::create(app);
            let handle = app.handle().clone();
            let on_link = handle.clone();
            app.deep_link().on_open_url(move |event| {
                if let Some(url) = event.urls().into_iter().next() {
                    tauri::async_runtime::spawn(open_link(on_link.clone(), url.to_string()));
                }
            });
            tauri::async_runtime::spawn(follow_link(handle.clone(), server_link));
            tauri::async_runtime::spawn(updates::watch(handle.clone()));
            tauri::async_runtime::spawn(revalidate_offline(handle));
            Ok(())
        })
        .invoke_handler(ipc::handler())
        .build(tauri::generate_context!())?;
    app.run(|app, event| {
        if let RunEvent::Exit = event {
            // Writes out what the log still holds.
            if let Some(log) = app.try_state::<LogFile>() {
                log.close();
            }
        }
    });
    log.close();
    Ok(())
}

/// The first screen, put in the page with the page itself, so that it waits for no
/// round trip — or `None`, and the window opens on the loading screen while the
/// `app_start` command (on the async runtime) finishes what is left: a client start
/// slower than [`START_WAIT`], and a reset link that launched the app (opening it asks
/// the server, which has no place on the setup thread).
fn first_screen(
    app: &tauri::App,
    mut starting: tauri::async_runtime::JoinHandle<ClientStep>,
    link: Option<String>,
) -> Option<view::Start> {
    let state = app.state::<AppState>();
    if link.is_some() {
        state.set_starting(starting, link);
        return None;
    }
    // Usually the start is over by now. A server that is slow to answer (or silent: up
    // to the connect timeout) must not keep the window away.
    let done = tauri::async_runtime::block_on(async {
        tokio::time::timeout(START_WAIT, &mut starting).await
    });
    match done {
        Ok(Ok(step)) => {
            let client = tauri::async_runtime::block_on(state.client());
            commands::app::start_view(&client, &step)
                .map_err(|e| tracing::warn!(code = ?e.code(), "no first screen"))
                .ok()
        }
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "the client's start failed; app_start starts again");
            None
        }
        Err(_) => {
            tracing::info!("the client's start is slow; the window opens first");
            state.set_starting(starting, None);
            None
        }
    }
}

/// The log writer's guard: dropping it writes out the lines not yet in the file. Managed
/// state, closed when the app exits; the panic hook holds it too.
#[derive(Clone, Default)]
struct LogFile(Arc<Mutex<Option<Box<dyn Send>>>>);

impl LogFile {
    fn keep(&self, guard: Box<dyn Send>) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(guard);
        }
    }

    /// Writes out the log (later lines go nowhere).
    fn close(&self) {
        let guard = self.0.lock().ok().and_then(|mut slot| slot.take());
        drop(guard);
    }
}

/// The shipped app is built with `panic = "abort"` (Cargo profile `desktop`), so a
/// panic ends the process at once: say where in the log and on stderr first, and (when
/// the process is about to end) write out the log. Only the location, and the message when it is a fixed text: a formatted
/// panic message could carry what the user typed.
fn log_panics(log: LogFile) {
    std::panic::set_hook(Box::new(move |info| {
        let at = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let message = info.payload().downcast_ref::<&str>().copied().unwrap_or("");
        tracing::error!(at, message, "the app stopped on a bug (panic)");
        eprintln!("latchkey: stopped on a bug at {at} {message}");
        if cfg!(panic = "abort") {
            log.close();
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

/// A `latchkey://approve` link while the app runs: the window comes to the front and
/// the UI shows the request ([`view::ApprovalEvent`]).
async fn open_approval(app: AppHandle, link: String) {
    tray::show_window(&app);
    let state = app.state::<AppState>();
    let outcome = state.client().await.open_approval(&link).await;
    if let Err(e) = &outcome {
        tracing::info!(code = ?e.code(), "approval link refused");
    }
    let _ = app.emit("deep-link-approve", view::ApprovalEvent::of(outcome));
}

/// A reset link while the app runs: the new-password screen, or, in the middle of a
/// sign-in or another reset, a question first (the UI answers with
/// `reset_link_answer`); a link that no longer works is said so at once
/// ([`view::ResetLinkEvent`]). Ignored while someone is signed in: it is not worth
/// losing their work.
async fn open_link(app: AppHandle, link: String) {
    if ApprovalLink::is_one(&link) {
        return open_approval(app, link).await;
    }
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

/// Tells the window whether the server answers (the `link` event): down as soon as a
/// request finds it out of reach — the window says it is reconnecting — and up as soon
/// as a request gets an answer again: a retry, the person's next action, or the look
/// this task takes every [`PROBE_EVERY`] while it is down. While down the state is
/// told again at each look, for a window that started listening after the first.
async fn follow_link(app: AppHandle, link: Link) {
    let mut changes = link.watch();
    loop {
        let up = *changes.borrow_and_update();
        let _ = app.emit("link", json!({ "up": up }));
        if up {
            if changes.changed().await.is_err() {
                return;
            }
            continue;
        }
        tokio::select! {
            changed = changes.changed() => {
                if changed.is_err() {
                    return;
                }
            }
            () = tokio::time::sleep(PROBE_EVERY) => {
                // Skipped while a command holds the client: its own request will tell.
                let probe = app.state::<AppState>().try_client().and_then(|c| c.probe());
                if let Some(probe) = probe {
                    probe.await;
                }
            }
        }
    }
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
