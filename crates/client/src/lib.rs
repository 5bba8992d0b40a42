//! Latchkey's client core: everything the desktop app does except drawing, so that it
//! is complete and tested without a window and the Tauri shell stays a thin set of
//! commands over [`Client`].
//!
//! - [`api`]: the v1 HTTP contract over reqwest/rustls, with timeouts, and every
//!   failure classified for a person ([`error`]: a stable code and a next step).
//! - [`config`]: which server (first-run setup, `latchkey.toml` beside the executable,
//!   `LATCHKEY_SERVER`), the server's meta cached for offline use.
//! - [`managed`]: IT's managed settings (Windows policy key, macOS configuration
//!   profile, `/etc/latchkey/latchkey.toml`): the server, its lock, offline sign-in,
//!   the language; above everything the person or the installer set.
//! - [`proxy`]: which proxy a request goes through (environment, then the OS's
//!   settings), so that a refusing proxy is not blamed on the server.
//! - [`device`]: this device's id, a secret kept in the keychain.
//! - [`Step`] and the transitions of [`Client`]: the sign-in state machine, password
//!   reset, the offline path.
//! - [`vault`]: the OS keychain (refresh token, offline verifier, profile); no keychain
//!   means nothing is remembered, never a plain file.
//! - `retry`: calls whose answer may have been lost, tried again (backoff with jitter,
//!   bounded), with one `Idempotency-Key` per action of the person.
//! - [`link`]: whether the server answers right now (the app's "reconnecting…").
//! - `code`: one-time codes as typed (NFKC, so full-width IME digits count).
//! - [`offline`]: the argon2id verifier and the offline rules.
//! - [`strength`]: the server's own password policy for the live meter.
//! - [`totp`]: the QR code drawn locally, the key grouped for manual entry.
//! - [`codes_file`]: the recovery codes saved where the person chose (0600).
//! - `approval`: approving a browser sign-in (`latchkey://approve`), the launcher
//!   of the company's applications, the applications signed in through Latchkey.
//! - [`logging`]: the rolling log file; secrets are redacted by type.

pub mod api;
mod approval;
mod client;
pub mod clock;
mod code;
pub mod codes_file;
pub mod config;
pub mod device;
pub mod dirs;
pub mod error;
mod flow;
pub mod link;
pub mod logging;
pub mod managed;
pub mod net;
pub mod offline;
pub mod proxy;
mod reset;
mod retry;
mod session;
mod step;
pub mod strength;
pub mod totp;
pub mod vault;

pub use approval::{ApprovalLink, ApprovalRequest};
pub use client::{Client, Options};
pub use error::{ClientError, Code, EndReason, NextStep, UiError};
pub use flow::SecondFactor;
pub use reset::ResetLink;
pub use session::Revalidation;
pub use step::Step;
