/**
 * A node's links to its peers: a bounded pool of direct links (LRU eviction), made on demand with
 * a dial timeout and a fallback to the coordinator's relay; a heartbeat on every link, because
 * close events are unreliable; per-peer link state (kind, round trip, bytes, rejected frames) that
 * is reported to the coordinator; a short quarantine for peers that sent bad frames; and blocked
 * peers (a simulated partition: no link of any kind to them, either way, until unblocked).
 * Frames and control messages from every link are fanned out to subscribers (the averager).
 */
import {
  gossipControlSchema,
  MAX_REPORTED_LINKS,
  parsePayload,
  type GossipControl,
  type LinkInfo,
  type LinkKind,
} from '@tabswarm/protocol';
import { memberView, type CoordinatorPort, type MemberView } from './coordinator-port.ts';
import type { LinkConnector } from './connector.ts';
import { FrameHub, type FrameHubOptions } from './frame-hub.ts';
import type { FrameTransport } from './frame-transport.ts';
import type { MessageLink } from './link.ts';
import { addTraffic, noTraffic, type LinkTotals } from './link-totals.ts';
import type { ReceiveEvent } from './reassembler.ts';
import { RelayHub, type RelayHubOptions } from './relay-link.ts';

export interface GossipMeshOptions {
  readonly coordinator: CoordinatorPort;
  /** Direct links (PeerJS in the browser); null or absent: relay only. */
  readonly connector?: LinkConnector | null;
  /** Direct links kept open at once; the least recently used idle one is closed beyond this. */
  readonly maxLinks?: number;
  /** A direct link not open within this falls back to the relay. */
  readonly dialTimeoutMs?: number;
  /** After a failed dial, use the relay for this long before trying direct again (in the background). */
  readonly directRetryMs?: number;
  readonly heartbeatIntervalMs?: number;
  /** A link that has carried nothing for this many heartbeat intervals is closed as dead. */
  readonly heartbeatMisses?: number;
  /** How often link state goes to the coordinator; 0 turns reports off. */
  readonly reportIntervalMs?: number;
  readonly hub?: Omit<FrameHubOptions, 'onReceive' | 'onControl'>;
  readonly relay?: RelayHubOptions;
}

export const DEFAULT_MESH_OPTIONS = {
  maxLinks: 8,
  dialTimeoutMs: 5_000,
  directRetryMs: 60_000,
  heartbeatIntervalMs: 2_000,
  heartbeatMisses: 3,
  reportIntervalMs: 5_000,
} as const;

export type ConnectOutcome =
  | { readonly ok: true; readonly transport: FrameTransport; readonly kind: 'direct' | 'relay' }
  | { readonly ok: false; readonly code: 'UNREACHABLE' | 'CLOSED'; readonly message: string };

interface PeerState {
  readonly peerId: string;
  lastUsed: number;
  pinned: number;
  rttMs: number | null;
  lastError: string | null;
  lastKind: LinkKind;
  directFailedAt: number | null;
  quarantinedUntil: number;
  readonly closed: LinkTotals;
  readonly rejected: Map<string, number>;
  dialing: Promise<ConnectOutcome> | null;
  retrying: boolean;
}

type FrameHandler = (event: ReceiveEvent) => void;
type ControlHandler = (peerId: string, message: GossipControl, transport: FrameTransport) => void;

export class GossipMesh {
  readonly nodeId: string;
  readonly hub: FrameHub;
  readonly #coordinator: CoordinatorPort;
  readonly #connector: LinkConnector | null;
  readonly #relay: RelayHub | null;
  readonly #options: Required<Omit<GossipMeshOptions, 'coordinator' | 'connector' | 'hub' | 'relay'>>;
  readonly #peers = new Map<string, PeerState>();
  readonly #frameHandlers = new Set<FrameHandler>();
  readonly #controlHandlers = new Set<ControlHandler>();
  readonly #cleanup: (() => void)[] = [];
  readonly #timers: ReturnType<typeof setInterval>[] = [];
  #pingSeq = 0;
  /** Peers cut off by blockPeers: never dialled, never relayed to, their links closed on sight. */
  #blocked: ReadonlySet<string> = new Set();
  #lastMembers: ReadonlySet<string> = new Set();
  #closed = false;

