//! Every keychain item within Windows Credential Manager's limit, on every OS.
//!
//! The Credential Manager holds at most 2,560 bytes per item
//! (`CRED_MAX_CREDENTIAL_BLOB_SIZE`), and keyring writes text there as UTF-16: 1,280
//! UTF-16 units of JSON. The other keychains take more, but the vault keeps every
//! item within this one everywhere, so that what is remembered on Linux is remembered
//! the same way on Windows and the limit is tested where the tests run.
//!
//! What could grow past it, and what is done instead:
//! - the [`Index`] of remembered accounts grows with each account: the least recently
//!   used accounts leave it (and their records are deleted) until it fits — a dozen
//!   accounts or more with long e-mail addresses, dozens with short ones;
//! - a [`Record`] is bounded except for the cached profile's name and organisation,
//!   which a server may make as long as it likes: they are shortened in the cached
//!   copy (shown only while offline) until the record fits.

use latchkey_proto::User;

use super::{Index, Record, StoreError};

/// The most one keychain item may hold, in bytes of UTF-16.
pub const MAX_ITEM_BYTES: usize = 2560;

/// The size of `text` in an item, as the Credential Manager counts it.
pub fn item_bytes(text: &str) -> usize {
    text.encode_utf16().count() * 2
}

fn too_large(what: &str, json: &str) -> StoreError {
    StoreError::Failed(format!(
        "the {what} needs {} bytes, more than the {MAX_ITEM_BYTES} of one keychain item",
        item_bytes(json)
    ))
}

fn json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Failed(e.to_string()))
}

/// The record as stored: as it is when it fits, else with the cached profile's name
/// and organisation shortened (to 64, then 16 characters, then left out).
pub fn record_json(record: &Record) -> Result<String, StoreError> {
    let full = json(record)?;
    if item_bytes(&full) <= MAX_ITEM_BYTES {
        return Ok(full);
    }
    for max in [64, 16, 0] {
        let shorter = Record {
            user: User {
                name: shorten(record.user.name.as_deref(), max),
                organisation: shorten(record.user.organisation.as_deref(), max),
                ..record.user.clone()
            },
            ..record.clone()
        };
        let text = json(&shorter)?;
        if item_bytes(&text) <= MAX_ITEM_BYTES {
            tracing::info!(
                max,
                "the cached profile's name and organisation were shortened"
            );
            return Ok(text);
        }
    }
    Err(too_large("record", &full))
}

fn shorten(text: Option<&str>, max: usize) -> Option<String> {
    let text = text?;
    if max == 0 {
        None
    } else if text.chars().count() <= max {
        Some(text.to_owned())
    } else {
        let mut short: String = text.chars().take(max - 1).collect();
        short.push('…');
        Some(short)
    }
}

/// The index as stored, and the keys of the accounts it had to leave out (the least
/// recently used: the index is most recent first). The first account always stays.
pub fn index_json(index: &Index) -> Result<(String, Vec<String>), StoreError> {
    let mut kept = index.clone();
    let mut dropped = Vec::new();
    loop {
        let text = json(&kept)?;
        if item_bytes(&text) <= MAX_ITEM_BYTES {
            return Ok((text, dropped));
        }
        if kept.accounts.len() <= 1 {
            return Err(too_large("index", &text));
        }
        if let Some(last) = kept.accounts.pop() {
            dropped.push(last.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vault::IndexEntry;
    use latchkey_proto::OfflinePolicy;

    fn record(name: &str, organisation: &str) -> Record {
        Record {
            refresh_token: Some(format!("lkr_{}", "x".repeat(43)).into()),
            verifier: Some(
                "$argon2id$v=19$m=19456,t=2,p=1$HFqvLOrWYTHLyfvSrXooHw$oUVvgrcBK2ktmzToQ9yMCLC+tAhsDbGTeTAP/fnpzLs".into(),
            ),
            user: User {
                id: "5404f0922056bf018a9cc111d4bcf14d".into(),
                email: Some(format!("{}@corp.cn", "z".repeat(300))),
                phone: Some("+8613800138000".into()),
                username: Some("z".repeat(64)),
                name: Some(name.into()),
                organisation: Some(organisation.into()),
                locale: Some("zh-CN".into()),
                mfa_enabled: true,
            },
            last_online_at: u64::MAX,
            last_seen_at: u64::MAX,
            offline_failures: u32::MAX,
            offline_policy: OfflinePolicy::default(),
            totp_offer_declined: true,
        }
    }

    #[test]
    fn item_bytes_count_utf16() {
        assert_eq!(item_bytes("ab"), 4);
        assert_eq!(item_bytes("张伟"), 4);
        assert_eq!(item_bytes("😀"), 4);
    }

    #[test]
    fn a_record_of_the_longest_identifiers_fits_untouched() {
        let r = record("张伟", "华东销售部");
        let text = record_json(&r).unwrap();
        assert!(item_bytes(&text) <= MAX_ITEM_BYTES, "{}", item_bytes(&text));
        assert_eq!(text, serde_json::to_string(&r).unwrap());
    }

    #[test]
    fn a_huge_name_and_organisation_are_shortened_in_the_cached_profile() {
        let r = record(&"张".repeat(2000), &"部".repeat(2000));
        let text = record_json(&r).unwrap();
        assert!(item_bytes(&text) <= MAX_ITEM_BYTES, "{}", item_bytes(&text));
        let back: Record = serde_json::from_str(&text).unwrap();
        let name = back.user.name.unwrap();
        assert!(name.starts_with("张张") && name.ends_with('…'), "{name}");
        assert!(name.chars().count() <= 64);
        // Everything else is as it was.
        assert_eq!(back.user.email, r.user.email);
        assert_eq!(back.verifier, r.verifier);
        assert_eq!(back.refresh_token, r.refresh_token);
    }

    #[test]
    fn a_record_that_cannot_fit_is_refused_not_written() {
        let mut r = record("", "");
        r.user.id = "i".repeat(MAX_ITEM_BYTES);
        let e = record_json(&r).unwrap_err();
        assert!(e.to_string().contains("2560"), "{e}");
    }

    #[test]
    fn the_index_keeps_the_most_recent_accounts_that_fit() {
        let index = Index {
            accounts: (0..100)
                .map(|i| IndexEntry {
                    key: format!("user{i:03}@corp.cn"),
                    aliases: vec![format!("user{i:03}")],
                })
                .collect(),
        };
        let (text, dropped) = index_json(&index).unwrap();
        assert!(item_bytes(&text) <= MAX_ITEM_BYTES);
        let kept: Index = serde_json::from_str(&text).unwrap();
        assert!(kept.accounts.len() >= 20, "{}", kept.accounts.len());
        assert_eq!(kept.accounts.len() + dropped.len(), 100);
        assert_eq!(kept.accounts[0].key, "user000@corp.cn");
        assert_eq!(dropped[0], "user099@corp.cn");
        // One more account would not have fitted.
        let mut more = kept.clone();
        more.accounts
            .push(index.accounts[kept.accounts.len()].clone());
        assert!(item_bytes(&serde_json::to_string(&more).unwrap()) > MAX_ITEM_BYTES);
    }
}
