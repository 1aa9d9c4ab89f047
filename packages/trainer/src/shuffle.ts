/**
 * Seeded shuffling within a shard: the same job seed, epoch and shard give the same batches in any
 * browser, so a re-issued shard is trained on the same order and runs can be reproduced.
 */

/** murmur3's 32-bit finaliser. */
function mix32(x: number): number {
  let z = x | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** A seed for one shard of one epoch of a job. */
export function shardSeed(jobSeed: number, epoch: number, shard: number): number {
  return mix32(mix32(mix32(jobSeed) ^ Math.imul(epoch + 1, 0x9e3779b9)) ^ Math.imul(shard + 1, 0x85ebca6b));
}

/** Uniform numbers in [0, 1) from a Weyl sequence through mix32. */
export function seededRandom(seed: number): () => number {
  let state = mix32(seed);
  return () => {
    state = (state + 0x9e3779b9) | 0;
    return mix32(state) / 0x100000000;
  };
}

/** A permutation of 0..n-1 (Fisher–Yates) drawn from `seed`. */
export function seededPermutation(n: number, seed: number): Int32Array {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`n must be a whole number ≥ 0, got ${n}`);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  const random = seededRandom(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = out[i] as number;
    out[i] = out[j] as number;
    out[j] = t;
  }
  return out;
}

export interface BatchPlan {
  /** Sample indices of each step, in order. */
  readonly batches: readonly Int32Array[];
  /** Samples trained on: every sample of the shard once, or fewer when localSteps runs out first. */
  readonly samples: number;
}

/**
 * The local steps of one shard: up to `localSteps` batches of `batchSize` consecutive entries of a
 * seeded permutation. A shard holds batchSize × localSteps samples, so each is used once; the last
 * shard of a dataset may be smaller and then takes fewer (or a smaller last) batch.
 */
export function planBatches(count: number, batchSize: number, localSteps: number, seed: number): BatchPlan {
  if (!Number.isSafeInteger(batchSize) || batchSize < 1)
    throw new RangeError(`batchSize must be ≥ 1, got ${batchSize}`);
  if (!Number.isSafeInteger(localSteps) || localSteps < 1)
    throw new RangeError(`localSteps must be ≥ 1, got ${localSteps}`);
  const order = seededPermutation(count, seed);
  const batches: Int32Array[] = [];
  let samples = 0;
  for (let s = 0; s < localSteps && samples < count; s++) {
    const batch = order.subarray(samples, Math.min(count, samples + batchSize));
    batches.push(batch);
    samples += batch.length;
  }
  return { batches, samples };
}
