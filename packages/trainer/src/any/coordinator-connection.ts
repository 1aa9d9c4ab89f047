/**
 * The volunteer's control-plane link to the coordinator: socket.io on /volunteer with exponential
 * reconnection, join (resuming the same node id after a reconnect), heartbeats, the self-test
 * report and the lease calls. Every event and ack is parsed with its protocol schema on arrival.
 * Reports through callbacks; no DOM, so the tab, the worker and Node all run it.
 */
import { io, type Socket } from 'socket.io-client';
import {
  listen,
  NAMESPACES,
  PeerView,
  PROTOCOL_VERSION,
  RECONNECT_OPTIONS,
  request,
  VOLUNTEER_REQUEST_TIMEOUT_MS,
  VOLUNTEER_REQUESTS,
  VOLUNTEER_SERVER_EVENTS,
  type Capabilities,
  type CheckpointRequest,
  type ConnectionState,
  type Heartbeat,
  type JoinAccepted,
  type JoinRequest,
  type LeaseCancelled,
  type LeaseCompletion,
  type LeaseRelease,
  type LeaseRequest,
  type PayloadError,
  type PeerInfo,
  type SelfTestReport,
  type VolunteerClientToServer,
  type VolunteerReply,
  type VolunteerRequest,
  type VolunteerServerToClient,
} from '@tabswarm/protocol';

export type VolunteerSocket = Socket<VolunteerServerToClient, VolunteerClientToServer>;

export interface CoordinatorCallbacks {
  onState(state: ConnectionState, detail: string | null): void;
  /** After every accepted join; `first` is true for the first one of this connection object. */
  onJoined(accepted: JoinAccepted, first: boolean): void;
  /**
   * The membership this volunteer sees (the whole swarm, or its sample of a large one), after the
   * snapshot that follows each join and after every change to it.
   */
  onPeers(peers: PeerInfo[]): void;
  onServerTime?(offsetMs: number): void;
  /** A heartbeat's answer renewed the session token (`accepted.peerjs.token` is the new one now). */
  onSessionToken?(token: string): void;
  onLeaseCancelled?(notice: LeaseCancelled): void;
  onCheckpointRequest?(request: CheckpointRequest): void;
  /**
   * A server event or ack that failed its schema (code BAD_PAYLOAD). It changed nothing here;
   * default: console.warn.
   */
  onRejected?(error: PayloadError): void;
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

export { RECONNECT_OPTIONS };

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
  readonly #peers = new PeerView();
  #stopped = false;
  #everConnected = false;
  /** socket.io's current reconnection attempt; 0 while connected. */
  #attempt = 0;

  constructor(options: CoordinatorOptions) {
    this.#options = options;
    this.#timeoutMs = options.requestTimeoutMs ?? VOLUNTEER_REQUEST_TIMEOUT_MS;
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
  requestLease(lease: LeaseRequest): Promise<VolunteerReply<'requestLease'> | null> {
    return this.ready ? this.#request('requestLease', lease) : Promise.resolve(null);
  }

  /** Reports a shard done (idempotent by lease id). Null when not joined or no answer came in time. */
  completeLease(completion: LeaseCompletion): Promise<VolunteerReply<'completeLease'> | null> {
    return this.ready ? this.#request('completeLease', completion) : Promise.resolve(null);
  }

  /** Gives a lease back. Null when not joined or no answer came in time. */
  releaseLease(release: LeaseRelease): Promise<VolunteerReply<'releaseLease'> | null> {
    return this.ready ? this.#request('releaseLease', release) : Promise.resolve(null);
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
    listen(
      socket,
      VOLUNTEER_SERVER_EVENTS,
      {
        peers: (peers) => {
          this.#peers.reset(peers);
          callbacks.onPeers(this.#peers.list());
        },
        peersDelta: (delta) => {
          this.#peers.apply(delta);
          callbacks.onPeers(this.#peers.list());
        },
        leaseCancelled: (notice) => callbacks.onLeaseCancelled?.(notice),
        checkpointRequest: (checkpoint) => callbacks.onCheckpointRequest?.(checkpoint),
        fatal: (error) => this.#fail(error.message),
      },
      (error) => this.#rejected(error),
    );
  }

  #rejected(error: PayloadError): void {
    if (this.#options.callbacks.onRejected) this.#options.callbacks.onRejected(error);
    else console.warn(error.message);
  }

  /** One request with its ack parsed; a malformed ack is reported and answers as BAD_PAYLOAD. */
  #request<E extends keyof VolunteerClientToServer>(
    event: E,
    payload: VolunteerRequest<E>,
    timeoutMs = this.#timeoutMs,
  ): Promise<VolunteerReply<E> | null> {
    return request(this.#socket, VOLUNTEER_REQUESTS, event, payload, timeoutMs, (error) =>
      this.#rejected(error),
    );
  }

  async #join(): Promise<void> {
    if (this.#stopped || !this.#socket.connected) return;
    const request: JoinRequest = {
      protocolVersion: PROTOCOL_VERSION,
      capabilities: this.#options.capabilities,
      ...(this.#identity ? { resume: this.#identity } : {}),
    };
    const reply = await this.#request('join', request);
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
    const { ok: _ok, ...accepted } = reply;
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
    await this.#request('selfTest', report);
  }

  #startHeartbeat(intervalMs: number): void {
    this.#stopHeartbeat();
    const every = Math.min(Math.max(Number.isFinite(intervalMs) ? intervalMs : 5_000, 250), 60_000);
    this.#heartbeatTimer = setInterval(() => void this.#beat(every), every);
  }

  async #beat(timeoutMs: number): Promise<void> {
    if (!this.#socket.connected || this.#accepted === null) return;
    const sentAt = Date.now();
    const reply = await this.#request('heartbeat', this.#options.heartbeat(), timeoutMs);
    if (reply === null || this.#stopped) return;
    if (reply.ok) {
      this.#options.callbacks.onServerTime?.(reply.serverTime - (sentAt + Date.now()) / 2);
      const accepted = this.#accepted;
      if (reply.sessionToken !== undefined && accepted !== null) {
        this.#accepted = { ...accepted, peerjs: { ...accepted.peerjs, token: reply.sessionToken } };
        this.#options.callbacks.onSessionToken?.(reply.sessionToken);
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
