//! The zxcvbn score, kept cheap enough for every keystroke and for hostile input.
//!
//! # Why windows
//!
//! zxcvbn's running time grows with the square of the length times the number of l33t
//! substitution maps it tries, and that number explodes when a password holds many of
//! the characters zxcvbn reads as letters (`4@8([{<3691!|70$5+7%2`): 64 such characters
//! take about half a second in release, 100 more than a second. The server must not
//! spend that per request, nor the client per keystroke. So zxcvbn only ever sees a
//! *window* of the password: the whole of it if its estimated cost ([`cost`] and
//! [`repeat_cost`]) fits [`COST_BUDGET`], else its longest prefix and its longest suffix
//! of at most [`WINDOW`] characters that fit half of it each. The score is the better of
//! the two. Ordinary passwords up to 64 characters fit whole (those with many l33t
//! characters up to about 40).
//!
//! # Why that does not weaken the verdict
//!
//! zxcvbn estimates a password as the cheapest way to produce it from parts (words,
//! keyboard walks, dates, brute force), multiplying the parts' guesses. A password
//! therefore needs at least as many guesses as any substring of it: whoever guesses the
//! whole has guessed each piece. The score of a window is a lower bound on the score of
//! the whole, and the better window is the tightest of our two bounds. Windows can only
//! make us *refuse* something zxcvbn would accept on the whole string, never accept
//! something it would refuse. (Except for repeats, which windows must not cut; see below.)
//!
//! In practice nothing is lost: twelve characters that match no pattern are already
//! 10^12 guesses, score 4, so a window shrunk by symbol-heavy input still rates random
//! symbols as strong; and zxcvbn itself only reads the first 100 characters, whereas two
//! 64-character windows see all of a 128-character password. The blocklist and context
//! rules always look at the whole password.
//!
//! # Repeats cut by a window
//!
//! The lower bound fails for a repeat that a window cuts: zxcvbn scores a repeat as its
//! unit times the count, the unit read from where the repeat begins, and a window that
//! begins or ends inside it reads another rotation of the unit or a leftover piece,
//! which can score far above the whole (`p@$$w0rd` × 16: 0 for zxcvbn, 4 from a suffix
//! window). So a window never begins inside a repeat that runs across its start, and ends
//! at the end of a whole unit of one that runs across its end ([`within_repeats`]).
//! Probing 29 common units cycled to 20–128 characters against zxcvbn on the whole (its
//! first 100 characters) found 190 passwords scored above it before this, 3 after (each 4
//! for zxcvbn's 3: a short repeat inside the unit, `isis` in `thisismypassword`, is the
//! one found across the edge).

use std::ops::Range;
use std::panic::{self, AssertUnwindSafe};

use latchkey_proto::PasswordSuggestion;
use zxcvbn::feedback::{Feedback, Suggestion, Warning};

use crate::{blocklist, l33t};

/// The longest window zxcvbn is given, in characters.
pub(crate) const WINDOW: usize = 64;

/// Cost budget per call, in [`cost`] units: a password that fits is scored whole, else
/// each of its two windows gets half. Timing zxcvbn 3.1.1 in release on this model gave
/// 0.12–0.17 µs per unit on an x86-64 server core, for everything from `aaaa…` and
/// cycled sequences to symbol soup with hundreds of l33t maps, so a call costs zxcvbn at
/// most about 5.5 ms on a quiet core, well inside one keystroke (16 ms, the client's
/// goal: p99 measured by `crates/client/benches/client.rs`) even on a busy one.
/// Ordinary passphrases still fit whole: 64 characters with up to four l33t maps.
///
/// History: 50,000 then 20,000 units of an earlier model that counted only the dictionary
/// passes (`(maps + 2) × len²`); it missed what every string pays for the other matchers
/// and the scoring, most of all repeats, so 64 repeated characters with two l33t maps
/// fitted and two such windows took 20 ms.
pub(crate) const COST_BUDGET: u64 = 32_768;

