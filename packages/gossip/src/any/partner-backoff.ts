/**
 * Exponential backoff for partners that did not answer in time. A straggler (a throttled tab, a
 * phone in the background) answers an exchange late or not at all, and every node that picks it
 * waits up to the exchange timeout: without barriers that is still time out of training. After
 * an exchange this node initiated timed out (or found the partner unreachable, or broke off), the
 * partner is skipped as this node's pick for 1, 2, 4 … up to `maxRounds` of its own rounds
 * (doubling with each further strike); an exchange that this node initiates and completes with
 * it again forgets the strikes. The straggler is not cut
 * off: exchanges it initiates are answered as always, so its model keeps mixing with the swarm.
 */
export interface PartnerBackoffOptions {
  /** The longest skip, in this node's rounds. */
  readonly maxRounds?: number;
  /** Partners remembered at most (the oldest forgotten first): memory stays bounded. */
  readonly maxTracked?: number;
}

interface Strikes {
  count: number;
  /** The first round in which the partner may be picked again. */
  untilRound: number;
}

export class PartnerBackoff {
  readonly #maxRounds: number;
  readonly #maxTracked: number;
  readonly #strikes = new Map<string, Strikes>();

  constructor(options: PartnerBackoffOptions = {}) {
    this.#maxRounds = options.maxRounds ?? 32;
    this.#maxTracked = options.maxTracked ?? 1024;
  }

  /** True while `peerId` is skipped in `round`. */
  skips(peerId: string, round: number): boolean {
    return (this.#strikes.get(peerId)?.untilRound ?? -Infinity) > round;
  }

  /** An exchange initiated with `peerId` in `round` got no answer (timeout, unreachable, failed). */
  timedOut(peerId: string, round: number): void {
    const count = (this.#strikes.get(peerId)?.count ?? 0) + 1;
    const skip = Math.min(this.#maxRounds, 2 ** (count - 1));
    this.#strikes.delete(peerId); // re-inserted last: the map's order is the eviction order
    this.#strikes.set(peerId, { count, untilRound: round + 1 + skip });
    if (this.#strikes.size > this.#maxTracked) {
      const oldest = this.#strikes.keys().next().value;
      if (oldest !== undefined) this.#strikes.delete(oldest);
    }
  }

  /** An exchange initiated with `peerId` completed: it answers again. */
  answered(peerId: string): void {
    this.#strikes.delete(peerId);
  }

  /** Partners currently remembered (tests, stats). */
  get tracked(): number {
    return this.#strikes.size;
  }
}
