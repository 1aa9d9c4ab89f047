/**
 * The outer optimizer (DiLoCo-style), pure over Float32Arrays, shared by gossip and FedAvg, tab and
 * virtual volunteer. A volunteer keeps the last synchronised model θ and a momentum buffer v, and
 * trains `syncEvery` shards locally from θ. At a synchronisation its averaging (a gossip exchange
 * with one partner, or a FedAvg round) yields x̄, the average of the local models it met; the
 * averaged pseudo-gradient is g = θ − x̄ (the mean of the pseudo-gradients θ − xᵢ when the
 * volunteers share θ, as after a checkpoint), and the outer Nesterov step is
 *   v ← μ·v + g,   θ ← θ − η·(g + μ·v)
 * after which training resumes from the new θ. Computed as θ ← x̄ + (1 − η)·g − η·μ·v, so that
 * η = 1 and μ = 0 give x̄ bit for bit: plain averaging, every `syncEvery` shards.
 *
 * Why x̄ and not the pseudo-gradients themselves: in gossip each volunteer's θ is its own, and a
 * pair that exchanged only pseudo-gradients would keep the distance between its θs for ever (a late
 * joiner would never be pulled in). Averaging the local models — compressed against the pair's
 * shared references, with error feedback (averager.ts) — averages the pseudo-gradients where the
 * θs agree and pulls them together where they do not.
 */

export interface OuterSettings {
  readonly syncEvery: number;
  readonly learningRate: number;
  readonly momentum: number;
}

/** v ← μ·v + g; θ ← θ − η·(g + μ·v), in place. */
export function outerNesterovStep(
  synced: Float32Array,
  velocity: Float32Array,
  g: Float32Array,
  settings: Pick<OuterSettings, 'learningRate' | 'momentum'>,
): void {
  const { learningRate: lr, momentum: mu } = settings;
  for (let i = 0; i < synced.length; i++) {
    const gi = g[i] as number;
    const v = mu * (velocity[i] as number) + gi;
    velocity[i] = v;
    synced[i] = (synced[i] as number) - lr * (gi + mu * v);
  }
}

/** A volunteer's outer state: the last synchronised model, the outer momentum, the shards counted. */
export class OuterState {
  #synced: Float32Array;
  #velocity: Float32Array;
  #shards = 0;
  #syncs = 0;

  constructor(
    synced: Float32Array,
    readonly settings: OuterSettings,
  ) {
    this.#synced = synced.slice();
    this.#velocity = new Float32Array(synced.length);
  }

  /** The last synchronised model θ. */
  get synced(): Float32Array {
    return this.#synced;
  }

  /** The outer momentum v. */
  get velocity(): Float32Array {
    return this.#velocity;
  }

  /** Counts a shard trained; true when it is one after which this volunteer synchronises. */
  shardDone(): boolean {
    this.#shards++;
    return this.#shards % this.settings.syncEvery === 0;
  }

  /** Shards counted since the state was made or reset. */
  get shards(): number {
    return this.#shards;
  }

  /** Synchronisations applied since the state was made or reset. */
  get syncs(): number {
    return this.#syncs;
  }

  /** Starts afresh from `values` (a new job, a checkpoint): no momentum, no shards counted. */
  reset(values: Float32Array): void {
    // New arrays, not the old ones overwritten: an averaging step still being computed for the
    // old parameters writes into the arrays it was given, which are then no longer the state.
    this.#synced = values.slice();
    this.#velocity = new Float32Array(values.length);
    this.#shards = 0;
    this.#syncs = 0;
  }

  /**
   * A synchronisation reached the average x̄ of the local models: g = θ − x̄, v ← μ·v + g,
   * θ ← x̄ + (1 − η)·g − η·μ·v (= θ − η(g + μ·v)). `average` is overwritten with the new θ, where
   * training resumes.
   */
  sync(average: Float32Array): void {
    outerSyncArrays(this.synced, this.velocity, average, this.settings);
    this.recordSync();
  }

  /** Counts a synchronisation whose step was applied elsewhere (by the averaging kernels). */
  recordSync(): void {
    this.#syncs++;
  }
}

/**
 * The outer step over plain arrays, in place (the reference the WGSL path is tested against):
 * g = θ − x̄, v ← μ·v + g, θ ← x̄ + (1 − η)·g − η·μ·v, and x̄ is overwritten with the new θ.
 */
export function outerSyncArrays(
  synced: Float32Array,
  velocity: Float32Array,
  average: Float32Array,
  settings: Pick<OuterSettings, 'learningRate' | 'momentum'>,
): void {
  const { learningRate: lr, momentum: mu } = settings;
  const keep = 1 - lr;
  const push = lr * mu;
  for (let i = 0; i < synced.length; i++) {
    const xbar = average[i] as number;
    const g = (synced[i] as number) - xbar;
    const v = mu * (velocity[i] as number) + g;
    velocity[i] = v;
    const next = xbar + keep * g - push * v;
    synced[i] = next;
    average[i] = next;
  }
}
