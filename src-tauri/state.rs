//! The app's state, reached by commands through `State<'_, AppState>`.

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use latchkey_client::{Client, Step};
use tauri::async_runtime::JoinHandle;
use tokio::sync::{Mutex, MutexGuard};

pub struct AppState {
    /// The client core. Behind an async mutex: a command that waits for the server
    /// holds it, so a double click waits for the first answer instead of racing the
    /// state machine.
    client: Arc<Mutex<Client>>,
    /// The client's start when it took longer than the window was willing to wait
    /// (a slow or silent server): the first `app_start` waits for it.
    starting: std::sync::Mutex<Option<JoinHandle<Step>>>,
    /// A `latchkey://reset?token=…` link that launched the app, kept for that
    /// `app_start` in the same case.
    pending_link: std::sync::Mutex<Option<String>>,
    /// A `latchkey://approve` link that launched the app, until the UI asks for it
    /// (`approval_pending`) once it listens.
    approval_link: std::sync::Mutex<Option<String>>,
    started: Started,
    /// The release the last update check found (`None`: none newer, or not asked yet).
    update: std::sync::Mutex<Option<tauri_plugin_updater::Update>>,
}

/// When the app was launched: the start of the start-up the UI reports (`ui_ready`), on
/// the monotonic clock and on the wall clock (the UI's marks are wall-clock times).
#[derive(Clone, Copy, Debug)]
pub struct Started {
    at: Instant,
    wall: SystemTime,
}

impl Started {
    pub fn now() -> Self {
        Self {
            at: Instant::now(),
            wall: SystemTime::now(),
        }
    }

    /// Milliseconds since the launch.
    pub fn ms(&self) -> u64 {
        u64::try_from(self.at.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// The launch on the wall clock.
    pub fn wall(&self) -> SystemTime {
        self.wall
    }
}

impl AppState {
    pub fn new(client: Arc<Mutex<Client>>, started: Started) -> Self {
        Self {
            client,
            starting: std::sync::Mutex::new(None),
            pending_link: std::sync::Mutex::new(None),
            approval_link: std::sync::Mutex::new(None),
            started,
            update: std::sync::Mutex::new(None),
        }
    }

    /// The release the last update check found.
    pub fn update(&self) -> Option<tauri_plugin_updater::Update> {
        self.update.lock().ok().and_then(|slot| slot.clone())
    }

    /// Keeps what an update check found.
    pub fn set_update(&self, update: Option<tauri_plugin_updater::Update>) {
        if let Ok(mut slot) = self.update.lock() {
            *slot = update;
        }
    }

    pub fn started(&self) -> Started {
        self.started
    }

    pub async fn client(&self) -> MutexGuard<'_, Client> {
        self.client.lock().await
    }

    /// The client if no command is using it (the background re-validation skips a
    /// turn rather than make the UI wait).
    pub fn try_client(&self) -> Option<MutexGuard<'_, Client>> {
        self.client.try_lock().ok()
    }

    /// The client's start, still running, and the link that launched the app.
    pub fn set_starting(&self, task: JoinHandle<Step>, link: Option<String>) {
        if let Ok(mut slot) = self.starting.lock() {
            *slot = Some(task);
        }
        if let Ok(mut slot) = self.pending_link.lock() {
            *slot = link;
        }
    }

    /// Keeps the approval link that launched the app for the UI.
    pub fn set_approval_link(&self, link: String) {
        if let Ok(mut slot) = self.approval_link.lock() {
            *slot = Some(link);
        }
    }

    /// The approval link that launched the app, taken once.
    pub fn take_approval_link(&self) -> Option<String> {
        self.approval_link
            .lock()
            .ok()
            .and_then(|mut slot| slot.take())
    }

    /// The step the client's start reached and the launching link, if the window
    /// did not wait for them (taken once); `None` as the step if it was not left
    /// running or failed.
    pub async fn take_start(&self) -> (Option<Step>, Option<String>) {
        let task = self.starting.lock().ok().and_then(|mut slot| slot.take());
        let link = self
            .pending_link
            .lock()
            .ok()
            .and_then(|mut slot| slot.take());
        let step = match task {
            Some(task) => task.await.ok(),
            None => None,
        };
        (step, link)
    }
}
