// A live countdown to a deadline (a `Date.now()` value), ticking every second. Deadlines
// rather than durations, so a screen re-rendered in another language keeps counting
// from where it was.

/** Calls `tick(secondsLeft)` now and every second, then `done()` once at zero. Returns a stop function. */
export function countdown(deadline: number, tick: (secondsLeft: number) => void, done: () => void): () => void {
  let timer: ReturnType<typeof setInterval> | null = null;
  const stop = () => {
    if (timer !== null) clearInterval(timer);
    timer = null;
  };
  const update = () => {
    const left = Math.max(0, Math.ceil((deadline - Date.now()) / 1000));
    tick(left);
    if (left === 0) {
      stop();
      done();
    }
  };
  timer = setInterval(update, 1000);
  update();
  return stop;
}
