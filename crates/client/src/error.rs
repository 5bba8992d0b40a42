//! The one error type of the client core, and what the UI sees of it.
//!
//! Every failure has a stable snake_case [`Code`] that the UI translates and a
//! [`NextStep`] that says what the person can do about it (check the network, ask IT,
//! update the app, wait). The UI gets [`UiError`]: codes and numbers, never an English
//! sentence — the one free text is the maintenance message the server's operators wrote.

use latchkey_proto::{ErrorCode, PasswordReason, PasswordSuggestion};
use serde::{Deserialize, Serialize};

/// Why a session that had been opened offline was ended on re-validation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    /// The server no longer accepts this device's refresh token (signed out elsewhere,
    /// session revoked, token expired).
    RefreshRevoked,
    /// The password was changed (elsewhere, or reset by an administrator).
    PasswordChanged,
    /// An administrator disabled the account.
    AccountDisabled,
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("no server is configured")]
    NotConfigured,
    #[error("not a usable server address")]
    InvalidServerUrl,
    #[error("the server address must use https (only loopback may use http)")]
    InsecureServerUrl,

    #[error("no network")]
    NoNetwork,
    #[error("the server's name could not be resolved")]
    Dns,
    #[error("the server refused the connection")]
    ConnectionRefused,
    #[error("secure connection failed: {detail}")]
    Tls { certificate: bool, detail: String },
    #[error("the server did not answer in time")]
    Timeout,
    #[error("the proxy failed: {detail}")]
    Proxy { detail: String },
    #[error("the server is unavailable ({status})")]
    ServerUnavailable { status: u16 },
    #[error("the server failed ({status})")]
    ServerError { status: u16 },
    #[error("the answer is not from a Latchkey server ({status})")]
    UnexpectedResponse { status: u16 },
    #[error("network failure: {detail}")]
    Network { detail: String },

    #[error("the server is in maintenance")]
    Maintenance {
        message: String,
        until: Option<String>,
    },
    #[error("this app is older than the server accepts")]
    ClientOutdated {
        min_version: Option<String>,
        download_url: Option<String>,
    },
    #[error("too many requests")]
    RateLimited { retry_after: Option<u64> },
    #[error("the account is locked")]
    AccountLocked { retry_after: Option<u64> },
    #[error("the password does not meet the policy")]
    PasswordRejected {
        reasons: Vec<PasswordReason>,
        suggestions: Vec<PasswordSuggestion>,
    },
    /// A new device's code was right, and now the password must be changed
    /// (`password_change_required` from `POST /v1/auth/device/verify`). The sign-in flow
    /// turns it into its change-password step; it reaches the UI only as a stray.
    #[error("the password must be changed first")]
    PasswordChangeRequired {
        change_token: latchkey_proto::Secret,
        reason: latchkey_proto::PasswordChangeReason,
        mfa_methods: Vec<latchkey_proto::MfaMethod>,
    },
    /// Any other error answer of the server (`invalid_credentials`, `code_invalid`, …).
    #[error("the server answered {0}")]
    Server(ErrorCode),

    #[error("wrong password")]
    OfflinePasswordInvalid { attempts_left: u32 },
    #[error("this account cannot sign in offline on this device")]
    OfflineUnavailable,
    #[error("the server does not allow offline sign-in")]
    OfflineDisabled,
    #[error("the last online sign-in is too long ago for an offline one")]
    OfflineExpired,
    #[error("too many wrong passwords offline")]
    OfflineAttemptsExhausted,
    #[error("the offline session ended: {0:?}")]
    SessionEnded(EndReason),

    #[error("no keychain is available: {0}")]
    KeychainUnavailable(String),
    #[error("the keychain failed: {0}")]
    Keychain(String),
    #[error("cannot read or write the app's files: {0}")]
    Storage(String),
    #[error("{0} is not possible at this step")]
    WrongStep(&'static str),
    #[error("invalid input: {0}")]
    InvalidInput(&'static str),
}

/// The stable codes the UI translates. Server codes keep their wire names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum Code {
    NotConfigured,
    InvalidServerUrl,
    InsecureServerUrl,
    NoNetwork,
    DnsFailed,
    ConnectionRefused,
    TlsError,
    CertificateInvalid,
    Timeout,
    ProxyError,
    ServerUnavailable,
    ServerError,
    UnexpectedResponse,
    NetworkError,
    Maintenance,
    ClientOutdated,
    RateLimited,
    AccountLocked,
    PasswordRejected,
    InvalidCredentials,
    /// A second factor is needed too (a reset link on an account with TOTP).
    MfaRequired,
    AccountDisabled,
    CodeInvalid,
    CodeExpired,
    TooManyAttempts,
    SessionExpired,
    CurrentPasswordInvalid,
    TotpUnavailable,
    Conflict,
    ServerRejected,
    OfflineUnavailable,
    OfflineDisabled,
    OfflineExpired,
    OfflineAttemptsExhausted,
    RefreshRevoked,
    PasswordChanged,
    KeychainUnavailable,
    KeychainError,
    StorageError,
    WrongStep,
    InvalidInput,
}

