//! Password reset: the reset code by e-mail or SMS, then the new password (with a second
//! factor when the account has one). The e-mail's link enters at the new password.

use latchkey_client::{SecondFactor, Step as ClientStep};
use latchkey_proto::{Channel, Secret};
use tauri::State;

use crate::error::Result;
use crate::state::AppState;
use crate::view::{ResetCheck, ResetStarted};

pub async fn reset_start(
    state: State<'_, AppState>,
    identifier: String,
    channel: Option<Channel>,
    locale: Option<String>,
) -> Result<ResetStarted> {
    let mut client = state.client().await;
    if !matches!(client.step(), ClientStep::ResetIdentify { .. }) {
        client.begin_reset()?;
    }
    client.set_locale(locale);
    let step = client.send_reset_code(&identifier, channel).await?;
    Ok(ResetStarted::of(&step)?)
}

pub async fn reset_resend(state: State<'_, AppState>) -> Result<ResetStarted> {
    Ok(ResetStarted::of(
        &state.client().await.resend_reset_code().await?,
    )?)
}

pub async fn reset_verify(state: State<'_, AppState>, code: Secret) -> Result<ResetCheck> {
    Ok(ResetCheck::of(
        &state.client().await.verify_reset_code(code).await?,
    )?)
}

/// Sets the new password; every session of the account is signed out by the server.
pub async fn reset_complete(
    state: State<'_, AppState>,
    new_password: Secret,
    totp_code: Option<Secret>,
    recovery_code: Option<Secret>,
) -> Result<()> {
    let second = SecondFactor::either(totp_code, recovery_code);
    state
        .client()
        .await
        .reset_password(new_password, second)
        .await?;
    Ok(())
}

/// The answer to a reset link that arrived in the middle of a sign-in: open it (what
/// was under way is dropped) or keep signing in (the link is forgotten).
pub async fn reset_link_answer(state: State<'_, AppState>, open: bool) -> Result<()> {
    state.client().await.answer_reset_link(open)?;
    Ok(())
}
