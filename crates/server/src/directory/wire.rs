//! The directory's wire details: LDAP errors and what people are told of them, the
//! stable id's filter, Active Directory's password encoding, and the TLS trust of
//! `ca_file`.

use std::sync::Arc;

use latchkey_proto::{ErrorCode, PasswordReason, PasswordSuggestion};
use ldap3::LdapError;

use super::DirectoryError;
use crate::error::ApiError;

/// A directory that cannot be used: `directory_unavailable`, logged for IT.
pub fn api_error(e: DirectoryError) -> ApiError {
    match e {
        DirectoryError::Unavailable(why) => {
            tracing::warn!(error = %why, "the directory cannot be used");
            ApiError::new(ErrorCode::DirectoryUnavailable).retry_after(DIRECTORY_RETRY_AFTER)
        }
        DirectoryError::WrongPassword => ApiError::new(ErrorCode::CurrentPasswordInvalid),
        DirectoryError::PasswordRefused(text) => {
            tracing::info!(reason = %text, "the directory refused a new password");
            ApiError::rejected(
                "new_password",
                vec![PasswordReason::DirectoryPolicy],
                vec![PasswordSuggestion::ChooseNewPassword],
            )
            .message(format!(
                "The company directory refused this password: {text}"
            ))
        }
    }
}

/// Seconds a client is asked to wait after `directory_unavailable`.
const DIRECTORY_RETRY_AFTER: u64 = 5;

pub(super) fn unavailable(e: LdapError) -> DirectoryError {
    DirectoryError::Unavailable(e.to_string())
}

pub(super) fn is_loopback(host: &url::Host<&str>) -> bool {
    match host {
        // `ldap:` is not a scheme the URL standard knows: its hosts parse as names.
        url::Host::Domain(d) => {
            d.eq_ignore_ascii_case("localhost")
                || d.trim_matches(['[', ']'])
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        }
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
    }
}

/// The filter that finds the stable id `id` (text, or `hex:` bytes escaped one by one).
pub(super) fn id_filter(attribute: &str, id: &str) -> String {
    match id.strip_prefix("hex:").and_then(|h| hex::decode(h).ok()) {
        Some(bytes) => {
            let escaped: String = bytes.iter().map(|b| format!("\\{b:02x}")).collect();
            format!("({attribute}={escaped})")
        }
        None => format!("({attribute}={})", ldap3::ldap_escape(id)),
    }
}

/// Active Directory's `unicodePwd` value: the password in double quotes, UTF-16LE.
pub(super) fn unicode_pwd(password: &str) -> Vec<u8> {
    format!("\"{password}\"")
        .encode_utf16()
        .flat_map(|u| u.to_le_bytes())
        .collect()
}

/// A TLS configuration that trusts only the certificate authorities of `path` (PEM).
pub(super) fn tls_with_ca(path: &str) -> Result<Arc<rustls::ClientConfig>, String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::CertificateDer;
    let mut roots = rustls::RootCertStore::empty();
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| format!("cannot read directory.ca_file {path}: {e}"))?;
    for cert in certs {
        let cert = cert.map_err(|e| format!("directory.ca_file {path}: {e}"))?;
        roots
            .add(cert)
            .map_err(|e| format!("directory.ca_file {path}: {e}"))?;
    }
    if roots.is_empty() {
        return Err(format!("directory.ca_file {path} holds no certificate"));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}
