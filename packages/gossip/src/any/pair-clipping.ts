/**
 * Clipped gossip (He, Karimireddy and Jaggi, 2022, in its pairwise form): a pair moves towards each
 * other by at most a radius τ, so a partner sending a far model — sign-flipped, random, within the
 * norm check on receipt — moves an honest node by at most τ/2 however far it is.
 *
 * τ adapts to the swarm: each node keeps its last RADIUS_WINDOW pair distances and offers
 * clipMultiple × their median (nothing before MIN_DISTANCES of them). Both sides of an exchange
 * send their offer and clip with the smaller one, so they scale their steps alike and the pair's
 * sum — the swarm's mean — is kept. An attacker offering a tiny τ only stops its own exchange from
 * moving anyone; a huge one is outvoted by the honest side's.
 */
import { lowerMedian } from '@tabswarm/core';

export const RADIUS_WINDOW = 16;
export const MIN_DISTANCES = 3;

export class ClipRadius {
  readonly #multiple: number | undefined;
  readonly #distances: number[] = [];

  /** `multiple`: the job's clipMultiple; undefined turns clipping off. */
  constructor(multiple: number | undefined) {
    this.#multiple = multiple;
  }

  get enabled(): boolean {
    return this.#multiple !== undefined;
  }

  /** This node's offer: clipMultiple × the median of its recent pair distances, or undefined. */
  offer(): number | undefined {
    if (this.#multiple === undefined || this.#distances.length < MIN_DISTANCES) return undefined;
    const median = lowerMedian(this.#distances);
    return median > 0 ? this.#multiple * median : undefined;
  }

  /** Remembers the distance of a committed exchange (before any clipping). */
  record(distance: number): void {
    if (!Number.isFinite(distance)) return;
    this.#distances.push(distance);
    if (this.#distances.length > RADIUS_WINDOW) this.#distances.shift();
  }
}

/** The radius both sides clip with: the smaller of the offers made, or undefined for none. */
export function agreedRadius(own: number | undefined, partner: number | undefined): number | undefined {
  if (own === undefined) return partner;
  if (partner === undefined) return own;
  return Math.min(own, partner);
}

/** The factor a step of `distance` is scaled by under `radius`: 1 within it, radius / distance beyond. */
export function clipFactor(distance: number, radius: number | undefined): number {
  return radius === undefined || !(distance > radius) ? 1 : radius / distance;
}