/// What every window pays besides its l33t passes, in dictionary passes over len²
/// substrings: the plain and the reversed dictionary pass, and about as much again for
/// the keyboard, sequence, date and repeat matchers and the search for the cheapest
/// sequence of matches.
const BASE_PASSES: u64 = 4;

/// The extra passes a window of one repeated character pays ([`repeat_cost`]).
const REPEAT_PASSES: u64 = 3;

/// From this many distinct characters on, a window pays nothing for repeats.
const DISTINCT_FOR_NO_REPEAT: u64 = 26;

/// zxcvbn's work for `len` characters with `maps` l33t substitution maps, not counting
/// repeats: one dictionary pass over all substrings (len²) for the plain, the reversed
/// and each l33t-translated string, and [`BASE_PASSES`] for the rest.
fn cost(maps: u64, len: usize) -> u64 {
    let len = len as u64;
    maps.saturating_add(BASE_PASSES)
        .saturating_mul(len.saturating_mul(len))
}

/// What repeats add to [`cost`] for `len` characters of which `distinct` differ.
///
/// Repeated characters make zxcvbn slow beyond its passes: `aaaa…`, `ababab…` and
/// `passwordpassword…` are full of short dictionary words (`a`, `aa`, `ab`, `pass`,
/// each found again in the reversed and l33t passes, `1111` read as `iiii` and `llll`), so
/// the scoring weighs many more matches; and each repeat is matched, then its unit scored
/// again. Measured, 64 repeated characters cost 1.6 times 64 random letters, 64 letters
/// from a set of two to ten 1.2–1.4 times. So a window pays up to [`REPEAT_PASSES`] extra
/// passes, the fewer distinct characters it holds the more.
fn repeat_cost(distinct: usize, len: usize) -> u64 {
    let len = len as u64;
    let missing = DISTINCT_FOR_NO_REPEAT.saturating_sub(distinct.max(1) as u64);
    REPEAT_PASSES
        .saturating_mul(len.saturating_mul(len))
        .saturating_mul(missing)
        / (DISTINCT_FOR_NO_REPEAT - 1)
}

/// The estimated cost of scoring `window` whole.
#[cfg(test)]
pub(crate) fn window_cost(window: &[char]) -> u64 {
    let mut substitutes: Vec<char> = window
        .iter()
        .copied()
        .filter(|&c| l33t::is_substitute(c))
        .collect();
    substitutes.sort_unstable();
    substitutes.dedup();
    let mut distinct = window.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    cost(l33t::substitution_count(&substitutes), window.len())
        .saturating_add(repeat_cost(distinct.len(), window.len()))
}

/// The score and how to improve it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Strength {
    pub(crate) score: u8,
    pub(crate) suggestions: Vec<PasswordSuggestion>,
}

/// Score `password` (already normalised) with `context` tokens and the blocklist as
/// zxcvbn user inputs, looking at no more than two affordable windows.
pub(crate) fn estimate(password: &str, context: &[String]) -> Strength {
    let chars: Vec<char> = password.chars().collect();
    let mut best: Option<Strength> = None;
    let mut seen: Vec<String> = Vec::new();
    for range in window_ranges(&chars) {
        let window: String = chars[within_repeats(&chars, range)].iter().collect();
        if window.is_empty() || seen.contains(&window) {
            // Nothing left once a repeat is skipped, or a window already scored (`aaaa…`).
            continue;
        }
        let strength = score_window(&window, context);
        seen.push(window);
        let done = strength.score >= 4;
        if best.as_ref().is_none_or(|b| strength.score > b.score) {
            best = Some(strength);
        }
        if done {
            // Nothing scores higher; the other window would only cost time.
            break;
        }
    }
    best.unwrap_or(Strength {
        score: 0,
        suggestions: Vec::new(),
    })
}

/// The whole password if it fits [`COST_BUDGET`], else its longest prefix and its longest
/// suffix that fit half of it each (one window when the two are the same string).
#[cfg(test)]
pub(crate) fn windows(chars: &[char]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for range in window_ranges(chars) {
        let window: String = chars[range].iter().collect();
        if !out.contains(&window) {
            out.push(window);
        }
    }
    out
}

