//! One-time codes as people type them: a TOTP code, a device code, a reset code, a
//! recovery code — cleaned before they are sent.
//!
//! NFKC comes first: a Chinese IME in full-width mode types `１２３４５６`, an
//! ideographic space and `－`, which are the digits, space and dash the person sees, so
//! they must be those to the server (issue 13). Then spaces go (people read codes aloud
//! in groups); the six-digit codes also lose dashes, recovery codes keep theirs.

use latchkey_proto::Secret;
use unicode_normalization::UnicodeNormalization;

use crate::error::ClientError;

/// Longest code accepted at all (recovery codes are the longest, well under this).
const MAX_CHARS: usize = 64;

/// What kind of code, for what may be dropped from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Six digits (TOTP, device code): spaces and dashes go.
    Digits,
    /// A recovery code of two-factor authentication: spaces go, dashes stay.
    Recovery,
    /// The reset code of the password reset: only letters and digits stay.
    Reset,
}

/// The code as the server expects it, or `invalid_input` when nothing (or too much) is
/// left.
pub(crate) fn clean(code: &Secret, kind: Kind) -> Result<Secret, ClientError> {
    let cleaned: String = code
        .expose()
        .nfkc()
        .filter(|c| match kind {
            Kind::Digits => !(c.is_whitespace() || *c == '-'),
            Kind::Recovery => !c.is_whitespace(),
            Kind::Reset => c.is_ascii_alphanumeric(),
        })
        .collect();
    if cleaned.is_empty() || cleaned.chars().count() > MAX_CHARS {
        return Err(ClientError::InvalidInput("code"));
    }
    Ok(Secret::new(cleaned))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str, kind: Kind) -> String {
        clean(&Secret::from(s), kind).unwrap().expose().to_owned()
    }

    #[test]
    fn full_width_digits_from_a_chinese_ime_are_digits() {
        assert_eq!(c("１２３４５６", Kind::Digits), "123456");
        assert_eq!(c("１２３　４５６", Kind::Digits), "123456");
        assert_eq!(c("１２３－４５６", Kind::Digits), "123456");
        assert_eq!(c("４８２９１３", Kind::Reset), "482913");
        assert_eq!(c("ａｂｃｄ－１２３４", Kind::Recovery), "abcd-1234");
    }

    #[test]
    fn spaces_and_dashes() {
        assert_eq!(c(" 123 456 ", Kind::Digits), "123456");
        assert_eq!(c("123-456", Kind::Digits), "123456");
        assert_eq!(c("4f7k-2m9q ", Kind::Recovery), "4f7k-2m9q");
        assert_eq!(c("123-456", Kind::Reset), "123456");
        assert!(clean(&Secret::from("  "), Kind::Digits).is_err());
        assert!(clean(&Secret::from("－"), Kind::Reset).is_err());
        assert!(clean(&Secret::from("1".repeat(65).as_str()), Kind::Digits).is_err());
    }
}
