/**
 * The coordinator part's load: protocol-level volunteers spread over several worker processes
 * (load-worker.ts), never in the coordinator's process nor the bench's own event loop. Volunteers
 * are added round-robin, so every worker holds about the same share.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { AddResult, LoadCommand, LoadReply, LoadSettings, LoadWindow } from './load-protocol.ts';

const WORKER_BOOT = fileURLToPath(new URL('./load-worker-boot.mjs', import.meta.url));
const WORKER_START_MS = 60_000;

interface Worker {
  readonly index: number;
  readonly child: ChildProcess;
  readonly pending: Map<number, { resolve(value: unknown): void; reject(error: Error): void }>;
  readonly exited: Promise<void>;
  volunteers: number;
}

let nextId = 1;

function startWorker(index: number, settings: LoadSettings): Promise<Worker> {
  const child = fork(WORKER_BOOT, [JSON.stringify(settings)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    // The boot module registers tsx itself; not the caller's loaders.
    execArgv: [],
  });
  const worker: Worker = {
    index,
    child,
    pending: new Map(),
    volunteers: 0,
    exited: new Promise((resolve) => child.once('exit', () => resolve())),
  };
  void worker.exited.then(() => {
    for (const p of worker.pending.values()) p.reject(new Error(`load worker ${index} exited`));
    worker.pending.clear();
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`load worker ${index} did not start within ${WORKER_START_MS} ms`));
    }, WORKER_START_MS);
    child.on('message', (message: LoadReply | { ready: true }) => {
      if ('ready' in message) {
        clearTimeout(timer);
        resolve(worker);
        return;
      }
      const waiting = worker.pending.get(message.id);
      if (waiting === undefined) return;
      worker.pending.delete(message.id);
      if (message.ok) waiting.resolve(message.value);
      else waiting.reject(new Error(message.message));
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`load worker ${index} exited before it was ready (${code ?? signal})`));
    });
  });
}

function call<T>(worker: Worker, command: LoadCommand): Promise<T> {
  if (worker.child.exitCode !== null || worker.child.signalCode !== null)
    return Promise.reject(new Error(`load worker ${worker.index} is gone`));
  const id = nextId++;
  return new Promise<T>((resolve, reject) => {
    worker.pending.set(id, { resolve: (v) => resolve(v as T), reject });
    worker.child.send({ id, command });
  });
}

export interface LoadFleet {
  readonly workers: number;
  readonly volunteers: number;
  readonly pids: readonly number[];
  /** Adds volunteers until `total` are held, in batches per worker; resolves when all answered. */
  growTo(total: number): Promise<AddResult>;
  /** Lease+complete cycles per second per volunteer. */
  setRate(perVolunteer: number): Promise<void>;
  /** Every worker's window since the previous call, starting a new one. */
  window(): Promise<LoadWindow[]>;
  stop(): Promise<void>;
}

/** Joins in batches of at most this per worker: a burst of thousands of handshakes at once only measures the backlog. */
const JOIN_BATCH = 250;

/** `settings`: the same for every worker, or each worker's (e.g. which coordinator it loads). */
export async function startLoadFleet(
  settings: LoadSettings | ((worker: number) => LoadSettings),
  workerCount: number,
): Promise<LoadFleet> {
  const settingsOf = typeof settings === 'function' ? settings : () => settings;
  const workers = await Promise.all(
    Array.from({ length: workerCount }, (_, i) => startWorker(i, settingsOf(i))),
  );
  const total = (): number => workers.reduce((sum, w) => sum + w.volunteers, 0);
  return {
    workers: workerCount,
    get volunteers() {
      return total();
    },
    pids: workers.map((w) => w.child.pid as number),
    async growTo(target) {
      const started = performance.now();
      let joined = 0;
      let failed = 0;
      const errors: string[] = [];
      while (total() < target) {
        const share = Math.min(JOIN_BATCH, Math.ceil((target - total()) / workers.length));
        const results = await Promise.all(
          workers.map((w) => {
            const count = Math.min(share, target - total());
            w.volunteers += count;
            return count > 0 ? call<AddResult>(w, { op: 'add', count }) : Promise.resolve(null);
          }),
        );
        for (const r of results) {
          if (r === null) continue;
          joined += r.joined;
          failed += r.failed;
          errors.push(...r.errors.slice(0, Math.max(0, 5 - errors.length)));
        }
      }
      return { joined, failed, ms: performance.now() - started, errors };
    },
    async setRate(perVolunteer) {
      await Promise.all(workers.map((w) => call(w, { op: 'rate', perVolunteer })));
    },
    window: () => Promise.all(workers.map((w) => call<LoadWindow>(w, { op: 'window' }))),
    async stop() {
      await Promise.allSettled(workers.map((w) => call(w, { op: 'stop' })));
      await Promise.race([
        Promise.all(workers.map((w) => w.exited)),
        new Promise((resolve) => setTimeout(resolve, 5_000)),
      ]);
      for (const w of workers) if (w.child.exitCode === null) w.child.kill('SIGKILL');
    },
  };
}
