//! The sign-in flow: password, second factor, new-device code, forced change, and the
//! first-time TOTP offer. Each command moves the client's state machine one step.

use latchkey_client::{ClientError, SecondFactor, Step as ClientStep};
use latchkey_proto::{ErrorCode, MfaMethod, Secret};

use tauri::State;

use crate::error::Result;
use crate::state::AppState;
use crate::view::{Step, Strength, TotpSetup};

/// Identifier and password together (one form). Offline when the server cannot be
/// reached and this device may sign the account in offline.
pub async fn sign_in(
    state: State<'_, AppState>,
    identifier: String,
    password: Secret,
    remember: bool,
) -> Result<Step> {
    let mut client = state.client().await;
    if !matches!(
        client.step(),
        ClientStep::Identify { .. } | ClientStep::Password { .. } | ClientStep::ResetDone { .. }
    ) {
        client.back()?;
    }
    client.identify(&identifier).await?;
    Ok(Step::of(&client.sign_in(password, remember).await?)?)
}

pub async fn second_factor(
    state: State<'_, AppState>,
    method: MfaMethod,
    code: Secret,
) -> Result<Step> {
    Ok(Step::of(
        &state.client().await.second_factor(method, code).await?,
    )?)
}

/// The code sent by e-mail or SMS to confirm a device new to the account.
pub async fn device_code(state: State<'_, AppState>, code: Secret) -> Result<Step> {
    Ok(Step::of(&state.client().await.verify_device(code).await?)?)
}

/// The forced change of a temporary or expired password; with a TOTP or a recovery code
/// when the account has two-factor authentication.
pub async fn forced_change(
    state: State<'_, AppState>,
    new_password: Secret,
    totp_code: Option<Secret>,
    recovery_code: Option<Secret>,
) -> Result<Step> {
    let second = SecondFactor::either(totp_code, recovery_code);
    let mut client = state.client().await;
    Ok(Step::of(
        &client.forced_change(new_password, second).await?,
    )?)
}

/// The live strength meter, on every keystroke, with the server's policy and the
/// account's own details as context.
pub async fn password_strength(state: State<'_, AppState>, password: Secret) -> Result<Strength> {
    Ok(state
        .client()
        .await
        .password_strength(password.expose())
        .into())
}

/// TOTP setup (offered after sign-in, or from the account screen): the QR code and key.
/// The server wants the password again: `password` from the account screen; on the
/// offer right after a sign-in, none (the client uses the one just typed).
pub async fn totp_begin(state: State<'_, AppState>, password: Option<Secret>) -> Result<TotpSetup> {
    let mut client = state.client().await;
    match client.setup_totp(password).await? {
        ClientStep::TotpSetup { setup } => Ok(TotpSetup::from(&setup)),
        // The server has no TOTP key configured: the client dropped the offer; say so
        // (the screen's "skip" goes on to the account).
        _ => Err(ClientError::Server(ErrorCode::TotpUnavailable).into()),
    }
}

/// The first code from the authenticator app; answers the 10 recovery codes, shown once.
pub async fn totp_confirm(state: State<'_, AppState>, code: Secret) -> Result<Vec<String>> {
    match state.client().await.confirm_totp(code).await? {
        ClientStep::RecoveryCodes { codes } => {
            Ok(codes.iter().map(|c| c.expose().to_owned()).collect())
        }
        other => Err(crate::error::AppError::wrong_step(other.name())),
    }
}

pub async fn totp_skip(state: State<'_, AppState>) -> Result<Step> {
    Ok(Step::of(&state.client().await.skip_totp()?)?)
}

/// The recovery codes were saved: on to the account.
pub async fn totp_done(state: State<'_, AppState>) -> Result<Step> {
    Ok(Step::of(&state.client().await.recovery_codes_saved()?)?)
}
