//! The zxcvbn score, kept cheap enough for every keystroke and for hostile input.
//!
//! # Why windows
//!
//! zxcvbn's running time grows with the square of the length times the number of l33t
//! substitution maps it tries, and that number explodes when a password holds many of
//! the characters zxcvbn reads as letters (`4@8([{<3691!|70$5+7%2`): 64 such characters
//! take about half a second in release, 100 more than a second. The server must not
//! spend that per request, nor the client per keystroke. So zxcvbn only ever sees a
//! *window* of the password: the longest prefix, and the longest suffix, of at most
//! [`WINDOW`] characters whose estimated cost ([`cost`]) fits [`COST_BUDGET`]. The score
//! is the better of the two. Ordinary passwords up to 64 characters fit whole (those
//! with many l33t characters up to about 40).
//!
//! # Why that does not weaken the verdict
//!
//! zxcvbn estimates a password as the cheapest way to produce it from parts (words,
//! keyboard walks, dates, brute force), multiplying the parts' guesses. A password
//! therefore needs at least as many guesses as any substring of it: whoever guesses the
//! whole has guessed each piece. The score of a window is a lower bound on the score of
//! the whole, and the better window is the tightest of our two bounds. Windows can only
//! make us *refuse* something zxcvbn would accept on the whole string, never accept
//! something it would refuse. (The one exception, a long repeat that is cheaper than its
//! misaligned pieces, needs a repeated unit of more than 32 characters to fool a
//! 64-character window, and such a unit is strong on its own.)
//!
//! In practice nothing is lost: twelve characters that match no pattern are already
//! 10^12 guesses, score 4, so a window shrunk by symbol-heavy input still rates random
//! symbols as strong; and zxcvbn itself only reads the first 100 characters, whereas two
//! 64-character windows see all of a 128-character password. The blocklist and context
//! rules always look at the whole password.

use std::panic::{self, AssertUnwindSafe};

use latchkey_proto::PasswordSuggestion;
use zxcvbn::feedback::{Feedback, Suggestion, Warning};

use crate::{blocklist, l33t};

/// The longest window zxcvbn is given, in characters.
pub(crate) const WINDOW: usize = 64;

/// Cost budget per window, in [`cost`] units. Timing zxcvbn 3.1.1 in release over many
/// lengths and l33t mixes gave 0.15–0.25 µs per unit on an x86-64 server core (up to
/// 0.3 µs on a busy one). At most two windows are scored, so the budget is set for the
/// pair to stay well inside one keystroke (16 ms, the client's goal: p99 measured by
/// `crates/client/benches/client.rs`): 20,000 units, about 4 ms a window. Ordinary
/// passphrases still fit whole: 64 characters with up to three l33t maps, 40 with ten.
/// (Was 50,000: two windows of symbol-heavy input then took 20–25 ms.)
pub(crate) const COST_BUDGET: u64 = 20_000;

/// zxcvbn's work for `len` characters with `maps` l33t substitution maps: one dictionary
/// pass over all substrings (len²) for the plain, the reversed and each l33t-translated
/// string.
fn cost(maps: u64, len: usize) -> u64 {
    let len = len as u64;
    maps.saturating_add(2)
        .saturating_mul(len.saturating_mul(len))
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
    for window in windows(&chars) {
        let strength = score_window(&window, context);
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

/// The whole password if it is affordable, else its longest affordable prefix and suffix.
pub(crate) fn windows(chars: &[char]) -> Vec<String> {
    let prefix = affordable(chars.iter());
    if prefix == chars.len() {
        return vec![chars.iter().collect()];
    }
    let suffix = affordable(chars.iter().rev());
    vec![
        chars[..prefix].iter().collect(),
        chars[chars.len() - suffix..].iter().collect(),
    ]
}

/// How many characters from the start of `chars` fit in one window.
fn affordable<'a>(chars: impl Iterator<Item = &'a char>) -> usize {
    let mut substitutes: Vec<char> = Vec::new();
    let mut maps = 0;
    let mut len = 0;
    for &c in chars.take(WINDOW) {
        if l33t::is_substitute(c) && !substitutes.contains(&c) {
            substitutes.push(c);
            maps = l33t::substitution_count(&substitutes);
        }
        if cost(maps, len + 1) > COST_BUDGET {
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
