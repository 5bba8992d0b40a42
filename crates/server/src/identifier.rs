//! What users type to sign in, reduced to one canonical form. The rules live in
//! `latchkey_proto::identifier`, because the client applies the same ones to find the
//! account it remembers for offline sign-in; the server keeps this path so that its
//! call sites (`crate::identifier::…`) stay as they are.

pub use latchkey_proto::identifier::*;
