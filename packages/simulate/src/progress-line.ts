/**
 * The terminal progress line: one line rewritten in place when stdout is a terminal, or a plain
 * line every so often (and on each change of phase or fault count) when it is a pipe or a log.
 */
import type { ProgressInfo } from './run-simulation.ts';

export interface ProgressStream {
  readonly isTTY?: boolean;
  readonly columns?: number;
  write(text: string): unknown;
}

function clock(ms: number): string {
  const s = Math.floor(ms / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

export function formatProgress(info: ProgressInfo): string {
  const progress = `${(info.progress * 100).toFixed(1).padStart(5)} %`;
  const accuracy = info.accuracy === null ? 'accuracy –' : `accuracy ${(info.accuracy * 100).toFixed(1)} %`;
  const alive = `alive ${info.alive.browsers} browsers + ${info.alive.virtual} virtual`;
  const faults = `faults ${info.faultsDone}/${info.faultsPlanned}`;
  const state = info.phase === 'running' ? (info.jobStatus ?? 'running') : info.phase;
  return `${progress} · ${accuracy} · ${alive} · ${faults} · ${clock(info.t)} · ${state}`;
}

export class ProgressLine {
  #last: ProgressInfo | null = null;
  #lastPrintedT = -Infinity;
  #lastKey = '';
  #shown = false;

  constructor(
    private readonly out: ProgressStream,
    /** Without a terminal: at most one line per this many milliseconds of simulation time. */
    private readonly plainEveryMs = 10_000,
  ) {}

  update(info: ProgressInfo): void {
    this.#last = info;
    if (this.out.isTTY === true) {
      this.#draw(info);
      return;
    }
    const key = `${info.phase}|${info.faultsDone}|${info.jobStatus ?? ''}`;
    if (key !== this.#lastKey || info.t - this.#lastPrintedT >= this.plainEveryMs) {
      this.#lastKey = key;
      this.#lastPrintedT = info.t;
      this.out.write(`${formatProgress(info)}\n`);
    }
  }

  /** A line worth a person's attention, printed above the progress line (which is then redrawn). */
  log(line: string): void {
    if (this.out.isTTY === true && this.#shown) this.out.write('\r\x1b[K');
    this.out.write(`${line}\n`);
    if (this.out.isTTY === true && this.#last !== null) this.#draw(this.#last);
  }

  /** Ends the in-place line so that what is printed next starts on its own line. */
  finish(): void {
    if (this.out.isTTY === true && this.#shown) this.out.write('\n');
    this.#shown = false;
  }

  #draw(info: ProgressInfo): void {
    const width = Math.max(20, (this.out.columns ?? 120) - 1);
    this.out.write(`\r${formatProgress(info).slice(0, width)}\x1b[K`);
    this.#shown = true;
  }
}
