/**
 * Slows a process tree down by a factor: every 100 ms period it is stopped (SIGSTOP) for all but
 * 1/factor of the period, then continued. The DevTools protocol's CPU throttling reaches only a
 * page's main thread ("only supported for pages, not workers"), while a volunteer trains in a Web
 * Worker and, on WebGPU, in the GPU process: a straggler browser is slowed as a whole this way.
 */
import fs from 'node:fs';

const PERIOD_MS = 100;
/** New processes (a restarted worker, a new renderer) are picked up this often. */
const RESCAN_MS = 2_000;

/** The pid and every descendant of it (Linux /proc). */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // it exited meanwhile
    }
    // "pid (comm) state ppid …": comm may hold spaces and parentheses; the last ")" ends it.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
  }
  const tree: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.shift() as number;
    tree.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return tree;
}

const signal = (pids: readonly number[], sig: NodeJS.Signals): void => {
  for (const pid of pids) {
    try {
      process.kill(pid, sig);
    } catch {
      // gone already
    }
  }
};

export class ProcessThrottle {
  readonly #root: number;
  #factor = 1;
  #pids: number[] = [];
  #scannedAt = 0;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #stopped = false;

  constructor(root: number) {
    this.#root = root;
  }

  /** 1 (or less) lifts the throttle. */
  set(factor: number): void {
    this.#factor = factor;
    if (factor > 1 && this.#timer === null) this.#cycle();
    if (factor <= 1) this.release();
  }

  /** Continues every process and stops throttling (always safe to call). */
  release(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    signal(this.#pids, 'SIGCONT');
    this.#stopped = false;
  }

  #cycle(): void {
    if (Date.now() - this.#scannedAt > RESCAN_MS) {
      this.#pids = processTree(this.#root);
      this.#scannedAt = Date.now();
    }
    const running = PERIOD_MS / this.#factor;
    if (this.#stopped) {
      signal(this.#pids, 'SIGCONT');
      this.#stopped = false;
      this.#timer = setTimeout(() => this.#cycle(), running);
    } else {
      signal(this.#pids, 'SIGSTOP');
      this.#stopped = true;
      this.#timer = setTimeout(() => this.#cycle(), PERIOD_MS - running);
    }
  }
}
