/**
 * The volunteer's control-plane link to the coordinator: socket.io on /volunteer with exponential
 * reconnection, join (resuming the same node id after a reconnect), heartbeats, the self-test
 * report and the lease calls. Reports its state through callbacks; knows nothing about React.
 */
import { io, type Socket } from 'socket.io-client';
import {
  NAMESPACES,
  PROTOCOL_VERSION,
  type Capabilities,
  type ConnectionState,
  type Heartbeat,
  type JoinAccepted,
  type JoinRequest,
  type LeaseCompletion,
  type LeaseGrantInfo,
  type LeaseRelease,
  type LeaseRequest,
  type PeerInfo,
  type Reply,
  type SelfTestReport,
  type VolunteerClientToServer,
  type VolunteerServerToClient,
} from '@tabswarm/protocol';

export type VolunteerSocket = Socket<VolunteerServerToClient, VolunteerClientToServer>;

export interface CoordinatorCallbacks {
  onState(state: ConnectionState, detail: string | null): void;
  /** After every accepted join; `first` is true for the first one of this connection object. */
  onJoined(accepted: JoinAccepted, first: boolean): void;
  onPeers(peers: PeerInfo[]): void;
  onServerTime?(offsetMs: number): void;
  /** Untrusted payloads: the trainer validates them. */
  onLeaseCancelled?(notice: unknown): void;
  onCheckpointRequest?(request: unknown): void;
}

export interface CoordinatorOptions {
  readonly capabilities: Capabilities;
  /** Called for every heartbeat, so it carries the current state. */
  readonly heartbeat: () => Heartbeat;
  readonly callbacks: CoordinatorCallbacks;
  /** Origin of the coordinator; the page's own origin when left out. */
  readonly url?: string;
  readonly requestTimeoutMs?: number;
}

/** Backoff of socket.io's own reconnection: ~0.5 s doubling to 10 s, ±50 % jitter. */
export const RECONNECT_OPTIONS = {
  reconnection: true,
  reconnectionDelay: 500,
  reconnectionDelayMax: 10_000,
  randomizationFactor: 0.5,
} as const;

/** Emits with an acknowledgement and a deadline; null when the deadline passes first. */
function ask<T extends object>(
  send: (callback: (error: Error | null, reply: Reply<T>) => void) => void,
): Promise<Reply<T> | null> {
  return new Promise((resolve) => send((error, reply) => resolve(error ? null : reply)));
}

function isJoinAccepted(value: unknown): value is { ok: true } & JoinAccepted {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  const peerjs = v.peerjs as Record<string, unknown> | null | undefined;
  return (
    v.ok === true &&
    typeof v.nodeId === 'string' &&
    typeof v.secret === 'string' &&
    typeof v.heartbeatIntervalMs === 'number' &&
    typeof peerjs === 'object' &&
    peerjs !== null &&
    typeof peerjs.path === 'string' &&
    typeof peerjs.key === 'string' &&
    typeof peerjs.token === 'string' &&
    Array.isArray(v.iceServers)
  );
}

function isPeerList(value: unknown): value is PeerInfo[] {
  return (
    Array.isArray(value) &&
    value.every(
      (p: unknown) =>
        typeof p === 'object' &&
        p !== null &&
        typeof (p as PeerInfo).nodeId === 'string' &&
        typeof (p as PeerInfo).backend === 'string',
    )
  );
}

export class CoordinatorConnection {
  readonly #options: CoordinatorOptions;
  readonly #socket: VolunteerSocket;
  readonly #timeoutMs: number;
  #identity: { nodeId: string; secret: string } | null = null;
  #accepted: JoinAccepted | null = null;
  #selfTest: SelfTestReport | null = null;
  #heartbeatTimer: ReturnType<typeof setInterval> | null = null;
  #retryTimer: ReturnType<typeof setTimeout> | null = null;
  #joins = 0;
  #stopped = false;
  #everConnected = false;
  /** socket.io's current reconnection attempt; 0 while connected. */
  #attempt = 0;

