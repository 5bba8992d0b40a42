//! Latchkey's password policy: the one implementation of "is this password good enough",
//! used by the auth server to accept or refuse a password and by the desktop client for
//! its live strength meter, so that the two can never disagree.
//!
//! [`evaluate`] checks a password against a [`PasswordPolicy`] and answers with the
//! [`PasswordVerdict`] that `POST /v1/password/check` sends:
//!
//! - **length** in Unicode characters after NFKC ([`normalize`]); input over the maximum
//!   is refused, never truncated, and is not scored at all, so a 10,000-character paste
//!   costs next to nothing;
//! - **strength**: the zxcvbn score (0–4) with the user's own details and a bundled
//!   blocklist as extra dictionaries. zxcvbn's lists are English; the blocklist adds what
//!   Chinese-speaking users choose (`5201314`, `woaini`, pinyin names, keyboard walks).
//!   zxcvbn only ever sees bounded windows of the password (see the `strength` module),
//!   so every call is cheap enough for each keystroke and for hostile input;
//! - **common passwords**: a password that is just a blocklist entry is refused whatever
//!   its score, and so is one that is just a Chinese name in pinyin with a year, a date or
//!   a lucky number (`ZhangWei19900815`, `Li.Na.1988!`, `chenjie_0520`; see the `names`
//!   module), a pattern zxcvbn rates strong;
//! - **personal information**: identifier, name, e-mail, phone and organisation
//!   ([`UserContext`]) must not appear in it;
//! - **character classes**, only when an administrator turns `min_classes` on.
//!
//! `history` and `expiry_days` are part of the policy too, but they need the stored
//! hashes and dates of earlier passwords, so the server enforces them
//! (`ReusedPassword`, `SameAsCurrent`); this crate ignores both fields.

mod blocklist;
mod context;
mod l33t;
mod names;
mod strength;

use latchkey_proto::{PasswordPolicy, PasswordReason, PasswordSuggestion, PasswordVerdict};
use unicode_normalization::UnicodeNormalization;

pub use context::UserContext;

/// NFKC normalisation; the server hashes the normalised form.
///
/// NFKC makes the same password typed on different keyboards or input methods the same
/// string: full-width `ｐａｓｓｗｏｒｄ` (common with Chinese IMEs) becomes `password`,
/// a precomposed `é` equals `e` + combining accent. NIST 800-63B §5.1.1.2 asks for it.
pub fn normalize(password: &str) -> String {
    password.nfkc().collect()
}

/// NFKC never makes a string shorter than a quarter of its length (the most a single
/// character composes from is four: a Greek vowel with three marks), so input longer
/// than this many times the maximum is too long without normalising it first.
const MAX_NFKC_SHRINK: usize = 4;

