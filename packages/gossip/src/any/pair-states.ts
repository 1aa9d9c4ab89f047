/**
 * The references a compressed codec shares with each partner (ĥ_mine, ĥ_theirs and the exchange
 * that last committed them), least recently used first out, so memory stays bounded.
 */

export interface PairState {
  /** The exchange both sides last committed; a partner that names another one starts afresh. */
  readonly epoch: number;
  readonly mine: Float32Array;
  readonly theirs: Float32Array;
}

export class PairStates {
  readonly #states = new Map<string, PairState>();

  constructor(private readonly maxPairs: number) {}

  get(peerId: string): PairState | undefined {
    return this.#states.get(peerId);
  }

  /** Records the pair's new references as the most recently used, evicting the oldest beyond the limit. */
  commit(peerId: string, state: PairState): void {
    this.#states.delete(peerId);
    this.#states.set(peerId, state);
    while (this.#states.size > this.maxPairs) {
      const oldest = this.#states.keys().next().value;
      if (oldest === undefined) break;
      this.#states.delete(oldest);
    }
  }

  drop(peerId: string): void {
    this.#states.delete(peerId);
  }

  clear(): void {
    this.#states.clear();
  }
}
