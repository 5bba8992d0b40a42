//! The sign-in state machine's states, as the UI renders them: one screen per variant.
//!
//! ```text
//! Setup ─► Identify ─► Password ─┬─► SecondFactor ─┐
//!             ▲          │       ├─► DeviceCode ───┤
//!             │          │       ├─► ForcedChange ─┤
//!             │          │       └─────────────────┴─► (TotpOffer ─► TotpSetup ─► RecoveryCodes) ─► SignedIn
//!             │          └─(server unreachable, remembered)──► SignedIn { offline }
//!             └── ResetIdentify ─► ResetCode ─► ResetPassword ─► ResetDone  (password reset)
//! ```
//!
//! Errors do not change the step (except where the flow must start over); the UI shows
//! the [`crate::UiError`] on the screen it is on.

use latchkey_proto::{Channel, MfaMethod, PasswordChangeReason, Secret, User};
use serde::{Deserialize, Serialize};

use crate::error::Code;
use crate::totp::TotpSetup;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Step {
    /// No server yet: ask for its address (first run).
    Setup,
    /// Ask who is signing in; `identifier` pre-fills the last remembered account.
    Identify { identifier: Option<String> },
    /// Ask for the password. `offline_possible`: this device may sign this account in
    /// offline should the server be unreachable.
    Password {
        identifier: String,
        offline_possible: bool,
    },
    /// A TOTP code or a recovery code.
    SecondFactor { methods: Vec<MfaMethod> },
    /// A code sent by e-mail or SMS because this device is new to the account.
    DeviceCode {
        destination: String,
        channel: Channel,
        expires_in: u64,
    },
    /// The forced change: the password must be changed now (temporary or expired);
    /// with a second factor when `mfa_methods` is not empty.
    ForcedChange {
        reason: PasswordChangeReason,
        mfa_methods: Vec<MfaMethod>,
    },
    /// Signed in without two-factor authentication: offer to set it up (skippable).
    TotpOffer,
    /// Scan the QR code or type the key, then confirm with a first code.
    TotpSetup { setup: TotpSetup },
    /// The recovery codes, shown once: save or print them.
    RecoveryCodes { codes: Vec<Secret> },
    /// Password reset: who, and where to send the reset code.
    ResetIdentify {
        identifier: Option<String>,
        channels: Vec<Channel>,
    },
    /// Password reset: type the reset code that was sent.
    ResetCode { resend_after: u64, expires_in: u64 },
    /// Password reset: the new password, and a second factor if the account has one.
    /// `account_hint`: the account a reset link resets, masked (`z***@corp.cn`); `None`
    /// after a code, where the person typed the identifier themselves.
    ResetPassword {
        mfa_methods: Vec<MfaMethod>,
        account_hint: Option<String>,
    },
    /// The password was reset: sign in with the new one.
    ResetDone { identifier: String },
    /// Signed in. `offline`: opened with the cached verifier, the server unreachable
    /// (`offline_reason` says why). `cannot_remember`: "remember me" was asked for but
    /// there is no keychain to keep it in — none at sign-in, or it went away during the
    /// session (then `remembered` stays true, and this turns false again once the
    /// keychain is back and holds the current refresh token).
    SignedIn {
        user: User,
        offline: bool,
        offline_reason: Option<Code>,
        remembered: bool,
        cannot_remember: bool,
    },
}

impl Step {
    /// The snake_case name of the step (its `step` tag).
    pub fn name(&self) -> &'static str {
        match self {
            Self::Setup => "setup",
            Self::Identify { .. } => "identify",
            Self::Password { .. } => "password",
            Self::SecondFactor { .. } => "second_factor",
            Self::DeviceCode { .. } => "device_code",
            Self::ForcedChange { .. } => "forced_change",
            Self::TotpOffer => "totp_offer",
            Self::TotpSetup { .. } => "totp_setup",
            Self::RecoveryCodes { .. } => "recovery_codes",
            Self::ResetIdentify { .. } => "reset_identify",
            Self::ResetCode { .. } => "reset_code",
            Self::ResetPassword { .. } => "reset_password",
            Self::ResetDone { .. } => "reset_done",
            Self::SignedIn { .. } => "signed_in",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_is_tagged_by_step() {
        let s = Step::Password {
            identifier: "zhang@corp.cn".into(),
            offline_possible: true,
        };
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(
            v,
            json!({"step": "password", "identifier": "zhang@corp.cn", "offline_possible": true})
        );
        assert_eq!(v["step"], s.name());
        let codes = Step::RecoveryCodes {
            codes: vec!["abcd-efgh".into()],
        };
        assert!(!format!("{codes:?}").contains("abcd"));
        assert_eq!(
            serde_json::to_value(&codes).unwrap()["codes"][0],
            "abcd-efgh"
        );
    }
}