  constructor(options: CoordinatorOptions) {
    this.#options = options;
    this.#timeoutMs = options.requestTimeoutMs ?? 10_000;
    const uri = `${options.url ?? ''}${NAMESPACES.volunteer}`;
    this.#socket = io(uri, {
      path: '/socket.io',
      transports: ['websocket'],
      auth: { protocolVersion: PROTOCOL_VERSION },
      autoConnect: false,
      timeout: this.#timeoutMs,
      ...RECONNECT_OPTIONS,
    });
    this.#wire();
  }

  /** The socket.io connection (the gossip mesh's membership, relay and reports go over it). */
  get socket(): VolunteerSocket {
    return this.#socket;
  }

  get accepted(): JoinAccepted | null {
    return this.#accepted;
  }

  start(): void {
    this.#options.callbacks.onState('connecting', null);
    this.#socket.connect();
  }

  stop(): void {
    this.#stopped = true;
    this.#stopHeartbeat();
    if (this.#retryTimer !== null) clearTimeout(this.#retryTimer);
    this.#socket.removeAllListeners();
    this.#socket.io.removeAllListeners();
    this.#socket.disconnect();
  }

  /** Whether requests can be sent now: connected and joined. */
  get ready(): boolean {
    return this.#socket.connected && this.#accepted !== null && !this.#stopped;
  }

  /** Asks for a shard. Null when not joined or no answer came in time. */
  requestLease(
    request: LeaseRequest,
  ): Promise<Reply<{ lease: LeaseGrantInfo | null; retryAfterMs: number }> | null> {
    if (!this.ready) return Promise.resolve(null);
    return ask((cb) => this.#socket.timeout(this.#timeoutMs).emit('requestLease', request, cb));
  }

  /** Reports a shard done (idempotent by lease id). Null when not joined or no answer came in time. */
  completeLease(
    completion: LeaseCompletion,
  ): Promise<Reply<{ counted: boolean; duplicate: boolean }> | null> {
    if (!this.ready) return Promise.resolve(null);
    return ask((cb) => this.#socket.timeout(this.#timeoutMs).emit('completeLease', completion, cb));
  }

  /** Gives a lease back. Null when not joined or no answer came in time. */
  releaseLease(release: LeaseRelease): Promise<Reply | null> {
    if (!this.ready) return Promise.resolve(null);
    return ask((cb) => this.#socket.timeout(this.#timeoutMs).emit('releaseLease', release, cb));
  }

  /** Reports the self-test now, and again after any join that gets a fresh identity. */
  async sendSelfTest(report: SelfTestReport): Promise<void> {
    this.#selfTest = report;
    if (this.#accepted !== null && this.#socket.connected) await this.#emitSelfTest(report);
  }

  #wire(): void {
    const socket = this.#socket;
    const { callbacks } = this.#options;
    socket.on('connect', () => {
      this.#everConnected = true;
      this.#attempt = 0;
      void this.#join();
    });
    socket.on('disconnect', (reason) => {
      this.#stopHeartbeat();
      this.#accepted = null;
      if (this.#stopped) return;
      if (reason === 'io server disconnect') {
        // socket.io does not reconnect after a server-side disconnect; come back after a pause.
        callbacks.onState('reconnecting', 'the coordinator closed the connection');
        this.#retryLater(2_000);
      } else {
        callbacks.onState('reconnecting', reason);
      }
    });
    socket.on('connect_error', (error) => {
      if (this.#stopped) return;
      if (error.message.startsWith('VERSION_MISMATCH')) {
        this.#fail(error.message);
      } else if (socket.active) {
        const attempt = this.#attempt > 0 ? `attempt ${this.#attempt}: ` : '';
        callbacks.onState(
          this.#everConnected || this.#attempt > 0 ? 'reconnecting' : 'connecting',
          `${attempt}${error.message}`,
        );
      } else {
        // Refused by a server middleware: socket.io will not retry on its own.
        this.#fail(error.message);
      }
    });
    socket.io.on('reconnect_attempt', (attempt) => {
      this.#attempt = attempt;
      if (!this.#stopped) callbacks.onState('reconnecting', `attempt ${attempt}`);
    });
    socket.on('peers', (peers: unknown) => {
      if (isPeerList(peers)) callbacks.onPeers(peers.map((p) => ({ nodeId: p.nodeId, backend: p.backend })));
    });
    socket.on('leaseCancelled', (notice: unknown) => callbacks.onLeaseCancelled?.(notice));
    socket.on('checkpointRequest', (request: unknown) => callbacks.onCheckpointRequest?.(request));
    socket.on('fatal', (error: unknown) => {
      const message =
        typeof error === 'object' &&
        error !== null &&
        typeof (error as { message?: unknown }).message === 'string'
          ? (error as { message: string }).message
          : 'the coordinator ended this connection';
      this.#fail(message);
    });
  }

  async #join(): Promise<void> {
    if (this.#stopped || !this.#socket.connected) return;
    const request: JoinRequest = {
      protocolVersion: PROTOCOL_VERSION,
      capabilities: this.#options.capabilities,
      ...(this.#identity ? { resume: this.#identity } : {}),
    };
    const reply = await ask<JoinAccepted>((cb) =>
      this.#socket.timeout(this.#timeoutMs).emit('join', request, cb),
    );
    if (this.#stopped) return;
    if (reply === null) {
      this.#options.callbacks.onState('reconnecting', 'join timed out');
      this.#retryLater(1_000, true);
      return;
    }
    if (!reply.ok) {
      if (reply.code === 'UNKNOWN_NODE' && this.#identity !== null) {
        // The coordinator no longer knows this identity: join as a new node.
        this.#identity = null;
        return this.#join();
      }
      if (reply.code === 'ALREADY_JOINED') {
        // A join that timed out here did land there: start over on a fresh connection, resuming.
        this.#socket.disconnect().connect();
        return;
      }
      this.#fail(`${reply.code}: ${reply.message}`);
      return;
    }
    if (!isJoinAccepted(reply)) {
      this.#fail('the coordinator sent a malformed join reply');
      return;
    }
    const accepted: JoinAccepted = {
      nodeId: reply.nodeId,
      secret: reply.secret,
      resumed: reply.resumed,
      heartbeatIntervalMs: reply.heartbeatIntervalMs,
      heartbeatTimeoutMs: reply.heartbeatTimeoutMs,
      peerjs: reply.peerjs,
      iceServers: reply.iceServers,
    };
    this.#identity = { nodeId: accepted.nodeId, secret: accepted.secret };
    this.#accepted = accepted;
    const first = this.#joins === 0;
    this.#joins++;
    this.#startHeartbeat(accepted.heartbeatIntervalMs);
    this.#options.callbacks.onState('connected', null);
    this.#options.callbacks.onJoined(accepted, first);
    if (!accepted.resumed && this.#selfTest !== null) await this.#emitSelfTest(this.#selfTest);
  }

  async #emitSelfTest(report: SelfTestReport): Promise<void> {
    await ask((cb) => this.#socket.timeout(this.#timeoutMs).emit('selfTest', report, cb));
  }

  #startHeartbeat(intervalMs: number): void {
    this.#stopHeartbeat();
    const every = Math.min(Math.max(Number.isFinite(intervalMs) ? intervalMs : 5_000, 250), 60_000);
    this.#heartbeatTimer = setInterval(() => void this.#beat(every), every);
  }

  async #beat(timeoutMs: number): Promise<void> {
    if (!this.#socket.connected || this.#accepted === null) return;
    const sentAt = Date.now();
    const reply = await ask<{ serverTime: number }>((cb) =>
      this.#socket.timeout(timeoutMs).emit('heartbeat', this.#options.heartbeat(), cb),
    );
    if (reply === null || this.#stopped) return;
    if (reply.ok) {
      if (typeof reply.serverTime === 'number') {
        this.#options.callbacks.onServerTime?.(reply.serverTime - (sentAt + Date.now()) / 2);
      }
    } else if (reply.code === 'NOT_JOINED' || reply.code === 'UNKNOWN_NODE') {
      this.#accepted = null;
      void this.#join();
    }
  }

  #stopHeartbeat(): void {
    if (this.#heartbeatTimer !== null) clearInterval(this.#heartbeatTimer);
    this.#heartbeatTimer = null;
  }

  #retryLater(delayMs: number, rejoinOnly = false): void {
    if (this.#retryTimer !== null) clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = null;
      if (this.#stopped) return;
      if (rejoinOnly && this.#socket.connected) void this.#join();
      else if (!this.#socket.connected) this.#socket.connect();
    }, delayMs);
  }

  #fail(message: string): void {
    this.#stopHeartbeat();
    this.#accepted = null;
    this.#options.callbacks.onState('error', message);
    this.#stopped = true;
    this.#socket.disconnect();
  }
}
