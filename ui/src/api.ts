// The only module that talks to the Rust side: one typed function per Tauri command,
// named after it. Screens import these and never call `invoke` themselves.
import { invoke } from "@tauri-apps/api/core";

/** The version of the desktop app (the Cargo package version). */
export function appVersion(): Promise<string> {
  return invoke<string>("app_version");
}
