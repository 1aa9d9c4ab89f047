/**
 * A lazy volunteer (validated work's adversary): a compute that reports every shard done at once
 * without training it. Its completions are well-formed — the shard's samples, a plausible loss,
 * and on a replicated lease the statistics of the update it made, which is none (norm 0, every
 * projection 0) — so only replication can tell it from an honest volunteer. It lies at the
 * compute rather than on the wire (adversary.ts): a completion is a socket.io message, and
 * "did not train" is what the compute does.
 */
import { VALIDATION_PROJECTIONS } from '@tabswarm/core';
import type { ComputePort } from '@tabswarm/trainer';
import { withTrain } from './train-override.ts';

export interface LazyCounts {
  /** Shards reported done without training. */
  shards: number;
  /** Of those, replicated leases (the ones a second volunteer also trained). */
  replicas: number;
}

/** ln 10: the loss of a uniform guess over MNIST's ten classes, what an untrained model reports. */
const PLAUSIBLE_LOSS = Math.log(10);

export function lazyCompute(compute: ComputePort, counts: LazyCounts): ComputePort {
  return withTrain(compute, (task) => {
    counts.shards++;
    if (task.replica !== undefined) counts.replicas++;
    return Promise.resolve({
      ok: true,
      leaseId: task.lease.leaseId,
      loss: PLAUSIBLE_LOSS,
      samples: task.lease.end - task.lease.start,
      steps: 0,
      durationMs: 5,
      stepTimeMs: 1,
      samplesPerSec: 10_000,
      ...(task.replica === undefined
        ? {}
        : { update: { norm: 0, projections: new Array<number>(VALIDATION_PROJECTIONS).fill(0) } }),
    });
  });
}
