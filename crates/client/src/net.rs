//! The server address, and what a failed request means for the person in front of it.
//!
//! reqwest reports every transport failure as one opaque error; the person needs to
//! know whether their network is down, the name is wrong, the server is off, the
//! certificate is bad or a proxy is in the way, because each has a different fix.
//! [`classify`] walks the error's source chain for the underlying `io::Error` or
//! `rustls::Error` and picks the [`ClientError`] that says so.

use std::error::Error as _;
use std::io;
use std::net::IpAddr;

use crate::error::ClientError;

/// A validated server base URL: https, or http on a loopback address only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerUrl(url::Url);

impl ServerUrl {
    /// Parses what a person or IT typed. A missing scheme means https; a trailing path
    /// is kept (a server behind a reverse proxy under `/latchkey`).
    pub fn parse(input: &str) -> Result<Self, ClientError> {
        let input = input.trim();
        if input.is_empty() {
            return Err(ClientError::InvalidServerUrl);
        }
        let with_scheme = if input.contains("://") {
            input.to_owned()
        } else {
            format!("https://{input}")
        };
        let mut url = url::Url::parse(&with_scheme).map_err(|_| ClientError::InvalidServerUrl)?;
        if url.host_str().is_none_or(str::is_empty)
            || url.cannot_be_a_base()
            || !url.username().is_empty()
            || url.password().is_some()
            || url.query().is_some()
            || url.fragment().is_some()
        {
            return Err(ClientError::InvalidServerUrl);
        }
        match url.scheme() {
            "https" => {}
            "http" if is_loopback(&url) => {}
            "http" => return Err(ClientError::InsecureServerUrl),
            _ => return Err(ClientError::InvalidServerUrl),
        }
        if !url.path().ends_with('/') {
            let path = format!("{}/", url.path());
            url.set_path(&path);
        }
        Ok(Self(url))
    }

    /// `path` (such as `v1/meta`) under the base.
    pub fn join(&self, path: &str) -> Result<url::Url, ClientError> {
        self.0
            .join(path.trim_start_matches('/'))
            .map_err(|_| ClientError::InvalidServerUrl)
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    pub fn is_loopback(&self) -> bool {
        is_loopback(&self.0)
    }

    /// A short, stable name for keychain entries and cache files: scheme, host, port
    /// and path without the trailing slash.
    pub fn key(&self) -> String {
        self.0.as_str().trim_end_matches('/').to_owned()
    }
}

impl std::fmt::Display for ServerUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0.as_str())
    }
}

/// Whether a link may be opened in the browser at all: https, or http to this machine
/// (a test or demo server) — never plain http across the network, where anyone on the
/// way could swap the "download the update" page, nor `file:`, `javascript:` and the
/// like.
pub fn is_safe_link(link: &str) -> bool {
    let Ok(url) = url::Url::parse(link) else {
        return false;
    };
    let plain = url.username().is_empty() && url.password().is_none();
    let host = url.host_str().is_some_and(|h| !h.is_empty());
    plain
        && host
        && match url.scheme() {
            "https" => true,
            "http" => is_loopback(&url),
            _ => false,
        }
}

/// 127.0.0.0/8, ::1 and `localhost` (which resolves to them).
fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        Some(url::Host::Domain(d)) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            d == "localhost" || d.ends_with(".localhost")
        }
        None => false,
    }
}

/// What a transport failure means. `proxied` says whether a proxy was configured for
/// the request, so that a refused or unreachable proxy is not blamed on the server.
pub(crate) fn classify(err: &reqwest::Error, proxied: bool) -> ClientError {
    let chain = chain_text(err);
    // TLS first: a handshake that times out halfway is still a TLS problem only if
    // rustls said so; a bare timeout is a timeout.
    if let Some(tls) = find_rustls(err) {
        let certificate = matches!(
            tls,
            rustls::Error::InvalidCertificate(_) | rustls::Error::NoCertificatesPresented
        );
        return ClientError::Tls {
            certificate,
            detail: tls.to_string(),
        };
    }
    if err.is_timeout() {
        return ClientError::Timeout;
    }
    let io_kind = find_io(err).map(io::Error::kind);
    if chain.contains("dns error") || chain.contains("failed to lookup address") {
        return if proxied {
            ClientError::Proxy { detail: chain }
        } else {
            ClientError::Dns
        };
    }
    match io_kind {
        Some(io::ErrorKind::ConnectionRefused) if proxied => ClientError::Proxy { detail: chain },
        Some(io::ErrorKind::ConnectionRefused) => ClientError::ConnectionRefused,
        Some(
            io::ErrorKind::NetworkUnreachable
            | io::ErrorKind::HostUnreachable
            | io::ErrorKind::NetworkDown
            | io::ErrorKind::AddrNotAvailable,
        ) => ClientError::NoNetwork,
        Some(io::ErrorKind::TimedOut) => ClientError::Timeout,
        // A peer that is not speaking TLS, or closes mid-handshake, on an https URL.
        Some(io::ErrorKind::InvalidData) if chain.contains("tls") || chain.contains("TLS") => {
            ClientError::Tls {
                certificate: false,
                detail: chain,
            }
        }
        _ if proxied && err.is_connect() => ClientError::Proxy { detail: chain },
        _ => ClientError::Network { detail: chain },
    }
}

