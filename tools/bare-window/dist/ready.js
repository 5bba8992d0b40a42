// Once the page is painted, tell the Rust side (as the app's UI does with ui_ready).
requestAnimationFrame(() => {
  setTimeout(() => window.__TAURI_INTERNALS__.invoke("ready"), 0);
});