/// What the person can do next.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum NextStep {
    /// Check Wi-Fi / cable / VPN.
    CheckNetwork,
    /// The server address may be wrong: check it or ask IT for it.
    CheckServerAddress,
    /// Something only IT can fix (certificate, proxy, server failure, disabled account).
    ContactIt,
    /// Install the newer version (`download_url` when known).
    UpdateApp,
    /// Wait `retry_after` seconds (or until `until`), then try again.
    Wait,
    /// Try again in a moment.
    RetryLater,
    /// Correct what was typed and try again.
    CorrectInput,
    /// Start the sign-in again from the identifier.
    StartOver,
    /// Connect to the company network and sign in online.
    SignInOnline,
    /// Use "forgot password".
    ResetPassword,
    /// Choose another password (see `reasons`/`suggestions`).
    ChooseAnotherPassword,
}

/// The error as the UI receives it: codes, numbers and the server's maintenance text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UiError {
    pub code: Code,
    pub next_step: NextStep,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
    /// End of maintenance, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
    /// The operators' maintenance message, shown as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maintenance_message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub download_url: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<PasswordReason>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub suggestions: Vec<PasswordSuggestion>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempts_left: Option<u32>,
    /// HTTP status, for the "details" line of a server failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
}

impl ClientError {
    pub fn code(&self) -> Code {
        match self {
            Self::NotConfigured => Code::NotConfigured,
            Self::InvalidServerUrl => Code::InvalidServerUrl,
            Self::InsecureServerUrl => Code::InsecureServerUrl,
            Self::NoNetwork => Code::NoNetwork,
            Self::Dns => Code::DnsFailed,
            Self::ConnectionRefused => Code::ConnectionRefused,
            Self::Tls {
                certificate: true, ..
            } => Code::CertificateInvalid,
            Self::Tls { .. } => Code::TlsError,
            Self::Timeout => Code::Timeout,
            Self::Proxy { .. } => Code::ProxyError,
            Self::ServerUnavailable { .. } => Code::ServerUnavailable,
            Self::ServerError { .. } => Code::ServerError,
            Self::UnexpectedResponse { .. } => Code::UnexpectedResponse,
            Self::Network { .. } => Code::NetworkError,
            Self::Maintenance { .. } => Code::Maintenance,
            Self::ClientOutdated { .. } => Code::ClientOutdated,
            Self::RateLimited { .. } => Code::RateLimited,
            Self::AccountLocked { .. } => Code::AccountLocked,
            Self::PasswordRejected { .. } => Code::PasswordRejected,
            Self::Server(code) => server_code(*code),
            Self::PasswordChangeRequired { .. } => server_code(ErrorCode::PasswordChangeRequired),
            Self::OfflinePasswordInvalid { .. } => Code::InvalidCredentials,
            Self::OfflineUnavailable => Code::OfflineUnavailable,
            Self::OfflineDisabled => Code::OfflineDisabled,
            Self::OfflineExpired => Code::OfflineExpired,
            Self::OfflineAttemptsExhausted => Code::OfflineAttemptsExhausted,
            Self::SessionEnded(EndReason::RefreshRevoked) => Code::RefreshRevoked,
            Self::SessionEnded(EndReason::PasswordChanged) => Code::PasswordChanged,
            Self::SessionEnded(EndReason::AccountDisabled) => Code::AccountDisabled,
            Self::KeychainUnavailable(_) => Code::KeychainUnavailable,
            Self::Keychain(_) => Code::KeychainError,
            Self::Storage(_) => Code::StorageError,
            Self::WrongStep(_) => Code::WrongStep,
            Self::InvalidInput(_) => Code::InvalidInput,
        }
    }