/// Every error under `err`: its sources, and inside each `io::Error` the errors it
/// wraps (an `io::Error`'s `source()` skips the error it carries, so hyper-rustls's
/// `io::Error(Other, io::Error(InvalidData, rustls::Error))` hides rustls's error from
/// a plain walk).
fn causes(err: &reqwest::Error) -> Vec<&(dyn std::error::Error + 'static)> {
    let mut out = Vec::new();
    let mut source = err.source();
    while let Some(e) = source {
        out.push(e);
        let mut inner = e.downcast_ref::<io::Error>().and_then(|io| io.get_ref());
        while let Some(i) = inner {
            out.push(i as &(dyn std::error::Error + 'static));
            inner = i.downcast_ref::<io::Error>().and_then(|io| io.get_ref());
        }
        source = e.source();
    }
    out
}

fn find_rustls(err: &reqwest::Error) -> Option<&rustls::Error> {
    causes(err)
        .into_iter()
        .find_map(|e| e.downcast_ref::<rustls::Error>())
}

/// The innermost `io::Error`, which carries the OS error's kind.
fn find_io(err: &reqwest::Error) -> Option<&io::Error> {
    causes(err)
        .into_iter()
        .filter_map(|e| e.downcast_ref::<io::Error>())
        .last()
}

/// The error and its sources, for logs and the cases that only have text to go on.
/// reqwest's errors name the URL, never a body, so this holds no secret.
fn chain_text(err: &reqwest::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(e) = source {
        text.push_str(": ");
        text.push_str(&e.to_string());
        source = e.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_required_except_loopback() {
        for ok in [
            "https://auth.corp.cn",
            "auth.corp.cn",
            "https://auth.corp.cn:8443/latchkey",
            "http://127.0.0.1:8433",
            "http://127.8.9.10",
            "http://[::1]:8433",
            "http://localhost:8433",
        ] {
            assert!(ServerUrl::parse(ok).is_ok(), "{ok}");
        }
        for insecure in [
            "http://auth.corp.cn",
            "http://10.0.0.1",
            "http://[::2]",
            "http://localhost.corp.cn",
        ] {
            assert!(
                matches!(
                    ServerUrl::parse(insecure),
                    Err(ClientError::InsecureServerUrl)
                ),
                "{insecure}"
            );
        }
        for bad in [
            "",
            "ftp://x",
            "https://",
            "https://u:p@host",
            "https://h/?q=1",
            "https://h/#f",
        ] {
            assert!(
                matches!(ServerUrl::parse(bad), Err(ClientError::InvalidServerUrl)),
                "{bad}"
            );
        }
    }

    /// Issue 13: `open_link` opens https only, plain http only on loopback.
    #[test]
    fn links_to_open_are_https_or_loopback() {
        for ok in [
            "https://it.corp.cn/latchkey",
            "http://127.0.0.1:8433/download",
            "http://localhost/help",
            "http://[::1]/help",
        ] {
            assert!(is_safe_link(ok), "{ok}");
        }
        for bad in [
            "http://it.corp.cn/latchkey",
            "http://10.0.0.1/",
            "file:///etc/passwd",
            "javascript:alert(1)",
            "mailto:it@corp.cn",
            "https://user:pw@it.corp.cn/",
            "https://",
            "not a url",
        ] {
            assert!(!is_safe_link(bad), "{bad}");
        }
    }

    #[test]
    fn join_keeps_a_path_prefix() {
        let u = ServerUrl::parse("https://corp.cn/latchkey").unwrap();
        assert_eq!(
            u.join("/v1/meta").unwrap().as_str(),
            "https://corp.cn/latchkey/v1/meta"
        );
        assert_eq!(u.key(), "https://corp.cn/latchkey");
        let u = ServerUrl::parse("http://127.0.0.1:9").unwrap();
        assert_eq!(
            u.join("v1/meta").unwrap().as_str(),
            "http://127.0.0.1:9/v1/meta"
        );
    }
}
