//! The live strength meter: the server's own policy code (`latchkey-policy`) with the
//! server's policy from `/v1/meta`, evaluated on every keystroke.
//!
//! Input beyond the policy's maximum is refused with `too_long`, never truncated: the
//! field keeps what was typed and the meter says it is too long.

use latchkey_policy::UserContext;
use latchkey_proto::{PasswordPolicy, PasswordVerdict, User};
use serde::{Deserialize, Serialize};

/// The verdict with what the meter draws.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Strength {
    #[serde(flatten)]
    pub verdict: PasswordVerdict,
    /// Characters after NFKC normalisation, as the policy counts them.
    pub length: u32,
    pub min_length: u32,
    pub max_length: u32,
    pub min_score: u8,
}

/// Evaluates `password` for the person described by `identifier` and `user`.
pub fn evaluate(
    policy: &PasswordPolicy,
    password: &str,
    identifier: Option<&str>,
    user: Option<&User>,
) -> Strength {
    let ctx = UserContext {
        identifier: identifier.map(str::to_owned),
        name: user.and_then(|u| u.name.clone()),
        email: user.and_then(|u| u.email.clone()),
        phone: user.and_then(|u| u.phone.clone()),
        organisation: user.and_then(|u| u.organisation.clone()),
    };
    let verdict = latchkey_policy::evaluate(policy, password, &ctx);
    // Huge pastes are counted as typed: the policy refused them before normalising.
    let raw = password.chars().count();
    let max = usize::try_from(policy.max_length).unwrap_or(usize::MAX);
    let length = if raw / 4 > max {
        raw
    } else {
        latchkey_policy::normalize(password).chars().count()
    };
    let length = u32::try_from(length).unwrap_or(u32::MAX);
    Strength {
        verdict,
        length,
        min_length: policy.min_length,
        max_length: policy.max_length,
        min_score: policy.min_score,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use latchkey_proto::PasswordReason;

    #[test]
    fn too_long_is_refused_not_truncated() {
        let policy = PasswordPolicy::default();
        let long = "Violet-harbor-lantern-42 ".repeat(6); // 150 characters
        let s = evaluate(&policy, &long, None, None);
        assert!(!s.verdict.accepted);
        assert_eq!(s.verdict.reasons, vec![PasswordReason::TooLong]);
        assert_eq!(s.length, 150);
        // The same text cut to the maximum would have passed: nothing was cut.
        let cut: String = long.chars().take(128).collect();
        assert!(evaluate(&policy, &cut, None, None).verdict.accepted);
    }

    #[test]
    fn context_and_policy_from_the_server() {
        let policy = PasswordPolicy {
            min_length: 16,
            ..PasswordPolicy::default()
        };
        let s = evaluate(&policy, "Violet-harbor-42", None, None);
        assert!(s.verdict.accepted, "{s:?}");
        let s = evaluate(&policy, "Violet-harbor-4", None, None);
        assert!(s.verdict.reasons.contains(&PasswordReason::TooShort));
        let s = evaluate(
            &PasswordPolicy::default(),
            "zhangwei-harbor-lantern",
            Some("zhangwei@corp.cn"),
            None,
        );
        assert!(s
            .verdict
            .reasons
            .contains(&PasswordReason::ContainsPersonalInfo));
    }
}
