//! Which proxy the client goes through to reach its server, as corporate networks set
//! it: `HTTPS_PROXY` / `HTTP_PROXY` / `ALL_PROXY` and `NO_PROXY` (upper or lower
//! case) on every OS, and where none is set the OS's own settings — Windows' Internet
//! Settings (`ProxyEnable`, `ProxyServer`, `ProxyOverride` under HKCU) and macOS's
//! System Configuration. reqwest reads these itself (its `system-proxy` feature); this
//! module asks the same matcher (hyper-util's, which reqwest uses) so that a failure
//! can be blamed on the proxy and not on the server (`net::classify`).
//!
//! A server on this computer (loopback) goes direct, as browsers do, because a proxy
//! elsewhere cannot reach it — unless `NO_PROXY` is set, which then says exactly what
//! goes direct (curl's rule), or Windows' `ProxyOverride` holds `<-loopback>`
//! (Windows' own way to send loopback through the proxy).

use hyper_util::client::proxy::matcher::Matcher;

use crate::net::ServerUrl;

/// Whether requests to `url` skip every proxy because the server is on this computer.
pub fn loopback_direct(url: &ServerUrl) -> bool {
    url.is_loopback() && !no_proxy_set() && !windows_keeps_loopback()
}

/// The proxy that requests to `url` go through (its address, no credentials), or
/// `None` for a direct connection.
pub fn proxy_for(url: &ServerUrl) -> Option<String> {
    if loopback_direct(url) {
        return None;
    }
    let uri: http::Uri = url.as_str().parse().ok()?;
    let intercept = Matcher::from_system().intercept(&uri)?;
    let proxy = intercept.uri();
    // The address only: a proxy URL may carry a password (http://user:pw@proxy).
    Some(
        format!(
            "{}://{}",
            proxy.scheme_str().unwrap_or("http"),
            proxy.host().unwrap_or_default()
        ) + &proxy
            .port_u16()
            .map(|p| format!(":{p}"))
            .unwrap_or_default(),
    )
}

fn no_proxy_set() -> bool {
    ["NO_PROXY", "no_proxy"]
        .iter()
        .any(|n| std::env::var_os(n).is_some())
}

#[cfg(windows)]
fn windows_keeps_loopback() -> bool {
    let Ok(settings) = windows_registry::CURRENT_USER
        .open("Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings")
    else {
        return false;
    };
    settings.get_u32("ProxyEnable").unwrap_or(0) != 0
        && settings
            .get_string("ProxyOverride")
            .is_ok_and(|o| o.split(';').any(|e| e.trim() == "<-loopback>"))
}

#[cfg(not(windows))]
fn windows_keeps_loopback() -> bool {
    false
}
