//! Personal context: the user's own identifier, name, e-mail, phone and organisation,
//! which an attacker who targets this user tries first (ASVS 2.1.7–2.1.8).
//!
//! Each field becomes tokens of two strengths. *Forbidden* tokens are specific enough
//! that a password containing one is refused (`ContainsPersonalInfo`): four characters
//! or more, or two or more CJK characters (a Chinese given name is usually two). *Hints*
//! are too short to refuse on (a three-letter name part, the last four phone digits)
//! and only lower the zxcvbn score. Both are given to zxcvbn as user inputs.

use crate::normalize;

/// Personal context that must not appear in the password.
#[derive(Debug, Default, Clone)]
pub struct UserContext {
    /// Sign-in identifier: a user name, an e-mail address or a phone number.
    pub identifier: Option<String>,
    /// Display name, in any script (`张伟`, `Zhang Wei`, `Wei Zhang`).
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub organisation: Option<String>,
}

/// Words that occur in most organisation names; refusing a password for containing
/// "company" would only puzzle people.
const GENERIC_ORG_WORDS: &[&str] = &[
    "company",
    "corporation",
    "corp",
    "incorporated",
    "limited",
    "group",
    "holding",
    "holdings",
    "technology",
    "technologies",
    "tech",
    "gmbh",
    "inc",
    "llc",
    "ltd",
    "international",
    "global",
    "china",
    "the",
];

/// Chinese organisation-name endings, longest first, stripped so that `腾讯` is found in
/// a password even when the organisation is registered as `腾讯科技有限公司`.
const CJK_ORG_SUFFIXES: &[&str] = &[
    "股份有限公司",
    "有限责任公司",
    "有限公司",
    "集团",
    "公司",
    "科技",
    "网络",
    "信息",
    "技术",
    "股份",
];

/// The tokens derived from a [`UserContext`].
#[derive(Debug, Default)]
pub(crate) struct Tokens {
    /// Lowercase, letters and digits only; refuse a password that contains one.
    forbidden: Vec<String>,
    /// Lowercase; given to zxcvbn only.
    hints: Vec<String>,
}

impl Tokens {
    pub(crate) fn new(ctx: &UserContext) -> Self {
        let mut tokens = Tokens::default();
        if let Some(identifier) = field(&ctx.identifier) {
            if identifier.contains('@') {
                tokens.email(&identifier);
            } else if looks_like_phone(&identifier) {
                tokens.phone(&identifier);
            } else {
                tokens.words(&identifier, &[]);
            }
        }
        if let Some(name) = field(&ctx.name) {
            tokens.name(&name);
        }
        if let Some(email) = field(&ctx.email) {
            tokens.email(&email);
        }
        if let Some(phone) = field(&ctx.phone) {
            tokens.phone(&phone);
        }
        if let Some(org) = field(&ctx.organisation) {
            tokens.organisation(&org);
        }
        tokens
    }

    /// Whether the password, given as lowercase letters and digits only, contains a
    /// forbidden token. Comparing without separators catches `Zhang.Wei` for `zhangwei`
    /// and `138-0013-8000` for a phone number.
    pub(crate) fn found_in(&self, compact_password: &str) -> bool {
        self.forbidden
            .iter()
            .any(|token| compact_password.contains(token.as_str()))
    }

    /// Every token, forbidden ones first: zxcvbn ranks earlier inputs as likelier.
    pub(crate) fn zxcvbn_inputs(&self) -> Vec<String> {
        let mut all: Vec<String> = Vec::with_capacity(self.forbidden.len() + self.hints.len());
        for token in self.forbidden.iter().chain(&self.hints) {
            if !all.contains(token) {
                all.push(token.clone());
            }
        }
        all
    }

    fn push(&mut self, token: &str) {
        let token = compact(token);
        let chars = token.chars().count();
        let strong = chars >= 4 || (chars >= 2 && token.chars().any(is_cjk));
        let list = if strong {
            &mut self.forbidden
        } else if chars >= 2 {
            &mut self.hints
        } else {
            return;
        };
        if !list.contains(&token) {
            list.push(token);
        }
    }

    fn hint(&mut self, token: &str) {
        let token = compact(token);
        if token.chars().count() >= 2 && !self.hints.contains(&token) {
            self.hints.push(token);
        }
    }

    /// The whole value, and each of its parts (split on anything that is not a letter
    /// or digit) that is not in `skip`.
    fn words(&mut self, value: &str, skip: &[&str]) {
        self.push(value);
        for part in parts(value) {
            if !skip.contains(&part) {
                self.push(part);
            }
        }
    }

    fn name(&mut self, name: &str) {
        self.words(name, &[]);
        let parts: Vec<&str> = parts(name).collect();
        // Names are written in either order (`Zhang Wei`, `Wei Zhang`); try both.
        if parts.len() >= 2 {
            let reversed: String = parts.iter().rev().copied().collect();
            self.push(&reversed);
        }
        // A Chinese name written without a space: its given name is what follows the
        // (usually one-character) surname: 王小明 → 小明.
        for part in parts {
            if part.chars().count() >= 3 && part.chars().all(is_cjk) {
                let given: String = part.chars().skip(1).collect();
                self.push(&given);
            }
        }
    }

