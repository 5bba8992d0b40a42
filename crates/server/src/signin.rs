//! The last step of every sign-in — after the password, and any second factor or
//! device code: remember the device, open the session, and tell the user when the
//! device is new.

use latchkey_proto::{Device, ErrorCode, Secret};

use crate::challenge;
use crate::delivery::MessageKind;
use crate::devices;
use crate::error::{ApiError, ApiResult};
use crate::notify;
use crate::session::{self, Issued};
use crate::state::AppState;
use crate::users::UserRow;

/// Opens a session for `user` on `device`. With `consume`, the flow's single-use token
/// (`mfa_token`, device `challenge_token`) is used up in the same transaction, so two
/// requests with one token never both get a session.
pub async fn complete(
    app: &AppState,
    user: &UserRow,
    device: &Device,
    ip: Option<&str>,
    now: i64,
    consume: Option<(&str, &Secret)>,
) -> ApiResult<Issued> {
    finish(app, user, device, ip, now, consume, true)
        .await?
        .ok_or_else(|| ApiError::internal("the sign-in opened no session"))
}

/// A device code was right, but the sign-in cannot end in a session yet (the password
/// must be changed first): as [`complete`], without the session.
pub async fn verify_device_only(
    app: &AppState,
    user: &UserRow,
    device: &Device,
    ip: Option<&str>,
    now: i64,
    consume: (&str, &Secret),
) -> ApiResult<()> {
    finish(app, user, device, ip, now, Some(consume), false)
        .await
        .map(drop)
}

/// The token used up, the device remembered and, with `open_session`, the session
/// created, in one transaction; then the notice when the device is new.
async fn finish(
    app: &AppState,
    user: &UserRow,
    device: &Device,
    ip: Option<&str>,
    now: i64,
    consume: Option<(&str, &Secret)>,
    open_session: bool,
) -> ApiResult<Option<Issued>> {
    let mut tx = app.db.begin().await?;
    if let Some((kind, token)) = consume {
        if !challenge::consume(&mut tx, kind, token, now).await? {
            return Err(ApiError::new(ErrorCode::TokenInvalid));
        }
    }
    let new_device = devices::remember(&mut tx, &user.id, device, now).await?;
    let issued = if open_session {
        Some(session::create(&mut tx, &app.config().sessions, &user.id, device, ip, now).await?)
    } else {
        None
    };
    tx.commit().await?;
    if new_device {
        let name = if device.name.trim().is_empty() {
            device.platform.clone()
        } else {
            device.name.clone()
        };
        notify::notice(
            app,
            user,
            MessageKind::NewDeviceSignIn {
                device_name: name,
                ip: ip.map(str::to_owned),
                at: now,
            },
        )
        .await;
    }
    Ok(issued)
}
