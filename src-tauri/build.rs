//! Build script of the desktop app: runs `tauri-build`, which checks `tauri.conf.json`,
//! generates an `allow-…`/`deny-…` permission for each of the app's commands and
//! resolves the capabilities that grant them.

use std::process::ExitCode;

/// Every command in `generate_handler!` (src-tauri/lib.rs), no more: a command missing
/// here cannot be granted to the UI.
const COMMANDS: &[&str] = &["app_version"];

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
