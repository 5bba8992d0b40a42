//! How an answer that is not a success becomes a [`ClientError`]: by the server's error
//! code when the body is the server's JSON, else by the HTTP status — a proxy's error
//! page or a captive portal is told apart from a server error, because the fix differs.

use latchkey_proto::{ErrorBody, ErrorCode};
use reqwest::StatusCode;

use crate::error::ClientError;

/// Whether `body` is the server's error JSON.
pub(super) fn is_server_json(body: &[u8]) -> bool {
    serde_json::from_slice::<ErrorBody>(body).is_ok()
}

/// Classifies a non-2xx answer.
pub(super) fn error_answer(
    status: StatusCode,
    body: &[u8],
    retry_header: Option<u64>,
) -> ClientError {
    let Ok(body) = serde_json::from_slice::<ErrorBody>(body) else {
        return match status.as_u16() {
            407 => ClientError::Proxy {
                detail: "407 Proxy Authentication Required".into(),
            },
            429 => ClientError::RateLimited {
                retry_after: retry_header,
            },
            502..=504 => ClientError::ServerUnavailable {
                status: status.as_u16(),
            },
            500..=599 => ClientError::ServerError {
                status: status.as_u16(),
            },
            s => ClientError::UnexpectedResponse { status: s },
        };
    };
    let retry_after = body.retry_after.or(retry_header);
    if let (ErrorCode::PasswordChangeRequired, Some(change_token), Some(reason)) =
        (body.code, body.change_token.clone(), body.reason)
    {
        return ClientError::PasswordChangeRequired {
            change_token,
            reason,
            mfa_methods: body.mfa_methods.unwrap_or_default(),
        };
    }
    match body.code {
        ErrorCode::Maintenance => ClientError::Maintenance {
            message: body.message,
            until: body.until,
        },
        ErrorCode::ClientOutdated => ClientError::ClientOutdated {
            min_version: body.min_version,
            download_url: body.download_url,
        },
        ErrorCode::RateLimited => ClientError::RateLimited { retry_after },
        ErrorCode::ServerBusy => ClientError::ServerBusy { retry_after },
        ErrorCode::AccountLocked => ClientError::AccountLocked { retry_after },
        ErrorCode::PasswordRejected => ClientError::PasswordRejected {
            reasons: body.reasons.unwrap_or_default(),
            suggestions: body.suggestions.unwrap_or_default(),
        },
        ErrorCode::Internal => ClientError::ServerError {
            status: status.as_u16(),
        },
        // The server is up but cannot use its database: as unreachable as a 502 from
        // its proxy (an offline sign-in is worth trying, and so is a retry).
        ErrorCode::ServerUnavailable => ClientError::ServerUnavailable {
            status: status.as_u16(),
        },
        code => ClientError::Server(code),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn answer(status: u16, body: serde_json::Value) -> ClientError {
        error_answer(
            StatusCode::from_u16(status).unwrap(),
            body.to_string().as_bytes(),
            None,
        )
    }

    #[test]
    fn server_errors_by_code() {
        assert!(matches!(
            answer(
                423,
                json!({"code": "account_locked", "message": "m", "retry_after": 900})
            ),
            ClientError::AccountLocked {
                retry_after: Some(900)
            }
        ));
        assert!(matches!(
            answer(503, json!({"code": "maintenance", "message": "升级", "until": "2026-01-01T00:00:00Z"})),
            ClientError::Maintenance { message, until: Some(_) } if message == "升级"
        ));
        assert!(matches!(
            answer(401, json!({"code": "invalid_credentials", "message": "m"})),
            ClientError::Server(ErrorCode::InvalidCredentials)
        ));
        let unavailable = answer(
            503,
            json!({"code": "server_unavailable", "message": "m", "retry_after": 2}),
        );
        assert!(matches!(
            unavailable,
            ClientError::ServerUnavailable { status: 503 }
        ));
        assert!(unavailable.is_unreachable());
    }

    #[test]
    fn password_change_required_carries_its_token_only_when_given_one() {
        let e = answer(
            403,
            json!({"code": "password_change_required", "message": "m",
                   "change_token": "lkc_t", "reason": "temporary", "mfa_methods": ["totp"]}),
        );
        assert!(matches!(
            &e,
            ClientError::PasswordChangeRequired { change_token, reason: latchkey_proto::PasswordChangeReason::Temporary, mfa_methods }
                if change_token.expose() == "lkc_t" && mfa_methods == &[latchkey_proto::MfaMethod::Totp]
        ));
        // The token never shows in what gets logged.
        assert!(!format!("{e:?}").contains("lkc_t"));
        assert!(matches!(
            answer(
                403,
                json!({"code": "password_change_required", "message": "m"})
            ),
            ClientError::Server(ErrorCode::PasswordChangeRequired)
        ));
    }

    #[test]
    fn foreign_answers() {
        let html = b"<html>Bad Gateway</html>";
        assert!(matches!(
            error_answer(StatusCode::BAD_GATEWAY, html, None),
            ClientError::ServerUnavailable { status: 502 }
        ));
        assert!(matches!(
            error_answer(StatusCode::PROXY_AUTHENTICATION_REQUIRED, html, None),
            ClientError::Proxy { .. }
        ));
        assert!(matches!(
            error_answer(StatusCode::NOT_FOUND, html, None),
            ClientError::UnexpectedResponse { status: 404 }
        ));
        assert!(matches!(
            error_answer(StatusCode::TOO_MANY_REQUESTS, html, Some(30)),
            ClientError::RateLimited {
                retry_after: Some(30)
            }
        ));
    }

    #[test]
    fn server_busy_keeps_its_retry_after() {
        assert!(matches!(
            answer(
                429,
                json!({"code": "server_busy", "message": "m", "retry_after": 3})
            ),
            ClientError::ServerBusy {
                retry_after: Some(3)
            }
        ));
    }
}
