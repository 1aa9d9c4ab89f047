/**
 * The dashboard's live link to the coordinator: socket.io on /dashboard with exponential
 * reconnection; subscribes on every (re)connect and relays the snapshot and each node update,
 * job update, log event, gossip link report and consensus point.
 */
import { io, type Socket } from 'socket.io-client';
import {
  DASHBOARD_REQUESTS,
  DASHBOARD_SERVER_EVENTS,
  listen,
  NAMESPACES,
  PROTOCOL_VERSION,
  RECONNECT_OPTIONS,
  request,
  type ConnectionState,
  type ConsensusPoint,
  type DashboardClientToServer,
  type DashboardServerToClient,
  type JobInfo,
  type LogEvent,
  type NodeInfo,
  type NodeLinks,
  type PayloadError,
} from '@tabswarm/protocol';

type DashboardSocket = Socket<DashboardServerToClient, DashboardClientToServer>;

export interface DashboardCallbacks {
  onState(state: ConnectionState, detail: string | null): void;
  /**
   * The full node and job lists after every successful subscribe; `clockOffsetMs` is server minus
   * local time.
   */
  onSnapshot(nodes: NodeInfo[], jobs: JobInfo[], clockOffsetMs: number): void;
  onNode(node: NodeInfo): void;
  onJob(job: JobInfo): void;
  onEvent(event: LogEvent): void;
  /** A volunteer's latest gossip link report. */
  onLinks(links: NodeLinks): void;
  /** One side of one gossip exchange. */
  onConsensus(point: ConsensusPoint): void;
  /** An update or ack that failed its schema (code BAD_PAYLOAD); it changed nothing. Default: console.warn. */
  onRejected?(error: PayloadError): void;
}

const REQUEST_TIMEOUT_MS = 10_000;

export class DashboardConnection {
  readonly #socket: DashboardSocket;
  readonly #callbacks: DashboardCallbacks;
  #stopped = false;
  #everConnected = false;

  constructor(callbacks: DashboardCallbacks, url = '') {
    this.#callbacks = callbacks;
    this.#socket = io(`${url}${NAMESPACES.dashboard}`, {
      path: '/socket.io',
      transports: ['websocket'],
      auth: { protocolVersion: PROTOCOL_VERSION },
      autoConnect: false,
      timeout: REQUEST_TIMEOUT_MS,
      ...RECONNECT_OPTIONS,
    });
    this.#wire();
  }

  start(): void {
    this.#callbacks.onState('connecting', null);
    this.#socket.connect();
  }

  stop(): void {
    this.#stopped = true;
    this.#socket.removeAllListeners();
    this.#socket.io.removeAllListeners();
    this.#socket.disconnect();
    this.#callbacks.onState('disconnected', null);
  }

  #wire(): void {
    const socket = this.#socket;
    const callbacks = this.#callbacks;
    socket.on('connect', () => {
      this.#everConnected = true;
      void this.#subscribe();
    });
    socket.on('disconnect', (reason) => {
      if (this.#stopped) return;
      callbacks.onState('reconnecting', reason);
      // socket.io does not reconnect after a server-side disconnect; come back after a pause.
      if (reason === 'io server disconnect') {
        setTimeout(() => {
          if (!this.#stopped) socket.connect();
        }, 2_000);
      }
    });
    socket.on('connect_error', (error) => {
      if (this.#stopped) return;
      if (error.message.startsWith('VERSION_MISMATCH') || !socket.active) {
        callbacks.onState('error', error.message);
        return;
      }
      callbacks.onState(this.#everConnected ? 'reconnecting' : 'connecting', error.message);
    });
    socket.io.on('reconnect_attempt', (attempt) => {
      if (!this.#stopped) callbacks.onState('reconnecting', `attempt ${attempt}`);
    });
    listen(
      socket,
      DASHBOARD_SERVER_EVENTS,
      {
        nodeUpdate: (node) => callbacks.onNode(node),
        jobUpdate: (job) => callbacks.onJob(job),
        logEvent: (event) => callbacks.onEvent(event),
        linkUpdate: (links) => callbacks.onLinks(links),
        consensus: (point) => callbacks.onConsensus(point),
      },
      (error) => this.#rejected(error),
    );
  }

  #rejected(error: PayloadError): void {
    if (this.#callbacks.onRejected) this.#callbacks.onRejected(error);
    else console.warn(error.message);
  }

  async #subscribe(): Promise<void> {
    const sentAt = Date.now();
    const reply = await request(
      this.#socket,
      DASHBOARD_REQUESTS,
      'subscribe',
      { protocolVersion: PROTOCOL_VERSION },
      REQUEST_TIMEOUT_MS,
      (error) => this.#rejected(error),
    );
    if (this.#stopped || !this.#socket.connected) return;
    if (reply === null) {
      this.#callbacks.onState('reconnecting', 'subscribe timed out');
      this.#socket.disconnect().connect();
      return;
    }
    if (!reply.ok) {
      this.#callbacks.onState('error', `${reply.code}: ${reply.message}`);
      return;
    }
    const offset = reply.serverTime - (sentAt + Date.now()) / 2;
    this.#callbacks.onState('connected', null);
    this.#callbacks.onSnapshot(reply.nodes, reply.jobs, offset);
  }
}
