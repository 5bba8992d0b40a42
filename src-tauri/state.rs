//! The app's state, reached by commands through `State<'_, AppState>`.

use latchkey_client::Client;
use tokio::sync::{Mutex, MutexGuard};

pub struct AppState {
    /// The client core. Behind an async mutex: a command that waits for the server
    /// holds it, so a double click waits for the first answer instead of racing the
    /// state machine.
    client: Mutex<Client>,
    /// A `latchkey://reset?token=…` link that arrived before the UI asked where to
    /// start (the app was launched by the link); `app_start` takes it.
    pending_link: std::sync::Mutex<Option<String>>,
}

impl AppState {
    pub fn new(client: Client) -> Self {
        Self {
            client: Mutex::new(client),
            pending_link: std::sync::Mutex::new(None),
        }
    }

    pub async fn client(&self) -> MutexGuard<'_, Client> {
        self.client.lock().await
    }

    /// The client if no command is using it (the background re-validation skips a
    /// turn rather than make the UI wait).
    pub fn try_client(&self) -> Option<MutexGuard<'_, Client>> {
        self.client.try_lock().ok()
    }

    pub fn set_pending_link(&self, link: String) {
        if let Ok(mut slot) = self.pending_link.lock() {
            *slot = Some(link);
        }
    }

    pub fn take_pending_link(&self) -> Option<String> {
        self.pending_link
            .lock()
            .ok()
            .and_then(|mut slot| slot.take())
    }
}
