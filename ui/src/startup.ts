// Start-up phases of the UI, reported once with `ui_ready` so that the log (and the
// start-up benchmark) says where the time before the first screen went. Each mark is
// wall-clock milliseconds since the Unix epoch; the Rust side turns them into
// milliseconds since the process started.

const marks: Array<[string, number]> = [["navigation", performance.timeOrigin]];
let reported = false;

/** Records that the start-up reached `name` now (nothing once the marks were taken). */
export function mark(name: string): void {
  if (!reported) marks.push([name, performance.timeOrigin + performance.now()]);
}

/** The marks, oldest first; later marks are ignored (a restart is not the start-up). */
export function startupMarks(): Array<[string, number]> {
  reported = true;
  return marks.slice();
}
