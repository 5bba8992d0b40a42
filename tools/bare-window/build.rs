//! Runs `tauri-build` for the bare window (its `tauri.conf.json` is beside this file).

fn main() {
    tauri_build::build();
}
