//! The Secret Service (Linux) over one D-Bus connection, kept for the life of the store.
//!
//! keyring 3 opens a new D-Bus connection and a new encrypted Secret Service session
//! (a Diffie-Hellman exchange) for every call, two for a write: a remembered start —
//! read the index, read the record, write the rotated token back — cost four of them,
//! about 37 of its 44 ms (docs/benchmarks.md, issue 20). This store opens one when it is
//! first needed and reuses it; a call that fails on a connection kept from before (the
//! keyring daemon restarted, the bus went away) is tried once more on a new one, so a
//! keychain that comes back is found again, as with keyring.
//!
//! Items have the attributes keyring 3 gives them (`target` = `default`, `service`,
//! `username`, `application` = `rust-keyring`): what an earlier version of the app
//! remembered is found, `secret-tool` finds what this one writes, and keyring's own
//! stores on macOS and Windows are unchanged. The label, which only people see (in
//! Seahorse, say), names Latchkey.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use dbus_secret_service::{EncryptionType, Error, Item, SecretService};

use super::StoreError;

/// Collection of the items (keyring's `target`): the default one.
const TARGET: &str = "default";

/// One D-Bus connection and Secret Service session, shared by the clones of a store.
#[derive(Clone, Default)]
pub(super) struct Connection {
    kept: Arc<Mutex<Option<SecretService>>>,
    /// How many were opened, for the tests and the start-up figures.
    opened: Arc<AtomicU64>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let open = self.kept.lock().map(|c| c.is_some()).unwrap_or(false);
        f.debug_struct("Connection")
            .field("open", &open)
            .field("opened", &self.opened())
            .finish()
    }
}

impl Connection {
    pub(super) fn opened(&self) -> u64 {
        self.opened.load(Ordering::Relaxed)
    }

    pub(super) fn get(&self, service: &str, name: &str) -> Result<Option<String>, StoreError> {
        self.with(|ss| {
            let Some(item) = unique(ss, service, name)? else {
                return Ok(None);
            };
            let bytes = item.get_secret()?;
            String::from_utf8(bytes)
                .map(Some)
                .map_err(|_| Fault::NotText)
        })
    }

    pub(super) fn set(&self, service: &str, name: &str, value: &str) -> Result<(), StoreError> {
        self.with(|ss| {
            if let Some(item) = unique(ss, service, name)? {
                return Ok(item.set_secret(value.as_bytes(), "text/plain")?);
            }
            let collection = match ss.get_default_collection() {
                Ok(c) => c,
                Err(_) => ss.create_collection(TARGET, TARGET)?,
            };
            if collection.is_locked()? {
                collection.unlock()?;
            }
            let label = format!("Latchkey: {name} ({service})");
            collection.create_item(
                &label,
                attributes(service, name, true),
                value.as_bytes(),
                true,
                "text/plain",
            )?;
            Ok(())
        })
    }

    pub(super) fn delete(&self, service: &str, name: &str) -> Result<(), StoreError> {
        self.with(|ss| {
            let found = ss.search_items(attributes(service, name, false))?;
            for item in &found.locked {
                item.unlock()?;
            }
            for item in found.unlocked.iter().chain(found.locked.iter()) {
                item.delete()?;
            }
            Ok(())
        })
    }

    /// Runs `call` on the kept connection, or on a new one if there is none or the kept
    /// one failed.
    fn with<T>(&self, call: impl Fn(&SecretService) -> Result<T, Fault>) -> Result<T, StoreError> {
        let mut kept = self
            .kept
            .lock()
            .map_err(|_| StoreError::Failed("keychain connection poisoned".into()))?;
        if let Some(ss) = kept.as_ref() {
            match call(ss) {
                Ok(v) => return Ok(v),
                Err(Fault::Service(e)) => {
                    tracing::debug!(error = %e, "kept Secret Service connection failed; reconnecting");
                    *kept = None;
                }
                Err(other) => return Err(other.into()),
            }
        }
        let ss = SecretService::connect(EncryptionType::Dh)
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        self.opened.fetch_add(1, Ordering::Relaxed);
        let result = call(&ss).map_err(StoreError::from);
        *kept = Some(ss);
        result
    }
}

/// Why a call failed.
enum Fault {
    Service(Error),
    /// Two items answer to one name (made by something else than Latchkey).
    Ambiguous,
    /// An item that is not UTF-8 text.
    NotText,
}

impl From<Error> for Fault {
    fn from(e: Error) -> Self {
        Fault::Service(e)
    }
}

/// As with keyring, whatever the Secret Service answers (no service on the bus, a locked
/// collection, a dismissed prompt, an answer that does not decrypt) means no usable
/// keychain; what Latchkey finds in it is a failure of its own.
impl From<Fault> for StoreError {
    fn from(f: Fault) -> Self {
        match f {
            Fault::Service(e) => StoreError::Unavailable(e.to_string()),
            Fault::Ambiguous => StoreError::Failed("two keychain items answer to one name".into()),
            Fault::NotText => StoreError::Failed("a keychain item is not text".into()),
        }
    }
}

/// keyring's attributes of an item; searches leave out `application`, as keyring does.
fn attributes<'a>(service: &'a str, name: &'a str, all: bool) -> HashMap<&'a str, &'a str> {
    let mut a = HashMap::from([("target", TARGET), ("service", service), ("username", name)]);
    if all {
        a.insert("application", "rust-keyring");
    }
    a
}

/// The one item named so, unlocked; two are an error, as in keyring.
fn unique<'a>(ss: &'a SecretService, service: &str, name: &str) -> Result<Option<Item<'a>>, Fault> {
    let found = ss.search_items(attributes(service, name, false))?;
    let mut items = found.unlocked.into_iter().chain(found.locked);
    let Some(item) = items.next() else {
        return Ok(None);
    };
    if items.next().is_some() {
        return Err(Fault::Ambiguous);
    }
    if item.is_locked()? {
        item.unlock()?;
    }
    Ok(Some(item))
}
