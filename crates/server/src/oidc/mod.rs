//! The OpenID Connect provider: office applications registered by IT sign people in
//! through Latchkey (authorization code flow with PKCE; OpenID Connect Core 1.0,
//! Discovery 1.0, RFC 6749, 7636, 8252, 7009, 7662, RP-initiated logout 1.0).
//!
//! The domain lives here — registered applications ([`clients`]), signing keys
//! ([`keys`]), authorization requests, grants, codes and tokens ([`grants`]), browser
//! single sign-on ([`sso`]); the endpoints and the browser sign-in pages are in
//! `http/oidc`. The browser pages drive the same sign-in handlers as the JSON API, so
//! the policy, the limits and the error codes are the API's.

pub mod approvals;
pub mod claims;
pub mod clients;
pub mod grants;
pub mod keys;
pub mod sso;

use serde::{Deserialize, Serialize};

/// `[oidc]`: the provider is on when `issuer` is set.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct OidcConfig {
    /// The issuer URL applications are configured with, e.g.
    /// `https://auth.corp.example` (no trailing slash): it is the `iss` of every ID
    /// token, and the endpoints are under it. Empty: the provider is off.
    pub issuer: String,
    /// How long an authorization code may wait to be exchanged (at most 60 s).
    pub code_ttl_seconds: u64,
    /// Lifetime of an access token (opaque; checked by userinfo and introspection).
    pub access_token_ttl_seconds: u64,
    /// Lifetime of an ID token; a replaced signing key stays published this long.
    pub id_token_ttl_seconds: u64,
    /// Lifetime of a refresh token (issued with the `offline_access` scope only).
    pub refresh_token_ttl_seconds: u64,
    /// How long a browser stays signed in for single sign-on.
    pub sso_ttl_seconds: u64,
    /// How long the sign-in pages of one authorization request may take.
    pub request_ttl_seconds: u64,
}

impl Default for OidcConfig {
    fn default() -> Self {
        Self {
            issuer: String::new(),
            code_ttl_seconds: 60,
            access_token_ttl_seconds: 10 * 60,
            id_token_ttl_seconds: 10 * 60,
            refresh_token_ttl_seconds: 30 * 24 * 3600,
            sso_ttl_seconds: 10 * 3600,
            request_ttl_seconds: 30 * 60,
        }
    }
}

impl OidcConfig {
    /// The issuer, if the provider is on.
    pub fn issuer(&self) -> Option<&str> {
        let issuer = self.issuer.trim_end_matches('/');
        (!issuer.is_empty()).then_some(issuer)
    }

    /// Whether cookies must carry `Secure` (the issuer is https).
    pub fn secure_cookies(&self) -> bool {
        self.issuer.starts_with("https://")
    }
}

/// The scopes an application may ask for.
pub const SCOPES: &[&str] = &["openid", "profile", "email", "phone", "offline_access"];

/// `acr` of a sign-in with a password only.
pub const ACR_PASSWORD: &str = "1";
/// `acr` of a sign-in with a password and a second factor (TOTP or recovery code);
/// an application that asks `acr_values=2`, or is registered `--require-2fa`, gets
/// only such sign-ins.
pub const ACR_TWO_FACTOR: &str = "2";

/// How the person proved who they are (`amr`, RFC 8176 names).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Amr(pub Vec<String>);

impl Amr {
    pub fn password() -> Self {
        Self(vec!["pwd".into()])
    }

    /// A password and a second factor: `otp` for a TOTP code; a recovery code is a
    /// second factor too, without `otp`.
    pub fn two_factor(totp: bool) -> Self {
        let mut v = vec!["pwd".to_owned()];
        if totp {
            v.push("otp".into());
        }
        v.push("mfa".into());
        Self(v)
    }

    pub fn has_second_factor(&self) -> bool {
        self.0.iter().any(|m| m == "mfa")
    }

    pub fn acr(&self) -> &'static str {
        if self.has_second_factor() {
            ACR_TWO_FACTOR
        } else {
            ACR_PASSWORD
        }
    }

    /// Stored as a space-separated list.
    pub fn stored(&self) -> String {
        self.0.join(" ")
    }

    pub fn parse(stored: &str) -> Self {
        Self(stored.split_whitespace().map(str::to_owned).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amr_and_acr() {
        assert_eq!(Amr::password().acr(), ACR_PASSWORD);
        assert_eq!(Amr::two_factor(true).0, ["pwd", "otp", "mfa"]);
        assert_eq!(Amr::two_factor(false).acr(), ACR_TWO_FACTOR);
        assert_eq!(
            Amr::parse(&Amr::two_factor(true).stored()),
            Amr::two_factor(true)
        );
        let c = OidcConfig {
            issuer: "https://a.example/".into(),
            ..OidcConfig::default()
        };
        assert_eq!(c.issuer(), Some("https://a.example"));
        assert!(c.secure_cookies());
        assert_eq!(OidcConfig::default().issuer(), None);
    }
}
