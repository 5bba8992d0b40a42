//! Outbound messages: reset and device codes, and security notices, by e-mail or
//! SMS, through a durable queue in the database.
//!
//! A flow calls [`enqueue`] (or [`insert`] inside its own transaction, then [`wake`]);
//! that only writes a row, so the request answers at once whether or not the mail
//! server is up. The [`Dispatcher`] that [`crate::serve`] spawns in every server
//! process claims due rows with a lease, renders them ([`templates`]) in zh-CN or en,
//! and hands them to the transport of their channel:
//!
//! | channel | configured | transport |
//! |---|---|---|
//! | e-mail | `LATCHKEY_SMTP_URL` | SMTP through lettre ([`smtp`]) |
//! | SMS | `LATCHKEY_SMS_WEBHOOK_URL` | JSON POST to the gateway ([`sms`]) |
//! | either | not configured | a file in the outbox folder plus a log line ([`outbox`]) |
//!
//! The outbox is only the fallback of a channel without a transport: setting
//! `LATCHKEY_OUTBOX_DIR` chooses its folder but never copies messages that go out by
//! SMTP or webhook, so a production server never leaves codes in files.
//!
//! A failed send is retried with exponential backoff ([`backoff_ms`]: 2 s doubling to
//! 5 min) until the message's give-up time: 24 hours, or for a message carrying a code,
//! when that code expires (a late code is of no use). The payload, which may hold the
//! code, is blanked once the message is sent or given up. Delivery is at least once: a
//! process that dies between the send and the mark may leave the message to be sent
//! again after its lease ends.

mod dispatcher;
pub mod outbox;
pub mod sms;
pub mod smtp;
pub mod templates;

use latchkey_proto::Secret;
use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;

use crate::db::secs;

/// Whether a transport URL points at this machine (where clear text never leaves it).
pub fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        // `smtp://` is no special scheme to the URL standard: its IPv4 hosts come as
        // domains.
        Some(url::Host::Domain(d)) => {
            d.eq_ignore_ascii_case("localhost")
                || d.parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        }
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}
use crate::state::AppState;
use crate::tokens::new_ordered_id;

pub use dispatcher::{backoff_ms, DeliveryError, Dispatcher, LEASE_MS, MAX_AGE_MS};

/// How a message travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Email,
    Sms,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Sms => "sms",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "email" => Some(Self::Email),
            "sms" => Some(Self::Sms),
            _ => None,
        }
    }
}

/// What a message says, with its template variables. Codes and links are [`Secret`]s,
/// so `Debug` never shows them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MessageKind {
    /// A reset code; e-mails also carry the reset link (`latchkey://reset?token=…`).
    /// Stored, queued and sent to the SMS webhook as `recovery_code` (its first name).
    #[serde(rename = "recovery_code")]
    ResetCode {
        code: Secret,
        link: Option<Secret>,
        /// How long the code is valid.
        minutes: u32,
    },
    /// The code that confirms a sign-in from a new device.
    DeviceCode {
        code: Secret,
        minutes: u32,
    },
    /// "Your password was changed."
    PasswordChanged,
    /// "Someone signed in from a new device."
    NewDeviceSignIn {
        device_name: String,
        ip: Option<String>,
        /// Unix milliseconds.
        at: i64,
    },
    TotpEnabled,
    TotpDisabled,
    /// "IT changed your account's e-mail address (or phone number)": sent to the old
    /// one, so that a change the person did not ask for does not go unnoticed.
    ContactChanged {
        /// The phone number changed (else the e-mail address).
        phone: bool,
    },
    /// "Your account was locked after failed sign-ins" (once per lock).
    AccountLocked {
        /// How long the lock lasts.
        minutes: u32,
    },
    /// IT's daily summary: the accounts locked by failed sign-ins in the last day, by
    /// their labels (e-mail, else username or phone).
    LockSummary {
        accounts: Vec<String>,
    },
}

impl MessageKind {
    /// The stable name stored in the `kind` column and used in outbox file names.
    pub fn name(&self) -> &'static str {
        match self {
            Self::ResetCode { .. } => "recovery_code",
            Self::DeviceCode { .. } => "device_code",
            Self::PasswordChanged => "password_changed",
            Self::NewDeviceSignIn { .. } => "new_device_sign_in",
            Self::TotpEnabled => "totp_enabled",
            Self::TotpDisabled => "totp_disabled",
            Self::ContactChanged { .. } => "contact_changed",
            Self::AccountLocked { .. } => "account_locked",
            Self::LockSummary { .. } => "lock_summary",
        }
    }

    /// How long the message is worth sending: a code is useless once it expires.
    fn lifetime_ms(&self) -> i64 {
        match self {
            Self::ResetCode { minutes, .. } | Self::DeviceCode { minutes, .. } => {
                secs(u64::from(*minutes) * 60).min(MAX_AGE_MS)
            }
            _ => MAX_AGE_MS,
        }
    }
}

/// One message to send.
#[derive(Clone)]
pub struct Outgoing {
    pub channel: Channel,
    /// An e-mail address, or a phone number in E.164 form (`+8613800138000`).
    pub recipient: String,
    /// The user's or the request's language; anything but `zh*` means English.
    pub locale: String,
    pub kind: MessageKind,
}