/// Evaluate `password` (raw user input; normalise inside) against the policy.
///
/// `accepted` is true exactly when `reasons` is empty. Reasons come in the order of
/// [`PasswordReason`]; suggestions follow the reasons they belong to, without repeats.
/// `score` is zxcvbn's 0–4, reported as 0 when the length is outside the policy (as the
/// wire type documents), even though a too-short password is still scored to decide
/// whether it is also too weak.
pub fn evaluate(policy: &PasswordPolicy, password: &str, ctx: &UserContext) -> PasswordVerdict {
    let mut verdict = Verdict::default();
    let max_length = usize::try_from(policy.max_length).unwrap_or(usize::MAX);
    let min_length = usize::try_from(policy.min_length).unwrap_or(usize::MAX);

    // Input that is too long even if NFKC shrank it as far as it can is refused
    // without normalising it: a pasted megabyte costs one pass to count it.
    if password.chars().count() / MAX_NFKC_SHRINK > max_length {
        return too_long();
    }
    let password = normalize(password);
    let length = password.chars().count();
    if length > max_length {
        return too_long();
    }

    let too_short = length < min_length;
    if too_short {
        verdict.add(
            PasswordReason::TooShort,
            PasswordSuggestion::UseLongerPassword,
        );
    }

    let tokens = context::Tokens::new(ctx);
    let strength = strength::estimate(&password, &tokens.zxcvbn_inputs());
    if strength.score < policy.min_score {
        verdict.reason(PasswordReason::TooWeak);
        if strength.suggestions.is_empty() {
            // zxcvbn gives no advice from score 3 up, yet a policy may ask for 4.
            verdict.suggest(PasswordSuggestion::AddAnotherWord);
        }
        for &s in &strength.suggestions {
            verdict.suggest(s);
        }
    }

    let lower = password.to_lowercase();
    if blocklist::is_common(&lower) {
        verdict.add(
            PasswordReason::CommonPassword,
            PasswordSuggestion::AvoidCommonPasswords,
        );
    }
    if names::is_name_and_number(&lower) {
        // A pattern of common choices, like a blocklist entry: the name and the birthday
        // are what to leave out.
        verdict.add(
            PasswordReason::CommonNameAndNumber,
            PasswordSuggestion::AvoidPersonalInfo,
        );
    }
    if tokens.found_in(&context::compact(&lower)) {
        verdict.add(
            PasswordReason::ContainsPersonalInfo,
            PasswordSuggestion::AvoidPersonalInfo,
        );
    }
    if policy.min_classes > 0 && character_classes(&password) < policy.min_classes {
        verdict.add(
            PasswordReason::MissingCharacterClasses,
            PasswordSuggestion::AddCharacterClasses,
        );
    }

    verdict.finish(if too_short { 0 } else { strength.score })
}

/// The verdict on input over the maximum length. Nothing else is worth computing (or
/// spending time on) until it is shortened.
fn too_long() -> PasswordVerdict {
    let mut verdict = Verdict::default();
    verdict.add(
        PasswordReason::TooLong,
        PasswordSuggestion::UseShorterPassword,
    );
    verdict.finish(0)
}

/// How many of the four classes — lowercase, uppercase, digit, other — `password` uses.
///
/// Letters count by case in any script (`é` is lowercase, `Ж` uppercase). Letters
/// without case, as in Chinese, Japanese or Arabic, count as "other", like symbols and
/// spaces: they lie outside the ASCII alphabet a guesser starts with, which is the
/// variety the rule is after, so `密码Mima2024` has four classes. Digits are ASCII
/// `0`–`9` (NFKC has already turned full-width digits into those); other numerals count
/// as "other".
fn character_classes(password: &str) -> u8 {
    let (mut lower, mut upper, mut digit, mut other) = (false, false, false, false);
    for c in password.chars() {
        if c.is_ascii_digit() {
            digit = true;
        } else if c.is_lowercase() {
            lower = true;
        } else if c.is_uppercase() {
            upper = true;
        } else {
            other = true;
        }
    }
    [lower, upper, digit, other].into_iter().map(u8::from).sum()
}

/// Collects reasons and suggestions in order, each once.
#[derive(Default)]
struct Verdict {
    reasons: Vec<PasswordReason>,
    suggestions: Vec<PasswordSuggestion>,
}

impl Verdict {
    fn add(&mut self, reason: PasswordReason, suggestion: PasswordSuggestion) {
        self.reason(reason);
        self.suggest(suggestion);
    }

    fn reason(&mut self, reason: PasswordReason) {
        if !self.reasons.contains(&reason) {
            self.reasons.push(reason);
        }
    }

    fn suggest(&mut self, suggestion: PasswordSuggestion) {
        if !self.suggestions.contains(&suggestion) {
            self.suggestions.push(suggestion);
        }
    }

