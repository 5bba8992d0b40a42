//! zxcvbn 3.1's table of "l33t" substitutions (`4` for `a`, `$` for `s`, …), mirrored here.
//!
//! We need it for two things zxcvbn does not expose: estimating how expensive a string
//! will be to score (zxcvbn re-runs its whole dictionary search once per combination of
//! substitutions, which is what makes symbol-heavy input slow), and telling which
//! blocklist words could possibly match a string, so that only those are handed to
//! zxcvbn. Both are estimates that stay correct in direction if zxcvbn's table changes:
//! a cost estimate that is off changes only how long a window is, and the blocklist
//! filter also accepts plain and reversed matches.

/// Letter → the characters zxcvbn accepts in its place (zxcvbn 3.1.1 `L33T_TABLE`).
const TABLE: &[(char, &[char])] = &[
    ('a', &['4', '@']),
    ('b', &['8']),
    ('c', &['(', '{', '[', '<']),
    ('e', &['3']),
    ('g', &['6', '9']),
    ('i', &['1', '!', '|']),
    ('l', &['1', '|', '7']),
    ('o', &['0']),
    ('s', &['$', '5']),
    ('t', &['+', '7']),
    ('x', &['%']),
    ('z', &['2']),
];

/// The characters that stand for more than one letter; they make the enumeration branch.
const AMBIGUOUS: [char; 3] = ['1', '|', '7'];

/// Whether `c` (from a lowercased password) can stand for `letter` in a zxcvbn match,
/// either as itself or as one of its substitutes.
pub(crate) fn can_stand_for(c: char, letter: char) -> bool {
    c == letter
        || TABLE
            .iter()
            .any(|&(l, subs)| l == letter && subs.contains(&c))
}

/// The letters `c` can stand for as a substitute (none for most characters).
pub(crate) fn letters_for(c: char) -> impl Iterator<Item = char> {
    TABLE
        .iter()
        .filter(move |(_, subs)| subs.contains(&c))
        .map(|&(letter, _)| letter)
}

/// Whether zxcvbn would consider `c` a possible substitute for some letter.
pub(crate) fn is_substitute(c: char) -> bool {
    TABLE.iter().any(|(_, subs)| subs.contains(&c))
}

/// How many substitution maps zxcvbn 3.1 enumerates for a string that contains exactly
/// the substitute characters in `present` (0 when there are none: then it skips l33t
/// matching). zxcvbn runs one full dictionary pass per map.
///
/// zxcvbn builds the maps letter by letter; a character that is already mapped to an
/// earlier letter yields two maps (kept and re-mapped). Only the three ambiguous
/// characters can be "already mapped", so counting maps per subset of them reproduces
/// zxcvbn's number exactly (checked against a copy of its algorithm, with the letters in
/// random order as its `HashMap` would have them, for thousands of character sets).
pub(crate) fn substitution_count(present: &[char]) -> u64 {
    // counts[mask] = number of maps in which the ambiguous characters in `mask` are mapped.
    let mut counts = [0u64; 8];
    counts[0] = 1;
    let mut any = false;
    for &(_, subs) in TABLE {
        let relevant: Vec<char> = subs
            .iter()
            .copied()
            .filter(|c| present.contains(c))
            .collect();
        if relevant.is_empty() {
            continue;
        }
        any = true;
        let mut next = [0u64; 8];
        for c in relevant {
            let bit = AMBIGUOUS.iter().position(|&a| a == c).map(|p| 1usize << p);
            for (mask, &n) in counts.iter().enumerate() {
                match bit {
                    Some(b) if mask & b != 0 => {
                        next[mask] = next[mask].saturating_add(n.saturating_mul(2))
                    }
                    Some(b) => next[mask | b] = next[mask | b].saturating_add(n),
                    None => next[mask] = next[mask].saturating_add(n),
                }
            }
        }
        counts = next;
    }
    if any {
        counts.iter().fold(0u64, |sum, &n| sum.saturating_add(n))
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_match_zxcvbn() {
        // Reference values from running zxcvbn 3.1.1's enumeration.
        assert_eq!(substitution_count(&[]), 0);
        assert_eq!(substitution_count(&['4']), 1);
        assert_eq!(substitution_count(&['4', '@']), 2);
        assert_eq!(substitution_count(&['1']), 2);
        assert_eq!(substitution_count(&['1', '|']), 6);
        let all: Vec<char> = "4@8([{<3691!|70$5+7%2".chars().collect();
        assert_eq!(substitution_count(&all), 800);
    }

    #[test]
    fn stand_for() {
        assert!(can_stand_for('a', 'a'));
        assert!(can_stand_for('@', 'a'));
        assert!(can_stand_for('7', 't'));
        assert!(can_stand_for('7', 'l'));
        assert!(!can_stand_for('7', 'a'));
        assert!(is_substitute('$'));
        assert_eq!(letters_for('7').collect::<Vec<_>>(), ['l', 't']);
        assert_eq!(letters_for('a').count(), 0);
        assert!(!is_substitute('a'));
    }
}
