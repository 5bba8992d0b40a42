//! The bundled blocklist (`blocklist.txt`): passwords people actually choose that
//! zxcvbn's English lists miss (Chinese number idioms, pinyin words and names, keyboard
//! walks) plus the global top list.
//!
//! It is used twice: a password that is nothing but an entry is refused outright
//! ([`is_common`]), and entries found inside a longer password are given to zxcvbn as a
//! ranked dictionary ([`zxcvbn_inputs`]) so that `woaini1314Beijing` scores as the two
//! common words it is.

use std::collections::HashSet;
use std::sync::LazyLock;

use crate::l33t;

const SOURCE: &str = include_str!("blocklist.txt");

struct Blocklist {
    /// Entries in file order, which is their rank (most common first), without duplicates.
    ranked: Vec<&'static str>,
    set: HashSet<&'static str>,
}

static BLOCKLIST: LazyLock<Blocklist> = LazyLock::new(|| parse(SOURCE));

/// Lines hold one lowercase entry each; `#` starts a comment, so an entry cannot contain
/// `#` (zxcvbn matches the rest of such a password anyway).
fn parse(source: &'static str) -> Blocklist {
    let mut ranked = Vec::new();
    let mut set = HashSet::new();
    for line in source.lines() {
        let entry = line.split('#').next().unwrap_or_default().trim();
        if !entry.is_empty() && set.insert(entry) {
            ranked.push(entry);
        }
    }
    Blocklist { ranked, set }
}

/// Whether `lower` (the normalised, lowercased password) is just a blocklist entry,
/// ignoring separators and symbols anywhere and digits at either end: `Woaini1314!`,
/// `wo-ai-ni`, `Zhang1990`, `1qaz2wsx2024` all count, `woaini1314beijing` does not (it
/// is left to the score).
pub(crate) fn is_common(lower: &str) -> bool {
    let list = &*BLOCKLIST;
    if list.set.contains(lower) {
        return true;
    }
    let compact: String = lower.chars().filter(|c| c.is_alphanumeric()).collect();
    let digit = |c: char| c.is_ascii_digit();
    let cores = [
        compact.as_str(),
        compact.trim_start_matches(digit),
        compact.trim_end_matches(digit),
        compact.trim_matches(digit),
    ];
    cores
        .iter()
        .any(|core| !core.is_empty() && list.set.contains(core))
}

/// Whether `entry` is in the list exactly (the name rule asks about numbers: `7758521`).
pub(crate) fn contains(entry: &str) -> bool {
    BLOCKLIST.set.contains(entry)
}

/// The user inputs to give zxcvbn for one window of the password: `context` first (the
/// most likely guesses), then the blocklist entries that could match `window_lower`,
/// each at its own rank.
///
/// Handing zxcvbn all ~600 entries would cost time on every keystroke: zxcvbn rebuilds
/// its user-input table once per l33t substitution it tries, hundreds of times for
/// symbol-heavy input. So only entries that can match here (plainly, reversed, or through
/// zxcvbn's l33t substitutions) are passed. zxcvbn ranks an input by its position in the
/// slice and a later duplicate overrides an earlier one, so each gap before a matching
/// entry is filled with that entry: it then lands on exactly the rank it has in the whole
/// list, and the score is the same as if the whole list had been passed.
pub(crate) fn zxcvbn_inputs<'a>(context: &'a [String], window_lower: &str) -> Vec<&'a str> {
    let chars: Vec<char> = window_lower.chars().collect();
    // Every character a match could need: those present and the letters they stand for.
    // An entry with any other character cannot match, which rules out most entries
    // before the slower search of `could_match`.
    let mut available: Vec<char> = chars
        .iter()
        .flat_map(|&c| std::iter::once(c).chain(l33t::letters_for(c)))
        .collect();
    available.sort_unstable();
    available.dedup();
    let list = &*BLOCKLIST;
    let matching: Vec<(usize, &'static str)> = list
        .ranked
        .iter()
        .enumerate()
        .filter(|(_, entry)| !context.iter().any(|c| c == *entry))
        .filter(|(_, entry)| entry.chars().all(|c| available.binary_search(&c).is_ok()))
        .filter(|(_, entry)| could_match(&chars, entry))
        .map(|(rank, entry)| (rank, *entry))
        .collect();

    let mut inputs: Vec<&'a str> = context.iter().map(String::as_str).collect();
    if let Some(&(last, _)) = matching.last() {
        let mut next = matching.iter().peekable();
        for slot in 0..=last {
            while next.next_if(|(rank, _)| *rank < slot).is_some() {}
            if let Some(&&(_, entry)) = next.peek() {
                inputs.push(entry);
            }
        }
    }
    inputs
}