/// The character ranges of [`windows`].
fn window_ranges(chars: &[char]) -> Vec<Range<usize>> {
    if affordable(chars.iter(), COST_BUDGET) == chars.len() {
        return std::iter::once(0..chars.len()).collect();
    }
    let prefix = affordable(chars.iter(), COST_BUDGET / 2);
    let suffix = affordable(chars.iter().rev(), COST_BUDGET / 2);
    vec![0..prefix, chars.len() - suffix..chars.len()]
}

/// `window` without the pieces of a repeat that runs across its edges: its start moves
/// past the end of such a repeat, its end back to the end of the repeat's last whole
/// unit. A window that is the whole password is unchanged.
///
/// zxcvbn scores a repeat as its unit times the count, the unit read from where the
/// repeat begins. A window that begins inside it would read another rotation of the unit
/// (`rtyuiopqwe` for `qwertyuiop`, `@$$w0rdp` for `p@$$w0rd`), one that ends inside it
/// would add a leftover piece; either can score far *above* the whole (`p@$$w0rd` × 16
/// scored 4 from its suffix window). Trimmed, a window holds the repeat as zxcvbn sees it
/// in the whole, or not at all, and only ever loses characters.
fn within_repeats(chars: &[char], window: Range<usize>) -> Range<usize> {
    let Range { mut start, mut end } = window;
    'skip: while start > 0 && start < end {
        for unit in 1..=start.min(chars.len() - start) {
            if chars[start - unit..start] == chars[start..start + unit] {
                while start < end && chars[start] == chars[start - unit] {
                    start += 1;
                }
                continue 'skip;
            }
        }
        break;
    }
    if start < end && end < chars.len() {
        let crossing = (1..=(end - start).min(chars.len() - end))
            .find(|&unit| chars[end - unit..end] == chars[end..end + unit]);
        if let Some(unit) = crossing {
            let mut begin = end - unit;
            while begin > start && chars[begin - 1] == chars[begin - 1 + unit] {
                begin -= 1;
            }
            end = begin + (end - begin) / unit * unit;
        }
    }
    start..end
}

/// How many characters from the start of `chars` fit in one window of `budget`.
fn affordable<'a>(chars: impl Iterator<Item = &'a char>, budget: u64) -> usize {
    let mut substitutes: Vec<char> = Vec::new();
    let mut distinct: Vec<char> = Vec::new();
    let mut maps = 0;
    let mut len = 0;
    for &c in chars.take(WINDOW) {
        if !distinct.contains(&c) {
            distinct.push(c);
            if l33t::is_substitute(c) {
                substitutes.push(c);
                maps = l33t::substitution_count(&substitutes);
            }
        }
        let total = cost(maps, len + 1).saturating_add(repeat_cost(distinct.len(), len + 1));
        if total > budget {
            break;
        }
        len += 1;
    }
    len
}

fn score_window(window: &str, context: &[String]) -> Strength {
    let lower = window.to_lowercase();
    let inputs = blocklist::zxcvbn_inputs(context, &lower);
    // zxcvbn is third-party code fed with hostile input; should it ever panic, refuse
    // the password (score 0) rather than take the server worker or the app down.
    let Ok(entropy) = panic::catch_unwind(AssertUnwindSafe(|| zxcvbn::zxcvbn(window, &inputs)))
    else {
        return Strength {
            score: 0,
            suggestions: vec![PasswordSuggestion::ChooseNewPassword],
        };
    };
    Strength {
        score: u8::from(entropy.score()),
        suggestions: entropy.feedback().map(suggestions).unwrap_or_default(),
    }
}

