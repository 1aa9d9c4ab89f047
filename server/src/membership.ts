/**
 * Who is in the swarm: volunteers join with their capabilities, heartbeat, and are marked gone
 * when they fall silent for longer than the timeout. State is mirrored to the store on every
 * change, and every change is announced to listeners (dashboards, peer lists) — except that a
 * heartbeat which changes only telemetry (the time last seen, the health report) is written to
 * the store at most every HEARTBEAT_PERSIST_MS per node: ten thousand volunteers heartbeat five
 * thousand times a second, and liveness is judged from memory (the store's copy only matters
 * after a restart, when every node starts disconnected and must reconnect anyway).
 *
 * Departed volunteers are not kept forever: anyone can open the volunteer page, so join/leave
 * cycles would otherwise grow memory, the store and /api/nodes without bound. A gone volunteer is
 * forgotten once it has been silent for the retention period, or sooner, oldest first, when more
 * departed volunteers than the cap are kept (see NodeRetention). Forgetting drops the node record
 * only (capabilities, health, self-test, the secret that lets it resume); its work stays where it
 * is counted, in the scheduler's leases under its node id, so job progress, the training-loss
 * series and any per-volunteer tally of counted completions are unchanged. A forgotten volunteer
 * that comes back cannot resume its id (UNKNOWN_NODE) and joins as a new node, as clients do.
 *
 * On a shared store (several coordinators on one PostgreSQL) this process judges only the
 * volunteers that joined or resumed here; the others are read from the store. A volunteer that
 * left this process and resumed on another is dropped from memory here, not marked gone (the
 * store's copy is newer than ours); one whose coordinator died is marked gone by whichever
 * coordinator sweeps first, once its stored copy is older than any live one can be.
 */
import crypto from 'node:crypto';
import type {
  Capabilities,
  Heartbeat,
  NodeInfo,
  PeerInfo,
  SelfTestReport,
  VolunteerTrust,
} from '@tabswarm/protocol';
import { ProtocolError } from '@tabswarm/protocol';
import { SessionTokens, type SessionTokenVerdict } from './session-tokens.ts';
import type { Store, StoredNode } from './store/store.ts';

export type Clock = () => number;

export interface JoinResult {
  readonly node: NodeInfo;
  readonly secret: string;
  readonly resumed: boolean;
}

type Listener = (node: NodeInfo) => void;

/** How long, and how many, departed (gone) volunteers are remembered. */
export interface NodeRetention {
  /** A gone volunteer silent for longer than this is forgotten. */
  readonly departedRetentionMs: number;
  /** At most this many gone volunteers are remembered; beyond it the longest silent go first. */
  readonly maxDepartedNodes: number;
}

export const DEFAULT_NODE_RETENTION: NodeRetention = {
  departedRetentionMs: 24 * 60 * 60_000,
  maxDepartedNodes: 1_000,
};

/** A heartbeat that changes only telemetry is persisted when the stored copy is older than this. */
export const HEARTBEAT_PERSIST_MS = 15_000;

const hashSecret = (secret: string): string => crypto.createHash('sha256').update(secret).digest('hex');

function secretMatches(secret: string, hash: string): boolean {
  const a = Buffer.from(hashSecret(secret), 'hex');
  const b = Buffer.from(hash, 'hex');
  return a.length === b.length && crypto.timingSafeEqual(a, b);
}

const publicView = ({ secretHash: _secret, ...node }: StoredNode): NodeInfo => node;

export class Membership {
  private readonly nodes = new Map<string, StoredNode>();
  /** The lastSeenAt of each node's stored copy. */
  private readonly persistedAt = new Map<string, number>();
  private readonly listeners = new Set<Listener>();
  /** Each volunteer's standing from validated work (the scheduler's), shown in its node info. */
  private trustOf: (nodeId: string) => VolunteerTrust | undefined = () => undefined;
  /**
   * Each member's current session (a new one at every join and resume; none once it is gone):
   * a token from any other session is a replay. In memory only, as connections are.
   */
  private readonly sessions = new Map<string, string>();
  readonly tokens: SessionTokens;

  constructor(
    private readonly store: Store,
    private readonly timeoutMs: number,
    private readonly now: Clock = Date.now,
    private readonly retention: NodeRetention = DEFAULT_NODE_RETENTION,
    tokens?: SessionTokens,
  ) {
    this.tokens = tokens ?? new SessionTokens(undefined, now);
    if (store.shared) return; // other coordinators' volunteers are connected to them
    store.markAllDisconnected();
    for (const node of store.listNodes()) this.nodes.set(node.id, node);
  }