/// Whether zxcvbn could find `entry` in `password` (lowercased chars): a superset of its
/// dictionary, reversed-dictionary and l33t matchers.
fn could_match(password: &[char], entry: &str) -> bool {
    let word: Vec<char> = entry.chars().collect();
    if word.is_empty() || word.len() > password.len() {
        return false;
    }
    password.windows(word.len()).any(|w| {
        w.iter()
            .zip(&word)
            .all(|(&c, &l)| l33t::can_stand_for(c, l))
            || w.iter().rev().zip(&word).all(|(&c, &l)| c == l)
    })
}

/// Every entry, most common first (for tests and the timing example).
#[cfg(test)]
pub(crate) fn entries() -> &'static [&'static str] {
    &BLOCKLIST.ranked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_parses_into_a_few_hundred_lowercase_entries() {
        let all = entries();
        assert!(all.len() > 300, "{}", all.len());
        for e in all {
            assert_eq!(*e, e.to_lowercase(), "entry {e} is not lowercase");
            assert!(!e.contains(char::is_whitespace), "entry {e:?}");
        }
        for must in [
            "5201314",
            "1314520",
            "woaini1314",
            "7758521",
            "147258369",
            "wodemima",
            "zhongguo",
            "wang",
            "fang",
            "1qaz2wsx",
            "zxcvbn",
            "password",
            "iloveyou",
            "letmein",
        ] {
            assert!(all.contains(&must), "{must} missing");
        }
    }

    #[test]
    fn comments_and_duplicates_are_dropped() {
        let list = parse("# head\nabc # trailing\n\n  def\nabc\n");
        assert_eq!(list.ranked, vec!["abc", "def"]);
    }

    #[test]
    fn common_ignores_separators_and_edge_digits() {
        for pw in [
            "password",
            "woaini1314!",
            "wo-ai-ni",
            "zhang1990",
            "1990zhang",
            "1qaz2wsx2024",
            "5201314",
            "!!5201314!!",
            "1q2w3e4r5t",
        ] {
            assert!(is_common(pw), "{pw}");
        }
        for pw in ["woaini1314beijing", "correcthorse", "", "12345678901234"] {
            assert!(!is_common(pw), "{pw}");
        }
    }

    #[test]
    fn inputs_keep_full_list_ranks() {
        let context = vec!["alice".to_string()];
        let inputs = zxcvbn_inputs(&context, "xxbeijingxx");
        assert_eq!(inputs[0], "alice");
        let rank_in_list = entries().iter().position(|e| *e == "beijing");
        // The last occurrence of an input decides its rank in zxcvbn.
        let rank_in_inputs = inputs.iter().rposition(|e| *e == "beijing");
        assert_eq!(rank_in_inputs, rank_in_list.map(|r| r + context.len()));
        assert!(inputs.iter().all(|e| "xxbeijingxx".contains(e)
            || *e == "alice"
            || "xxbeijingxx".chars().rev().collect::<String>().contains(e)));
    }

    #[test]
    fn inputs_find_l33t_and_reversed_words() {
        let none: Vec<String> = Vec::new();
        assert!(zxcvbn_inputs(&none, "p@$$w0rd").contains(&"password"));
        assert!(zxcvbn_inputs(&none, "gnijieb").contains(&"beijing"));
        assert!(zxcvbn_inputs(&none, "").is_empty());
    }
}
