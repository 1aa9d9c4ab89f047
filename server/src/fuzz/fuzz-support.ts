/**
 * What the coordinator fuzz tests share: a real coordinator in-process whose error-level log lines
 * are collected (an input a client sent must never be logged as a server fault), a snapshot of the
 * state a rejected input must leave alone, a guard that fails on unhandled rejections, the case
 * count, and the heap measured after a garbage collection.
 */
import { Writable } from 'node:stream';
import v8 from 'node:v8';
import vm from 'node:vm';
import { pino } from 'pino';
import { afterAll, beforeAll } from 'vitest';
import { DEFAULT_CONFIG, type ServerConfig } from '../config.ts';
import { createServer, type TabswarmServer } from '../create-server.ts';
import { OPERATOR_TOKEN, tempDir } from '../test-support.ts';

/**
 * Generated cases per event, route or frame type: TABSWARM_FUZZ_RUNS, or `fallback` (what keeps
 * the whole fuzz suite within about 90 s on a busy 2-core machine).
 */
export function fuzzRuns(fallback: number): number {
  const n = Number(process.env.TABSWARM_FUZZ_RUNS);
  return Number.isInteger(n) && n > 0 ? n : fallback;
}

export interface FuzzServer {
  readonly server: TabswarmServer;
  readonly url: string;
  /** Error-level (and worse) log lines since the last `takeErrors()`. */
  takeErrors(): string[];
  close(): Promise<void>;
}

export async function startFuzzServer(overrides: Partial<ServerConfig> = {}): Promise<FuzzServer> {
  let errors: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line.trim() === '') continue;
        const level = (JSON.parse(line) as { level?: number }).level ?? 0;
        if (level >= 50) errors.push(line.slice(0, 2000));
      }
      done();
    },
  });
  const config: ServerConfig = {
    ...DEFAULT_CONFIG,
    dataDir: tempDir(),
    host: '127.0.0.1',
    // Fuzz clients do not heartbeat between cases: nobody is marked gone while a run lasts.
    heartbeatIntervalMs: 60_000,
    heartbeatTimeoutMs: 3_600_000,
    // Nor does a lease expire on its own while a case runs: state changes only through the input.
    leaseSweepMs: 2_000_000_000,
    operatorToken: OPERATOR_TOKEN,
    // Each run floods one socket and one address: with the limits on, most cases would meet the
    // limiter instead of the handlers (the limits have their own tests).
    rateLimits: null,
    ...overrides,
  };
  const server = createServer(config, { log: pino({ level: 'error' }, sink) });
  const url = await server.listen(0);
  return {
    server,
    url,
    takeErrors() {
      const taken = errors;
      errors = [];
      return taken;
    },
    close: () => server.close(),
  };
}

/**
 * What a rejected input must leave as it was: jobs (status, progress, leases), volunteers and their
 * status, each job's checkpoints, the datasets. Times that move on their own are left out.
 */
export function stateSnapshot(server: TabswarmServer): string {
  const jobs = server.jobs.list().map((j) => ({
    id: j.id,
    status: j.status,
    activeLeases: j.activeLeases,
    progress: [j.epochsOpened, j.shardsDone, j.samplesDone, j.parameterCount],
    checkpoints: server
      .checkpoints()
      .list(j.id)
      .map((c) => c.seq),
    leases: server.jobs.scheduler
      .activeLeases(j.id)
      .map((l) => `${l.id}:${l.nodeId}`)
      .sort(),
  }));
  const nodes = server.membership.list().map((n) => `${n.id}:${n.status}:${n.connected}`);
  return JSON.stringify({ jobs, nodes });
}

/** Where two snapshots first differ, with context; null when they are the same. */
export function stateDifference(before: string, after: string): string | null {
  if (before === after) return null;
  let i = 0;
  while (i < before.length && before[i] === after[i]) i++;
  const from = Math.max(0, i - 200);
  return `state changed at ${i}: before …${before.slice(from, i + 100)}… after …${after.slice(from, i + 100)}…`;
}

/** Fails the file's tests if a promise rejection goes unhandled, or an exception uncaught, while they run. */
export function guardUnhandled(): { readonly problems: string[] } {
  const problems: string[] = [];
  const onRejection = (reason: unknown): void => {
    problems.push(`unhandled rejection: ${String((reason as Error)?.stack ?? reason)}`);
  };
  const onException = (error: Error): void => {
    problems.push(`uncaught exception: ${error.stack ?? String(error)}`);
  };
  beforeAll(() => {
    process.on('unhandledRejection', onRejection);
    process.on('uncaughtException', onException);
  });
  afterAll(() => {
    process.off('unhandledRejection', onRejection);
    process.off('uncaughtException', onException);
  });
  return { problems };
}

let collect: (() => void) | undefined;

/** Heap in use after a full garbage collection (gc is exposed for the purpose when it is not already). */
export async function heapAfterGc(): Promise<number> {
  if (collect === undefined) {
    const exposed = (globalThis as { gc?: () => void }).gc;
    if (exposed) collect = exposed;
    else {
      v8.setFlagsFromString('--expose-gc');
      collect = vm.runInNewContext('gc') as () => void;
    }
  }
  // Let sockets and timers that hold garbage finish first.
  await new Promise((resolve) => setTimeout(resolve, 50));
  collect();
  collect();
  return process.memoryUsage().heapUsed;
}

/** An error reply as both sides answer client mistakes: `{ ok: false, code, message }`, code UPPER_SNAKE. */
export function isCodedError(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as { ok?: unknown; code?: unknown; message?: unknown };
  return (
    v.ok === false &&
    typeof v.code === 'string' &&
    /^[A-Z][A-Z0-9_]*$/.test(v.code) &&
    v.code !== 'INTERNAL' &&
    typeof v.message === 'string'
  );
}
