//! What the UI receives about the desktop app as the key to office applications (issue
//! 16): a browser sign-in to approve, and the applications signed in through Latchkey.
//! (The launcher's applications are `latchkey_proto::LauncherApp` as they are.)

use latchkey_client::{self as client, ClientError};
use latchkey_proto::{ApprovalView, SignedInApp};
use serde::Serialize;
use ts_rs::TS;

use super::clamp;
use crate::error::AppError;

/// A browser sign-in waiting for this app's answer (`latchkey://approve`): the
/// application, the browser, and the numbers to pick from.
#[derive(Clone, Debug, Serialize, TS)]
pub struct ApprovalPrompt {
    /// The application's name as IT registered it.
    pub client_name: String,
    /// The browser, as its User-Agent names it.
    pub browser: String,
    /// The browser's address as the server saw it.
    pub ip: Option<String>,
    /// The browser reaches the server from this app's address; when not, the UI warns.
    pub same_network: bool,
    pub numbers: Vec<u8>,
    pub expires_in: u32,
    /// The application needs two-step verification and this session has none: no Allow.
    pub needs_two_factor: bool,
}

impl From<ApprovalView> for ApprovalPrompt {
    fn from(v: ApprovalView) -> Self {
        Self {
            client_name: v.client_name,
            browser: v.browser,
            ip: v.ip,
            same_network: v.same_network,
            numbers: v.numbers,
            expires_in: clamp(v.expires_in),
            needs_two_factor: v.needs_two_factor,
        }
    }
}

/// What a `latchkey://approve` link led to: the `deep-link-approve` event, and the
/// answer of `approval_pending` for a link that launched the app.
#[derive(Clone, Debug, Serialize, TS)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum ApprovalEvent {
    /// Waiting for Allow (with a number) or Deny: `approval_decide`.
    Shown { approval: ApprovalPrompt },
    /// The link names another server (`server`, as the link gives it).
    WrongServer { server: String },
    /// Nobody is signed in here.
    NotSignedIn,
    /// Signed in offline; the server cannot be reached.
    Offline,
    /// The request cannot be shown: expired or answered (`approval_invalid`), the
    /// server failed or is out of reach.
    Refused { error: AppError },
}

impl ApprovalEvent {
    pub fn of(outcome: Result<client::ApprovalRequest, ClientError>) -> Self {
        match outcome {
            Ok(client::ApprovalRequest::Shown(view)) => Self::Shown {
                approval: view.into(),
            },
            Ok(client::ApprovalRequest::WrongServer { server }) => Self::WrongServer { server },
            Ok(client::ApprovalRequest::NotSignedIn) => Self::NotSignedIn,
            Ok(client::ApprovalRequest::Offline) => Self::Offline,
            Err(e) => Self::Refused { error: e.into() },
        }
    }
}

/// An application the person signed in to through Latchkey (the account page).
#[derive(Clone, Debug, Serialize, TS)]
pub struct SignedInAppView {
    pub client_id: String,
    pub name: String,
    /// Unix seconds of the first and the latest sign-in.
    pub first_at: u32,
    pub last_at: u32,
    pub scopes: Vec<String>,
}

impl From<SignedInApp> for SignedInAppView {
    fn from(a: SignedInApp) -> Self {
        let seconds = |t: i64| u32::try_from(t.max(0)).unwrap_or(u32::MAX);
        Self {
            client_id: a.client_id,
            name: a.name,
            first_at: seconds(a.first_at),
            last_at: seconds(a.last_at),
            scopes: a.scopes,
        }
    }
}

#[cfg(test)]
mod tests {
    use latchkey_client::{ApprovalRequest, ClientError};
    use latchkey_proto::{ApprovalView, ErrorCode};
    use serde_json::json;

    use super::ApprovalEvent;

    fn view() -> ApprovalView {
        ApprovalView {
            id: "ap_1".into(),
            client_name: "CRM".into(),
            browser: "Web browser (Chrome)".into(),
            ip: None,
            same_network: false,
            numbers: vec![42, 17, 85],
            expires_in: u64::MAX,
            needs_two_factor: false,
        }
    }

    /// The UI gets the request without its id (the client keeps it), and seconds it
    /// can hold in a number.
    #[test]
    fn the_event_is_tagged_and_holds_no_id() {
        let shown = ApprovalEvent::of(Ok(ApprovalRequest::Shown(view())));
        let v = serde_json::to_value(&shown).unwrap();
        assert_eq!(v["outcome"], "shown");
        assert_eq!(v["approval"]["numbers"], json!([42, 17, 85]));
        assert_eq!(v["approval"]["expires_in"], u32::MAX);
        assert!(v["approval"].get("id").is_none());
        let other = ApprovalEvent::of(Ok(ApprovalRequest::WrongServer {
            server: "https://x".into(),
        }));
        assert_eq!(
            serde_json::to_value(&other).unwrap(),
            json!({"outcome": "wrong_server", "server": "https://x"})
        );
        let refused = ApprovalEvent::of(Err(ClientError::Server(ErrorCode::ApprovalInvalid)));
        let v = serde_json::to_value(&refused).unwrap();
        assert_eq!(v["outcome"], "refused");
        assert_eq!(v["error"]["code"], "approval_invalid");
    }
}
