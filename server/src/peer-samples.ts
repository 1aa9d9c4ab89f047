/**
 * Which peers each volunteer sees. While the swarm has at most PEER_SAMPLE_SIZE other members,
 * everyone sees everyone (as before); beyond that each volunteer holds a random sample of exactly
 * PEER_SAMPLE_SIZE others that is repaired when a member leaves and refreshed a few members at a
 * time. Every change returns the deltas to send, only to the volunteers whose view changed, so
 * what one join or leave costs does not grow with the swarm. Pure bookkeeping: no sockets here.
 */
import { PEER_SAMPLE_SIZE, type PeerInfo, type PeersDelta } from '@tabswarm/protocol';

/** The changes to send, by the node id whose view changed. */
export type ViewDeltas = Map<string, PeersDelta>;

export interface PeerSamplesOptions {
  /** Others in a sampled view (default PEER_SAMPLE_SIZE; tests use smaller ones). */
  readonly sampleSize?: number;
  readonly random?: () => number;
}

/** Random tries before a pick settles for a peer already seen by many, then gives up. */
const PICK_TRIES = 24;

export class PeerSamples {
  readonly sampleSize: number;
  readonly #random: () => number;
  readonly #members = new Map<string, PeerInfo>();
  /** Member ids in an array, for uniform random picks with O(1) removal (swap with the last). */
  readonly #ids: string[] = [];
  readonly #index = new Map<string, number>();
  /** node → the others it sees. */
  readonly #views = new Map<string, Set<string>>();
  /** peer → the nodes that see it (so a leave is told only to them). */
  readonly #watchers = new Map<string, Set<string>>();
  /** Nodes whose view has room (fewer than sampleSize others): a joiner is added to theirs. */
  readonly #roomy = new Set<string>();
  #refreshCursor = 0;

  constructor(options: PeerSamplesOptions = {}) {
    this.sampleSize = Math.max(1, options.sampleSize ?? PEER_SAMPLE_SIZE);
    this.#random = options.random ?? Math.random;
  }

  get size(): number {
    return this.#ids.length;
  }

  has(nodeId: string): boolean {
    return this.#members.has(nodeId);
  }

  /** What `nodeId` sees, itself included, sorted: the `peers` snapshot it gets after joining. */
  view(nodeId: string): PeerInfo[] {
    const self = this.#members.get(nodeId);
    if (self === undefined) return [];
    const out = [self];
    for (const id of this.#views.get(nodeId) ?? []) {
      const peer = this.#members.get(id);
      if (peer !== undefined) out.push(peer);
    }
    return out.sort((a, b) => (a.nodeId < b.nodeId ? -1 : 1));
  }

  /** How many nodes see `nodeId` (its in-degree). */
  watchers(nodeId: string): number {
    return this.#watchers.get(nodeId)?.size ?? 0;
  }