  onChange(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  join(capabilities: Capabilities, resume?: { nodeId: string; secret: string }): JoinResult {
    const now = this.now();
    if (resume) {
      const existing = this.lookup(resume.nodeId);
      if (!existing || !secretMatches(resume.secret, existing.secretHash)) {
        throw new ProtocolError('UNKNOWN_NODE', 'cannot resume: unknown node id or wrong secret');
      }
      this.sessions.set(existing.id, SessionTokens.newSessionId());
      const node = this.update({
        ...existing,
        capabilities,
        status: 'active',
        lastSeenAt: now,
        connected: true,
      });
      return { node, secret: resume.secret, resumed: true };
    }
    const id = `v${crypto.randomBytes(8).toString('hex')}`;
    const secret = crypto.randomBytes(16).toString('hex');
    this.sessions.set(id, SessionTokens.newSessionId());
    const node = this.update({
      id,
      secretHash: hashSecret(secret),
      status: 'active',
      state: 'idle',
      capabilities,
      selfTest: null,
      health: null,
      joinedAt: now,
      lastSeenAt: now,
      connected: true,
    });
    return { node, secret, resumed: false };
  }

  heartbeat(nodeId: string, heartbeat: Heartbeat): NodeInfo {
    const node = this.require(nodeId);
    const now = this.now();
    const next: StoredNode = {
      ...node,
      state: heartbeat.state,
      health: heartbeat.health ?? node.health,
      status: 'active',
      lastSeenAt: now,
    };
    // Back from gone on the connection it joined on (silent past the timeout, not disconnected): a
    // new session, whose token the heartbeat's answer carries.
    if (!this.sessions.has(nodeId)) this.sessions.set(nodeId, SessionTokens.newSessionId());
    const telemetryOnly = node.status === 'active' && node.state === next.state;
    const persistedAt = this.persistedAt.get(nodeId) ?? 0;
    return this.update(next, !telemetryOnly || now - persistedAt >= HEARTBEAT_PERSIST_MS);
  }

  recordSelfTest(nodeId: string, report: SelfTestReport): NodeInfo {
    const node = this.require(nodeId);
    return this.update({ ...node, selfTest: report, lastSeenAt: this.now() });
  }

  /** The socket closed. The node stays active until the heartbeat timeout, so a blip can resume. */
  disconnected(nodeId: string): void {
    const node = this.nodes.get(nodeId);
    if (node?.connected) this.update({ ...node, connected: false });
  }

  /**
   * Marks silent nodes gone and forgets departed ones past their retention (prune); returns the
   * nodes marked gone now. Called on a timer and by tests with a fake clock.
   */
  sweep(): NodeInfo[] {
    const now = this.now();
    const cutoff = now - this.timeoutMs;
    const gone: NodeInfo[] = [];
    for (const node of this.nodes.values()) {
      if (node.status === 'active' && node.lastSeenAt < cutoff) {
        this.sessions.delete(node.id);
        if (this.store.shared && this.heardElsewhere(node)) this.forgetLocally(node.id);
        else gone.push(this.update({ ...node, status: 'gone', connected: false }));
      }
    }
    if (this.store.shared) {
      // A live volunteer's stored copy is at most HEARTBEAT_PERSIST_MS (plus a heartbeat) old.
      for (const id of this.store.markSilentGone(cutoff - HEARTBEAT_PERSIST_MS)) {
        const node = this.store.getNode(id);
        if (node === undefined) continue;
        const view = this.view(node);
        for (const listener of this.listeners) listener(view);
        gone.push(view);
      }
    }
    this.prune();
    return gone;
  }

  /** Shared store: another coordinator saw the node after we last did (it resumed there). */
  private heardElsewhere(node: StoredNode): boolean {
    const stored = this.store.getNode(node.id);
    return stored === undefined || stored.lastSeenAt > node.lastSeenAt;
  }

  private forgetLocally(nodeId: string): void {
    this.nodes.delete(nodeId);
    this.persistedAt.delete(nodeId);
    this.sessions.delete(nodeId);
  }

  /** This process's copy of a node; on a shared store, the stored one when it is another's. */
  private lookup(nodeId: string): StoredNode | undefined {
    return this.nodes.get(nodeId) ?? (this.store.shared ? this.store.getNode(nodeId) : undefined);
  }

  /** Whether the node's socket is open on this process (not another coordinator's). */
  isConnectedHere(nodeId: string): boolean {
    const node = this.nodes.get(nodeId);
    return node !== undefined && node.status === 'active' && node.connected && this.sessions.has(nodeId);
  }

  /**
   * Forgets departed volunteers, from memory and the store: those silent for longer than the
   * retention period, then the longest silent beyond the cap. Returns the ids forgotten.
   */
  prune(): string[] {
    const cutoff = this.now() - this.retention.departedRetentionMs;
    const expired: string[] = [];
    const kept: StoredNode[] = [];
    for (const node of this.nodes.values()) {
      if (node.status !== 'gone' || node.connected) continue;
      if (node.lastSeenAt < cutoff) expired.push(node.id);
      else kept.push(node);
    }
    const excess = kept.length - Math.max(0, this.retention.maxDepartedNodes);
    if (excess > 0) {
      kept.sort((a, b) => a.lastSeenAt - b.lastSeenAt || (a.id < b.id ? -1 : 1));
      for (const node of kept.slice(0, excess)) expired.push(node.id);
    }
    if (expired.length > 0) this.store.deleteNodes(expired);
    // Shared store: also the departed no process holds (marked gone by markSilentGone).
    if (this.store.shared) expired.push(...this.store.pruneDeparted(cutoff, this.retention.maxDepartedNodes));
    for (const id of expired) {
      this.nodes.delete(id);
      this.persistedAt.delete(id);
    }
    return expired;
  }

  get(nodeId: string): NodeInfo | undefined {
    const node = this.lookup(nodeId);
    return node && this.view(node);
  }

  list(): NodeInfo[] {
    return this.all().map((node) => this.view(node));
  }

  /** Every node: this process's, and on a shared store the others' as stored, in join order. */
  private all(): StoredNode[] {
    if (!this.store.shared) return [...this.nodes.values()];
    return this.store.listNodes().map((stored) => this.nodes.get(stored.id) ?? stored);
  }

  attachTrust(trustOf: (nodeId: string) => VolunteerTrust | undefined): void {
    this.trustOf = trustOf;
  }

  /** The volunteer's trust changed: dashboards get its node info again. */
  trustChanged(nodeId: string): void {
    const node = this.nodes.get(nodeId);
    if (!node) return;
    const view = this.view(node);
    for (const listener of this.listeners) listener(view);
  }

  private view(node: StoredNode): NodeInfo {
    const trust = this.trustOf(node.id);
    return trust === undefined ? publicView(node) : { ...publicView(node), trust };
  }

  activePeers(): PeerInfo[] {
    return this.all()
      .filter((n) => n.status === 'active')
      .map((n) => ({ nodeId: n.id, backend: n.capabilities.backend }))
      .sort((a, b) => (a.nodeId < b.nodeId ? -1 : 1));
  }

  /**
   * A session token for the node's current session (session-tokens.ts): its PeerJS registration
   * and HTTP uploads carry it. Issued at join and renewed by heartbeats.
   */
  sessionToken(nodeId: string): { token: string; expiresAt: number; sessionId: string } {
    const sessionId = this.sessions.get(nodeId);
    if (sessionId === undefined || this.nodes.get(nodeId)?.status !== 'active') {
      throw new ProtocolError('UNKNOWN_NODE', `no session for node ${nodeId}`);
    }
    return { ...this.tokens.issue(nodeId, sessionId), sessionId };
  }

  /** The node's current session id, if it has one (a member). */
  currentSession(nodeId: string): string | undefined {
    return this.sessions.get(nodeId);
  }

  /**
   * Whether `token` is a valid token of `nodeId`'s current session: signed here, not expired,
   * naming that node, and issued in its session now (not one it left, nor one before a resume).
   */
  verifySession(nodeId: string, token: string): SessionTokenVerdict {
    const verdict = this.tokens.verify(token, nodeId);
    if (!verdict.ok) return verdict;
    const current = this.sessions.get(nodeId);
    if (current === undefined || this.nodes.get(nodeId)?.status !== 'active') {
      return { ok: false, code: 'FORBIDDEN', message: 'this volunteer is not a member now: join again' };
    }
    if (current !== verdict.sessionId) {
      return {
        ok: false,
        code: 'FORBIDDEN',
        message: 'the session token is from an ended session of this volunteer (it has since rejoined)',
      };
    }
    return verdict;
  }

  isActive(nodeId: string): boolean {
    return this.lookup(nodeId)?.status === 'active';
  }

  activeCount(): number {
    let n = 0;
    for (const node of this.nodes.values()) if (node.status === 'active') n++;
    return n;
  }

  private require(nodeId: string): StoredNode {
    const node = this.nodes.get(nodeId);
    if (!node) throw new ProtocolError('UNKNOWN_NODE', `unknown node ${nodeId}`);
    return node;
  }

  private update(node: StoredNode, persist = true): NodeInfo {
    if (persist) {
      this.store.saveNode(node);
      this.persistedAt.set(node.id, node.lastSeenAt);
    }
    this.nodes.set(node.id, node);
    const view = this.view(node);
    for (const listener of this.listeners) listener(view);
    return view;
  }
}
