//! What the UI receives: the client core's states and records reshaped for the screens,
//! without anything secret the screen does not show. Each type derives `ts_rs::TS`; the
//! files in `ui/src/bindings/` are generated from them (see the `bindings` test), so
//! the UI and these types cannot drift apart.

use latchkey_client::{self as client, totp, ClientError};
use latchkey_proto::{
    ActivityEntry, Meta, MfaMethod, PasswordReason, PasswordSuggestion, Profile, SessionInfo, User,
};
use serde::Serialize;
use ts_rs::TS;

use crate::error::AppError;

mod approval;
pub use approval::{ApprovalEvent, SignedInAppView};

/// The screen to show, tagged by `step`.
#[derive(Clone, Debug, Serialize, TS)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Step {
    ServerSetup {
        suggested_url: Option<String>,
    },
    SignIn {
        identifier: Option<String>,
        remember: bool,
    },
    SecondFactor {
        methods: Vec<MfaMethod>,
    },
    DeviceCode {
        destination: String,
        channel: String,
        expires_in: u32,
    },
    /// `methods`: the second factors the change also needs (none without 2FA).
    ForcedChange {
        reason: String,
        methods: Vec<MfaMethod>,
    },
    OfferTotp,
    /// Password reset, opened from the e-mail's `latchkey://reset?token=…` link: the
    /// new password (with a second factor when `methods` is not empty) of the account
    /// `account_hint` names, masked.
    ResetPassword {
        methods: Vec<MfaMethod>,
        account_hint: Option<String>,
    },
    SignedIn {
        account: AccountSummary,
        offline: bool,
        remembered: bool,
        keychain_available: bool,
    },
}

impl Step {
    /// The screen for the client's step. Steps that only a dedicated command returns
    /// (TOTP setup, recovery codes, password reset) are not screens of their own here.
    pub fn of(step: &client::Step) -> Result<Self, ClientError> {
        Ok(match step {
            client::Step::Setup => Self::ServerSetup {
                suggested_url: None,
            },
            client::Step::Identify { identifier } => Self::SignIn {
                identifier: identifier.clone(),
                remember: true,
            },
            client::Step::Password { identifier, .. } | client::Step::ResetDone { identifier } => {
                Self::SignIn {
                    identifier: Some(identifier.clone()),
                    remember: true,
                }
            }
            client::Step::SecondFactor { methods } => Self::SecondFactor {
                methods: methods.clone(),
            },
            client::Step::DeviceCode {
                destination,
                channel,
                expires_in,
            } => Self::DeviceCode {
                destination: destination.clone(),
                channel: name(channel),
                expires_in: clamp(*expires_in),
            },
            client::Step::ForcedChange {
                reason,
                mfa_methods,
            } => Self::ForcedChange {
                reason: name(reason),
                methods: mfa_methods.clone(),
            },
            client::Step::TotpOffer => Self::OfferTotp,
            client::Step::ResetPassword {
                mfa_methods,
                account_hint,
            } => Self::ResetPassword {
                methods: mfa_methods.clone(),
                account_hint: account_hint.clone(),
            },
            client::Step::SignedIn {
                user,
                offline,
                remembered,
                cannot_remember,
                ..
            } => Self::SignedIn {
                account: AccountSummary::of(user),
                offline: *offline,
                remembered: *remembered,
                keychain_available: !*cannot_remember,
            },
            other => return Err(ClientError::WrongStep(other.name())),
        })
    }
}

/// The snake_case wire name of a serde enum value (`email`, `temporary`, …).
fn name<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

/// Seconds for the UI; a TS `number` holds any `u32` exactly.
pub(crate) fn clamp(seconds: u64) -> u32 {
    u32::try_from(seconds).unwrap_or(u32::MAX)
}

#[derive(Clone, Debug, Serialize, TS)]
pub struct AccountSummary {
    pub display_name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub username: Option<String>,
    pub organisation: Option<String>,
    pub mfa_enabled: bool,
}

impl AccountSummary {
    pub fn of(user: &User) -> Self {
        let display_name = [&user.name, &user.username, &user.email, &user.phone]
            .into_iter()
            .flatten()
            .find(|s| !s.trim().is_empty())
            .cloned()
            .unwrap_or_default();
        Self {
            display_name,
            email: user.email.clone(),
            phone: user.phone.clone(),
            username: user.username.clone(),
            organisation: user.organisation.clone(),
            mfa_enabled: user.mfa_enabled,
        }
    }
}