    fn email(&mut self, email: &str) {
        // The domain is usually a mail provider (qq.com, 163.com, gmail.com), not a
        // secret of this user's; the organisation field covers the employer.
        let local = email.rsplit_once('@').map_or(email, |(local, _)| local);
        // A `+tag` is a mailbox filter label ("work", "shop"), not something about the
        // user; refusing every password with "work" in it would only puzzle people.
        let mailbox = local.split_once('+').map_or(local, |(mailbox, _)| mailbox);
        self.words(mailbox, &[]);
    }

    fn phone(&mut self, phone: &str) {
        let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
        let n = digits.len();
        if n < 6 {
            // Too short to be a phone number; treat it as an ordinary value.
            self.push(&digits);
            return;
        }
        self.push(&digits);
        // Without a country code (+86 138…) and the subscriber part: people write
        // their number as they dial it.
        for keep in [11, 8] {
            if n > keep {
                self.push(&digits[n - keep..]);
            }
        }
        // Four digits occur in passwords by chance too often to refuse on.
        self.hint(&digits[n - 4..]);
    }

    fn organisation(&mut self, org: &str) {
        self.words(org, GENERIC_ORG_WORDS);
        let mut stem = compact(org);
        while let Some(shorter) = CJK_ORG_SUFFIXES
            .iter()
            .find_map(|suffix| stem.strip_suffix(suffix))
        {
            stem = shorter.to_string();
        }
        self.push(&stem);
    }
}

/// A non-empty field, NFKC-normalised (so full-width input matches) and lowercased.
fn field(value: &Option<String>) -> Option<String> {
    let value = normalize(value.as_deref()?.trim()).to_lowercase();
    (!value.is_empty()).then_some(value)
}

fn parts(value: &str) -> impl Iterator<Item = &str> {
    value
        .split(|c: char| !c.is_alphanumeric())
        .filter(|p| !p.is_empty())
}

pub(crate) fn compact(value: &str) -> String {
    value.chars().filter(|c| c.is_alphanumeric()).collect()
}

fn looks_like_phone(value: &str) -> bool {
    value
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | ' ' | '(' | ')' | '.'))
        && value.chars().filter(char::is_ascii_digit).count() >= 6
}

/// Han, kana and Hangul: scripts where two characters already make a name.
fn is_cjk(c: char) -> bool {
    matches!(c,
        '\u{3040}'..='\u{30FF}'
        | '\u{3400}'..='\u{4DBF}'
        | '\u{4E00}'..='\u{9FFF}'
        | '\u{AC00}'..='\u{D7AF}'
        | '\u{F900}'..='\u{FAFF}'
        | '\u{20000}'..='\u{2FA1F}')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> UserContext {
        UserContext {
            identifier: Some("zhang.wei+work@example.com".into()),
            name: Some("Zhang Wei".into()),
            email: None,
            phone: Some("+86 138-0013-8000".into()),
            organisation: Some("Acme Technology Ltd".into()),
        }
    }

    #[test]
    fn tokens_from_every_field() {
        let t = Tokens::new(&ctx());
        for token in [
            "zhangwei",
            "zhang",
            "weizhang",
            "8613800138000",
            "13800138000",
            "00138000",
            "acme",
            "acmetechnologyltd",
        ] {
            assert!(t.forbidden.iter().any(|f| f == token), "{token} in {t:?}");
        }
        assert!(!t.forbidden.iter().any(|f| f == "technology"), "{t:?}");
        assert!(!t.forbidden.iter().any(|f| f.contains("work")), "{t:?}");
        assert!(t.hints.iter().any(|h| h == "wei"), "{t:?}");
        assert!(t.hints.iter().any(|h| h == "8000"), "{t:?}");
        assert!(!t.forbidden.iter().any(|f| f == "wei" || f == "8000"));
    }

    #[test]
    fn chinese_names_and_organisations() {
        let t = Tokens::new(&UserContext {
            name: Some("王小明".into()),
            organisation: Some("腾讯科技有限公司".into()),
            ..UserContext::default()
        });
        assert!(t.found_in("我是王小明"));
        assert!(t.found_in("小明1990"));
        assert!(t.found_in("腾讯2024"));
        assert!(!t.found_in("correcthorsebatterystaple"));
    }

    #[test]
    fn identifier_kinds() {
        let phone = Tokens::new(&UserContext {
            identifier: Some("13800138000".into()),
            ..UserContext::default()
        });
        assert!(phone.found_in("x13800138000x"));
        let user = Tokens::new(&UserContext {
            identifier: Some("ＢｏｂＳｍｉｔｈ_42".into()),
            ..UserContext::default()
        });
        assert!(user.found_in("ilovebobsmith"));
        assert!(user.found_in("bobsmith42"));
        assert!(!user.found_in("smith42"));
    }

    #[test]
    fn empty_context_has_no_tokens() {
        let t = Tokens::new(&UserContext {
            identifier: Some("   ".into()),
            ..UserContext::default()
        });
        assert!(t.zxcvbn_inputs().is_empty());
        assert!(!t.found_in("anything"));
    }

    #[test]
    fn inputs_are_deduplicated_forbidden_first() {
        let inputs = Tokens::new(&ctx()).zxcvbn_inputs();
        assert_eq!(inputs.first().map(String::as_str), Some("zhangwei"));
        let mut sorted = inputs.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), inputs.len());
    }
}
