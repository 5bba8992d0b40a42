//! What an application learns about the person: the ID token's claims and the
//! userinfo answer, by scope (OpenID Connect Core §5.4).
//!
//! `sub` is the account's random id: stable, opaque, never the e-mail or the phone.
//! The e-mail and phone were entered by IT, who vouches for them, so they are given as
//! verified.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256, Sha512};

use super::grants::Grant;
use super::keys::Alg;
use crate::users::UserRow;

/// The claims of `scope` about `user`, `sub` included.
pub fn profile(user: &UserRow, grant: &Grant) -> Map<String, Value> {
    let mut c = Map::new();
    c.insert("sub".into(), json!(user.id));
    if grant.has_scope("profile") {
        if let Some(name) = &user.name {
            c.insert("name".into(), json!(name));
        }
        // The user name only: the e-mail and phone are given by their own scopes.
        if let Some(p) = &user.username {
            c.insert("preferred_username".into(), json!(p));
        }
        if let Some(locale) = &user.locale {
            c.insert("locale".into(), json!(locale));
        }
    }
    if grant.has_scope("email") {
        if let Some(email) = &user.email {
            c.insert("email".into(), json!(email));
            c.insert("email_verified".into(), json!(true));
        }
    }
    if grant.has_scope("phone") {
        if let Some(phone) = &user.phone {
            c.insert("phone_number".into(), json!(phone));
            c.insert("phone_number_verified".into(), json!(true));
        }
    }
    c
}

/// The left half of the hash of `token` that `alg` implies (`at_hash`, Core §3.1.3.6):
/// SHA-256 for RS256, SHA-512 for EdDSA (Ed25519).
pub fn half_hash(alg: Alg, token: &str) -> String {
    let digest = match alg {
        Alg::Rs256 => Sha256::digest(token.as_bytes()).to_vec(),
        Alg::EdDsa => Sha512::digest(token.as_bytes()).to_vec(),
    };
    URL_SAFE_NO_PAD.encode(&digest[..digest.len() / 2])
}

/// The ID token's claims.
#[allow(clippy::too_many_arguments)]
pub fn id_token(
    issuer: &str,
    user: &UserRow,
    grant: &Grant,
    alg: Alg,
    access_token: &str,
    now_ms: i64,
    ttl_seconds: u64,
    with_nonce: bool,
) -> Value {
    let now = now_ms / 1000;
    let mut c = profile(user, grant);
    c.insert("iss".into(), json!(issuer));
    c.insert("aud".into(), json!(grant.client_id));
    c.insert("azp".into(), json!(grant.client_id));
    c.insert("iat".into(), json!(now));
    c.insert("exp".into(), json!(now + ttl_seconds as i64));
    c.insert("auth_time".into(), json!(grant.auth_time / 1000));
    c.insert("amr".into(), json!(grant.amr.0));
    c.insert("acr".into(), json!(grant.amr.acr()));
    c.insert("at_hash".into(), json!(half_hash(alg, access_token)));
    if with_nonce {
        if let Some(nonce) = &grant.nonce {
            c.insert("nonce".into(), json!(nonce));
        }
    }
    Value::Object(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_hash_is_the_left_half_of_the_hash() {
        // Expected value computed apart, with Python's hashlib:
        // urlsafe_b64encode(sha256(token).digest()[:16]).
        assert_eq!(
            half_hash(Alg::Rs256, "jHkWEdUXMU1BwAsC4vtUsZwnNnLkHYqQrZKEhOE3Dlk"),
            "EXRMDWy_INoEOLSh-gksBg"
        );
        assert_eq!(half_hash(Alg::EdDsa, "x").len(), 43);
    }
}
