//! The one error type of the client core, and what the UI sees of it.
//!
//! Every failure has a stable snake_case [`Code`] that the UI translates and a
//! [`NextStep`] that says what the person can do about it (check the network, ask IT,
//! update the app, wait). The UI gets [`UiError`]: codes and numbers, never an English
//! sentence — the one free text is the maintenance message the server's operators wrote.
//!
//! The codes, and the next step each usually carries, are declared once in
//! `latchkey_proto` (its `code.rs`, with the server's codes and the app code each is
//! shown as); this file only says which failure is which code.

pub use latchkey_proto::{Code, NextStep};
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
    /// The server is overloaded (`server_busy`): nothing was done, and the app already
    /// tried again after each `retry_after` ([`crate::api`]) before giving up.
    #[error("the server is busy")]
    ServerBusy { retry_after: Option<u64> },
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
    #[error("IT turned offline sign-in off on this computer")]
    OfflineOffHere,
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

    // In-app updates (issue 17): the desktop shell runs the updater and reports here.
    #[error("the downloaded update is not signed with the app's key")]
    UpdateSignatureInvalid,
    #[error("the update failed: {0}")]
    UpdateFailed(String),
    #[error("no update this installation can install: {0}")]
    UpdateUnavailable(&'static str),
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
            Self::ServerBusy { .. } => Code::ServerBusy,
            Self::AccountLocked { .. } => Code::AccountLocked,
            Self::PasswordRejected { .. } => Code::PasswordRejected,
            Self::Server(code) => code.app_code(),
            Self::PasswordChangeRequired { .. } => ErrorCode::PasswordChangeRequired.app_code(),
            Self::OfflinePasswordInvalid { .. } => Code::InvalidCredentials,
            Self::OfflineUnavailable => Code::OfflineUnavailable,
            Self::OfflineDisabled => Code::OfflineDisabled,
            Self::OfflineOffHere => Code::OfflineOffHere,
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
            Self::UpdateSignatureInvalid => Code::UpdateSignatureInvalid,
            Self::UpdateFailed(_) => Code::UpdateFailed,
            Self::UpdateUnavailable(_) => Code::UpdateUnavailable,
        }
    }

    pub fn next_step(&self) -> NextStep {
        // Offline, "forgot password" cannot reach the server: retype instead.
        if let Self::OfflinePasswordInvalid { .. } = self {
            return NextStep::CorrectInput;
        }
        self.code().next_step()
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
                | Self::Server(ErrorCode::DirectoryUnavailable)
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
            Self::RateLimited { retry_after }
            | Self::AccountLocked { retry_after }
            | Self::ServerBusy { retry_after } => {
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// What the app shows for every wire code: (server code, app code, next step),
    /// written out. A snapshot taken before issue 14 moved the tables to proto; it must
    /// not change (issue 16 added the three approval codes, issue 18 `forbidden`, issue 21
    /// `server_unavailable` and the two of `Idempotency-Key`, issue 19 `directory_unavailable`). A slice, so that a new
    /// code is one new row here.
    const SERVER_CODES: &[(&str, &str, &str)] = &[
        ("invalid_request", "server_rejected", "retry_later"),
        ("payload_too_large", "server_rejected", "retry_later"),
        ("unsupported_media_type", "server_rejected", "retry_later"),
        ("not_found", "server_rejected", "retry_later"),
        ("method_not_allowed", "server_rejected", "retry_later"),
        (
            "invalid_credentials",
            "invalid_credentials",
            "reset_password",
        ),
        ("account_locked", "account_locked", "wait"),
        ("account_disabled", "account_disabled", "contact_it"),
        ("mfa_required", "mfa_required", "correct_input"),
        ("password_change_required", "server_rejected", "retry_later"),
        ("code_invalid", "code_invalid", "correct_input"),
        ("code_expired", "code_expired", "start_over"),
        ("too_many_attempts", "too_many_attempts", "start_over"),
        (
            "password_rejected",
            "password_rejected",
            "choose_another_password",
        ),
        ("maintenance", "maintenance", "wait"),
        ("client_outdated", "client_outdated", "update_app"),
        ("rate_limited", "rate_limited", "wait"),
        ("unauthenticated", "session_expired", "start_over"),
        ("token_expired", "session_expired", "start_over"),
        ("token_invalid", "session_expired", "start_over"),
        ("refresh_token_reused", "session_expired", "start_over"),
        (
            "current_password_invalid",
            "current_password_invalid",
            "correct_input",
        ),
        ("resource_not_found", "server_rejected", "retry_later"),
        ("conflict", "conflict", "retry_later"),
        ("totp_unavailable", "totp_unavailable", "contact_it"),
        ("approval_invalid", "approval_invalid", "start_over"),
        ("approval_mismatch", "approval_mismatch", "start_over"),
        ("two_factor_required", "two_factor_required", "contact_it"),
        (
            "two_factor_setup_required",
            "two_factor_setup_required",
            "correct_input",
        ),
        // Only the IT console's routes answer it; the app never calls them.
        ("forbidden", "server_rejected", "retry_later"),
        ("internal", "server_error", "contact_it"),
        ("server_unavailable", "server_unavailable", "retry_later"),
        ("idempotency_key_reused", "server_rejected", "retry_later"),
        ("idempotency_key_in_use", "conflict", "retry_later"),
        (
            "directory_unavailable",
            "directory_unavailable",
            "retry_later",
        ),
        ("server_busy", "server_busy", "retry_later"),
    ];

    /// The (code, next step) of every other failure, written out (same snapshot).
    fn client_failures() -> Vec<(ClientError, &'static str, &'static str)> {
        let s = String::new;
        vec![
            (
                ClientError::NotConfigured,
                "not_configured",
                "check_server_address",
            ),
            (
                ClientError::InvalidServerUrl,
                "invalid_server_url",
                "check_server_address",
            ),
            (
                ClientError::InsecureServerUrl,
                "insecure_server_url",
                "check_server_address",
            ),
            (ClientError::NoNetwork, "no_network", "check_network"),
            (ClientError::Dns, "dns_failed", "check_server_address"),
            (
                ClientError::ConnectionRefused,
                "connection_refused",
                "check_server_address",
            ),
            (
                ClientError::Tls {
                    certificate: false,
                    detail: s(),
                },
                "tls_error",
                "contact_it",
            ),
            (
                ClientError::Tls {
                    certificate: true,
                    detail: s(),
                },
                "certificate_invalid",
                "contact_it",
            ),
            (ClientError::Timeout, "timeout", "check_network"),
            (
                ClientError::Proxy { detail: s() },
                "proxy_error",
                "contact_it",
            ),
            (
                ClientError::ServerUnavailable { status: 502 },
                "server_unavailable",
                "retry_later",
            ),
            (
                ClientError::ServerError { status: 500 },
                "server_error",
                "contact_it",
            ),
            (
                ClientError::UnexpectedResponse { status: 200 },
                "unexpected_response",
                "check_server_address",
            ),
            (
                ClientError::Network { detail: s() },
                "network_error",
                "check_network",
            ),
            (
                ClientError::Maintenance {
                    message: s(),
                    until: None,
                },
                "maintenance",
                "wait",
            ),
            (
                ClientError::ClientOutdated {
                    min_version: None,
                    download_url: None,
                },
                "client_outdated",
                "update_app",
            ),
            (
                ClientError::RateLimited { retry_after: None },
                "rate_limited",
                "wait",
            ),
            (
                ClientError::AccountLocked { retry_after: None },
                "account_locked",
                "wait",
            ),
            (
                ClientError::PasswordRejected {
                    reasons: vec![],
                    suggestions: vec![],
                },
                "password_rejected",
                "choose_another_password",
            ),
            (
                ClientError::PasswordChangeRequired {
                    change_token: latchkey_proto::Secret::new("t"),
                    reason: latchkey_proto::PasswordChangeReason::Expired,
                    mfa_methods: vec![],
                },
                "server_rejected",
                "retry_later",
            ),
            (
                ClientError::OfflinePasswordInvalid { attempts_left: 2 },
                "invalid_credentials",
                "correct_input",
            ),
            (
                ClientError::OfflineUnavailable,
                "offline_unavailable",
                "sign_in_online",
            ),
            (
                ClientError::OfflineDisabled,
                "offline_disabled",
                "sign_in_online",
            ),
            (
                ClientError::OfflineOffHere,
                "offline_off_here",
                "sign_in_online",
            ),
            (
                ClientError::OfflineExpired,
                "offline_expired",
                "sign_in_online",
            ),
            (
                ClientError::OfflineAttemptsExhausted,
                "offline_attempts_exhausted",
                "sign_in_online",
            ),
            (
                ClientError::SessionEnded(EndReason::RefreshRevoked),
                "refresh_revoked",
                "start_over",
            ),
            (
                ClientError::SessionEnded(EndReason::PasswordChanged),
                "password_changed",
                "start_over",
            ),
            (
                ClientError::SessionEnded(EndReason::AccountDisabled),
                "account_disabled",
                "contact_it",
            ),
            (
                ClientError::KeychainUnavailable(s()),
                "keychain_unavailable",
                "contact_it",
            ),
            (ClientError::Keychain(s()), "keychain_error", "contact_it"),
            (ClientError::Storage(s()), "storage_error", "contact_it"),
            (ClientError::WrongStep("x"), "wrong_step", "start_over"),
            (
                ClientError::InvalidInput("x"),
                "invalid_input",
                "correct_input",
            ),
            (
                ClientError::UpdateSignatureInvalid,
                "update_signature_invalid",
                "contact_it",
            ),
            (
                ClientError::UpdateFailed(s()),
                "update_failed",
                "retry_later",
            ),
            (
                ClientError::UpdateUnavailable("x"),
                "update_unavailable",
                "contact_it",
            ),
        ]
    }

    /// `(code, next_step)` as the UI receives them.
    fn shown(e: &ClientError) -> (String, String) {
        let v = serde_json::to_value(e).unwrap();
        (
            v["code"].as_str().unwrap().to_owned(),
            v["next_step"].as_str().unwrap().to_owned(),
        )
    }

    #[test]
    fn every_code_keeps_its_app_code_and_next_step() {
        let actual: Vec<(&str, String, String)> = ErrorCode::ALL
            .iter()
            .map(|&code| {
                let (c, n) = shown(&ClientError::Server(code));
                (code.as_str(), c, n)
            })
            .collect();
        let expected: Vec<(&str, String, String)> = SERVER_CODES
            .iter()
            .map(|&(w, c, n)| (w, c.to_owned(), n.to_owned()))
            .collect();
        assert_eq!(actual, expected);
        let mut codes = std::collections::BTreeSet::new();
        for (e, code, next) in client_failures() {
            assert_eq!(shown(&e), (code.to_owned(), next.to_owned()), "{e:?}");
            codes.insert(code);
        }
        for &(_, code, _) in SERVER_CODES {
            codes.insert(code);
        }
        // Every app code is reached by one of the two lists.
        assert_eq!(codes.len(), Code::ALL.len());
        let all: std::collections::BTreeSet<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(codes, all);
    }

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
        assert!(ClientError::Server(ErrorCode::DirectoryUnavailable).is_unreachable());
        assert!(!ClientError::Tls {
            certificate: false,
            detail: String::new()
        }
        .is_unreachable());
    }
}
