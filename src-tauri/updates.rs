//! Signed in-app updates (issue 17), with `tauri-plugin-updater`.
//!
//! The app asks the server it is configured for (`GET /v1/client/update/{target}/
//! {arch}/{current_version}?bundle_type=…`, the releases IT publishes with `latchkey-server
//! release add`) at start and every [`CHECK_EVERY`]. A newer release is offered to the UI
//! ([`UpdateOffer`]): a quiet banner, or "Update now" when the server requires it. To
//! install, the plugin downloads the artifact and checks its minisign signature against
//! the public key built into the app (`plugins.updater.pubkey` in `tauri.conf.json`):
//! an artifact that does not match is refused ([`ClientError::UpdateSignatureInvalid`]) and
//! nothing is written. Then it replaces the app (Windows: runs the installer; Linux: the
//! AppImage, or the executable itself when it runs unbundled) and the app restarts.
//!
//! A `.deb` or `.rpm` is not replaced by the app: the plugin would need root (pkexec or
//! sudo), which office staff do not have, and it would fight the package manager IT
//! deploys with. Those installations are told that their package manager updates them
//! ([`InstallBy::PackageManager`]); the server's minimum version still applies.
//!
//! The endpoint may be plain http only because the server's URL may (to this machine:
//! the client refuses any other http server), so the plugin's own https rule is relaxed
//! in `tauri.conf.json` and the download URL is checked here the same way.

use std::path::PathBuf;
use std::time::Duration;

use latchkey_client::net::is_safe_link;
use latchkey_client::ClientError;
use serde::Serialize;
use tauri::utils::config::BundleType;
use tauri::{AppHandle, Emitter, Manager, Runtime, Url};
use tauri_plugin_updater::{Update, UpdaterExt};
use ts_rs::TS;

use crate::state::AppState;

/// How often a running app asks for a newer release.
pub const CHECK_EVERY: Duration = Duration::from_secs(4 * 60 * 60);

/// How soon a check that failed is tried again.
pub const RETRY_EVERY: Duration = Duration::from_secs(15 * 60);

/// Longest wait for the manifest or one piece of the download.
const TIMEOUT: Duration = Duration::from_secs(60);

/// The public half of the test-only key in `tests/updates/` (its secret half is in the
/// repository). A release build carrying it would install anything signed with a key
/// everyone has: it checks for no update at all ([`check`]). Release builds replace
/// the key (docs/updates.md).
const TEST_ONLY_PUBKEY: &str = "dW50cnVzdGVkIGNvbW1lbnQ6IG1pbmlzaWduIHB1YmxpYyBrZXk6IEExMkY2OEU2RDUyQzMwNTgKUldSWU1DelY1bWd2b2YrUVhYNktoOGFsTDdVbUtsTy9xZnFtUDBnbThxeXJsY1gzaFQrbzR0TDUK";

/// The update route under the server's URL; the plugin fills in the `{{…}}`.
const ROUTE: &str =
    "v1/client/update/{{target}}/{{arch}}/{{current_version}}?bundle_type={{bundle_type}}";

/// A newer release, as the UI shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, TS)]
pub struct UpdateOffer {
    pub version: String,
    /// What changed, as IT wrote it (shown as plain text).
    pub notes: Option<String>,
    /// IT requires it: this version is the server's minimum.
    pub required: bool,
    /// Who installs it on this computer.
    pub install_by: InstallBy,
}

/// Who replaces this installation with a newer one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum InstallBy {
    /// The app itself ("Update now").
    App,
    /// The system's package manager (the app came as a .deb or .rpm).
    PackageManager,
}

/// How this installation is updated, from the bundle type the bundler wrote into the
/// executable.
pub fn install_by() -> InstallBy {
    match tauri::utils::platform::bundle_type() {
        Some(BundleType::Deb | BundleType::Rpm) => InstallBy::PackageManager,
        _ => InstallBy::App,
    }
}

/// The manifest URL for the server at `server` (its base URL).
pub fn endpoint(server: &str) -> Result<Url, ClientError> {
    let base = if server.ends_with('/') {
        server.to_owned()
    } else {
        format!("{server}/")
    };
    Url::parse(&base)
        .and_then(|b| b.join(ROUTE))
        .map_err(|_| ClientError::InvalidServerUrl)
}

/// Asks the server at `server` for a release newer than this app. `executable` is the
/// file an install replaces (default: the running executable, or `$APPIMAGE`).
///
/// # Errors
///
/// `update_failed` when the server cannot be asked or answers nonsense.
pub async fn check<R: Runtime>(
    app: &AppHandle<R>,
    server: &str,
    executable: Option<PathBuf>,
) -> Result<Option<Update>, ClientError> {
    if !cfg!(debug_assertions) && built_in_key(app).as_deref() == Some(TEST_ONLY_PUBKEY) {
        tracing::warn!("this build carries the test-only update key: no updates (docs/updates.md)");
        return Err(ClientError::UpdateUnavailable("test-only update key"));
    }
    let mut builder = app
        .updater_builder()
        .endpoints(vec![endpoint(server)?])
        .map_err(|e| failed("updater endpoint", &e))?
        .timeout(TIMEOUT);
    if let Some(path) = executable {
        builder = builder.executable_path(path);
    }
    let updater = builder.build().map_err(|e| failed("updater", &e))?;
    updater
        .check()
        .await
        .map_err(|e| failed("update check", &e))
}

