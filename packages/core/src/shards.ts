/**
 * Which shard when, and in which order its samples are trained: the coordinator's per-epoch shard
 * order and the tabs' per-shard batch plan, both derived from the job seed alone.
 */
import { mix32, mulberry32, seededPermutation, shuffleInPlace } from './random.ts';

/**
 * The order in which an epoch's shards are handed out: a permutation of 0..n-1 for this job seed
 * and epoch, the same on every restart (the scheduler stores positions from it).
 */
export function shardOrder(n: number, seed: number, epoch: number): number[] {
  const random = mulberry32((seed ^ Math.imul(epoch + 1, 0x9e3779b1)) >>> 0);
  return shuffleInPlace(
    Array.from({ length: n }, (_, i) => i),
    random,
  );
}

/** A seed for one shard of one epoch of a job: a re-issued shard is trained in the same order. */
export function shardSeed(jobSeed: number, epoch: number, shard: number): number {
  return mix32(mix32(mix32(jobSeed) ^ Math.imul(epoch + 1, 0x9e3779b9)) ^ Math.imul(shard + 1, 0x85ebca6b));
}

export interface BatchPlan {
  /** Sample indices (within the shard) of each step, in order. */
  readonly batches: readonly Int32Array[];
  /** Samples trained on: every sample of the shard once, or fewer when localSteps runs out first. */
  readonly samples: number;
}

/**
 * The local steps of one shard: up to `localSteps` batches of `batchSize` consecutive entries of
 * a permutation drawn from `seed` (use shardSeed). A shard holds batchSize × localSteps samples, so
 * each is used once; the last shard of a dataset may be smaller and then takes fewer (or a smaller
 * last) batch.
 */
export function planBatches(count: number, batchSize: number, localSteps: number, seed: number): BatchPlan {
  if (!Number.isSafeInteger(batchSize) || batchSize < 1)
    throw new RangeError(`batchSize must be ≥ 1, got ${batchSize}`);
  if (!Number.isSafeInteger(localSteps) || localSteps < 1)
    throw new RangeError(`localSteps must be ≥ 1, got ${localSteps}`);
  // The same bits viewed as int32 (indices < 2^31), which is what tfjs gathers with.
  const order = new Int32Array(seededPermutation(count, seed).buffer);
  const batches: Int32Array[] = [];
  let samples = 0;
  for (let s = 0; s < localSteps && samples < count; s++) {
    const batch = order.subarray(samples, Math.min(count, samples + batchSize));
    batches.push(batch);
    samples += batch.length;
  }
  return { batches, samples };
}
