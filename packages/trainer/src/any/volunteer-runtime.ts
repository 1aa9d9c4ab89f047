/**
 * One volunteer, wired: the lease loop (VolunteerTrainer) on a compute, joined to the coordinator
 * over socket.io (CoordinatorConnection), with heartbeats built from the trainer's status, the
 * coordinator's lease cancellations and checkpoint requests passed to the trainer, the self-test
 * after the first join, and an averaging hook. The volunteer page and the virtual volunteers in
 * Node run this same wiring; each adds only its own edges (the page's store and PeerJS mesh, an
 * in-memory mesh in Node) through the hooks below.
 */
import type {
  AdapterInfo,
  AveragingSpec,
  Capabilities,
  ConnectionState,
  Heartbeat,
  JoinAccepted,
  PayloadError,
  PeerInfo,
  SelfTestReport,
} from '@tabswarm/protocol';
import { checkpointCache, HttpCoordinatorApi, type CoordinatorApi } from '../coordinator-api.ts';
import { TrainerError, errorText } from './errors.ts';
import { sleep } from './pacing.ts';
import type { BackendInfo, ComputePort } from './types.ts';
import { VolunteerTrainer } from './volunteer-trainer.ts';
import { CoordinatorConnection } from './coordinator-connection.ts';
import type { AveragingHook, LeaseCoordinator, VolunteerTrainerOptions } from './trainer-ports.ts';

/** How long stop() waits for the trainer to give its lease back before closing the socket. */
const STOP_GRACE_MS = 3_000;

/** An averaging hook the runtime owns: closed when the volunteer stops. */
export interface OwnedAveraging extends AveragingHook {
  close(): void;
}

export interface VolunteerRuntimeHooks {
  onConnectionState?(state: ConnectionState, detail: string | null): void;
  onPeers?(peers: PeerInfo[]): void;
  /** After every accepted join (a new node id means a new identity: rebuild what hangs on it). */
  onJoined?(accepted: JoinAccepted, connection: CoordinatorConnection, first: boolean): void;
  /** The session token was renewed (`accepted.peerjs.token` is the new one now). */
  onSessionToken?(token: string): void;
  onSelfTest?(report: SelfTestReport): void;
  /** The coordinator sent something its schema refuses: it was dropped and changed nothing. */
  onRejected?(error: PayloadError): void;
}

export interface VolunteerRuntimeOptions {
  /** The coordinator's origin (HTTP API, shards, socket.io). */
  readonly baseUrl: string;
  /** A new compute: a Web Worker on the page, in-process TensorFlow.js in Node. */
  readonly createCompute: () => ComputePort;
  /** What the coordinator is told about this volunteer besides its backend. */
  readonly userAgent: string;
  /** The WebGPU adapter found before the compute started, if the compute reports none. */
  readonly adapter?: AdapterInfo | null;
  /** The model averaging after every shard (gossip or FedAvg), made with this runtime at hand. */
  readonly averaging?: (runtime: VolunteerRuntime) => OwnedAveraging;
  readonly dutyCycle?: number;
  readonly api?: CoordinatorApi;
  /** Loop timings and the like (tests, simulations). */
  readonly trainer?: Partial<
    Omit<
      VolunteerTrainerOptions,
      'baseUrl' | 'api' | 'coordinator' | 'createCompute' | 'nodeId' | 'averaging'
    >
  >;
  readonly requestTimeoutMs?: number;
  readonly hooks?: VolunteerRuntimeHooks;
}

/** The report sent when the compute cannot run the self-test at all. */
export function failedSelfTest(error: unknown, durationMs: number): SelfTestReport {
  return {
    kernel: 'mix',
    passed: false,
    path: 'reference',
    elements: 1,
    maxAbsError: null,
    durationMs,
    error: errorText(error).slice(0, 1024),
  };
}

/** The lease calls over the socket, as the trainer's port: failures become typed errors. */
export function leasePort(connection: () => CoordinatorConnection | null): LeaseCoordinator {
  const unavailable = (): TrainerError =>
    new TrainerError('COORDINATOR_UNAVAILABLE', 'not connected to the coordinator');
  const refused = (reply: { code: string; message: string }): TrainerError =>
    reply.code === 'NOT_JOINED' || reply.code === 'UNKNOWN_NODE' || reply.code === 'RATE_LIMITED'
      ? new TrainerError('COORDINATOR_UNAVAILABLE', `${reply.code}: ${reply.message}`)
      : new TrainerError('COORDINATOR_REFUSED', `${reply.code}: ${reply.message}`);
  return {
    async requestLease(request) {
      const reply = await connection()?.requestLease(request);
      if (reply === null || reply === undefined) throw unavailable();
      if (!reply.ok) throw refused(reply);
      const retryAfterMs = typeof reply.retryAfterMs === 'number' ? reply.retryAfterMs : 2_000;
      return { lease: reply.lease as unknown, retryAfterMs };
    },
    async completeLease(completion) {
      const reply = await connection()?.completeLease(completion);
      if (reply === null || reply === undefined) throw unavailable();
      if (!reply.ok) throw refused(reply);
      return { counted: reply.counted === true, duplicate: reply.duplicate === true };
    },
    async releaseLease(release) {
      const reply = await connection()?.releaseLease(release);
      if (reply === null || reply === undefined) throw unavailable();
      if (!reply.ok) throw refused(reply);
    },
  };
}

export class VolunteerRuntime {
  readonly trainer: VolunteerTrainer;
  readonly #options: VolunteerRuntimeOptions;
  readonly #averaging: OwnedAveraging | null;
  #connection: CoordinatorConnection | null = null;
  #accepted: JoinAccepted | null = null;
  #startedAt = 0;
  #selfTesting = false;
  #serverOffsetMs = 0;
  #stopped = false;

