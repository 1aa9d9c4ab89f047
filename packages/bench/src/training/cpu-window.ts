/**
 * A measured window: wall time and the CPU seconds of this process's children (the browsers and
 * the coordinator Playwright and part 1 started) between start() and stop(), with the coordinator's
 * share apart. The bench process itself (Playwright's driver, the polling) is not counted.
 */
import { canMeasureCpu, childPids, treeCpuSeconds } from './process-cpu.ts';

export interface CpuFigures {
  readonly wallSeconds: number;
  /** Null where /proc is missing (not Linux). */
  readonly browserCpuSeconds: number | null;
  readonly coordinatorCpuSeconds: number | null;
}

interface Reading {
  readonly at: number;
  readonly browsers: number;
  readonly coordinator: number;
}

function read(coordinatorPid: number | null): Reading | null {
  const at = performance.now();
  if (!canMeasureCpu()) return null;
  const roots = childPids();
  const cpu = treeCpuSeconds(roots);
  let coordinator = 0;
  let browsers = 0;
  for (const [pid, seconds] of cpu) {
    if (pid === coordinatorPid) coordinator += seconds;
    else browsers += seconds;
  }
  return { at, browsers, coordinator };
}

export class CpuWindow {
  readonly #coordinatorPid: number | null;
  #start: Reading | null = null;
  #startedAt = 0;

  /** Children other than the coordinator count as browsers: start nothing else meanwhile. */
  constructor(coordinatorPid: number | null) {
    this.#coordinatorPid = coordinatorPid;
  }

  start(): void {
    this.#startedAt = performance.now();
    this.#start = read(this.#coordinatorPid);
  }

  stop(): CpuFigures {
    const end = read(this.#coordinatorPid);
    const wallSeconds = (performance.now() - this.#startedAt) / 1000;
    const start = this.#start;
    if (start === null || end === null) {
      return { wallSeconds, browserCpuSeconds: null, coordinatorCpuSeconds: null };
    }
    return {
      wallSeconds,
      browserCpuSeconds: end.browsers - start.browsers,
      coordinatorCpuSeconds: end.coordinator - start.coordinator,
    };
  }
}