#[derive(Clone, Debug, Serialize, TS)]
pub struct Support {
    pub phone: Option<String>,
    pub email: Option<String>,
    pub url: Option<String>,
}

/// The server as the sign-in screens describe it.
#[derive(Clone, Debug, Serialize, TS)]
pub struct ServerInfo {
    pub url: String,
    pub server_name: String,
    pub support: Support,
    pub min_length: u32,
    pub max_length: u32,
    pub recovery_channels: Vec<String>,
    pub offline_days: u32,
    /// Chosen by IT (managed settings with `lock_server`, `latchkey.toml` or
    /// `LATCHKEY_SERVER`): the UI offers no "change server".
    pub provisioned: bool,
}

impl ServerInfo {
    pub fn of(url: &str, meta: &Meta, provisioned: bool) -> Self {
        Self {
            url: url.to_owned(),
            server_name: meta.server_name.clone(),
            support: Support {
                phone: meta.support.phone.clone(),
                email: meta.support.email.clone(),
                url: meta.support.url.clone(),
            },
            min_length: meta.password_policy.min_length,
            max_length: meta.password_policy.max_length,
            recovery_channels: meta.recovery_channels.iter().map(name).collect(),
            offline_days: meta.offline.days,
            provisioned,
        }
    }

    /// The configured server with its cached meta, if both are known.
    pub fn current(client: &client::Client) -> Option<Self> {
        let choice = client.server()?;
        let meta = client.meta()?;
        let provisioned = !choice.source.changeable();
        Some(Self::of(choice.url.as_str(), meta, provisioned))
    }
}

/// What `recovery_codes_save` answers: the file was written (its name, for the
/// message), or the person closed the save dialog without choosing one.
#[derive(Clone, Debug, Serialize, TS)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum CodesSaved {
    Saved { file_name: String },
    Cancelled,
}

/// What `app_start` and `server_save` answer.
#[derive(Clone, Debug, Serialize, TS)]
pub struct Start {
    pub server: Option<ServerInfo>,
    pub step: Step,
    /// The UI's language when IT's managed settings force one (`en`, `zh-CN`): the UI
    /// uses it and offers no language switch.
    pub language: Option<String>,
    /// `false` when IT's managed settings turned offline sign-in off on this computer.
    pub offline_signin: bool,
}

/// The live strength meter's reading.
#[derive(Clone, Debug, Serialize, TS)]
pub struct Strength {
    pub score: u8,
    pub accepted: bool,
    pub too_long: bool,
    pub reasons: Vec<PasswordReason>,
    pub suggestions: Vec<PasswordSuggestion>,
}

impl From<client::strength::Strength> for Strength {
    fn from(s: client::strength::Strength) -> Self {
        Self {
            score: s.verdict.score,
            accepted: s.verdict.accepted,
            too_long: s.verdict.reasons.contains(&PasswordReason::TooLong),
            reasons: s.verdict.reasons,
            suggestions: s.verdict.suggestions,
        }
    }
}

/// The TOTP setup screen: the QR code drawn here, the key grouped for typing.
#[derive(Clone, Debug, Serialize, TS)]
pub struct TotpSetup {
    pub qr_svg: String,
    pub secret_groups: Vec<String>,
    pub issuer: String,
    pub account: String,
}

impl From<&totp::TotpSetup> for TotpSetup {
    fn from(s: &totp::TotpSetup) -> Self {
        Self {
            qr_svg: s.qr_svg.expose().to_owned(),
            secret_groups: s
                .secret_groups
                .expose()
                .split_whitespace()
                .map(str::to_owned)
                .collect(),
            issuer: s.issuer.clone(),
            account: s.account.clone(),
        }
    }
}

#[derive(Clone, Debug, Serialize, TS)]
pub struct ResetStarted {
    pub resend_after: u32,
    pub expires_in: u32,
}

impl ResetStarted {
    pub fn of(step: &client::Step) -> Result<Self, ClientError> {
        match step {
            client::Step::ResetCode {
                resend_after,
                expires_in,
            } => Ok(Self {
                resend_after: clamp(*resend_after),
                expires_in: clamp(*expires_in),
            }),
            other => Err(ClientError::WrongStep(other.name())),
        }
    }
}