  /** A new member: it gets a sample, and the views with room get it. Already a member: nothing. */
  add(peer: PeerInfo): ViewDeltas {
    const deltas: ViewDeltas = new Map();
    const id = peer.nodeId;
    if (this.#members.has(id)) return deltas;
    const view = new Set<string>();
    for (const other of this.#pickSample(this.sampleSize)) view.add(other);
    this.#members.set(id, peer);
    this.#index.set(id, this.#ids.length);
    this.#ids.push(id);
    this.#views.set(id, view);
    this.#watchers.set(id, new Set());
    for (const other of view) this.#see(id, other);
    for (const other of [...this.#roomy]) {
      this.#see(other, id);
      delta(deltas, other).added.push(peer);
    }
    if (view.size < this.sampleSize) this.#roomy.add(id);
    return deltas;
  }

  /** A member left: every view that held it loses it and gets another member in its place. */
  remove(nodeId: string): ViewDeltas {
    const deltas: ViewDeltas = new Map();
    if (!this.#members.has(nodeId)) return deltas;
    for (const other of this.#views.get(nodeId) ?? []) this.#watchers.get(other)?.delete(nodeId);
    this.#views.delete(nodeId);
    this.#roomy.delete(nodeId);
    const watchers = this.#watchers.get(nodeId) ?? new Set<string>();
    this.#watchers.delete(nodeId);
    this.#members.delete(nodeId);
    const at = this.#index.get(nodeId) as number;
    const last = this.#ids.pop() as string;
    if (last !== nodeId) {
      this.#ids[at] = last;
      this.#index.set(last, at);
    }
    this.#index.delete(nodeId);
    for (const watcher of watchers) {
      const view = this.#views.get(watcher);
      if (view === undefined) continue;
      view.delete(nodeId);
      const change = delta(deltas, watcher);
      change.removed.push(nodeId);
      const replacement = this.#pickFor(watcher, view);
      if (replacement === null) {
        this.#roomy.add(watcher);
        continue;
      }
      this.#see(watcher, replacement);
      change.added.push(this.#members.get(replacement) as PeerInfo);
    }
    return deltas;
  }

  /**
   * Refreshes the samples of the next `count` members (round robin): each swaps one peer it sees
   * for one it does not, so over time every member meets new partners. Nothing while everyone
   * sees everyone.
   */
  refresh(count: number): ViewDeltas {
    const deltas: ViewDeltas = new Map();
    if (this.#ids.length - 1 <= this.sampleSize) return deltas;
    for (let k = 0; k < Math.min(count, this.#ids.length); k++) {
      this.#refreshCursor = (this.#refreshCursor + 1) % this.#ids.length;
      const node = this.#ids[this.#refreshCursor] as string;
      const view = this.#views.get(node);
      if (view === undefined || view.size === 0) continue;
      const replacement = this.#pickFor(node, view);
      if (replacement === null) continue;
      const seen = [...view];
      const dropped = seen[Math.floor(this.#random() * seen.length) % seen.length] as string;
      view.delete(dropped);
      this.#watchers.get(dropped)?.delete(node);
      this.#see(node, replacement);
      deltas.set(node, { added: [this.#members.get(replacement) as PeerInfo], removed: [dropped] });
    }
    return deltas;
  }

  #see(node: string, peer: string): void {
    const view = this.#views.get(node);
    view?.add(peer);
    this.#watchers.get(peer)?.add(node);
    if (view !== undefined && view.size >= this.sampleSize) this.#roomy.delete(node);
  }

  /** `count` distinct current members (fewer if there are not that many), at random. */
  #pickSample(count: number): string[] {
    const n = this.#ids.length;
    if (n <= count) return [...this.#ids];
    if (n <= 4 * count) {
      // A small swarm: a partial Fisher–Yates shuffle of a copy costs little and never misses.
      const ids = [...this.#ids];
      for (let i = 0; i < count; i++) {
        const j = i + Math.floor(this.#random() * (n - i));
        [ids[i], ids[j]] = [ids[j] as string, ids[i] as string];
      }
      return ids.slice(0, count);
    }
    // Prefer members few others see yet, so the early members of a growing swarm do not end up
    // in everybody's sample (a leave is told to every view that holds the leaver).
    const chosen = new Set<string>();
    for (let t = 0; chosen.size < count; t++) {
      const id = this.#randomMember() as string;
      if (t < count * PICK_TRIES && this.watchers(id) >= 2 * this.sampleSize) continue;
      chosen.add(id);
    }
    return [...chosen];
  }

  /** A member `node` does not see yet (preferring one few others see), or null if there is none. */
  #pickFor(node: string, view: ReadonlySet<string>): string | null {
    const n = this.#ids.length;
    if (n - 1 <= view.size) return null;
    const fits = (id: string): boolean => id !== node && !view.has(id);
    if (n <= 4 * this.sampleSize) {
      const candidates = this.#ids.filter(fits);
      if (candidates.length === 0) return null;
      return candidates[Math.floor(this.#random() * candidates.length) % candidates.length] as string;
    }
    // A large swarm: most members fit, so a few random tries find one; prefer a member whose
    // in-degree is not already twice the average, so no volunteer is everyone's partner.
    let fallback: string | null = null;
    for (let t = 0; t < PICK_TRIES; t++) {
      const id = this.#randomMember() as string;
      if (!fits(id)) continue;
      if (this.watchers(id) < 2 * this.sampleSize) return id;
      fallback ??= id;
    }
    return fallback;
  }

  #randomMember(): string | undefined {
    return this.#ids[Math.floor(this.#random() * this.#ids.length) % this.#ids.length];
  }
}

function delta(deltas: ViewDeltas, nodeId: string): { added: PeerInfo[]; removed: string[] } {
  let d = deltas.get(nodeId);
  if (d === undefined) {
    d = { added: [], removed: [] };
    deltas.set(nodeId, d);
  }
  return d;
}
