//! The Tauri commands, the UI's only way into Rust. Each is named as the UI invokes it
//! (see `ui/src/api.ts`), takes `State<'_, AppState>`, and only translates between the
//! UI and `latchkey-client`.
//!
//! `generate_handler!` names a command by its full path (`commands::app::app_version`):
//! a `pub use` re-export would not carry the helper items `#[tauri::command]` generates.

pub mod account;
pub mod app;
pub mod recovery;
pub mod server;
pub mod sign_in;