/// zxcvbn's advice as our codes, in zxcvbn's order, without repeats.
fn suggestions(feedback: &Feedback) -> Vec<PasswordSuggestion> {
    let mut out = Vec::new();
    let mut add = |s: PasswordSuggestion| {
        if !out.contains(&s) {
            out.push(s);
        }
    };
    for &s in feedback.suggestions() {
        add(match s {
            Suggestion::UseAFewWordsAvoidCommonPhrases => PasswordSuggestion::UseAFewWords,
            Suggestion::NoNeedForSymbolsDigitsOrUppercaseLetters => {
                PasswordSuggestion::NoNeedForSymbols
            }
            Suggestion::AddAnotherWordOrTwo => PasswordSuggestion::AddAnotherWord,
            Suggestion::CapitalizationDoesntHelpVeryMuch => {
                PasswordSuggestion::CapitalizationDoesntHelp
            }
            Suggestion::AllUppercaseIsAlmostAsEasyToGuessAsAllLowercase => {
                PasswordSuggestion::AllUppercaseDoesntHelp
            }
            Suggestion::ReversedWordsArentMuchHarderToGuess => {
                PasswordSuggestion::ReversedWordsDontHelp
            }
            Suggestion::PredictableSubstitutionsDontHelpVeryMuch => {
                PasswordSuggestion::PredictableSubstitutionsDontHelp
            }
            Suggestion::UseALongerKeyboardPatternWithMoreTurns => {
                PasswordSuggestion::UseLongerKeyboardPattern
            }
            Suggestion::AvoidRepeatedWordsAndCharacters => PasswordSuggestion::AvoidRepeats,
            Suggestion::AvoidSequences => PasswordSuggestion::AvoidSequences,
            Suggestion::AvoidRecentYears => PasswordSuggestion::AvoidRecentYears,
            // We have one code for "dates and years that mean something to you".
            Suggestion::AvoidYearsThatAreAssociatedWithYou
            | Suggestion::AvoidDatesAndYearsThatAreAssociatedWithYou => {
                PasswordSuggestion::AvoidDates
            }
        });
    }
    // zxcvbn says "this is a common password" as a warning, which has no code of its
    // own; the matching advice is ours.
    if matches!(
        feedback.warning(),
        Some(
            Warning::ThisIsATop10Password
                | Warning::ThisIsATop100Password
                | Warning::ThisIsACommonPassword
                | Warning::ThisIsSimilarToACommonlyUsedPassword
        )
    ) {
        add(PasswordSuggestion::AvoidCommonPasswords);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chars(s: &str) -> Vec<char> {
        s.chars().collect()
    }

    #[test]
    fn ordinary_passwords_are_one_window() {
        for pw in [
            "",
            "correct horse battery staple",
            "Tr0ub4dor&3",
            &"a".repeat(WINDOW),
            "我的密码是一个很长的句子，没有人能猜到它。",
        ] {
            let w = windows(&chars(pw));
            assert_eq!(w, vec![pw.to_string()]);
        }
    }

    #[test]
    fn long_passwords_are_first_and_last_window() {
        let pw: String = ('a'..='z').cycle().take(128).collect();
        let w = windows(&chars(&pw));
        assert_eq!(w.len(), 2);
        assert_eq!(w[0], pw[..64]);
        assert_eq!(w[1], pw[64..]);
    }

    #[test]
    fn symbol_heavy_windows_shrink_to_the_budget() {
        let pw: String = "4@8([{<3691!|70$5+7%2".chars().cycle().take(64).collect();
        let w = windows(&chars(&pw));
        assert_eq!(w.len(), 2);
        for window in &w {
            let n = window.chars().count();
            assert!((8..64).contains(&n), "{n}");
            let subs: Vec<char> = window.chars().filter(|&c| l33t::is_substitute(c)).collect();
            assert!(cost(l33t::substitution_count(&subs), n) <= COST_BUDGET);
        }
        // Still rated as the random symbols they are.
        assert_eq!(estimate(&pw, &[]).score, 4);
    }

    /// Hostile shapes of every length the meter is timed at (and the ones between).
    fn hostile() -> Vec<String> {
        let mut out = Vec::new();
        for len in [8, 16, 24, 32, 48, 64, 65, 96, 100, 127, 128] {
            for unit in [
                "a",
                "1",
                "@",
                "ab",
                "0o",
                "1|7",
                "!|17$",
                "p@$$w0rd",
                "1990-12-31/",
                "0123456789",
                "abcdefghijklmnopqrstuvwxyz",
                "4@8([{<3691!|70$5+7%2",
                "4a@b8c(d[e{f<g3h6i9j1k!l|m7n0o$p5q+r7s%t2u",
                "我爱你一生一世中国北京",
            ] {
                out.push(unit.chars().cycle().take(len).collect());
            }
        }
        out
    }

    #[test]
    fn every_window_fits_its_budget() {
        for pw in hostile() {
            let w = windows(&chars(&pw));
            let budget = if w.len() == 1 && w[0] == pw {
                COST_BUDGET
            } else {
                COST_BUDGET / 2
            };
            for window in &w {
                let c = window_cost(&chars(window));
                assert!(c <= budget, "{pw:?}: window {window:?} costs {c}");
                assert!(window.chars().count() <= WINDOW);
            }
        }
    }

    #[test]
    fn repeats_cost_more() {
        let n = 48;
        let random: Vec<char> = "qzjxkvbpwmfhgycudntlrsoiea"
            .chars()
            .cycle()
            .take(n)
            .collect();
        let two: Vec<char> = "ab".chars().cycle().take(n).collect();
        let one = vec!['a'; n];
        assert_eq!(window_cost(&random), cost(0, n));
        assert!(window_cost(&two) > window_cost(&random));
        assert!(window_cost(&one) > window_cost(&two));
        assert_eq!(window_cost(&one), cost(REPEAT_PASSES, n));
        // Shrunk windows: 64 repeated characters fit whole, but not in half the budget.
        let w = windows(&chars(&format!("{}b", "a".repeat(127))));
        assert_eq!(w.len(), 2);
        assert!(w.iter().all(|w| w.chars().count() < 64), "{w:?}");
    }

    #[test]
    fn the_same_window_is_scored_once() {
        assert_eq!(windows(&chars(&"a".repeat(128))), vec!["a".repeat(48)]);
    }

    #[test]
    fn long_repeats_stay_weak() {
        for pw in hostile() {
            // Where zxcvbn itself can afford the whole: the windows never rate higher.
            if pw.chars().count() <= 64 && ["a", "1", "p@"].iter().any(|p| pw.starts_with(p)) {
                let full = u8::from(zxcvbn::zxcvbn(&pw, &[]).score());
                assert!(estimate(&pw, &[]).score <= full, "{pw:?}");
            }
        }
        for pw in ["a".repeat(128), "1".repeat(100), "p@$$w0rd".repeat(16)] {
            let s = estimate(&pw, &[]).score;
            println!("{s} {pw}");
            assert!(s <= 1, "{pw:?}");
        }
    }

    #[test]
    fn weak_and_strong() {
        assert!(estimate("password", &[]).score <= 1);
        assert_eq!(estimate("correct horse battery staple", &[]).score, 4);
        let weak = estimate("woaini1314Beijing", &[]);
        assert!(weak.score <= 2, "{weak:?}");
        assert!(weak
            .suggestions
            .contains(&PasswordSuggestion::AddAnotherWord));
    }

    #[test]
    fn context_lowers_the_score() {
        let pw = "xiaohuazhang19900101";
        let without = estimate(pw, &[]).score;
        let with = estimate(pw, &["xiaohuazhang".to_string()]).score;
        assert!(with < without, "{with} vs {without}");
    }

    #[test]
    fn feedback_maps_to_our_codes() {
        let s = estimate("Qu33nb33", &[]).suggestions;
        assert!(
            s.contains(&PasswordSuggestion::PredictableSubstitutionsDontHelp),
            "{s:?}"
        );
        assert!(
            s.contains(&PasswordSuggestion::AvoidCommonPasswords),
            "{s:?}"
        );
        assert!(
            s.contains(&PasswordSuggestion::CapitalizationDoesntHelp),
            "{s:?}"
        );
        let s = estimate("zxcvfdsaqwer", &[]).suggestions;
        assert!(
            s.contains(&PasswordSuggestion::UseLongerKeyboardPattern),
            "{s:?}"
        );
    }
}
