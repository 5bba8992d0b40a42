//! The desktop app as the key to office applications (issue 16): approving a browser
//! sign-in, the launcher of the company's applications, and the applications signed
//! in through Latchkey.
//!
//! A browser on the provider's sign-in page asks for an approval; the page shows a
//! two-digit number and opens `latchkey://approve?id=<approval id>&server=<issuer>`.
//! The signed-in app reads the request (`GET /v1/approvals/{id}`), shows the
//! application's name, the browser and three numbers, and the person picks the one the
//! browser shows (`POST /v1/approvals/{id}`): number matching.

use serde::{Deserialize, Serialize};

/// `GET /v1/approvals/{id}`: what the app shows about a browser sign-in waiting for it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ApprovalView {
    pub id: String,
    /// The application's registered name ("CRM").
    pub client_name: String,
    /// The browser that asks, as its User-Agent names it ("Web browser (Chrome)").
    pub browser: String,
    /// The browser's address as the server saw it, when known.
    pub ip: Option<String>,
    /// Whether the browser and this app reach the server from the same address (one
    /// computer, or one office network); when not, the app warns.
    pub same_network: bool,
    /// Three numbers, one of which the browser shows; in random order.
    pub numbers: Vec<u8>,
    /// Seconds left to answer.
    pub expires_in: u64,
    /// The application accepts only two-factor sign-ins and this session has none: the
    /// app cannot approve (it says how to turn two-step verification on).
    pub needs_two_factor: bool,
}

/// `POST /v1/approvals/{id}` body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ApprovalDecision {
    /// Allow (with the number picked) or deny.
    pub allow: bool,
    /// The number the person picked; required to allow.
    #[serde(default)]
    pub number: Option<u8>,
}

/// An application of the launcher (`client add … --launch-url … --icon FILE`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LauncherApp {
    pub client_id: String,
    pub name: String,
    /// Where the application starts (https).
    pub launch_url: String,
    /// The icon IT gave, as a `data:image/png;base64,…` or `data:image/svg+xml;base64,…`
    /// URL (64 KiB at most).
    pub icon: Option<String>,
}

/// `GET /v1/launcher`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Launcher {
    pub apps: Vec<LauncherApp>,
}

/// `POST /v1/launch` body: open this application signed in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LaunchRequest {
    pub client_id: String,
}

/// `POST /v1/launch` answer: the app opens `url` in the default browser. The URL
/// carries a one-time ticket (30 s) that signs the browser in and then goes to the
/// application's launch URL.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LaunchTicket {
    pub url: crate::Secret,
    pub expires_in: u64,
}

/// An application the person signed in to through Latchkey.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SignedInApp {
    pub client_id: String,
    pub name: String,
    /// Unix seconds of the first and the latest sign-in still live.
    pub first_at: i64,
    pub last_at: i64,
    /// What it was given (`openid profile email …`).
    pub scopes: Vec<String>,
}

/// `GET /v1/me/applications`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SignedInApps {
    pub apps: Vec<SignedInApp>,
}