impl std::fmt::Debug for Outgoing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outgoing")
            .field("channel", &self.channel)
            .field("recipient", &mask(&self.recipient))
            .field("locale", &self.locale)
            .field("kind", &self.kind)
            .finish()
    }
}

/// `z***@corp.cn`, `+86***0000`: enough for a log reader, not the address itself.
pub fn mask(recipient: &str) -> String {
    let chars: Vec<char> = recipient.chars().collect();
    if let Some(at) = recipient.find('@') {
        let first: String = recipient.chars().take(1).collect();
        format!("{first}***{}", &recipient[at..])
    } else if chars.len() > 7 {
        let head: String = chars[..3].iter().collect();
        let tail: String = chars[chars.len() - 4..].iter().collect();
        format!("{head}***{tail}")
    } else {
        "***".to_owned()
    }
}

/// `zh-CN` for any Chinese locale, `en` otherwise.
pub fn normalize_locale(locale: &str) -> &'static str {
    if locale.trim().to_ascii_lowercase().starts_with("zh") {
        "zh-CN"
    } else {
        "en"
    }
}

/// Queues `msg` and wakes this process's dispatcher; returns the message id. The send
/// happens later, in the background.
#[tracing::instrument(skip_all, fields(kind = msg.kind.name(), channel = msg.channel.as_str()))]
pub async fn enqueue(state: &AppState, msg: &Outgoing) -> Result<String, sqlx::Error> {
    let mut conn = state.db.acquire().await?;
    let id = insert(&mut conn, msg, state.now()).await?;
    wake(state);
    Ok(id)
}

/// Queues `msg` on `conn` (which may be inside a transaction, so that a code and the
/// message carrying it are stored together). Call [`wake`] after the commit.
pub async fn insert(
    conn: &mut AnyConnection,
    msg: &Outgoing,
    now: i64,
) -> Result<String, sqlx::Error> {
    let id = new_ordered_id(now);
    metrics::counter!(crate::ops::metrics::MESSAGES_QUEUED, "channel" => msg.channel.as_str())
        .increment(1);
    let payload = serde_json::to_string(&msg.kind).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    sqlx::query(
        "INSERT INTO messages (id, channel, recipient, locale, kind, payload, status, \
         attempts, next_attempt_at, claimed_until, give_up_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 'pending', 0, $7, 0, $8, $7)",
    )
    .bind(&id)
    .bind(msg.channel.as_str())
    .bind(msg.recipient.trim())
    .bind(normalize_locale(&msg.locale))
    .bind(msg.kind.name())
    .bind(payload)
    .bind(now)
    .bind(now.saturating_add(msg.kind.lifetime_ms()))
    .execute(&mut *conn)
    .await?;
    Ok(id)
}

/// Tells this process's dispatcher that a message is waiting. (Dispatchers of other
/// processes find it on their next poll.)
pub fn wake(state: &AppState) {
    state.outbound.notify_one();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_codes_links_and_addresses() {
        let msg = Outgoing {
            channel: Channel::Email,
            recipient: "zhang.wei@corp.cn".into(),
            locale: "zh-CN".into(),
            kind: MessageKind::ResetCode {
                code: Secret::from("493817"),
                link: Some(Secret::from("latchkey://reset?token=lkr_abc")),
                minutes: 10,
            },
        };
        let s = format!("{msg:?}");
        assert!(!s.contains("493817") && !s.contains("lkr_abc") && !s.contains("zhang.wei"));
        assert!(s.contains("z***@corp.cn"), "{s}");
        assert_eq!(mask("+8613800138000"), "+86***8000");
    }

    #[test]
    fn locales_fall_back_to_english() {
        assert_eq!(normalize_locale("zh-CN"), "zh-CN");
        assert_eq!(normalize_locale("zh_TW"), "zh-CN");
        assert_eq!(normalize_locale("ZH"), "zh-CN");
        assert_eq!(normalize_locale("en-GB"), "en");
        assert_eq!(normalize_locale("fr"), "en");
        assert_eq!(normalize_locale(""), "en");
    }

    #[test]
    fn payload_round_trips_and_names_match() {
        let kind = MessageKind::NewDeviceSignIn {
            device_name: "ThinkPad".into(),
            ip: None,
            at: 5,
        };
        let json = serde_json::to_value(&kind).unwrap();
        assert_eq!(json["kind"], kind.name());
        assert_eq!(serde_json::from_value::<MessageKind>(json).unwrap(), kind);
        // Queued rows and the SMS webhook keep the reset code's first name.
        let reset = MessageKind::ResetCode {
            code: Secret::from("1"),
            link: None,
            minutes: 10,
        };
        assert_eq!(reset.name(), "recovery_code");
        assert_eq!(
            serde_json::to_value(&reset).unwrap()["kind"],
            "recovery_code"
        );
        let code = MessageKind::DeviceCode {
            code: Secret::from("1"),
            minutes: 10,
        };
        assert_eq!(code.lifetime_ms(), 600_000);
        assert_eq!(MessageKind::TotpEnabled.lifetime_ms(), MAX_AGE_MS);
    }
}
