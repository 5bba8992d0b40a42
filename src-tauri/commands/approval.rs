//! Approving a browser sign-in that a `latchkey://approve` link asked about (the link
//! itself is handled by the shell, `lib.rs`, which tells the UI with the
//! `deep-link-approve` event): the person's answer, and the link that launched the app.

use tauri::State;

use crate::error::Result;
use crate::state::AppState;
use crate::view::ApprovalEvent;

/// The approval link that launched the app, once the UI listens (taken once): what it
/// leads to, as the `deep-link-approve` event would have said; `None` without one.
pub async fn approval_pending(state: State<'_, AppState>) -> Result<Option<ApprovalEvent>> {
    let Some(link) = state.take_approval_link() else {
        return Ok(None);
    };
    let outcome = state.client().await.open_approval(&link).await;
    Ok(Some(ApprovalEvent::of(outcome)))
}

/// Allow, with the number the person picked (one of those shown), or deny.
pub async fn approval_decide(
    state: State<'_, AppState>,
    allow: bool,
    number: Option<u8>,
) -> Result<()> {
    Ok(state.client().await.decide_approval(allow, number).await?)
}

/// The person left the request unanswered (the browser then times out).
pub async fn approval_dismiss(state: State<'_, AppState>) -> Result<()> {
    state.client().await.dismiss_approval();
    Ok(())
}
