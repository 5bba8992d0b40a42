//! The app's state, reached by commands through `State<'_, AppState>`.

use latchkey_client::{Client, Step};
use tauri::async_runtime::JoinHandle;
use tokio::sync::{Mutex, MutexGuard};

pub struct AppState {
    /// The client core. Behind an async mutex: a command that waits for the server
    /// holds it, so a double click waits for the first answer instead of racing the
    /// state machine.
    client: Mutex<Client>,
    /// A `latchkey://reset?token=…` link that arrived before the UI asked where to
    /// start (the app was launched by the link); `app_start` takes it.
    pending_link: std::sync::Mutex<Option<String>>,
    /// The client's start (server meta, keychain, automatic sign-in), begun while the
    /// window and the page load; the first `app_start` takes its answer.
    starting: std::sync::Mutex<Option<JoinHandle<Step>>>,
}

impl AppState {
    pub fn new(client: Client) -> Self {
        Self {
            client: Mutex::new(client),
            pending_link: std::sync::Mutex::new(None),
            starting: std::sync::Mutex::new(None),
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

    /// The client's start, begun in the background by the shell.
    pub fn set_starting(&self, task: JoinHandle<Step>) {
        if let Ok(mut slot) = self.starting.lock() {
            *slot = Some(task);
        }
    }

    /// The step the background start reached, waiting for it if needed; `None` if it
    /// was not begun, was already taken, or failed.
    pub async fn take_start(&self) -> Option<Step> {
        let task = self.starting.lock().ok().and_then(|mut slot| slot.take())?;
        task.await.ok()
    }

    pub fn take_pending_link(&self) -> Option<String> {
        self.pending_link
            .lock()
            .ok()
            .and_then(|mut slot| slot.take())
    }
}
