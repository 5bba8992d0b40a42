//! Every error code, declared once: the server's wire codes ([`ErrorCode`]) with their
//! HTTP status, default English message and the code the app shows for them; the app's
//! codes ([`Code`]) with the [`NextStep`] it advises.
//!
//! The server answers `status` and `message` from here, the client maps and advises from
//! here, and the desktop app's TypeScript (`ui/src/bindings/`) is generated from here.
//! Adding a code is one row below plus a message in `ui/src/i18n/{en,zh-CN}.json`
//! (`errors.<code>`): the UI's tests fail without one.
//!
//! The wire strings and statuses are a public contract: IT scripts and other clients
//! branch on them, so a code is never renamed or reused for something else. Add a code
//! only when a consumer branches on it.

use serde::{Deserialize, Serialize};

/// The number of identifiers given, as a constant (for the length of `ALL`).
macro_rules! count {
    ($($name:ident)*) => {
        <[&str]>::len(&[$(stringify!($name)),*])
    };
}

/// `ErrorCode` from its table: `Variant = "wire", status, AppCode, "default message";`.
macro_rules! server_codes {
    ($(
        $(#[$doc:meta])*
        $variant:ident = $wire:literal, $status:literal, $app:ident, $message:literal;
    )*) => {
        /// Every error code the v1 API answers with.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(rename_all = "snake_case")]
        pub enum ErrorCode {
            $($(#[$doc])* $variant,)*
        }

        impl ErrorCode {
            /// Every code, in declaration order.
            pub const ALL: [ErrorCode; count!($($variant)*)] = [$(Self::$variant),*];

            /// The snake_case string of the code, as it appears on the wire.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $wire,)*
                }
            }

            /// The HTTP status the server answers this code with.
            pub fn http_status(self) -> u16 {
                match self {
                    $(Self::$variant => $status,)*
                }
            }

            /// The server's English message when a handler gives none; clients
            /// translate by code instead.
            pub fn default_message(self) -> &'static str {
                match self {
                    $(Self::$variant => $message,)*
                }
            }

            /// The code the desktop app shows when the server answers this one.
            pub fn app_code(self) -> Code {
                match self {
                    $(Self::$variant => Code::$app,)*
                }
            }
        }
    };
}

