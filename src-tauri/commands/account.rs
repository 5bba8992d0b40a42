//! The signed-in account: profile, password, two-factor, devices, activity, sign out.

use latchkey_client::{codes_file, Step as ClientStep};
use latchkey_proto::Secret;
use tauri::{AppHandle, State, WebviewWindow};
use tauri_plugin_dialog::DialogExt;

use crate::error::Result;
use crate::state::AppState;
use crate::tray;
use crate::view::{AccountDetails, CodesSaved, Step};

pub async fn account_details(state: State<'_, AppState>) -> Result<AccountDetails> {
    let mut client = state.client().await;
    let profile = client.profile().await?;
    let sessions = client.sessions().await?.sessions;
    let activity = client.activity().await?.entries;
    // Each call tried the keychain again if it had gone away.
    let keychain_available = !matches!(
        client.step(),
        ClientStep::SignedIn {
            cannot_remember: true,
            ..
        }
    );
    let warning_days = client
        .meta()
        .map_or(14, |m| m.password_policy.expiry_warning_days);
    Ok(AccountDetails::of(
        profile,
        sessions,
        activity,
        keychain_available,
        warning_days,
    ))
}

pub async fn change_password(
    state: State<'_, AppState>,
    current_password: Secret,
    new_password: Secret,
) -> Result<()> {
    let mut client = state.client().await;
    Ok(client
        .change_password(current_password, new_password)
        .await?)
}

pub async fn totp_disable(
    state: State<'_, AppState>,
    password: Secret,
    code: Secret,
) -> Result<()> {
    Ok(state.client().await.disable_totp(password, code).await?)
}

/// Saves the recovery codes on screen (`contents`: the page's text of them) to a file
/// the person picks in the OS save dialog (`title`: in the UI's language); "saved"
/// only once the file is written.
pub async fn recovery_codes_save(
    window: WebviewWindow,
    contents: Secret,
    title: String,
) -> Result<CodesSaved> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let dialog = window.dialog().file().set_parent(&window).set_title(title);
    let dialog = dialog
        .set_file_name(codes_file::FILE_NAME)
        .add_filter("Text", &["txt"]);
    dialog.save_file(move |path| drop(tx.send(path)));
    let Some(path) = rx.await.ok().flatten().and_then(|p| p.into_path().ok()) else {
        return Ok(CodesSaved::Cancelled);
    };
    codes_file::save(&path, &contents)?;
    let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    Ok(CodesSaved::Saved {
        file_name: file_name.unwrap_or_default(),
    })
}

/// New recovery codes (the old ones stop working); shown once.
pub async fn recovery_codes_regenerate(
    state: State<'_, AppState>,
    password: Secret,
) -> Result<Vec<String>> {
    let codes = state
        .client()
        .await
        .regenerate_recovery_codes(password)
        .await?;
    Ok(codes.iter().map(|c| c.expose().to_owned()).collect())
}

pub async fn session_revoke(state: State<'_, AppState>, id: String) -> Result<()> {
    Ok(state.client().await.revoke_session(&id).await?)
}

/// Signs out; "remember me" stays (the next launch asks for the password again only
/// if the account was not remembered).
pub async fn sign_out(app: AppHandle, state: State<'_, AppState>) -> Result<Step> {
    let step = state.client().await.sign_out().await?;
    tray::show_apps(&app, &[]);
    Ok(Step::of(&step)?)
}

/// Signs out on every device, this one too; the server must confirm.
pub async fn sign_out_everywhere(app: AppHandle, state: State<'_, AppState>) -> Result<Step> {
    let step = state.client().await.sign_out_everywhere().await?;
    tray::show_apps(&app, &[]);
    Ok(Step::of(&step)?)
}

/// Signs out and removes everything this device keeps for the server.
pub async fn forget_device(app: AppHandle, state: State<'_, AppState>) -> Result<Step> {
    let step = state.client().await.forget_device().await?;
    tray::show_apps(&app, &[]);
    Ok(Step::of(&step)?)
}
