//! Latchkey's v1 wire protocol: every request and response body of the HTTP contract in
//! `DESIGN.md`, and the stable error codes clients branch on.
//!
//! Server and client both use these types, so the JSON form is written down once. This
//! crate does no I/O. Fields that carry secrets (passwords, tokens, codes) use
//! [`Secret`], whose `Debug` prints `<redacted>`, so a stray `{:?}` cannot leak them.
//!
//! [`identifier`] is the one rule both sides apply to what people type to sign in
//! (e-mail, phone, username → one canonical form).

mod admin;
mod approval;
mod auth;
mod code;
mod error;
pub mod identifier;
mod me;
mod meta;
mod mfa;
mod password;
mod reset;
mod secret;

pub use admin::*;
pub use approval::*;
pub use auth::*;
pub use code::*;
pub use error::*;
pub use me::*;
pub use meta::*;
pub use mfa::*;
pub use password::*;
pub use reset::*;
pub use secret::Secret;

/// The API version this crate describes; `/v1/meta` reports it.
pub const API_VERSION: &str = "v1";

/// Header a client sends with every request so the server can answer `client_outdated`.
pub const CLIENT_VERSION_HEADER: &str = "latchkey-client-version";

/// Header that makes a sign-in step or an account action safe to send again: a retry
/// with the same key gets the first answer, and the action is not done twice. One key
/// per action the person takes, random (128 bits or more); printable ASCII without
/// spaces, [`IDEMPOTENCY_KEY_MIN_CHARS`] to [`IDEMPOTENCY_KEY_MAX_CHARS`] characters.
pub const IDEMPOTENCY_KEY_HEADER: &str = "idempotency-key";
/// Shortest `Idempotency-Key` accepted: the key also encrypts the stored answer.
pub const IDEMPOTENCY_KEY_MIN_CHARS: usize = 16;
/// Longest `Idempotency-Key` accepted.
pub const IDEMPOTENCY_KEY_MAX_CHARS: usize = 128;
/// Header of an answer that is a stored one, replayed for an `Idempotency-Key` seen
/// before (value `true`).
pub const IDEMPOTENT_REPLAYED_HEADER: &str = "idempotent-replayed";
