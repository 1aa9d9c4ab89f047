/**
 * A load worker: a child process holding many protocol-level volunteers for the coordinator part.
 * Each is one socket.io client on the volunteer namespace that joins as a tab does, heartbeats at
 * the interval the coordinator's join answer sets (naming the leases it holds), and — at the rate
 * it is given — asks for a lease and completes it at once with the shard's exact sample count.
 * Nothing is trained: what is measured is the coordinator's side of the protocol. Round trips are
 * timed here, so they include this process's own delays; the part spreads volunteers over several
 * workers to keep those small.
 */
import { io, type Socket } from 'socket.io-client';
import {
  NAMESPACES,
  PROTOCOL_VERSION,
  type JoinAccepted,
  type LeaseGrantInfo,
  type Reply,
  type VolunteerClientToServer,
  type VolunteerServerToClient,
} from '@tabswarm/protocol';
import type {
  AddResult,
  LoadCommand,
  LoadReply,
  LoadRequest,
  LoadSettings,
  LoadWindow,
} from './load-protocol.ts';

type VolunteerSocket = Socket<VolunteerServerToClient, VolunteerClientToServer>;

const settings = JSON.parse(process.argv[2] ?? '{}') as LoadSettings;
/** An ack not back within this is an error (the coordinator is overloaded or gone). */
const ACK_TIMEOUT_MS = 10_000;
/** A window keeps at most this many round trips per kind (memory stays bounded at any rate). */
const MAX_SAMPLES = 200_000;
const MAX_MESSAGES = 5;

const send = (message: unknown): void => {
  if (process.connected) process.send?.(message);
};
process.on('disconnect', () => process.exit(0));

class Window {
  started = performance.now();
  leaseMs: number[] = [];
  completeMs: number[] = [];
  heartbeatMs: number[] = [];
  leases = 0;
  completions = 0;
  noWork = 0;
  errors = 0;
  errorMessages: string[] = [];
  late = 0;

  error(message: string): void {
    this.errors++;
    if (this.errorMessages.length < MAX_MESSAGES) this.errorMessages.push(message);
  }

  sample(into: number[], ms: number): void {
    if (into.length < MAX_SAMPLES) into.push(ms);
  }
}

let window = new Window();

/** emitWithAck with a timeout; a coded refusal or a timeout is counted as an error and gives null. */
async function call<T extends object>(
  socket: VolunteerSocket,
  event: keyof VolunteerClientToServer,
  payload: unknown,
  samples: 'lease' | 'complete' | 'heartbeat' | null,
): Promise<({ ok: true } & T) | null> {
  const started = performance.now();
  try {
    const reply = (await socket
      .timeout(ACK_TIMEOUT_MS)
      // The event map's per-event payload types are checked by the coordinator; here every event
      // is sent the same way.
      .emitWithAck(event as 'heartbeat', payload as never)) as Reply<T>;
    const ms = performance.now() - started;
    if (samples === 'lease') window.sample(window.leaseMs, ms);
    else if (samples === 'complete') window.sample(window.completeMs, ms);
    else if (samples === 'heartbeat') window.sample(window.heartbeatMs, ms);
    if (!reply.ok) {
      window.error(`${event}: ${reply.code} ${reply.message}`);
      return null;
    }
    return reply;
  } catch (error) {
    window.error(`${event}: ${(error as Error).message}`);
    return null;
  }
}

class LoadVolunteer {
  readonly socket: VolunteerSocket;
  #joined = false;
  #held: string | null = null;
  #heartbeat: NodeJS.Timeout | null = null;
  #cycle: NodeJS.Timeout | null = null;
  #stopped = false;
  readonly #startedAt = Date.now();

