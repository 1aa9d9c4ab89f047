/**
 * The dashboard's live link to the coordinator: socket.io on /dashboard with exponential
 * reconnection; subscribes on every (re)connect and relays the snapshot and each node update,
 * job update, log event, gossip link report and consensus point.
 */
import { io, type Socket } from 'socket.io-client';
import {
  EVENT_KINDS,
  EXCHANGE_OUTCOMES,
  JOB_STATUSES,
  LINK_KINDS,
  NAMESPACES,
  NODE_STATUSES,
  PROTOCOL_VERSION,
  type DashboardClientToServer,
  type ConsensusPoint,
  type DashboardServerToClient,
  type JobInfo,
  type LogEvent,
  type NodeInfo,
  type NodeLinks,
} from '@tabswarm/protocol';
import type { ConnectionState } from './store.ts';

type DashboardSocket = Socket<DashboardServerToClient, DashboardClientToServer>;

export interface DashboardCallbacks {
  onState(state: ConnectionState, detail: string | null): void;
  /**
   * The full node list (and job list, when the coordinator sends one), after every successful
   * subscribe; `clockOffsetMs` is server minus local time.
   */
  onSnapshot(nodes: NodeInfo[], jobs: JobInfo[] | null, clockOffsetMs: number): void;
  onNode(node: NodeInfo): void;
  onJob(job: JobInfo): void;
  onEvent(event: LogEvent): void;
  /** A volunteer's latest gossip link report. */
  onLinks(links: NodeLinks): void;
  /** One side of one gossip exchange. */
  onConsensus(point: ConsensusPoint): void;
}

const REQUEST_TIMEOUT_MS = 10_000;

/** A light shape check: the coordinator is trusted, but a malformed update must not break the page. */
export function isNodeInfo(value: unknown): value is NodeInfo {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  const caps = v.capabilities as Record<string, unknown> | null | undefined;
  return (
    typeof v.id === 'string' &&
    (NODE_STATUSES as readonly unknown[]).includes(v.status) &&
    typeof v.lastSeenAt === 'number' &&
    typeof v.joinedAt === 'number' &&
    typeof caps === 'object' &&
    caps !== null &&
    typeof caps.backend === 'string'
  );
}

export function isJobInfo(value: unknown): value is JobInfo {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.id === 'string' &&
    typeof v.name === 'string' &&
    (JOB_STATUSES as readonly unknown[]).includes(v.status) &&
    typeof v.shardsDone === 'number' &&
    typeof v.totalShards === 'number' &&
    typeof v.spec === 'object' &&
    v.spec !== null
  );
}

export function isLogEvent(value: unknown): value is LogEvent {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.seq === 'number' &&
    typeof v.at === 'number' &&
    (EVENT_KINDS as readonly unknown[]).includes(v.kind) &&
    typeof v.message === 'string'
  );
}

function isLinkInfo(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.peer === 'string' &&
    (LINK_KINDS as readonly unknown[]).includes(v.kind) &&
    typeof v.open === 'boolean' &&
    typeof v.bytesIn === 'number' &&
    typeof v.bytesOut === 'number' &&
    typeof v.rejected === 'object' &&
    v.rejected !== null &&
    Object.values(v.rejected).every((n) => typeof n === 'number')
  );
}

export function isNodeLinks(value: unknown): value is NodeLinks {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.nodeId === 'string' &&
    typeof v.reportedAt === 'number' &&
    Array.isArray(v.links) &&
    v.links.every(isLinkInfo) &&
    Array.isArray(v.quarantined) &&
    v.quarantined.every((id) => typeof id === 'string')
  );
}

export function isConsensusPoint(value: unknown): value is ConsensusPoint {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.jobId === 'string' &&
    typeof v.at === 'number' &&
    typeof v.nodeId === 'string' &&
    typeof v.partner === 'string' &&
    (EXCHANGE_OUTCOMES as readonly unknown[]).includes(v.outcome) &&
    (v.distance === null || (typeof v.distance === 'number' && Number.isFinite(v.distance)))
  );
}

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
      reconnection: true,
      reconnectionDelay: 500,
      reconnectionDelayMax: 10_000,
      randomizationFactor: 0.5,
      timeout: REQUEST_TIMEOUT_MS,
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
      this.#subscribe();
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
    socket.on('nodeUpdate', (node: unknown) => {
      if (isNodeInfo(node)) callbacks.onNode(node);
    });
    socket.on('jobUpdate', (job: unknown) => {
      if (isJobInfo(job)) callbacks.onJob(job);
    });
    socket.on('logEvent', (event: unknown) => {
      if (isLogEvent(event)) callbacks.onEvent(event);
    });
    socket.on('linkUpdate', (links: unknown) => {
      if (isNodeLinks(links)) callbacks.onLinks(links);
    });
    socket.on('consensus', (point: unknown) => {
      if (isConsensusPoint(point)) callbacks.onConsensus(point);
    });
  }

  #subscribe(): void {
    const sentAt = Date.now();
    this.#socket
      .timeout(REQUEST_TIMEOUT_MS)
      .emit('subscribe', { protocolVersion: PROTOCOL_VERSION }, (error, reply) => {
        if (this.#stopped || !this.#socket.connected) return;
        if (error) {
          this.#callbacks.onState('reconnecting', 'subscribe timed out');
          this.#socket.disconnect().connect();
          return;
        }
        if (!reply.ok) {
          this.#callbacks.onState('error', `${reply.code}: ${reply.message}`);
          return;
        }
        const nodes = Array.isArray(reply.nodes) ? reply.nodes.filter(isNodeInfo) : [];
        // The coordinator sends its jobs too, though the protocol's ack type does not declare them yet.
        const rawJobs: unknown = (reply as { jobs?: unknown }).jobs;
        const jobs = Array.isArray(rawJobs) ? rawJobs.filter(isJobInfo) : null;
        const offset =
          typeof reply.serverTime === 'number' ? reply.serverTime - (sentAt + Date.now()) / 2 : 0;
        this.#callbacks.onState('connected', null);
        this.#callbacks.onSnapshot(nodes, jobs, offset);
      });
  }
}
