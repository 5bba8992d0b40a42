//! What users type to sign in: an e-mail address, a phone number or a username, each
//! reduced to one canonical form so that `Zhang@Corp.cn`, `zhang@corp.cn`,
//! `138 0013 8000` and `+8613800138000` find the same account.
//!
//! Here in `proto` because both sides need the same answer: the server finds the
//! account (and keys the lockout) by it, the client finds the account it remembers for
//! offline sign-in by it. Pure functions, no I/O; the phone rules are the
//! `phonenumber` crate's built-in metadata.

use unicode_normalization::UnicodeNormalization;

/// Longest identifier accepted at all (an e-mail address is at most 254 octets).
pub const MAX_CHARS: usize = 320;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identifier {
    Email(String),
    /// E.164, such as `+8613800138000`.
    Phone(String),
    Username(String),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentifierError {
    #[error("the identifier is empty")]
    Empty,
    #[error("the identifier is too long")]
    TooLong,
    #[error("not a valid e-mail address")]
    BadEmail,
    #[error("not a valid phone number")]
    BadPhone,
    #[error("a username has 2 to 64 letters, digits, '.', '_' or '-'")]
    BadUsername,
}

impl Identifier {
    /// Parses user input. `region` is the default country for national numbers.
    pub fn parse(input: &str, region: &str) -> Result<Self, IdentifierError> {
        let text: String = input.trim().nfkc().collect();
        if text.is_empty() {
            return Err(IdentifierError::Empty);
        }
        if text.chars().count() > MAX_CHARS {
            return Err(IdentifierError::TooLong);
        }
        if text.contains('@') {
            return parse_email(&text);
        }
        if looks_like_phone(&text) {
            return parse_phone(&text, region);
        }
        parse_username(&text)
    }

    /// The canonical string, which the database stores and the lockout is keyed on.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Email(s) | Self::Phone(s) | Self::Username(s) => s,
        }
    }

    /// Which field of a profile ([`User`](crate::User)) this identifier names —
    /// `email`, `phone` or `username`, also the server's column of `users`.
    pub fn column(&self) -> &'static str {
        match self {
            Self::Email(_) => "email",
            Self::Phone(_) => "phone",
            Self::Username(_) => "username",
        }
    }

    /// `kind:value`, unique across the three kinds (the server's lockout subject of an
    /// identifier that belongs to no account).
    pub fn subject(&self) -> String {
        format!("{}:{}", self.column(), self.as_str())
    }
}

pub fn parse_email(text: &str) -> Result<Identifier, IdentifierError> {
    let lower = text.to_lowercase();
    let (local, domain) = lower.rsplit_once('@').ok_or(IdentifierError::BadEmail)?;
    let ok = !local.is_empty()
        && local.len() <= 64
        && domain.len() >= 3
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !lower.chars().any(|c| c.is_whitespace() || c.is_control())
        && !local.contains('@');
    if ok {
        Ok(Identifier::Email(lower))
    } else {
        Err(IdentifierError::BadEmail)
    }
}

fn looks_like_phone(text: &str) -> bool {
    let digits = text.chars().filter(char::is_ascii_digit).count();
    digits >= 5
        && text
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '+' | ' ' | '-' | '(' | ')' | '.'))
}

pub fn parse_phone(text: &str, region: &str) -> Result<Identifier, IdentifierError> {
    let region = region.parse::<phonenumber::country::Id>().ok();
    let number = phonenumber::parse(region, text).map_err(|_| IdentifierError::BadPhone)?;
    if !phonenumber::is_valid(&number) {
        return Err(IdentifierError::BadPhone);
    }
    Ok(Identifier::Phone(
        number.format().mode(phonenumber::Mode::E164).to_string(),
    ))
}

pub fn parse_username(text: &str) -> Result<Identifier, IdentifierError> {
    let lower = text.to_lowercase();
    let n = lower.chars().count();
    let ok = (2..=64).contains(&n)
        && lower
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(Identifier::Username(lower))
    } else {
        Err(IdentifierError::BadUsername)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_case_insensitive() {
        assert_eq!(
            Identifier::parse("  Zhang.Wei@Corp.CN ", "CN"),
            Ok(Identifier::Email("zhang.wei@corp.cn".into()))
        );
        assert_eq!(
            Identifier::parse("a@b", "CN"),
            Err(IdentifierError::BadEmail)
        );
        assert_eq!(
            Identifier::parse("a b@c.cn", "CN"),
            Err(IdentifierError::BadEmail)
        );
    }

    #[test]
    fn phones_become_e164_with_the_default_region() {
        let want = Ok(Identifier::Phone("+8613800138000".into()));
        assert_eq!(Identifier::parse("138 0013 8000", "CN"), want);
        assert_eq!(Identifier::parse("+86 138-0013-8000", "CN"), want);
        assert_eq!(Identifier::parse("13800138000", "CN"), want);
        assert_eq!(
            Identifier::parse("(415) 555-2671", "US"),
            Ok(Identifier::Phone("+14155552671".into()))
        );
        assert_eq!(
            Identifier::parse("12345", "CN"),
            Err(IdentifierError::BadPhone)
        );
    }

    #[test]
    fn usernames_and_full_width_input() {
        assert_eq!(
            Identifier::parse("ＺｈａｎｇＷ", "CN"),
            Ok(Identifier::Username("zhangw".into()))
        );
        assert_eq!(
            Identifier::parse("张伟", "CN"),
            Ok(Identifier::Username("张伟".into()))
        );
        assert_eq!(Identifier::parse("", "CN"), Err(IdentifierError::Empty));
        assert_eq!(Identifier::parse("   ", "CN"), Err(IdentifierError::Empty));
        assert_eq!(
            Identifier::parse(&"x".repeat(10_000), "CN"),
            Err(IdentifierError::TooLong)
        );
        assert_eq!(
            Identifier::parse("a;drop", "CN"),
            Err(IdentifierError::BadUsername)
        );
    }
}