    pub fn next_step(&self) -> NextStep {
        // Offline, "forgot password" cannot reach the server: retype instead.
        if let Self::OfflinePasswordInvalid { .. } = self {
            return NextStep::CorrectInput;
        }
        match self.code() {
            Code::NotConfigured | Code::InvalidServerUrl | Code::InsecureServerUrl => {
                NextStep::CheckServerAddress
            }
            Code::NoNetwork | Code::Timeout | Code::NetworkError => NextStep::CheckNetwork,
            Code::DnsFailed | Code::ConnectionRefused | Code::UnexpectedResponse => {
                NextStep::CheckServerAddress
            }
            Code::TlsError
            | Code::CertificateInvalid
            | Code::ProxyError
            | Code::ServerError
            | Code::AccountDisabled
            | Code::TotpUnavailable
            | Code::KeychainUnavailable
            | Code::KeychainError
            | Code::StorageError => NextStep::ContactIt,
            Code::ServerUnavailable | Code::Conflict | Code::ServerRejected => NextStep::RetryLater,
            Code::Maintenance | Code::RateLimited | Code::AccountLocked => NextStep::Wait,
            Code::ClientOutdated => NextStep::UpdateApp,
            Code::PasswordRejected => NextStep::ChooseAnotherPassword,
            Code::InvalidCredentials => NextStep::ResetPassword,
            Code::CodeInvalid
            | Code::CurrentPasswordInvalid
            | Code::InvalidInput
            | Code::MfaRequired => NextStep::CorrectInput,
            Code::CodeExpired
            | Code::TooManyAttempts
            | Code::SessionExpired
            | Code::WrongStep
            | Code::RefreshRevoked
            | Code::PasswordChanged => NextStep::StartOver,
            Code::OfflineUnavailable
            | Code::OfflineDisabled
            | Code::OfflineExpired
            | Code::OfflineAttemptsExhausted => NextStep::SignInOnline,
        }
    }

    /// The server could not be reached (or cannot serve): the cases in which an offline
    /// sign-in is worth trying.
    pub fn is_unreachable(&self) -> bool {
        matches!(
            self,
            Self::NoNetwork
                | Self::Dns
                | Self::ConnectionRefused
                | Self::Timeout
                | Self::Proxy { .. }
                | Self::ServerUnavailable { .. }
                | Self::Network { .. }
                | Self::Maintenance { .. }
        )
    }

    /// What the UI receives.
    pub fn to_ui(&self) -> UiError {
        let mut ui = UiError {
            code: self.code(),
            next_step: self.next_step(),
            retry_after: None,
            until: None,
            maintenance_message: None,
            min_version: None,
            download_url: None,
            reasons: Vec::new(),
            suggestions: Vec::new(),
            attempts_left: None,
            status: None,
        };
        match self {
            Self::Maintenance { message, until } => {
                ui.maintenance_message = Some(message.clone());
                ui.until = until.clone();
            }
            Self::ClientOutdated {
                min_version,
                download_url,
            } => {
                ui.min_version = min_version.clone();
                ui.download_url = download_url.clone();
            }
            Self::RateLimited { retry_after } | Self::AccountLocked { retry_after } => {
                ui.retry_after = *retry_after;
            }
            Self::PasswordRejected {
                reasons,
                suggestions,
            } => {
                ui.reasons = reasons.clone();
                ui.suggestions = suggestions.clone();
            }
            Self::OfflinePasswordInvalid { attempts_left } => {
                ui.attempts_left = Some(*attempts_left);
            }
            Self::ServerUnavailable { status }
            | Self::ServerError { status }
            | Self::UnexpectedResponse { status } => ui.status = Some(*status),
            _ => {}
        }
        ui
    }
}

