//! What the Tauri commands do, the UI's only way into Rust. Each function is named as
//! the UI invokes it, takes the parameters its declaration in `src-tauri/command_list.rs`
//! gives (in that order: `State<'_, AppState>` and the other injected ones first, then
//! the UI's arguments), answers `Result<T, AppError>`, and only translates between the
//! UI and `latchkey-client`. The `#[tauri::command]` around each is generated
//! (`src-tauri/ipc.rs`).

pub mod account;
pub mod app;
pub mod approval;
pub mod launcher;
pub mod reset;
pub mod server;
pub mod sign_in;
pub mod tray;
pub mod update;
