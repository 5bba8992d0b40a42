//! The signed-in account: profile, password, two-factor, devices, activity, sign out.

use latchkey_proto::Secret;
use tauri::State;

use crate::error::Result;
use crate::state::AppState;
use crate::view::{AccountDetails, Step};

#[tauri::command]
pub async fn account_details(state: State<'_, AppState>) -> Result<AccountDetails> {
    let mut client = state.client().await;
    let profile = client.profile().await?;
    let sessions = client.sessions().await?.sessions;
    let activity = client.activity().await?.entries;
    Ok(AccountDetails::of(profile, sessions, activity))
}

#[tauri::command]
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

#[tauri::command]
pub async fn totp_disable(
    state: State<'_, AppState>,
    password: Secret,
    code: Secret,
) -> Result<()> {
    Ok(state.client().await.disable_totp(password, code).await?)
}

/// New recovery codes (the old ones stop working); shown once.
#[tauri::command]
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

#[tauri::command]
pub async fn session_revoke(state: State<'_, AppState>, id: String) -> Result<()> {
    Ok(state.client().await.revoke_session(&id).await?)
}

/// Signs out; "remember me" stays (the next launch asks for the password again only
/// if the account was not remembered).
#[tauri::command]
pub async fn sign_out(state: State<'_, AppState>) -> Result<Step> {
    Ok(Step::of(&state.client().await.sign_out().await?)?)
}

/// Signs out on every device, this one too; the server must confirm.
#[tauri::command]
pub async fn sign_out_everywhere(state: State<'_, AppState>) -> Result<Step> {
    Ok(Step::of(
        &state.client().await.sign_out_everywhere().await?,
    )?)
}

/// Signs out and removes everything this device keeps for the server.
#[tauri::command]
pub async fn forget_device(state: State<'_, AppState>) -> Result<Step> {
    Ok(Step::of(&state.client().await.forget_device().await?)?)
}
