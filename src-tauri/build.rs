//! Build script of the desktop app: runs `tauri-build`, which checks `tauri.conf.json`,
//! generates an `allow-…`/`deny-…` permission for each of the app's commands and
//! resolves the capabilities that grant them.

use std::process::ExitCode;

/// Every command in `generate_handler!` (src-tauri/lib.rs), no more: a command missing
/// here cannot be granted to the UI.
const COMMANDS: &[&str] = &[
    "app_version",
    "app_start",
    "ui_ready",
    "open_link",
    "server_test",
    "server_save",
    "sign_in",
    "second_factor",
    "device_code",
    "forced_password_change",
    "password_strength",
    "totp_begin",
    "totp_confirm",
    "totp_skip",
    "totp_done",
    "recovery_start",
    "recovery_resend",
    "recovery_verify",
    "recovery_complete",
    "reset_link_answer",
    "account_details",
    "change_password",
    "totp_disable",
    "recovery_codes_regenerate",
    "recovery_codes_save",
    "session_revoke",
    "sign_out",
    "sign_out_everywhere",
    "forget_device",
];

/// The capabilities live in `src-tauri/`, not beside `tauri.conf.json` where tauri-build
/// looks by default.
const CAPABILITIES_DIR: &str = "src-tauri/capabilities";

fn main() -> ExitCode {
    println!("cargo:rerun-if-changed={CAPABILITIES_DIR}");
    let attributes = tauri_build::Attributes::new()
        .capabilities_path_pattern("./src-tauri/capabilities/**/*")
        .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS));
    match tauri_build::try_build(attributes) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("tauri-build failed: {error:#}");
            ExitCode::FAILURE
        }
    }
}
