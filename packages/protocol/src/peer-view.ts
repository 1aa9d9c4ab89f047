/**
 * A volunteer's view of the membership, kept from the coordinator's `peers` snapshot and the
 * `peersDelta` changes after it: what the coordinator connection shows and the gossip port draws
 * partners from. Both apply the same rule, so it lives here once.
 */
import { peerViewIsComplete, type PeerInfo, type PeerList, type PeersDelta } from './schemas.ts';

export class PeerView {
  readonly #peers = new Map<string, PeerInfo>();

  /** Replaces the view with a snapshot. */
  reset(peers: PeerList): void {
    this.#peers.clear();
    for (const peer of peers) this.#peers.set(peer.nodeId, peer);
  }

  /** Applies a change; an id removed and added in one delta ends up in the view. */
  apply(delta: PeersDelta): void {
    for (const id of delta.removed) this.#peers.delete(id);
    for (const peer of delta.added) this.#peers.set(peer.nodeId, peer);
  }

  /** The view, sorted by node id. */
  list(): PeerInfo[] {
    return [...this.#peers.values()].sort((a, b) => (a.nodeId < b.nodeId ? -1 : 1));
  }

  /** The node ids in the view, sorted. */
  ids(): string[] {
    return [...this.#peers.keys()].sort();
  }

  get size(): number {
    return this.#peers.size;
  }

  /** Whether the view is certainly the whole swarm (see peerViewIsComplete). */
  get complete(): boolean {
    return peerViewIsComplete(this.#peers.size);
  }
}
