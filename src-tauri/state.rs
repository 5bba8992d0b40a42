//! The app's state, reached by commands through `State<'_, AppState>`.

use latchkey_client::Client;
use tokio::sync::{Mutex, MutexGuard};

pub struct AppState {
    /// The client core. Behind an async mutex: a command that waits for the server
    /// holds it, so a double click waits for the first answer instead of racing the
    /// state machine.
    client: Mutex<Client>,
}

impl AppState {
    pub fn new(client: Client) -> Self {
        Self {
            client: Mutex::new(client),
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
}
