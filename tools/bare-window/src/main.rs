//! An empty Tauri window showing a static page. Its page calls `ready` once painted,
//! which prints `ready` on stdout: the same signal the desktop app gives with
//! `LATCHKEY_REPORT_READY=1`, so both start-ups are timed the same way.

use std::io::Write;
use std::process::ExitCode;

#[tauri::command]
fn ready() {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "ready page");
    let _ = out.flush();
}

fn main() -> ExitCode {
    let result = tauri::Builder::default()
        .invoke_handler(tauri::generate_handler![ready])
        .run(tauri::generate_context!());
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("bare-window: {error}");
            ExitCode::FAILURE
        }
    }
}