/// `Code` from its table: `Variant = "wire", NextStep;`.
macro_rules! app_codes {
    ($(
        $(#[$doc:meta])*
        $variant:ident = $wire:literal, $next:ident;
    )*) => {
        /// The stable codes the UI translates. Server codes keep their wire names.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        #[cfg_attr(feature = "ts", derive(ts_rs::TS))]
        pub enum Code {
            $($(#[$doc])* $variant,)*
        }

        impl Code {
            /// Every code, in declaration order.
            pub const ALL: [Code; count!($($variant)*)] = [$(Self::$variant),*];

            /// The snake_case string of the code, as the UI receives it.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $wire,)*
                }
            }

            /// What the person can do about it (a failure may advise otherwise: an
            /// offline wrong password is retyped, not reset).
            pub fn next_step(self) -> NextStep {
                match self {
                    $(Self::$variant => NextStep::$next,)*
                }
            }
        }
    };
}

server_codes! {
    /// The body is not valid JSON of the expected shape (malformed, wrong type, missing
    /// field, not UTF-8, or a field too long). `field` names the culprit when known.
    InvalidRequest = "invalid_request", 400, ServerRejected,
        "The request is malformed.";
    /// The body is larger than the server accepts (64 KiB).
    PayloadTooLarge = "payload_too_large", 413, ServerRejected,
        "The request body is too large (64 KiB at most).";
    /// The request is not `application/json`.
    UnsupportedMediaType = "unsupported_media_type", 415, ServerRejected,
        "The request body must be JSON (Content-Type: application/json).";
    /// No such route.
    NotFound = "not_found", 404, ServerRejected,
        "No such endpoint.";
    /// The route exists but not with this method.
    MethodNotAllowed = "method_not_allowed", 405, ServerRejected,
        "This endpoint does not accept that method.";
    /// Wrong identifier or password; the same answer whether or not the account exists.
    InvalidCredentials = "invalid_credentials", 401, InvalidCredentials,
        "The identifier or the password is wrong.";
    /// Too many failed sign-ins for this identifier; `retry_after` says when to try again.
    AccountLocked = "account_locked", 423, AccountLocked,
        "Too many failed sign-ins. The account is locked for a while.";
    /// An administrator disabled the account.
    AccountDisabled = "account_disabled", 403, AccountDisabled,
        "This account has been disabled. Contact your administrator.";
    /// The password was right; a second factor is needed.
    MfaRequired = "mfa_required", 401, MfaRequired,
        "A second factor is required.";
    /// The password must be changed before the account can be used. From
    /// `POST /v1/auth/device/verify` it carries `change_token`, `reason` and
    /// `mfa_methods`: the device is verified, and the sign-in goes on at
    /// `POST /v1/auth/password`.
    PasswordChangeRequired = "password_change_required", 403, ServerRejected,
        "The password must be changed first.";
    /// A one-time code is wrong.
    CodeInvalid = "code_invalid", 400, CodeInvalid,
        "The code is wrong.";
    /// A one-time code has expired.
    CodeExpired = "code_expired", 400, CodeExpired,
        "The code has expired.";
    /// Too many wrong codes for this challenge; start again.
    TooManyAttempts = "too_many_attempts", 429, TooManyAttempts,
        "Too many wrong codes. Start again.";
    /// The new password does not meet the policy; `reasons` and `suggestions` say why.
    PasswordRejected = "password_rejected", 422, PasswordRejected,
        "The new password does not meet the password policy.";
    /// The server is in maintenance; `message` and `until` say more.
    Maintenance = "maintenance", 503, Maintenance,
        "The server is under maintenance.";
    /// This client is older than the server accepts; `min_version` and `download_url`.
    ClientOutdated = "client_outdated", 426, ClientOutdated,
        "This version of the app is too old. Please update it.";
    /// Too many requests from this address (or for this identifier); `retry_after`.
    RateLimited = "rate_limited", 429, RateLimited,
        "Too many requests. Try again later.";
    /// No valid access token was presented.
    Unauthenticated = "unauthenticated", 401, SessionExpired,
        "Sign in first.";
    /// The access token has expired: refresh the session.
    TokenExpired = "token_expired", 401, SessionExpired,
        "The access token has expired; refresh the session.";
    /// A change token, refresh token or other single-use token is unknown, used or
    /// expired.
    TokenInvalid = "token_invalid", 401, SessionExpired,
        "The token is unknown, used or expired.";
    /// A refresh token was presented a second time: the whole session was revoked.
    RefreshTokenReused = "refresh_token_reused", 401, SessionExpired,
        "This refresh token was already used; the session has been ended for safety.";
    /// The current password given to confirm a change is wrong.
    CurrentPasswordInvalid = "current_password_invalid", 403, CurrentPasswordInvalid,
        "The current password is wrong.";
    /// The addressed object does not exist (or is not the caller's).
    ResourceNotFound = "resource_not_found", 404, ServerRejected,
        "Not found.";
    /// The account already exists (admin commands), or the request does not fit the
    /// current state (enrolling TOTP when it is already on, confirming none pending).
    Conflict = "conflict", 409, Conflict,
        "It already exists.";
    /// Two-factor setup is not configured on this server (no `LATCHKEY_SECRET_KEY`), or
    /// the configured key cannot read the stored TOTP secrets; recovery codes still work.
    TotpUnavailable = "totp_unavailable", 503, TotpUnavailable,
        "Two-factor setup is not configured on this server.";
    /// A browser sign-in that cannot be approved any more: unknown, expired (2
    /// minutes), answered, or its browser flow already finished.
    ApprovalInvalid = "approval_invalid", 404, ApprovalInvalid,
        "This sign-in request has expired or was already answered. Start again in the browser.";
    /// The number picked is not the browser's: the request is cancelled.
    ApprovalMismatch = "approval_mismatch", 400, ApprovalMismatch,
        "The number does not match the one in the browser; the request is cancelled.";
    /// The application requires two-step verification and this sign-in had none.
    TwoFactorRequired = "two_factor_required", 403, TwoFactorRequired,
        "This application requires two-step verification. Turn it on, then sign in again.";
    /// The organisation requires two-step verification of this account and its grace
    /// period is over: the session may only set TOTP up (`/v1/me/totp/enroll`,
    /// `confirm`), read `/v1/me` and sign out until it is on.
    TwoFactorSetupRequired = "two_factor_setup_required", 403, TwoFactorSetupRequired,
        "Your organisation requires two-step verification. Set it up to continue.";
    /// The account is signed in but its role does not allow this (the admin API: no
    /// console role, or helpdesk asking for an admin's action).
    Forbidden = "forbidden", 403, ServerRejected,
        "Your account is not allowed to do this.";
    /// Something failed inside the server; details are in its log, never in the answer.
    Internal = "internal", 500, ServerError,
        "Something went wrong on the server.";
    /// The server cannot use its database right now (the connection to PostgreSQL was
    /// lost or cannot be made, SQLite's disk is full or failing); `retry_after` says
    /// when to try again. A transaction is all or nothing, so a request answered this
    /// way left none of its effects or, when the connection broke during the commit,
    /// all of them — a retried refresh then gets the answer of its grace period.
    ServerUnavailable = "server_unavailable", 503, ServerUnavailable,
        "The server cannot reach its database right now. Try again in a moment.";
    /// An `Idempotency-Key` sent again with another request (another body, or by
    /// another account) than the one it was first sent with on that route: nothing was
    /// done. A client makes a new key for each action.
    IdempotencyKeyReused = "idempotency_key_reused", 422, ServerRejected,
        "This Idempotency-Key was already used for another request.";
    /// The request first sent with this `Idempotency-Key` is still being answered;
    /// `retry_after` says when to send it again (it then gets that answer).
    IdempotencyKeyInUse = "idempotency_key_in_use", 409, Conflict,
        "The same request is still being answered. Try again in a moment.";
    /// The company directory that checks this account's password cannot be reached
    /// or used right now (issue 19); `retry_after` says when to try again. Nothing was
    /// counted against the account, and it says nothing about the password.
    DirectoryUnavailable = "directory_unavailable", 503, DirectoryUnavailable,
        "The company directory cannot be reached right now. Try again in a moment.";
    /// The server has more work than it can do in time (its password hashing is
    /// saturated): nothing was done or counted, and the same request may be sent again
    /// after `retry_after` seconds (plus some random jitter, so that clients do not come
    /// back together). Answered at once, before any other work (issue 20).
    ServerBusy = "server_busy", 429, ServerBusy,
        "The server is busy. Try again in a moment.";
}

app_codes! {
    // The server address.
    NotConfigured = "not_configured", CheckServerAddress;
    InvalidServerUrl = "invalid_server_url", CheckServerAddress;
    InsecureServerUrl = "insecure_server_url", CheckServerAddress;
    // Reaching the server (the client's own, except `server_unavailable`, which the
    // server also answers when it cannot use its database).
    NoNetwork = "no_network", CheckNetwork;
    DnsFailed = "dns_failed", CheckServerAddress;
    ConnectionRefused = "connection_refused", CheckServerAddress;
    TlsError = "tls_error", ContactIt;
    CertificateInvalid = "certificate_invalid", ContactIt;
    Timeout = "timeout", CheckNetwork;
    ProxyError = "proxy_error", ContactIt;
    ServerUnavailable = "server_unavailable", RetryLater;
    /// The server is up, the company directory behind it is not.
    DirectoryUnavailable = "directory_unavailable", RetryLater;
    /// The server is overloaded; the app has already tried again after its `retry_after`.
    ServerBusy = "server_busy", RetryLater;
    ServerError = "server_error", ContactIt;
    UnexpectedResponse = "unexpected_response", CheckServerAddress;
    NetworkError = "network_error", CheckNetwork;
    // The server's answers (`ErrorCode::app_code`).
    Maintenance = "maintenance", Wait;
    ClientOutdated = "client_outdated", UpdateApp;
    RateLimited = "rate_limited", Wait;
    AccountLocked = "account_locked", Wait;
    PasswordRejected = "password_rejected", ChooseAnotherPassword;
    InvalidCredentials = "invalid_credentials", ResetPassword;
    /// A second factor is needed too (a reset link on an account with TOTP).
    MfaRequired = "mfa_required", CorrectInput;
    AccountDisabled = "account_disabled", ContactIt;
    CodeInvalid = "code_invalid", CorrectInput;
    CodeExpired = "code_expired", StartOver;
    TooManyAttempts = "too_many_attempts", StartOver;
    SessionExpired = "session_expired", StartOver;
    CurrentPasswordInvalid = "current_password_invalid", CorrectInput;
    TotpUnavailable = "totp_unavailable", ContactIt;
    ApprovalInvalid = "approval_invalid", StartOver;
    ApprovalMismatch = "approval_mismatch", StartOver;
    TwoFactorRequired = "two_factor_required", ContactIt;
    TwoFactorSetupRequired = "two_factor_setup_required", CorrectInput;
    Conflict = "conflict", RetryLater;
    ServerRejected = "server_rejected", RetryLater;
    // Offline sign-in and sessions ended on re-validation.
    OfflineUnavailable = "offline_unavailable", SignInOnline;
    OfflineDisabled = "offline_disabled", SignInOnline;
    // IT's managed settings turned offline sign-in off on this computer (shared PCs).
    OfflineOffHere = "offline_off_here", SignInOnline;
    OfflineExpired = "offline_expired", SignInOnline;
    OfflineAttemptsExhausted = "offline_attempts_exhausted", SignInOnline;
    RefreshRevoked = "refresh_revoked", StartOver;
    PasswordChanged = "password_changed", StartOver;
    // This device.
    KeychainUnavailable = "keychain_unavailable", ContactIt;
    KeychainError = "keychain_error", ContactIt;
    StorageError = "storage_error", ContactIt;
    WrongStep = "wrong_step", StartOver;
    InvalidInput = "invalid_input", CorrectInput;
    // In-app updates (issue 17).
    /// The downloaded update's signature does not match the public key built into the
    /// app (or is no signature): nothing was installed.
    UpdateSignatureInvalid = "update_signature_invalid", ContactIt;
    /// The update could not be downloaded or installed (disk, permissions, network);
    /// the installed app is unchanged.
    UpdateFailed = "update_failed", RetryLater;
    /// There is nothing this installation can install: no release for it on the
    /// server, or the app came as a .deb/.rpm and its package manager updates it.
    UpdateUnavailable = "update_unavailable", ContactIt;
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

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_code_serialises_as_its_string() {
        for code in ErrorCode::ALL {
            let json = serde_json::to_value(code).unwrap();
            assert_eq!(json, json!(code.as_str()));
            let back: ErrorCode = serde_json::from_value(json).unwrap();
            assert_eq!(back, code);
        }
        for code in Code::ALL {
            let json = serde_json::to_value(code).unwrap();
            assert_eq!(json, json!(code.as_str()));
            let back: Code = serde_json::from_value(json).unwrap();
            assert_eq!(back, code);
        }
    }

    #[test]
    fn every_status_is_an_error_status() {
        for code in ErrorCode::ALL {
            assert!((400..600).contains(&code.http_status()), "{code}");
            assert!(!code.default_message().is_empty(), "{code}");
        }
    }

    #[test]
    fn a_server_code_the_app_shows_as_itself_keeps_its_name() {
        for code in ErrorCode::ALL {
            let app = code.app_code();
            assert!(
                app.as_str() == code.as_str()
                    || Code::ALL.iter().all(|c| c.as_str() != code.as_str()),
                "{code} is an app code too, but is shown as {}",
                app.as_str()
            );
        }
    }
}