/// The `deep-link-reset` event: a `latchkey://reset?token=…` link opened while the app
/// runs, as the server described it (the token stays in Rust).
#[derive(Clone, Debug, Serialize, TS)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum ResetLinkEvent {
    /// Rust moved to the new password of `account_hint` (masked).
    Opened {
        account_hint: String,
        methods: Vec<MfaMethod>,
    },
    /// A sign-in or another reset was under way: the UI asks, then answers with
    /// `reset_link_answer`.
    Ask {
        account_hint: String,
        methods: Vec<MfaMethod>,
    },
    /// The link cannot be used: expired or used (`session_expired`), or the server
    /// out of reach. Nothing changed.
    Refused { error: AppError },
}

impl ResetLinkEvent {
    pub fn of(outcome: Result<client::ResetLink, ClientError>) -> Self {
        match outcome {
            Ok(link) if link.waiting => Self::Ask {
                account_hint: link.account_hint,
                methods: link.mfa_methods,
            },
            Ok(link) => Self::Opened {
                account_hint: link.account_hint,
                methods: link.mfa_methods,
            },
            Err(e) => Self::Refused { error: e.into() },
        }
    }
}

#[derive(Clone, Debug, Serialize, TS)]
pub struct ResetCheck {
    pub second_factor_required: bool,
    pub methods: Vec<MfaMethod>,
}

impl ResetCheck {
    pub fn of(step: &client::Step) -> Result<Self, ClientError> {
        match step {
            client::Step::ResetPassword { mfa_methods, .. } => Ok(Self {
                second_factor_required: !mfa_methods.is_empty(),
                methods: mfa_methods.clone(),
            }),
            other => Err(ClientError::WrongStep(other.name())),
        }
    }
}

#[derive(Clone, Debug, Serialize, TS)]
pub struct SessionView {
    pub id: String,
    pub device_name: String,
    pub platform: String,
    pub address: Option<String>,
    pub created_at: String,
    pub last_used_at: String,
    pub current: bool,
}

impl From<SessionInfo> for SessionView {
    fn from(s: SessionInfo) -> Self {
        Self {
            id: s.id,
            device_name: s.device.name,
            platform: s.device.platform,
            address: s.ip,
            created_at: s.created_at,
            last_used_at: s.last_used_at,
            current: s.current,
        }
    }
}

#[derive(Clone, Debug, Serialize, TS)]
pub struct ActivityView {
    pub at: String,
    pub kind: String,
    pub device_name: Option<String>,
    pub address: Option<String>,
    pub result: Option<String>,
}

impl From<ActivityEntry> for ActivityView {
    fn from(a: ActivityEntry) -> Self {
        Self {
            at: a.at,
            kind: a.kind,
            device_name: Some(a.device.name).filter(|n| !n.is_empty()),
            address: a.ip,
            result: Some(a.result),
        }
    }
}

/// The account screen.
#[derive(Clone, Debug, Serialize, TS)]
pub struct AccountDetails {
    pub summary: AccountSummary,
    /// False while the keychain cannot keep this device's sign-in (it went away during
    /// the session); true again once it is back.
    pub keychain_available: bool,
    pub password_expires_at: Option<String>,
    /// From how many days before `password_expires_at` the page warns (the server's
    /// policy).
    pub password_expiry_warning_days: u32,
    /// The organisation requires two-step verification, which this account lacks: the
    /// date until which it may still sign in without it (RFC 3339).
    pub two_factor_required_by: Option<String>,
    pub recovery_codes_left: Option<u32>,
    pub sessions: Vec<SessionView>,
    pub activity: Vec<ActivityView>,
}

impl AccountDetails {
    pub fn of(
        profile: Profile,
        sessions: Vec<SessionInfo>,
        activity: Vec<ActivityEntry>,
        keychain_available: bool,
        password_expiry_warning_days: u32,
    ) -> Self {
        Self {
            summary: AccountSummary::of(&profile.user),
            keychain_available,
            password_expires_at: profile.password_expires_at,
            two_factor_required_by: profile.two_factor_required_by,
            password_expiry_warning_days,
            recovery_codes_left: profile.recovery_codes_left,
            sessions: sessions.into_iter().map(SessionView::from).collect(),
            activity: activity.into_iter().map(ActivityView::from).collect(),
        }
    }
}