/// The public key the app checks updates against (`plugins.updater.pubkey`).
fn built_in_key<R: Runtime>(app: &AppHandle<R>) -> Option<String> {
    app.config()
        .plugins
        .0
        .get("updater")?
        .get("pubkey")?
        .as_str()
        .map(str::to_owned)
}

/// Asks the configured server for a newer release, keeps what it found for "Update
/// now", and tells the UI (`update-available`) when there is one. Nothing to ask before
/// a server is configured.
pub async fn check_now(
    app: &AppHandle,
    state: &AppState,
) -> Result<Option<UpdateOffer>, ClientError> {
    let Some(server) = server_of(state).await else {
        return Ok(None);
    };
    let found = check(app, &server, None).await?;
    let offer = found.as_ref().map(offer);
    state.set_update(found);
    if let Some(o) = &offer {
        tracing::info!(version = %o.version, required = o.required, "an update is available");
        let _ = app.emit("update-available", o);
    }
    Ok(offer)
}

/// The configured server's URL, if there is one yet.
async fn server_of(state: &AppState) -> Option<String> {
    state.client().await.server().map(|c| c.url.to_string())
}

/// Checks at start and every [`CHECK_EVERY`] while the app runs; before a server is
/// configured (first-run setup) every minute, and after a failed check (the server was
/// out of reach) again in [`RETRY_EVERY`].
pub async fn watch(app: AppHandle) {
    loop {
        let state = app.state::<AppState>();
        let wait = if server_of(&state).await.is_none() {
            Duration::from_secs(60)
        } else {
            match check_now(&app, &state).await {
                Ok(_) => CHECK_EVERY,
                Err(e) => {
                    tracing::info!(code = ?e.code(), error = %e, "update check failed; trying again later");
                    RETRY_EVERY
                }
            }
        };
        tokio::time::sleep(wait).await;
    }
}

/// What the UI shows of `update`.
pub fn offer(update: &Update) -> UpdateOffer {
    UpdateOffer {
        version: update.version.clone(),
        notes: update.body.clone().filter(|n| !n.trim().is_empty()),
        required: update
            .raw_json
            .get("required")
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(false),
        install_by: install_by(),
    }
}

/// Downloads `update`, checks its signature against the built-in public key and
/// installs it; `progress` gets the bytes downloaded so far and the total when known.
/// The caller restarts the app.
///
/// # Errors
///
/// `update_signature_invalid` (nothing was installed), `update_unavailable` (a .deb or
/// .rpm, or an artifact not at an https URL), `update_failed`.
pub async fn install(
    update: &Update,
    mut progress: impl FnMut(u64, Option<u64>),
) -> Result<(), ClientError> {
    if install_by() == InstallBy::PackageManager {
        return Err(ClientError::UpdateUnavailable(
            "installed by the package manager",
        ));
    }
    if !is_safe_link(update.download_url.as_str()) {
        tracing::warn!("update refused: its download URL is not https");
        return Err(ClientError::UpdateUnavailable("download URL not https"));
    }
    let mut done: u64 = 0;
    let bytes = update
        .download(
            |chunk, total| {
                done = done.saturating_add(u64::try_from(chunk).unwrap_or(u64::MAX));
                progress(done, total);
            },
            || {},
        )
        .await
        .map_err(|e| refused(&update.version, &e))?;
    update
        .install(bytes)
        .map_err(|e| failed("update install", &e))?;
    tracing::info!(version = %update.version, "update installed");
    Ok(())
}

/// A download's failure: the signature's own code when it is the signature.
fn refused(version: &str, e: &tauri_plugin_updater::Error) -> ClientError {
    use tauri_plugin_updater::Error as E;
    match e {
        E::Minisign(_)
        | E::Base64(_)
        | E::SignatureUtf8(_)
        | E::SignedVersionMismatch { .. }
        | E::MissingSignedVersion => {
            tracing::warn!(version, error = %e, "update refused: its signature does not match the app's key");
            ClientError::UpdateSignatureInvalid
        }
        other => failed("update download", other),
    }
}

fn failed(what: &str, e: &tauri_plugin_updater::Error) -> ClientError {
    ClientError::UpdateFailed(format!("{what}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_test_only_key_is_the_one_in_tests_updates() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/updates/test-only-updater.key.pub"
        );
        let on_disk = std::fs::read_to_string(path).unwrap();
        assert_eq!(on_disk.trim(), TEST_ONLY_PUBKEY);
    }

    #[test]
    fn the_endpoint_is_under_the_servers_url() {
        let at = |s: &str| endpoint(s).unwrap().to_string();
        let want = "https://id.corp.cn/v1/client/update/%7B%7Btarget%7D%7D/%7B%7Barch%7D%7D/%7B%7Bcurrent_version%7D%7D?bundle_type={{bundle_type}}";
        assert_eq!(at("https://id.corp.cn"), want);
        assert_eq!(at("https://id.corp.cn/"), want);
        assert!(at("https://corp.cn/latchkey")
            .starts_with("https://corp.cn/latchkey/v1/client/update/"));
    }
}
