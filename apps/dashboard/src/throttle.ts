/**
 * Runs an async task on request, at most once per `minIntervalMs` and never two at once; requests
 * that arrive meanwhile fold into one trailing run. The job page re-fetches its metrics this way
 * on every job update and log event, which can come hundreds of times a second.
 */
export interface Timers {
  readonly now: () => number;
  readonly setTimeout: (fn: () => void, ms: number) => unknown;
  readonly clearTimeout: (handle: unknown) => void;
}

const defaultTimers: Timers = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof globalThis.setTimeout>),
};

export interface ThrottledTask {
  request(): void;
  dispose(): void;
}

export function throttledTask(
  task: () => Promise<void>,
  minIntervalMs: number,
  timers: Timers = defaultTimers,
): ThrottledTask {
  let running = false;
  let pending = false;
  let disposed = false;
  let lastStart = -Infinity;
  let timer: unknown = null;

  const start = (): void => {
    timer = null;
    if (disposed) return;
    pending = false;
    running = true;
    lastStart = timers.now();
    task()
      .catch(() => undefined) // the task reports its own errors; a failure must not stop later runs
      .finally(() => {
        running = false;
        if (pending && !disposed) schedule();
      });
  };

  const schedule = (): void => {
    if (timer !== null || running) return;
    const wait = Math.max(0, lastStart + minIntervalMs - timers.now());
    if (wait === 0) start();
    else timer = timers.setTimeout(start, wait);
  };

  return {
    request() {
      if (disposed) return;
      pending = true;
      schedule();
    },
    dispose() {
      disposed = true;
      if (timer !== null) timers.clearTimeout(timer);
      timer = null;
    },
  };
}
