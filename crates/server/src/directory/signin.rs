//! A sign-in and a refresh of a directory account: the entry looked up with the
//! service account, the password checked by a bind, the linked account refreshed; at
//! a refresh, whether the directory still lets the account in.
//!
//! Called by `http/auth.rs` after Latchkey's lockout has reserved the try, so nothing
//! here runs for a request Latchkey refuses.

use latchkey_proto::{Device, Secret};

use super::{accounts, api_error, Directory, Typed};
use crate::activity;
use crate::error::ApiResult;
use crate::hasher::Verified;
use crate::identifier::Identifier;
use crate::session;
use crate::state::AppState;
use crate::users::UserRow;

/// Checks the password of a directory account (see [`crate::directory`]): the entry
/// is found with the service account (by its stable id when the account is linked,
/// else by what was typed), then the password by binding as the entry. An entry that
/// is disabled or not in the allowed group is refused like a wrong password without a
/// bind, and the sessions of its account end. A right password links (or refreshes)
/// the account; `Err` is `directory_unavailable`, and nothing was judged.
#[allow(clippy::too_many_arguments)]
pub async fn check(
    app: &AppState,
    dir: &Directory,
    identifier: &Identifier,
    user: Option<UserRow>,
    password: &Secret,
    device: &Device,
    ip: Option<&str>,
    now: i64,
) -> ApiResult<(Verified, Option<UserRow>)> {
    let wrong = |user| Ok((Verified::default(), user));
    let looked_up = match user.as_ref().and_then(|u| u.directory_id.as_deref()) {
        Some(id) => dir.find_by_id(id).await,
        None => dir.find(typed_kind(identifier), identifier.as_str()).await,
    };
    let found = match looked_up.map_err(api_error)? {
        Some(found) => found,
        None => return wrong(user),
    };
    if !accounts::may_sign_in(&found) {
        if let Some(linked) = accounts::by_directory_id(&app.db, &found.entry.id).await? {
            let mut conn = app.db.acquire().await?;
            let ended = session::revoke_all(&mut conn, &linked.id, None, now).await?;
            drop(conn);
            let kind = "login";
            activity::record(
                &app.db,
                Some(&linked.id),
                kind,
                "account_disabled",
                device,
                ip,
                now,
            )
            .await?;
            tracing::info!(user = %linked.id, sessions = ended, "refused by the directory: disabled or not allowed");
        }
        return wrong(user);
    }
    if !dir
        .verify(&found.entry.dn, password)
        .await
        .map_err(api_error)?
    {
        return wrong(user);
    }
    let linked = accounts::link(&app.db, &found, &app.config().default_region, now).await?;
    Ok((
        Verified {
            ok: true,
            needs_rehash: false,
        },
        Some(linked),
    ))
}

/// A directory account's entry, read again at every refresh so that a leaver's
/// sessions end within one access-token lifetime: `None` when the entry is gone,
/// disabled or out of the allowed group (the profile is refreshed otherwise). While the
/// directory cannot be used the session goes on (logged): the directory being down
/// must not sign everyone out.
pub async fn still_allowed(app: &AppState, user: UserRow, now: i64) -> ApiResult<Option<UserRow>> {
    let (Some(dir), Some(id)) = (&app.directory, user.directory_id.as_deref()) else {
        return Ok(Some(user));
    };
    match dir.find_by_id(id).await {
        Ok(Some(found)) if accounts::may_sign_in(&found) => Ok(Some(
            accounts::link(&app.db, &found, &app.config().default_region, now).await?,
        )),
        Ok(_) => {
            tracing::info!(user = %user.id, "the directory no longer lets this account sign in; its sessions end");
            Ok(None)
        }
        Err(e) => {
            tracing::warn!(user = %user.id, error = %e, "refresh without the directory's word: it cannot be used");
            Ok(Some(user))
        }
    }
}

/// Which directory filter what was typed goes to.
fn typed_kind(identifier: &Identifier) -> Typed {
    match identifier {
        Identifier::Email(_) => Typed::Email,
        Identifier::Phone(_) => Typed::Phone,
        Identifier::Username(_) => Typed::Username,
    }
}
