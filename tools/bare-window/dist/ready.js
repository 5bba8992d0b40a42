// Once the page is painted, tell the Rust side (as the app's UI does with ui_ready),
// with the same start-up marks: navigation start, script, first frame and paint, in wall-clock
// milliseconds since the Unix epoch.
const marks = [
  ["navigation", performance.timeOrigin],
  ["script", performance.timeOrigin + performance.now()],
];
requestAnimationFrame(() => {
  marks.push(["frame", performance.timeOrigin + performance.now()]);
  setTimeout(() => {
    marks.push(["painted", performance.timeOrigin + performance.now()]);
    window.__TAURI_INTERNALS__.invoke("ready", { marks });
  }, 0);
});
