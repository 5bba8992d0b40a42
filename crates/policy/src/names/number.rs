//! The number part of a name and a number: what each part of it is, so that the pattern
//! allows common numbers freely within its three parts, but one year or date and one
//! other number at most.

use std::collections::HashSet;
use std::sync::LazyLock;

use crate::blocklist;

/// Numbers chosen for their meaning that are too short to be blocklist entries of their
/// own: 520 我爱你, 521, 1314 一生一世, 3344 生生世世, 7758 亲亲我吧, 168 一路发, 518 我要发,
/// 886 拜拜了, lucky 6/8/9, James Bond's 007.
const LUCKY: &[&str] = &[
    "520", "521", "1314", "3344", "7758", "9958", "168", "518", "886", "1688", "6688", "007",
];

static LUCKY_SET: LazyLock<HashSet<&'static str>> =
    LazyLock::new(|| LUCKY.iter().copied().collect());

/// The longest other part: a year, a PIN, the last four digits of a phone.
pub(super) const MAX_OTHER: usize = 4;

/// What a part of the number is.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Number {
    /// A lucky or common number, one digit repeated, or a run up or down.
    Common,
    /// A year or a date; one to a password (two would make most digit strings dates).
    Date,
    /// Anything else; one to a password, of at most [`MAX_OTHER`] digits.
    Other,
}

/// What `digits` (ASCII digits only) is as a part of the number.
pub(super) fn classify(digits: &str) -> Number {
    let d: Vec<u32> = digits.chars().filter_map(|c| c.to_digit(10)).collect();
    if d.len() != digits.len() || d.is_empty() {
        return Number::Other;
    }
    let same = d.len() >= 2 && d.iter().all(|&x| x == d[0]);
    let run = d.len() >= 3
        && (d.windows(2).all(|w| w[1] == w[0] + 1) || d.windows(2).all(|w| w[0] == w[1] + 1));
    if same || run || LUCKY_SET.contains(digits) || blocklist::contains(digits) {
        Number::Common
    } else if is_date(&d) {
        Number::Date
    } else {
        Number::Other
    }
}

/// A year (1930–2039), or a month and day with or without a year before or after them:
/// `1990`, `19900815`, `1990815`, `900815`, `0815`, `815`, `08151990`, `15081990`.
/// With a four-digit year or none, month and day may drop their leading zero, as people
/// type them; with a two-digit year they are two digits each (else `8351` is a date), and
/// alone they are at least three digits (else every `51` is one).
fn is_date(d: &[u32]) -> bool {
    let value = |s: &[u32]| s.iter().fold(0u32, |v, &x| v * 10 + x);
    let year = |s: &[u32]| s.len() == 4 && (1930..=2039).contains(&value(s));
    let month_day = |s: &[u32], padded: bool| {
        (1..s.len()).any(|split| {
            let (m, day) = s.split_at(split);
            m.len() <= 2
                && day.len() <= 2
                && (!padded || m.len() == 2 && day.len() == 2)
                && (1..=12).contains(&value(m))
                && (1..=31).contains(&value(day))
        })
    };
    let n = d.len();
    year(d)
        || (n >= 3 && month_day(d, false))
        || (n > 4 && year(&d[..4]) && month_day(&d[4..], false))
        || (n > 4 && year(&d[n - 4..]) && month_day(&d[..n - 4], false))
        || (n == 6 && (month_day(&d[2..], true) || month_day(&d[..4], true)))
        // Day before month (`15081990`), as some write it.
        || (n == 8 && year(&d[4..]) && month_day(&[d[2], d[3], d[0], d[1]], true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        for n in [
            "1990", "19900815", "1990815", "900815", "0815", "815", "08151990", "15081990", "520",
            "1314", "5201314", "888", "666666", "123", "4321", "2008", "88",
        ] {
            assert_ne!(classify(n), Number::Other, "{n}");
        }
        for n in [
            "1990", "19900815", "1990815", "900815", "0815", "815", "15081990",
        ] {
            assert_eq!(classify(n), Number::Date, "{n}");
        }
        for n in [
            "520", "1314", "5201314", "7758521", "666666", "123", "4321", "88",
        ] {
            assert_eq!(classify(n), Number::Common, "{n}");
        }
        for n in ["8351", "7262", "51", "1999999x", "", "19901315", "83517262"] {
            assert_eq!(classify(n), Number::Other, "{n}");
        }
    }
}