  constructor() {
    this.socket = io(`${settings.baseUrl}${NAMESPACES.volunteer}`, {
      transports: ['websocket'],
      auth: { protocolVersion: PROTOCOL_VERSION },
      reconnection: false,
      timeout: ACK_TIMEOUT_MS,
    });
    this.socket.on('disconnect', (reason) => {
      if (!this.#stopped) window.error(`disconnected: ${reason}`);
      this.#joined = false;
      this.#clearTimers();
    });
  }

  get joined(): boolean {
    return this.#joined;
  }

  async join(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      if (this.socket.connected) return resolve();
      this.socket.once('connect', () => resolve());
      this.socket.once('connect_error', (error) => reject(error));
    });
    const accepted = await call<JoinAccepted>(
      this.socket,
      'join',
      {
        protocolVersion: PROTOCOL_VERSION,
        capabilities: {
          backend: 'cpu',
          adapter: null,
          fallbackReason: null,
          userAgent: 'tabswarm-bench-load',
        },
      },
      null,
    );
    if (accepted === null) throw new Error(window.errorMessages.at(-1) ?? 'join refused');
    this.#joined = true;
    // Tabs heartbeat at the interval the coordinator asks for: so do these, from a random phase.
    const interval = accepted.heartbeatIntervalMs;
    this.#heartbeat = setTimeout(() => this.#beat(interval), Math.random() * interval);
  }

  #beat(interval: number): void {
    if (!this.#joined) return;
    void call(
      this.socket,
      'heartbeat',
      {
        state: 'working',
        uptimeS: (Date.now() - this.#startedAt) / 1000,
        leases: this.#held === null ? [] : [this.#held],
      },
      'heartbeat',
    );
    this.#heartbeat = setTimeout(() => this.#beat(interval), interval);
  }

  /** Lease+complete cycles at `perSecond` (0 stops them), each started on its own schedule. */
  setRate(perSecond: number): void {
    if (this.#cycle !== null) clearTimeout(this.#cycle);
    this.#cycle = null;
    if (perSecond <= 0 || !this.#joined) return;
    const period = 1000 / perSecond;
    let due = performance.now() + Math.random() * period;
    const next = (): void => {
      due += period;
      const wait = due - performance.now();
      // More than a period behind: this worker cannot keep the rate; skip ahead and say so.
      if (wait < -period) {
        window.late++;
        due = performance.now() + period;
      }
      this.#cycle = setTimeout(run, Math.max(0, wait));
    };
    const run = (): void => {
      if (!this.#joined) return;
      void this.#leaseAndComplete().finally(() => {
        if (this.#cycle !== null) next();
      });
    };
    this.#cycle = setTimeout(run, Math.max(0, due - performance.now()));
  }

  async #leaseAndComplete(): Promise<void> {
    const granted = await call<{ lease: LeaseGrantInfo | null; retryAfterMs: number }>(
      this.socket,
      'requestLease',
      {},
      'lease',
    );
    if (granted === null) return;
    const lease = granted.lease;
    if (lease === null) {
      window.noWork++;
      return;
    }
    window.leases++;
    this.#held = lease.leaseId;
    const done = await call<{ counted: boolean; duplicate: boolean }>(
      this.socket,
      'completeLease',
      { leaseId: lease.leaseId, loss: 1, samples: lease.end - lease.start, durationMs: 1 },
      'complete',
    );
    this.#held = null;
    if (done?.counted) window.completions++;
  }

  #clearTimers(): void {
    if (this.#heartbeat !== null) clearTimeout(this.#heartbeat);
    if (this.#cycle !== null) clearTimeout(this.#cycle);
    this.#heartbeat = null;
    this.#cycle = null;
  }

  stop(): void {
    this.#stopped = true;
    this.#clearTimers();
    this.socket.disconnect();
  }
}

const volunteers: LoadVolunteer[] = [];
let rate = 0;

async function add(count: number): Promise<AddResult> {
  const started = performance.now();
  const fresh = Array.from({ length: count }, () => new LoadVolunteer());
  volunteers.push(...fresh);
  const errors: string[] = [];
  const results = await Promise.allSettled(fresh.map((v) => v.join()));
  let failed = 0;
  for (const r of results) {
    if (r.status === 'rejected') {
      failed++;
      if (errors.length < MAX_MESSAGES) errors.push((r.reason as Error).message);
    }
  }
  for (const v of fresh) v.setRate(rate);
  return { joined: count - failed, failed, ms: performance.now() - started, errors };
}

function takeWindow(): LoadWindow {
  const w = window;
  window = new Window();
  return {
    ms: performance.now() - w.started,
    connected: volunteers.filter((v) => v.joined).length,
    leaseMs: w.leaseMs,
    completeMs: w.completeMs,
    heartbeatMs: w.heartbeatMs,
    leases: w.leases,
    completions: w.completions,
    noWork: w.noWork,
    errors: w.errors,
    errorMessages: w.errorMessages,
    late: w.late,
  };
}

async function handle(command: LoadCommand): Promise<unknown> {
  switch (command.op) {
    case 'add':
      return add(command.count);
    case 'rate':
      rate = command.perVolunteer;
      for (const v of volunteers) v.setRate(rate);
      return null;
    case 'window':
      return takeWindow();
    case 'stop':
      for (const v of volunteers) v.stop();
      setTimeout(() => process.exit(0), 100);
      return null;
  }
}

process.on('message', (message: LoadRequest) => {
  handle(message.command).then(
    (value) => send({ id: message.id, ok: true, value } satisfies LoadReply),
    (error: unknown) =>
      send({ id: message.id, ok: false, message: (error as Error).message } satisfies LoadReply),
  );
});
send({ ready: true });