  constructor(options: GossipMeshOptions) {
    this.#coordinator = options.coordinator;
    this.nodeId = options.coordinator.nodeId;
    this.#connector = options.connector ?? null;
    this.#options = {
      maxLinks: options.maxLinks ?? DEFAULT_MESH_OPTIONS.maxLinks,
      dialTimeoutMs: options.dialTimeoutMs ?? DEFAULT_MESH_OPTIONS.dialTimeoutMs,
      directRetryMs: options.directRetryMs ?? DEFAULT_MESH_OPTIONS.directRetryMs,
      heartbeatIntervalMs: options.heartbeatIntervalMs ?? DEFAULT_MESH_OPTIONS.heartbeatIntervalMs,
      heartbeatMisses: options.heartbeatMisses ?? DEFAULT_MESH_OPTIONS.heartbeatMisses,
      reportIntervalMs: options.reportIntervalMs ?? DEFAULT_MESH_OPTIONS.reportIntervalMs,
    };
    this.hub = new FrameHub({
      ...options.hub,
      onReceive: (event) => this.#onFrame(event),
      onControl: (body, transport) => this.#onControl(body, transport),
    });
    const relayPort = options.coordinator.relay;
    this.#relay = relayPort === null ? null : new RelayHub(relayPort, options.relay);
    if (this.#relay !== null) this.#cleanup.push(this.#relay.onIncoming((link) => this.#attach(link)));
    if (this.#connector !== null)
      this.#cleanup.push(this.#connector.onIncoming((link) => this.#attach(link)));
    this.#lastMembers = new Set(options.coordinator.members());
    this.#cleanup.push(options.coordinator.onMembers((members) => this.#onMembers(members)));
    this.#timers.push(setInterval(() => this.#heartbeat(), this.#options.heartbeatIntervalMs));
    if (this.#options.reportIntervalMs > 0) {
      this.#timers.push(setInterval(() => this.reportNow(), this.#options.reportIntervalMs));
    }
  }

  /**
   * The membership this node sees (the whole swarm, or the coordinator's sample of it; see
   * MemberView), this node included, minus blocked peers: a partitioned node picks partners only
   * on its own side, as it would if the other side were unreachable.
   */
  members(): MemberView {
    const members = this.#coordinator.members();
    if (this.#blocked.size === 0) return members;
    return memberView(
      members.filter((m) => !this.#blocked.has(m)),
      members.sample === true,
    );
  }

  /**
   * Cuts this node off from `peerIds` (a partition or an offline spell in a simulation): their
   * links close now, dials and relay sends to them are refused, and links they open to this node,
   * direct or relayed, are closed as they arrive, so no frame or control message passes either
   * way. Adds to the peers already blocked.
   */
  blockPeers(peerIds: Iterable<string>): void {
    const blocked = new Set(this.#blocked);
    for (const peerId of peerIds) if (peerId !== this.nodeId) blocked.add(peerId);
    this.#blocked = blocked;
    for (const peerId of blocked) {
      for (const t of this.hub.transportsFor(peerId)) t.close();
    }
  }

  /** Lifts every block (the partition heals); links are made again on demand. */
  unblockAll(): void {
    this.#blocked = new Set();
  }

  isBlocked(peerId: string): boolean {
    return this.#blocked.has(peerId);
  }

  onMembers(handler: (members: MemberView) => void): () => void {
    return this.#coordinator.onMembers(handler);
  }

  get coordinator(): CoordinatorPort {
    return this.#coordinator;
  }

  /** Every frame received (or transfer rejected) on any link. */
  onFrame(handler: FrameHandler): () => void {
    this.#frameHandlers.add(handler);
    return () => this.#frameHandlers.delete(handler);
  }

  /** Every valid exchange control message (xreq, xrep, xok, xabort) on any link. */
  onControl(handler: ControlHandler): () => void {
    this.#controlHandlers.add(handler);
    return () => this.#controlHandlers.delete(handler);
  }

  /**
   * A transport to `peerId`: an open one if there is one, else a new direct link, else the relay.
   * Never waits longer than the dial timeout; never rejects.
   */
  connect(peerId: string): Promise<ConnectOutcome> {
    if (this.#closed) return Promise.resolve({ ok: false, code: 'CLOSED', message: 'the mesh is closed' });
    if (this.#blocked.has(peerId))
      return Promise.resolve({ ok: false, code: 'UNREACHABLE', message: `${peerId} is blocked` });
    const state = this.#state(peerId);
    state.lastUsed = Date.now();
    const open = this.hub.transportFor(peerId);
    if (open !== undefined) {
      if (open.link.kind === 'relay') this.#maybeRetryDirect(state);
      return Promise.resolve({ ok: true, transport: open, kind: open.link.kind ?? 'direct' });
    }
    state.dialing ??= this.#connect(state).finally(() => {
      state.dialing = null;
    });
    return state.dialing;
  }

  /** Marks a peer's links as in use (an exchange is running) so the pool does not evict them. */
  pin(peerId: string): () => void {
    const state = this.#state(peerId);
    state.pinned++;
    state.lastUsed = Date.now();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      state.pinned--;
      state.lastUsed = Date.now();
    };
  }

  /** Counts a frame from `peerId` that the averaging checks dropped. */
  recordRejection(peerId: string, reason: string): void {
    const rejected = this.#state(peerId).rejected;
    rejected.set(reason, (rejected.get(reason) ?? 0) + 1);
  }

  quarantine(peerId: string, ms: number): void {
    this.#state(peerId).quarantinedUntil = Date.now() + ms;
  }

  isQuarantined(peerId: string): boolean {
    return (this.#peers.get(peerId)?.quarantinedUntil ?? 0) > Date.now();
  }

  quarantined(): string[] {
    const now = Date.now();
    return [...this.#peers.values()].filter((s) => s.quarantinedUntil > now).map((s) => s.peerId);
  }

  /** The state of every link this node has had, for reports and dashboards. */
  links(): LinkInfo[] {
    const out: LinkInfo[] = [];
    for (const state of this.#peers.values()) {
      const transports = this.hub.transportsFor(state.peerId);
      const totals = { ...state.closed };
      for (const t of transports) addTraffic(totals, t);
      const direct = transports.some((t) => t.link.kind !== 'relay');
      const kind: LinkKind = direct ? 'direct' : transports.length > 0 ? 'relay' : state.lastKind;
      if (transports.length === 0 && totals.bytesOut === 0 && totals.bytesIn === 0 && kind !== 'failed')
        continue;
      out.push({
        peer: state.peerId,
        kind,
        open: transports.length > 0,
        rttMs: state.rttMs,
        bytesIn: totals.bytesIn,
        bytesOut: totals.bytesOut,
        framesIn: totals.framesIn,
        framesOut: totals.framesOut,
        rejected: Object.fromEntries(state.rejected),
        lastError: state.lastError,
      });
    }
    return out;
  }

  reportNow(): void {
    if (this.#closed) return;
    this.#coordinator.reportLinks({
      links: this.links().slice(0, MAX_REPORTED_LINKS),
      quarantined: this.quarantined().slice(0, MAX_REPORTED_LINKS),
    });
  }

  /** Open direct links right now (pool accounting). */
  directLinkCount(): number {
    let n = 0;
    for (const peerId of this.hub.peers()) {
      n += this.hub.transportsFor(peerId).filter((t) => t.link.kind !== 'relay').length;
    }
    return n;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const timer of this.#timers) clearInterval(timer);
    for (const undo of this.#cleanup) undo();
    for (const peerId of this.hub.peers()) {
      for (const t of this.hub.transportsFor(peerId)) t.sendControl({ t: 'bye' } satisfies GossipControl);
    }
    this.hub.close();
    this.#relay?.close();
    this.#connector?.close();
  }

  async #connect(state: PeerState): Promise<ConnectOutcome> {
    const { peerId } = state;
    const now = Date.now();
    const directDue =
      this.#connector !== null &&
      (state.directFailedAt === null || now - state.directFailedAt >= this.#options.directRetryMs);
    if (directDue && this.#connector !== null) {
      const dialed = await this.#connector.dial(peerId, this.#options.dialTimeoutMs);
      if (this.#closed) {
        if (dialed.ok) dialed.link.close();
        return { ok: false, code: 'CLOSED', message: 'the mesh is closed' };
      }
      if (dialed.ok && this.#blocked.has(peerId)) {
        dialed.link.close();
        return { ok: false, code: 'UNREACHABLE', message: `${peerId} is blocked` };
      }
      if (dialed.ok) {
        state.directFailedAt = null;
        return { ok: true, transport: this.#attach(dialed.link), kind: 'direct' };
      }
      state.directFailedAt = Date.now();
      state.lastError = `${dialed.code}: ${dialed.message}`;
      // The peer may have dialled us meanwhile.
      const open = this.hub.transportFor(peerId);
      if (open !== undefined) return { ok: true, transport: open, kind: open.link.kind ?? 'direct' };
    }
    if (this.#relay !== null && !this.#blocked.has(peerId)) {
      return { ok: true, transport: this.#attach(this.#relay.link(peerId)), kind: 'relay' };
    }
    state.lastKind = 'failed';
    return {
      ok: false,
      code: 'UNREACHABLE',
      message: state.lastError ?? `no direct link to ${peerId} and no relay`,
    };
  }

  /** On the relay, try a direct link again once in a while, without holding anyone up. */
  #maybeRetryDirect(state: PeerState): void {
    if (this.#connector === null || state.retrying || state.dialing !== null) return;
    if (state.directFailedAt !== null && Date.now() - state.directFailedAt < this.#options.directRetryMs)
      return;
    state.retrying = true;
    void this.#connector
      .dial(state.peerId, this.#options.dialTimeoutMs)
      .then((dialed) => {
        if (dialed.ok) {
          if (this.#closed || this.#blocked.has(state.peerId)) dialed.link.close();
          else this.#attach(dialed.link);
          state.directFailedAt = null;
        } else {
          state.directFailedAt = Date.now();
          state.lastError = `${dialed.code}: ${dialed.message}`;
        }
      })
      .finally(() => {
        state.retrying = false;
      });
  }

  #attach(link: MessageLink): FrameTransport {
    const transport = this.hub.attach(link);
    if (this.#blocked.has(link.peerId)) {
      // A blocked peer's link (it dialled, or relayed to, this node): nothing it carries is read.
      transport.close();
      return transport;
    }
    const state = this.#state(link.peerId);
    state.lastUsed = Date.now();
    state.lastKind = link.kind ?? 'direct';
    transport.onClose(() => addTraffic(state.closed, transport));
    if (link.kind !== 'relay') this.#enforcePool(link.peerId);
    return transport;
  }

  /** Closes the least recently used idle direct links beyond the pool size. */
  #enforcePool(keep: string): void {
    let excess = this.directLinkCount() - this.#options.maxLinks;
    while (excess > 0) {
      let victim: PeerState | null = null;
      for (const peerId of this.hub.peers()) {
        const state = this.#peers.get(peerId);
        if (state === undefined || peerId === keep || state.pinned > 0) continue;
        if (!this.hub.transportsFor(peerId).some((t) => t.link.kind !== 'relay')) continue;
        if (victim === null || state.lastUsed < victim.lastUsed) victim = state;
      }
      if (victim === null) return;
      for (const t of this.hub.transportsFor(victim.peerId)) {
        if (t.link.kind === 'relay') continue;
        t.sendControl({ t: 'bye' } satisfies GossipControl);
        t.close();
        excess--;
      }
    }
  }

  #heartbeat(): void {
    const now = Date.now();
    const deadAfter = this.#options.heartbeatIntervalMs * this.#options.heartbeatMisses;
    for (const peerId of this.hub.peers()) {
      for (const transport of this.hub.transportsFor(peerId)) {
        if (now - transport.stats().lastReceivedAt > deadAfter) {
          const state = this.#state(peerId);
          state.lastError = `no heartbeat for ${now - transport.stats().lastReceivedAt} ms`;
          transport.close();
          continue;
        }
        this.#pingSeq = (this.#pingSeq + 1) >>> 0;
        transport.sendControl({ t: 'ping', seq: this.#pingSeq, at: now } satisfies GossipControl);
      }
    }
  }

  #onMembers(members: MemberView): void {
    const live = new Set(members);
    const before = this.#lastMembers;
    this.#lastMembers = live;
    // A peer that drops out of a sample may only have been swapped for another by a refresh: it is
    // still in the swarm, and a dead link to it closes at the heartbeat timeout anyway.
    const leftSwarm = members.sample !== true;
    for (const peerId of leftSwarm ? this.hub.peers() : []) {
      // Only peers that were members and left: a new peer may dial before its join is announced.
      if (live.has(peerId) || !before.has(peerId)) continue;
      // Gone from the swarm: free its links now rather than at the heartbeat timeout.
      for (const t of this.hub.transportsFor(peerId)) t.close();
    }
    for (const [peerId, state] of this.#peers) {
      if (!live.has(peerId) && state.pinned === 0 && this.hub.transportsFor(peerId).length === 0) {
        this.#peers.delete(peerId);
      }
    }
  }

  #onFrame(event: ReceiveEvent): void {
    if (!event.ok) this.recordRejection(event.peerId, event.code);
    for (const handler of [...this.#frameHandlers]) handler(event);
  }

  #onControl(body: unknown, transport: FrameTransport): void {
    const parsed = parsePayload(gossipControlSchema, body);
    const peerId = transport.peerId;
    if (!parsed.ok) {
      this.recordRejection(peerId, 'BAD_CONTROL');
      return;
    }
    const message = parsed.value;
    switch (message.t) {
      case 'ping':
        transport.sendControl({ t: 'pong', seq: message.seq, at: message.at } satisfies GossipControl);
        return;
      case 'pong': {
        const rtt = Date.now() - message.at;
        if (rtt >= 0 && rtt < 3_600_000) this.#state(peerId).rttMs = rtt;
        return;
      }
      case 'bye':
        transport.close();
        return;
      default:
        this.#state(peerId).lastUsed = Date.now();
        if (message.t === 'xreq' && this.#controlHandlers.size === 0) {
          // Nothing here averages yet (no job loaded): say so rather than let the peer time out.
          transport.sendControl({
            t: 'xrep',
            x: message.x,
            verdict: 'refuse',
            reason: 'not averaging',
            reset: false,
          } satisfies GossipControl);
          return;
        }
        for (const handler of [...this.#controlHandlers]) handler(peerId, message, transport);
    }
  }

  #state(peerId: string): PeerState {
    let state = this.#peers.get(peerId);
    if (state === undefined) {
      state = {
        peerId,
        lastUsed: Date.now(),
        pinned: 0,
        rttMs: null,
        lastError: null,
        lastKind: 'direct',
        directFailedAt: null,
        quarantinedUntil: 0,
        closed: noTraffic(),
        rejected: new Map(),
        dialing: null,
        retrying: false,
      };
      this.#peers.set(peerId, state);
    }
    return state;
  }
}
