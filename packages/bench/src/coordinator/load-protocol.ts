/**
 * The messages between the coordinator part (in the bench's process) and its load workers
 * (load-worker.ts, child processes): one request per call, answered by id over Node's IPC channel.
 * A worker holds many protocol-level volunteers — socket.io clients that join, heartbeat at the
 * interval the coordinator asks for, and lease and complete shards at a set rate without training.
 */

export interface LoadSettings {
  /** The coordinator's origin, e.g. http://127.0.0.1:PORT. */
  readonly baseUrl: string;
}

export type LoadCommand =
  /** Connects and joins `count` more volunteers; resolves once every one joined or failed. */
  | { readonly op: 'add'; readonly count: number }
  /** Lease+complete cycles per second per volunteer (0: heartbeats only). */
  | { readonly op: 'rate'; readonly perVolunteer: number }
  /** What happened since the previous window (latencies, counts, errors) — and starts a new one. */
  | { readonly op: 'window' }
  | { readonly op: 'stop' };

export interface LoadRequest {
  readonly id: number;
  readonly command: LoadCommand;
}

export type LoadReply =
  | { readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly id: number; readonly ok: false; readonly message: string };

/** The reply to `add`. */
export interface AddResult {
  readonly joined: number;
  readonly failed: number;
  /** Milliseconds from the first connect to the last join acknowledgement. */
  readonly ms: number;
  /** The first few failures' messages. */
  readonly errors: readonly string[];
}

/** The reply to `window`: one measurement window of one worker. */
export interface LoadWindow {
  readonly ms: number;
  /** Volunteers connected and joined now. */
  readonly connected: number;
  /** requestLease round trips, in ms (a lease granted or not). */
  readonly leaseMs: readonly number[];
  /** completeLease round trips, in ms. */
  readonly completeMs: readonly number[];
  /** heartbeat round trips, in ms. */
  readonly heartbeatMs: readonly number[];
  /** Leases granted and completions counted. */
  readonly leases: number;
  readonly completions: number;
  /** requestLease answered with no work (the job's queue was empty or the volunteer at its cap). */
  readonly noWork: number;
  /** Coded refusals, timeouts and disconnects; the first few messages. */
  readonly errors: number;
  readonly errorMessages: readonly string[];
  /** Cycles the worker could not start on time (its own event loop was behind). */
  readonly late: number;
}

/** The first message a worker sends: it is up and has read its settings. */
export interface LoadReady {
  readonly ready: true;
}
