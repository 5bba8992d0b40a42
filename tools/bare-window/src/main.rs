//! An empty Tauri window showing a static page. Its page calls `ready` once painted,
//! which prints `ready` on stdout: the same signal the desktop app gives with
//! `LATCHKEY_REPORT_READY=1`, so both start-ups are timed the same way. The page's
//! start-up marks follow on a `phases` line, in milliseconds since the process started,
//! as the app prints them.

use std::io::Write;
use std::process::ExitCode;
use std::sync::OnceLock;
use std::time::SystemTime;

static STARTED: OnceLock<SystemTime> = OnceLock::new();

#[tauri::command]
fn ready(marks: Vec<(String, f64)>) {
    let origin = STARTED
        .get()
        .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0);
    let phases: Vec<String> = marks
        .iter()
        .map(|(name, at)| format!("{name}={:.0}", at - origin))
        .collect();
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "ready page");
    let _ = writeln!(out, "phases {}", phases.join(" "));
    let _ = out.flush();
}

fn main() -> ExitCode {
    let _ = STARTED.set(SystemTime::now());
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