/// Serialises as [`UiError`], so a Tauri command can return `Result<T, ClientError>`.
impl Serialize for ClientError {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_ui().serialize(serializer)
    }
}

/// The client's code for a server error code that reached the generic arm.
fn server_code(code: ErrorCode) -> Code {
    match code {
        ErrorCode::InvalidCredentials => Code::InvalidCredentials,
        ErrorCode::AccountDisabled => Code::AccountDisabled,
        ErrorCode::CodeInvalid => Code::CodeInvalid,
        ErrorCode::CodeExpired => Code::CodeExpired,
        ErrorCode::TooManyAttempts => Code::TooManyAttempts,
        ErrorCode::TokenInvalid
        | ErrorCode::TokenExpired
        | ErrorCode::Unauthenticated
        | ErrorCode::RefreshTokenReused => Code::SessionExpired,
        ErrorCode::CurrentPasswordInvalid => Code::CurrentPasswordInvalid,
        ErrorCode::TotpUnavailable => Code::TotpUnavailable,
        ErrorCode::Conflict => Code::Conflict,
        ErrorCode::Maintenance => Code::Maintenance,
        ErrorCode::ClientOutdated => Code::ClientOutdated,
        ErrorCode::RateLimited => Code::RateLimited,
        ErrorCode::AccountLocked => Code::AccountLocked,
        ErrorCode::PasswordRejected => Code::PasswordRejected,
        ErrorCode::Internal => Code::ServerError,
        ErrorCode::InvalidRequest
        | ErrorCode::PayloadTooLarge
        | ErrorCode::UnsupportedMediaType
        | ErrorCode::NotFound
        | ErrorCode::MethodNotAllowed
        | ErrorCode::ResourceNotFound
        | ErrorCode::PasswordChangeRequired => Code::ServerRejected,
        ErrorCode::MfaRequired => Code::MfaRequired,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ui_form_is_codes_and_numbers() {
        let e = ClientError::AccountLocked {
            retry_after: Some(900),
        };
        assert_eq!(
            serde_json::to_value(&e).unwrap(),
            json!({"code": "account_locked", "next_step": "wait", "retry_after": 900})
        );
        let e = ClientError::Tls {
            certificate: true,
            detail: "UnknownIssuer".into(),
        };
        assert_eq!(
            serde_json::to_value(&e).unwrap(),
            json!({"code": "certificate_invalid", "next_step": "contact_it"})
        );
        let e = ClientError::ClientOutdated {
            min_version: Some("2.0.0".into()),
            download_url: Some("https://it.corp/latchkey".into()),
        };
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["next_step"], "update_app");
        assert_eq!(v["min_version"], "2.0.0");
    }

    #[test]
    fn every_server_code_has_a_client_code() {
        for code in ErrorCode::ALL {
            let c = ClientError::Server(code).code();
            // Serialises to a snake_case string.
            assert!(serde_json::to_value(c).unwrap().is_string());
        }
        assert_eq!(
            ClientError::Server(ErrorCode::InvalidCredentials).code(),
            Code::InvalidCredentials
        );
    }

    #[test]
    fn unreachable_is_what_offline_may_answer() {
        assert!(ClientError::ConnectionRefused.is_unreachable());
        assert!(ClientError::Timeout.is_unreachable());
        assert!(!ClientError::Server(ErrorCode::InvalidCredentials).is_unreachable());
        assert!(!ClientError::Tls {
            certificate: false,
            detail: String::new()
        }
        .is_unreachable());
    }
}
