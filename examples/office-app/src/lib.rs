//! An example office application that signs its users in with Latchkey, as a CRM or a
//! webmail would: "Sign in with Latchkey" sends the browser to the provider's sign-in
//! pages, the callback exchanges the code and verifies the ID token, and the home page
//! then greets the person with the claims it received. "Sign out" ends the session here
//! and at the provider (RP-initiated logout).
//!
//! The protocol is the `openidconnect` crate's ([`relying_party`]); this crate holds
//! only the pages and the two in-memory tables of a small web application: sign-ins
//! under way (keyed by their `state`, bound to the browser by a cookie) and sessions.
//! They are lost at a restart, which an example can afford.

mod page;
pub mod relying_party;
mod web;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use relying_party::{Pending, RelyingParty, SignedIn};

pub use web::router;

/// Where the app listens when `OFFICE_APP_BIND` is not set.
pub const DEFAULT_BIND: &str = "127.0.0.1:8090";

/// How long a sign-in may stay at the provider's pages before its callback.
const PENDING_TTL: Duration = Duration::from_secs(600);

/// What the app must know about its provider and its own registration there.
#[derive(Clone)]
pub struct Settings {
    /// `OFFICE_APP_ISSUER`: the provider's issuer URL (discovery is read below it).
    pub issuer: String,
    /// `OFFICE_APP_CLIENT_ID`: the id IT registered the app under.
    pub client_id: String,
    /// `OFFICE_APP_CLIENT_SECRET`: printed once at registration; none for a public
    /// client.
    pub client_secret: Option<String>,
    /// `OFFICE_APP_REDIRECT_URI`: the callback, exactly as registered.
    pub redirect_uri: String,
    /// `OFFICE_APP_POST_LOGOUT_REDIRECT_URI`: where the provider sends the browser after
    /// sign-out, also registered; by default the app's home page (`/` beside the
    /// callback).
    pub post_logout_redirect_uri: String,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("redirect_uri", &self.redirect_uri)
            .field("post_logout_redirect_uri", &self.post_logout_redirect_uri)
            .finish()
    }
}

impl Settings {
    /// The settings from the `OFFICE_APP_*` environment variables.
    pub fn from_env() -> Result<Self, Error> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let required =
            |name: &str| var(name).ok_or_else(|| Error::Config(format!("{name} is not set")));
        let redirect_uri = required("OFFICE_APP_REDIRECT_URI")?;
        let post_logout_redirect_uri = match var("OFFICE_APP_POST_LOGOUT_REDIRECT_URI") {
            Some(uri) => uri,
            None => home_of(&redirect_uri)?,
        };
        Ok(Self {
            issuer: required("OFFICE_APP_ISSUER")?,
            client_id: required("OFFICE_APP_CLIENT_ID")?,
            client_secret: var("OFFICE_APP_CLIENT_SECRET"),
            redirect_uri,
            post_logout_redirect_uri,
        })
    }
}

/// `http://host:port/` of a callback URL.
pub fn home_of(redirect_uri: &str) -> Result<String, Error> {
    let mut url = openidconnect::url::Url::parse(redirect_uri)
        .map_err(|e| Error::Config(format!("OFFICE_APP_REDIRECT_URI: {e}")))?;
    url.set_path("/");
    url.set_query(None);
    url.set_fragment(None);
    Ok(url.into())
}

/// Why a request or the start failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("configuration: {0}")]
    Config(String),
    #[error("provider discovery failed: {0}")]
    Discovery(String),
    #[error("the code exchange failed: {0}")]
    Token(String),
    #[error("the ID token was refused: {0}")]
    IdToken(String),
    #[error("userinfo failed: {0}")]
    UserInfo(String),
    /// A callback whose `state` is unknown, expired or not this browser's.
    #[error("this sign-in is unknown or expired")]
    UnknownSignIn,
    /// The provider sent the browser back with an OAuth error.
    #[error("the provider refused the sign-in: {0}")]
    Refused(String),
}

/// The running app: its provider, sign-ins under way, sessions.
pub struct App {
    rp: RelyingParty,
    /// Cookies get `Secure` when the app is reached over https.
    secure_cookies: bool,
    pending: Mutex<HashMap<String, (Instant, Pending)>>,
    sessions: Mutex<HashMap<String, SignedIn>>,
}

impl App {
    /// Discovers the provider; fails when it cannot be reached or the settings are bad.
    pub async fn start(settings: &Settings) -> Result<Arc<Self>, Error> {
        Ok(Arc::new(Self {
            rp: RelyingParty::discover(settings).await?,
            secure_cookies: settings.redirect_uri.starts_with("https://"),
            pending: Mutex::new(HashMap::new()),
            sessions: Mutex::new(HashMap::new()),
        }))
    }

    fn remember(&self, state: String, pending: Pending) {
        let mut table = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        // Abandoned sign-ins go, so that the table stays small.
        table.retain(|_, (at, _)| at.elapsed() < PENDING_TTL);
        table.insert(state, (Instant::now(), pending));
    }

    fn take(&self, state: &str) -> Option<Pending> {
        let mut table = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        match table.remove(state) {
            Some((at, pending)) if at.elapsed() < PENDING_TTL => Some(pending),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_home_page_is_beside_the_callback() {
        assert_eq!(
            home_of("http://127.0.0.1:8090/callback?x=1")
                .ok()
                .as_deref(),
            Some("http://127.0.0.1:8090/")
        );
        assert!(home_of("not a url").is_err());
    }
}
