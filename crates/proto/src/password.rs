//! Password policy and the strength verdict, as exchanged by `/v1/meta` and
//! `POST /v1/password/check`. The evaluation itself lives in `latchkey-policy`.

use serde::{Deserialize, Serialize};

use crate::Secret;

/// The server's password policy. Defaults follow ASVS 2.1 and NIST 800-63B; the
/// composition, history and expiry rules are off (0) unless IT turns them on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct PasswordPolicy {
    /// Minimum length in Unicode characters after NFKC normalisation.
    pub min_length: u32,
    /// Maximum length in characters; longer input is refused, never truncated.
    pub max_length: u32,
    /// Minimum zxcvbn score (0–4).
    pub min_score: u8,
    /// How many of the four classes (lower, upper, digit, other) must appear; 0 = off.
    pub min_classes: u8,
    /// How many previous passwords may not be reused; 0 = off.
    pub history: u32,
    /// Days after which a password must be changed; 0 = never.
    pub expiry_days: u32,
    /// Days before a password expires from which the app warns about it (absent from
    /// servers before this field: 14).
    pub expiry_warning_days: u32,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self {
            min_length: 12,
            max_length: 128,
            min_score: 3,
            min_classes: 0,
            history: 0,
            expiry_days: 0,
            expiry_warning_days: 14,
        }
    }
}

/// Why a password is refused. Clients translate these codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum PasswordReason {
    TooShort,
    TooLong,
    TooWeak,
    CommonPassword,
    /// A common name in pinyin with a year, a date or a lucky number
    /// (`zhangwei1990`, `liuyang1314`).
    CommonNameAndNumber,
    ContainsPersonalInfo,
    MissingCharacterClasses,
    ReusedPassword,
    SameAsCurrent,
    /// The company directory's own password policy refused it (issue 19): length,
    /// history, age or complexity rules of its own. The answer's `message` carries the
    /// directory's words.
    DirectoryPolicy,
}

/// How to choose a better password. Clients translate these codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum PasswordSuggestion {
    UseLongerPassword,
    UseShorterPassword,
    UseAFewWords,
    AddAnotherWord,
    NoNeedForSymbols,
    UseLongerKeyboardPattern,
    AvoidRepeats,
    AvoidSequences,
    AvoidRecentYears,
    AvoidDates,
    CapitalizationDoesntHelp,
    AllUppercaseDoesntHelp,
    ReversedWordsDontHelp,
    PredictableSubstitutionsDontHelp,
    AvoidPersonalInfo,
    AvoidCommonPasswords,
    AddCharacterClasses,
    ChooseNewPassword,
}

/// `POST /v1/password/check` body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PasswordCheckRequest {
    /// Whose password it would be (e-mail, phone or username), for context rules.
    #[serde(default)]
    pub identifier: Option<String>,
    pub password: Secret,
}

/// The policy's verdict on one password.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PasswordVerdict {
    /// zxcvbn score 0–4 (0 when the length rules already fail).
    pub score: u8,
    pub accepted: bool,
    pub reasons: Vec<PasswordReason>,
    pub suggestions: Vec<PasswordSuggestion>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn policy_json_and_defaults() {
        assert_eq!(
            serde_json::to_value(PasswordPolicy::default()).unwrap(),
            json!({"min_length": 12, "max_length": 128, "min_score": 3,
                   "min_classes": 0, "history": 0, "expiry_days": 0,
                   "expiry_warning_days": 14})
        );
        let partial: PasswordPolicy = serde_json::from_value(json!({"min_length": 14})).unwrap();
        assert_eq!(partial.min_length, 14);
        assert_eq!(partial.max_length, 128);
    }

    #[test]
    fn verdict_json() {
        let v = PasswordVerdict {
            score: 1,
            accepted: false,
            reasons: vec![
                PasswordReason::TooWeak,
                PasswordReason::ContainsPersonalInfo,
            ],
            suggestions: vec![PasswordSuggestion::AddAnotherWord],
        };
        assert_eq!(
            serde_json::to_value(&v).unwrap(),
            json!({"score": 1, "accepted": false,
                   "reasons": ["too_weak", "contains_personal_info"],
                   "suggestions": ["add_another_word"]})
        );
    }

    #[test]
    fn check_request_json() {
        let r: PasswordCheckRequest = serde_json::from_value(json!({"password": "pw"})).unwrap();
        assert_eq!(r.identifier, None);
        assert_eq!(r.password.expose(), "pw");
        assert!(!format!("{r:?}").contains("pw\""));
    }
}