    fn finish(self, score: u8) -> PasswordVerdict {
        PasswordVerdict {
            score,
            accepted: self.reasons.is_empty(),
            reasons: self.reasons,
            suggestions: self.suggestions,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    use PasswordReason::*;

    fn policy() -> PasswordPolicy {
        PasswordPolicy::default()
    }

    fn check(password: &str) -> PasswordVerdict {
        evaluate(&policy(), password, &UserContext::default())
    }

    fn assert_accepted(password: &str) {
        let v = check(password);
        assert!(v.accepted, "{password:?} refused: {v:?}");
        assert!(v.reasons.is_empty() && v.suggestions.is_empty(), "{v:?}");
    }

    fn assert_refused(password: &str, reason: PasswordReason) {
        let v = check(password);
        assert!(!v.accepted, "{password:?} accepted: {v:?}");
        assert!(v.reasons.contains(&reason), "{password:?}: {v:?}");
    }

    #[test]
    fn empty_is_too_short() {
        let v = check("");
        assert_eq!(v.score, 0);
        assert_eq!(v.reasons[0], TooShort);
        assert_eq!(v.suggestions[0], PasswordSuggestion::UseLongerPassword);
    }

    #[test]
    fn too_short_reports_score_zero_and_other_problems() {
        let v = check("k9#Tq2$vLm8");
        assert_eq!(v.score, 0);
        assert_eq!(v.reasons, vec![TooShort]);
        let v = check("abc");
        assert_eq!(v.reasons, vec![TooShort, TooWeak]);
    }

    #[test]
    fn twelve_character_boundary() {
        // 11 random characters: strong, but one short of the policy.
        assert_refused("k9#Tq2$vLm8", TooShort);
        assert_accepted("k9#Tq2$vLm8z");
    }

    #[test]
    fn exactly_max_length_is_accepted_one_more_is_refused() {
        let base: String = "Velvet kites argue over 7 brass lanterns; "
            .chars()
            .cycle()
            .take(128)
            .collect();
        assert_eq!(base.chars().count(), 128);
        assert_accepted(&base);
        let longer = format!("{base}x");
        let v = check(&longer);
        assert_eq!(v.reasons, vec![TooLong]);
        assert_eq!(v.suggestions, vec![PasswordSuggestion::UseShorterPassword]);
        assert_eq!(v.score, 0);
        // Counted in characters, not bytes: 128 CJK characters are 384 bytes.
        let cjk: String = "春眠不觉晓处处闻啼鸟夜来风雨声花落知多少"
            .chars()
            .cycle()
            .take(128)
            .collect();
        assert!(!check(&cjk).reasons.contains(&TooLong));
        assert_eq!(check(&format!("{cjk}春")).reasons, vec![TooLong]);
    }

    #[test]
    fn ten_thousand_characters_are_too_long_and_cheap() {
        let start = Instant::now();
        for input in ["a".repeat(10_000), "4@8([{<3691!|70$5+7%2".repeat(500)] {
            let v = check(&input);
            assert_eq!(v.reasons, vec![TooLong]);
            assert_eq!(v.score, 0);
        }
        // Generous even for a debug build; the point is that zxcvbn never ran.
        assert!(start.elapsed().as_millis() < 500);
    }

    #[test]
    fn nfkc_full_width_counts_as_ascii() {
        assert_eq!(normalize("ｐａｓｓｗｏｒｄ"), "password");
        assert_eq!(normalize("e\u{301}"), "é");
        // Full-width digits are digits and the blocklist sees through them.
        assert_refused("ｐａｓｓｗｏｒｄ１２３４", CommonPassword);
        // Length is counted after normalisation: the ligature "ﬃ" is three letters.
        let p = PasswordPolicy {
            min_score: 0,
            ..policy()
        };
        let v = evaluate(&p, "ﬃﬃﬃ", &UserContext::default());
        assert_eq!(v.reasons, vec![TooShort]);
        let v = evaluate(&p, "ﬃﬃﬃﬃ", &UserContext::default());
        assert!(v.accepted, "{v:?}");
    }

    #[test]
    fn chinese_number_idioms_are_refused() {
        for pw in [
            "5201314",
            "520131452013",
            "5201314520",
            "13145205201314",
            "woaini1314",
            "woaini1314!!",
            "Woaini5201314",
            "1314woaini520",
            "77585217758521",
            "147258369147",
            "woaini1314Beijing",
        ] {
            let v = check(pw);
            assert!(!v.accepted, "{pw} accepted: {v:?}");
            assert!(
                v.reasons
                    .iter()
                    .any(|r| matches!(r, CommonPassword | TooWeak)),
                "{pw}: {v:?}"
            );
        }
        assert_refused("woaini1314!!", CommonPassword);
        assert_refused("52013145201314", TooWeak);
    }

    #[test]
    fn pinyin_and_surnames_are_refused() {
        for pw in [
            "zhangwei1990",
            "Wangfang123456",
            "wodemima2024",
            "nihaozhongguo",
            "laopowoaini",
            "liuyang19880808",
            "Zhang19900101",
            "qinaidebaobei",
            "beijingshanghai",
            "1qaz2wsx3edc",
        ] {
            let v = check(pw);
            assert!(!v.accepted, "{pw} accepted: {v:?}");
        }
        assert_refused("Zhang19900101", CommonPassword);
        assert_refused("wo-ai-ni-1314", CommonPassword);
    }

    #[test]
    fn common_password_regardless_of_score() {
        // Long enough and not trivially scored, yet it is just "password" dressed up.
        let v = check("!!!password2024!!!");
        assert!(v.reasons.contains(&CommonPassword), "{v:?}");
        assert!(v
            .suggestions
            .contains(&PasswordSuggestion::AvoidCommonPasswords));
    }

    #[test]
    fn strong_passphrases_are_accepted() {
        assert_accepted("correct horse battery staple");
        assert_accepted("Velvet kites argue over brass lanterns");
        assert_accepted("月亮 bicycle 苹果 thunder");
        assert_accepted("我家的猫喜欢在钢琴上睡午觉");
        assert_accepted("xiongmao chi pingguo zai yueqiu shang");
    }

    #[test]
    fn personal_information_is_refused() {
        let ctx = UserContext {
            identifier: Some("zhang.xiaohua@example.com".into()),
            name: Some("张小华".into()),
            email: Some("xiaohua.zhang@corp.example".into()),
            phone: Some("+86 139 1234 5678".into()),
            organisation: Some("Lanting Ink Works".into()),
        };
        for pw in [
            "Zhang.Xiaohua!velvet-kite",
            "velvet kite xiaohuazhang",
            "我是小华我喜欢风筝和大海",
            "kite-13912345678-velvet",
            "kite 1234-5678 velvet storm",
            "lanting velvet kite storm",
        ] {
            let v = evaluate(&policy(), pw, &ctx);
            assert!(v.reasons.contains(&ContainsPersonalInfo), "{pw}: {v:?}");
            assert!(v
                .suggestions
                .contains(&PasswordSuggestion::AvoidPersonalInfo));
        }
        // The last four phone digits alone are not refused outright.
        let v = evaluate(&policy(), "velvet kite 5678 storm lamp", &ctx);
        assert!(!v.reasons.contains(&ContainsPersonalInfo), "{v:?}");
        assert!(evaluate(&policy(), "correct horse battery staple", &ctx).accepted);
    }

    #[test]
    fn character_classes_only_when_asked() {
        assert_eq!(character_classes(""), 0);
        assert_eq!(character_classes("abc"), 1);
        assert_eq!(character_classes("aB3!"), 4);
        assert_eq!(character_classes("éÉ"), 2);
        assert_eq!(character_classes("密码"), 1);
        assert_eq!(character_classes("１２"), 1);
        assert_eq!(character_classes("密码Mima2024"), 4);

        let pw = "correct horse battery staple";
        assert_accepted(pw);
        let strict = PasswordPolicy {
            min_classes: 3,
            ..policy()
        };
        let v = evaluate(&strict, pw, &UserContext::default());
        assert_eq!(v.reasons, vec![MissingCharacterClasses]);
        assert_eq!(v.suggestions, vec![PasswordSuggestion::AddCharacterClasses]);
        assert!(
            evaluate(
                &strict,
                "Correct horse battery staple",
                &UserContext::default()
            )
            .accepted
        );
        assert!(
            evaluate(
                &strict,
                "月亮 bicycle 苹果 thunder 7",
                &UserContext::default()
            )
            .accepted
        );
    }

    #[test]
    fn reasons_and_suggestions_are_ordered_and_unique() {
        let strict = PasswordPolicy {
            min_classes: 4,
            ..policy()
        };
        let ctx = UserContext {
            name: Some("Wang Fang".into()),
            ..UserContext::default()
        };
        let v = evaluate(&strict, "wangfang", &ctx);
        assert_eq!(
            v.reasons,
            vec![
                TooShort,
                TooWeak,
                CommonPassword,
                ContainsPersonalInfo,
                MissingCharacterClasses
            ]
        );
        let mut s = v.suggestions.clone();
        s.dedup();
        assert_eq!(s.len(), v.suggestions.len());
        assert_eq!(v.suggestions[0], PasswordSuggestion::UseLongerPassword);
    }

    #[test]
    fn higher_min_score_still_suggests_something() {
        let p = PasswordPolicy {
            min_score: 4,
            ..policy()
        };
        let pw = "Tr0ub4dor&3x";
        let v = evaluate(&p, pw, &UserContext::default());
        if v.score < 4 {
            assert_eq!(v.reasons, vec![TooWeak]);
            assert!(!v.suggestions.is_empty());
        }
    }

    #[test]
    fn odd_input_does_not_panic() {
        let samples = [
            "😀😃😄😁😆😅😂🤣☺️😊😇🙂🙃😉",
            "👨‍👩‍👧‍👦👨‍👩‍👧‍👦👨‍👩‍👧‍👦",
            "İİİİİİİİİİİİİİİİ",
            "ẞßẞßẞßẞßẞßẞß",
            "\u{0}\u{1}\u{7f}\u{feff}\u{200b}\u{202e}abcdefghijk",
            "ᾅᾅᾅᾅᾅᾅᾅᾅᾅᾅᾅᾅ",
            "ﷺﷺﷺﷺﷺﷺﷺﷺ",
            "\u{301}\u{301}\u{301}\u{301}\u{301}\u{301}\u{301}\u{301}\u{301}\u{301}\u{301}\u{301}",
            "가나다라마바사아자차카타파하",
            "中文密码中文密码中文密码",
            "ｱｲｳｴｵｶｷｸｹｺｻｼｽｾｿ",
        ];
        let ctx = UserContext {
            identifier: Some("İ@😀".into()),
            name: Some("😀 ﷺ 王".into()),
            email: Some("@@".into()),
            phone: Some("+++".into()),
            organisation: Some("有限公司".into()),
        };
        for s in samples {
            let _ = evaluate(&policy(), s, &ctx);
            let _ = evaluate(&policy(), s, &UserContext::default());
        }
        // A deterministic spray of random code points, lengths around the window edges.
        let mut seed: u32 = 0x9e37_79b9;
        for round in 0..60 {
            let len = [1, 11, 12, 63, 64, 65, 100, 127, 128, 129][round % 10];
            let s: String = (0..len)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 17;
                    seed ^= seed << 5;
                    let pick = match seed % 4 {
                        0 => seed % 0x80,
                        1 => 0x20 + seed % 0x60,
                        2 => 0x4e00 + seed % 0x5000,
                        _ => seed % 0x11_0000,
                    };
                    char::from_u32(pick).unwrap_or('\u{fffd}')
                })
                .collect();
            let v = evaluate(&policy(), &s, &ctx);
            assert_eq!(v.accepted, v.reasons.is_empty());
            assert!(v.score <= 4);
        }
    }

    #[test]
    fn strange_policies_do_not_panic() {
        for p in [
            PasswordPolicy {
                min_length: 0,
                max_length: 0,
                min_score: 0,
                min_classes: 0,
                history: 0,
                expiry_days: 0,
                expiry_warning_days: 0,
            },
            PasswordPolicy {
                min_length: u32::MAX,
                max_length: u32::MAX,
                min_score: u8::MAX,
                min_classes: u8::MAX,
                history: u32::MAX,
                expiry_days: u32::MAX,
                expiry_warning_days: u32::MAX,
            },
        ] {
            let v = evaluate(&p, "correct horse battery staple", &UserContext::default());
            assert!(!v.accepted, "{v:?}");
        }
        let open = PasswordPolicy {
            min_length: 0,
            min_score: 0,
            ..policy()
        };
        assert!(evaluate(&open, "", &UserContext::default()).accepted);
    }
}
