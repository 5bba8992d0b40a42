//! Where a user's messages go, and the security notices every flow sends: password
//! changed, sign-in from a new device, two-factor authentication on or off.
//!
//! A notice goes to the account's e-mail address, or to its phone when it has no
//! e-mail; an account with neither gets none (logged). A notice that cannot be queued
//! (the database refused the row) is logged and does not fail the request that caused
//! it: the change itself has already happened and must be answered.

use rand::rngs::OsRng;
use rand::Rng;

use crate::delivery::{self, Channel, MessageKind, Outgoing};
use crate::state::AppState;
use crate::users::UserRow;

/// The channel and address to reach `user` on: `preferred` when the account has it,
/// else e-mail, else SMS.
pub fn destination(user: &UserRow, preferred: Option<Channel>) -> Option<(Channel, String)> {
    let email = user.email.clone().map(|e| (Channel::Email, e));
    let sms = user.phone.clone().map(|p| (Channel::Sms, p));
    match preferred {
        Some(Channel::Sms) => sms.or(email),
        _ => email.or(sms),
    }
}

/// `z***@corp.cn`, `138****0000`: enough for the user to recognise where a code went.
pub fn hint(channel: Channel, recipient: &str) -> String {
    match channel {
        Channel::Email => delivery::mask(recipient),
        Channel::Sms => {
            // Mainland numbers are shown the way people write them (138****0000).
            let national = recipient.strip_prefix("+86").unwrap_or(recipient);
            let digits: Vec<char> = national.chars().collect();
            if digits.len() >= 7 {
                let head: String = digits[..3].iter().collect();
                let tail: String = digits[digits.len() - 4..].iter().collect();
                format!("{head}****{tail}")
            } else {
                "****".to_owned()
            }
        }
    }
}

/// The language of a user's messages: the request's, else the account's, else Chinese
/// on a server whose default region is CN and English elsewhere.
pub fn locale(app: &AppState, user: &UserRow, requested: Option<&str>) -> String {
    requested
        .filter(|l| !l.trim().is_empty())
        .or(user.locale.as_deref())
        .map(|l| delivery::normalize_locale(l).to_owned())
        .unwrap_or_else(|| {
            if app.config().default_region.eq_ignore_ascii_case("CN") {
                "zh-CN".to_owned()
            } else {
                "en".to_owned()
            }
        })
}

/// A fresh 6-digit code, uniformly random.
pub fn six_digits() -> String {
    format!("{:06}", OsRng.gen_range(0..1_000_000u32))
}

/// Queues a security notice for `user`; never fails the caller.
pub async fn notice(app: &AppState, user: &UserRow, kind: MessageKind) {
    let Some((channel, recipient)) = destination(user, None) else {
        tracing::info!(user = %user.id, kind = kind.name(), "no e-mail or phone: notice not sent");
        return;
    };
    let msg = Outgoing {
        channel,
        recipient,
        locale: locale(app, user, None),
        kind,
    };
    if let Err(e) = delivery::enqueue(app, &msg).await {
        tracing::warn!(user = %user.id, kind = msg.kind.name(), error = %e, "could not queue a notice");
    }
}

/// The settings row that says when the last daily summary went out (ms).
const SUMMARY_SENT: &str = "lock_summary_sent_at";
const DAY_MS: i64 = 86_400_000;

/// IT's daily summary of the accounts locked by failed sign-ins (`[lockout]
/// summary_to`), sent by whichever server process first finds a day has passed since
/// the last one (the janitor asks every ten minutes): the claim is one conditional
/// write, so two processes never both send it. Nothing is sent on a day without locks.
/// Returns how many accounts it listed.
pub async fn daily_lock_summary(app: &AppState, now: i64) -> Result<Option<usize>, sqlx::Error> {
    let to = app.config().lockout.summary_to.trim().to_owned();
    if to.is_empty() {
        return Ok(None);
    }
    let claimed = sqlx::query(
        "INSERT INTO settings (name, value) VALUES ($1, $2) \
         ON CONFLICT (name) DO UPDATE SET value = excluded.value \
         WHERE CAST(settings.value AS BIGINT) <= $3",
    )
    .bind(SUMMARY_SENT)
    .bind(now.to_string())
    .bind(now - DAY_MS)
    .execute(&app.db)
    .await?
    .rows_affected();
    if claimed == 0 {
        return Ok(None);
    }
    let users: Vec<UserRow> = sqlx::query_as(&format!(
        "SELECT {} FROM users WHERE id IN (SELECT DISTINCT user_id FROM activity \
         WHERE kind = 'login' AND result = 'account_locked' AND created_at > $1) \
         ORDER BY email, username, phone",
        crate::users::COLUMNS
    ))
    .bind(now - DAY_MS)
    .fetch_all(&app.db)
    .await?;
    if users.is_empty() {
        return Ok(Some(0));
    }
    let accounts: Vec<String> = users.iter().map(|u| u.label().to_owned()).collect();
    let msg = Outgoing {
        channel: Channel::Email,
        recipient: to,
        locale: if app.config().default_region.eq_ignore_ascii_case("CN") {
            "zh-CN".into()
        } else {
            "en".into()
        },
        kind: MessageKind::LockSummary {
            accounts: accounts.clone(),
        },
    };
    if let Err(e) = delivery::enqueue(app, &msg).await {
        tracing::warn!(error = %e, "could not queue the daily summary of locked accounts");
    }
    Ok(Some(accounts.len()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Flag;

    fn user(email: Option<&str>, phone: Option<&str>) -> UserRow {
        UserRow {
            id: "u".into(),
            email: email.map(Into::into),
            phone: phone.map(Into::into),
            username: None,
            name: None,
            organisation: None,
            locale: None,
            password_hash: String::new(),
            password_changed_at: 0,
            must_change_password: Flag::default(),
            disabled: Flag::default(),
            mfa_enabled: Flag::default(),
            created_at: 0,
            directory_id: None,
            directory_dn: None,
        }
    }

    #[test]
    fn destination_prefers_the_asked_channel_then_email() {
        let both = user(Some("a@b.cn"), Some("+8613800138000"));
        assert_eq!(destination(&both, None).unwrap().0, Channel::Email);
        assert_eq!(
            destination(&both, Some(Channel::Sms)).unwrap().0,
            Channel::Sms
        );
        let phone_only = user(None, Some("+8613800138000"));
        assert_eq!(
            destination(&phone_only, Some(Channel::Email)).unwrap().0,
            Channel::Sms
        );
        assert!(destination(&user(None, None), None).is_none());
    }

    #[test]
    fn hints_hide_most_of_the_address() {
        assert_eq!(hint(Channel::Email, "zhang@corp.cn"), "z***@corp.cn");
        assert_eq!(hint(Channel::Sms, "+8613800138000"), "138****8000");
        assert_eq!(hint(Channel::Sms, "+14155550123"), "+14****0123");
        assert_eq!(hint(Channel::Sms, "+1"), "****");
    }

    #[test]
    fn codes_are_six_digits() {
        for _ in 0..200 {
            let c = six_digits();
            assert_eq!(c.len(), 6);
            assert!(c.bytes().all(|b| b.is_ascii_digit()));
        }
    }
}