  constructor(options: VolunteerRuntimeOptions) {
    this.#options = options;
    this.trainer = new VolunteerTrainer({
      ...options.trainer,
      baseUrl: options.baseUrl,
      // Where Cache Storage exists (the page), checkpoints are kept: a reload loads the model from it.
      api: options.api ?? new HttpCoordinatorApi(options.baseUrl, { cache: checkpointCache() }),
      coordinator: leasePort(() => this.#connection),
      createCompute: options.createCompute,
      nodeId: () => this.#accepted?.nodeId ?? null,
      ...(options.dutyCycle === undefined ? {} : { dutyCycle: options.dutyCycle }),
      now: () => Date.now() + this.#serverOffsetMs,
      // Late-bound: the hook is made with this runtime (it needs the join and the job's settings).
      averaging: {
        afterShard: (params, context) => this.#averaging?.afterShard(params, context) ?? Promise.resolve(),
      },
    });
    this.#averaging = options.averaging?.(this) ?? null;
  }

  /** The coordinator connection, once start() got a backend. */
  get connection(): CoordinatorConnection | null {
    return this.#connection;
  }

  /** The latest accepted join (node id, PeerJS credentials), or null before one. */
  get accepted(): JoinAccepted | null {
    return this.#accepted;
  }

  get nodeId(): string | null {
    return this.#accepted?.nodeId ?? null;
  }

  /** The averaging settings of a job the trainer has loaded (what the averaging hook follows). */
  averagingOf(jobId: string): AveragingSpec | undefined {
    const job = this.trainer.status.job;
    return job?.id === jobId ? job.spec.averaging : undefined;
  }

  /**
   * Starts the compute, then joins the coordinator with what it runs on; the self-test and the
   * lease loop follow the first join. Resolves with the backend once the connection is under way.
   */
  async start(): Promise<BackendInfo> {
    this.#startedAt = Date.now();
    const backend = await this.trainer.start();
    if (this.#stopped) return backend;
    const capabilities: Capabilities = {
      backend: backend.backend,
      adapter: backend.adapter ?? this.#options.adapter ?? null,
      fallbackReason: backend.fallbackReason,
      userAgent: this.#options.userAgent.slice(0, 512),
    };
    const hooks = this.#options.hooks ?? {};
    const connection: CoordinatorConnection = new CoordinatorConnection({
      capabilities,
      url: this.#options.baseUrl,
      ...(this.#options.requestTimeoutMs === undefined
        ? {}
        : { requestTimeoutMs: this.#options.requestTimeoutMs }),
      heartbeat: () => this.heartbeat(),
      callbacks: {
        onState: (state, detail) => hooks.onConnectionState?.(state, detail),
        onPeers: (peers) => hooks.onPeers?.(peers),
        onServerTime: (offsetMs) => {
          this.#serverOffsetMs = offsetMs;
        },
        onSessionToken: (token) => {
          if (this.#stopped || this.#accepted === null) return;
          this.#accepted = { ...this.#accepted, peerjs: { ...this.#accepted.peerjs, token } };
          hooks.onSessionToken?.(token);
        },
        onLeaseCancelled: (notice) => this.trainer.leaseCancelled(notice),
        onCheckpointRequest: (request) => this.trainer.checkpointRequested(request),
        ...(hooks.onRejected ? { onRejected: (error: PayloadError) => hooks.onRejected?.(error) } : {}),
        onJoined: (accepted, first) => {
          if (this.#stopped) return;
          this.#accepted = accepted;
          hooks.onJoined?.(accepted, connection, first);
          if (first) void this.#selfTestThenTrain(connection);
        },
      },
    });
    this.#connection = connection;
    connection.start();
    return backend;
  }

  /**
   * What every heartbeat carries: working while training or self-testing, the trainer's health,
   * and the leases it holds (the coordinator extends those and takes back any other).
   */
  heartbeat(): Heartbeat {
    const phase = this.trainer.status.phase;
    const state: Heartbeat['state'] =
      this.#selfTesting || phase === 'training' || phase === 'calibrating'
        ? 'working'
        : phase === 'paused'
          ? 'paused'
          : 'idle';
    const health = this.trainer.health();
    return {
      state,
      uptimeS: Math.max(0, (Date.now() - this.#startedAt) / 1000),
      ...(health === null ? {} : { health }),
      leases: this.trainer.heldLeaseIds,
    };
  }

  /**
   * Stops training and leaves: the trainer gives its lease back over the socket, so the socket
   * closes after it (or after a grace period). Resolves when both are done.
   */
  async stop(graceMs = STOP_GRACE_MS): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    const connection = this.#connection;
    this.#averaging?.close();
    await Promise.race([this.trainer.stop(), sleep(graceMs)]);
    connection?.stop();
    this.#connection = null;
    this.#accepted = null;
    this.#selfTesting = false;
  }

  async #selfTestThenTrain(connection: CoordinatorConnection): Promise<void> {
    const started = performance.now();
    this.#selfTesting = true;
    let report: SelfTestReport;
    try {
      report = await this.trainer.selfTest();
    } catch (error) {
      report = failedSelfTest(error, Math.min(performance.now() - started, 1e7));
    }
    this.#selfTesting = false;
    if (this.#stopped) return;
    this.#options.hooks?.onSelfTest?.(report);
    await connection.sendSelfTest(report);
    if (!this.#stopped) this.trainer.run();
  }
}
