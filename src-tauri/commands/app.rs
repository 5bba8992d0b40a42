//! Commands about the app itself: its version, and where the UI starts.

use std::io::Write;
use std::time::SystemTime;

use latchkey_client::{Client, ClientError, Step as ClientStep};
use tauri::{AppHandle, State};
use tauri_plugin_opener::OpenerExt;

use crate::error::{AppError, Result};
use crate::state::AppState;
use crate::view::{ServerInfo, Start, Step};

/// The version of the desktop app, as in `Cargo.toml` (shown on screen and sent to the
/// server, which may require a newer one).
pub async fn app_version() -> Result<String> {
    Ok(env!("CARGO_PKG_VERSION").to_owned())
}

/// Where the UI starts: server setup, the sign-in form, the account (signed in through
/// the keychain's refresh token). The first answer is usually in the page already (the
/// shell starts the client while the window opens); this is for a start the window did
/// not wait for, and for starting over after maintenance or an update.
///
/// A reset link that launched the app opens its new password here (the server names
/// the account first; a used or expired link leaves the step as it is).
pub async fn app_start(state: State<'_, AppState>) -> Result<Start> {
    // The first time, if the window did not wait for it: the start already running.
    let (started, link) = state.take_start().await;
    let mut client = state.client().await;
    let mut step = match started {
        Some(step) => step,
        None => client.start().await,
    };
    if let Some(link) = link {
        // A broken or foreign link must not keep the user from signing in.
        match client.open_reset_link(&link).await {
            Ok(reset) => step = reset,
            Err(e) => tracing::info!(code = ?e.code(), "reset link refused"),
        }
    }
    Ok(start_view(&client, &step)?)
}

/// What `app_start` answers for `step`.
pub fn start_view(client: &Client, step: &ClientStep) -> std::result::Result<Start, ClientError> {
    Ok(Start {
        server: ServerInfo::current(client),
        step: Step::of(step)?,
        language: client.managed().language.clone(),
        offline_signin: client.managed().offline_allowed(),
    })
}

/// The UI's first screen is on display: logged with the time since the process
/// started and the UI's start-up phases (`marks`: a name and the wall-clock time in
/// milliseconds since the Unix epoch), and, with `LATCHKEY_REPORT_READY=1`, printed as
/// `ready <screen>` on stdout (how `cargo bench --bench startup` times the start-up).
pub async fn ui_ready(
    state: State<'_, AppState>,
    screen: String,
    marks: Option<Vec<(String, f64)>>,
) -> Result<()> {
    let screen = printable(&screen);
    let started = state.started();
    let ms = started.ms();
    let phases = phases(&marks.unwrap_or_default(), started.wall());
    tracing::info!(screen, ms, phases, "first screen ready");
    if std::env::var_os("LATCHKEY_REPORT_READY").is_some() {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "ready {screen}");
        if !phases.is_empty() {
            let _ = writeln!(out, "phases {phases}");
        }
        let _ = out.flush();
    }
    Ok(())
}

/// At most 40 printable ASCII characters of a name the UI sent.
fn printable(name: &str) -> String {
    name.chars()
        .filter(char::is_ascii_graphic)
        .take(40)
        .collect()
}

/// `name=ms` for each of the UI's marks, in milliseconds since `started` (at most 20).
fn phases(marks: &[(String, f64)], started: SystemTime) -> String {
    let Ok(origin) = started.duration_since(SystemTime::UNIX_EPOCH) else {
        return String::new();
    };
    let origin = origin.as_secs_f64() * 1000.0;
    marks
        .iter()
        .take(20)
        .filter(|(_, at)| at.is_finite())
        .map(|(name, at)| format!("{}={:.0}", printable(name), at - origin))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Opens `url` in the system browser — only a link the server published, and only
/// https (plain http to this machine): [`Client::may_open`].
pub async fn open_link(app: AppHandle, state: State<'_, AppState>, url: String) -> Result<()> {
    if !state.client().await.may_open(&url).await {
        tracing::info!("refused to open a link: not published by the server, or not https");
        return Err(ClientError::InvalidInput("url").into());
    }
    app.opener().open_url(&url, None::<&str>).map_err(|e| {
        tracing::warn!(error = %e, "cannot open a link in the browser");
        AppError::from(ClientError::InvalidInput("url"))
    })
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::phases;

    #[test]
    fn phases_are_milliseconds_since_the_start() {
        let started = SystemTime::UNIX_EPOCH + Duration::from_millis(1_000_000);
        let marks = vec![
            ("navigation".to_owned(), 1_000_412.4),
            ("script\n<b>".to_owned(), 1_000_450.0),
            ("bad".to_owned(), f64::NAN),
        ];
        assert_eq!(phases(&marks, started), "navigation=412 script<b>=450");
        let many: Vec<_> = (0..50).map(|i| (format!("m{i}"), 1_000_000.0)).collect();
        assert_eq!(phases(&many, started).split(' ').count(), 20);
    }
}
