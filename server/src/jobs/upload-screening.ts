/**
 * The loss screen's scores (the aggregation rule's `lossScreenSamples`): every upload of a round —
 * a checkpoint's or a FedAvg round's — scored by its mean loss on the same screening samples, the
 * last ones of the dataset's training split as the trainer sees them. Scores run where checkpoint
 * evaluations do (the coordinator's evaluation thread), one upload after another, each within the
 * evaluation budget a checkpoint gets (a large model is scored on fewer samples).
 *
 * Training samples rather than test ones: what decides which uploads count must not be the data
 * the job's accuracy is then measured on.
 */
import type { Topology } from '@tabswarm/core';
import { evaluationPlan, type TestSet } from '../checkpoints/evaluate.ts';
import type { Evaluator } from '../checkpoints/evaluation-thread.ts';

export interface ScreeningDeps {
  readonly evaluate: Evaluator;
  /** The last `count` samples of the dataset's training split (fewer when it has fewer). */
  readonly screeningSet: (datasetId: string, count: number) => TestSet;
}

/** Each upload's mean loss on `count` screening samples of the dataset, in upload order. */
export async function screeningLosses(
  deps: ScreeningDeps,
  topology: Topology,
  datasetId: string,
  count: number,
  uploads: readonly Float32Array[],
): Promise<number[]> {
  const set = deps.screeningSet(datasetId, count);
  const losses: number[] = [];
  for (const values of uploads) {
    const plan = evaluationPlan(set.n, values.length, set.labelsPerSample ?? 1);
    losses.push((await deps.evaluate(topology, values, set, plan)).loss);
  }
  return losses;
}

/** Caches each dataset's screening samples (one size per dataset: the last asked for). */
export function screeningSets(
  read: (datasetId: string, start: number, end: number) => TestSet,
  trainSize: (datasetId: string) => number,
): (datasetId: string, count: number) => TestSet {
  const cache = new Map<string, { count: number; set: TestSet }>();
  return (datasetId, count) => {
    const cached = cache.get(datasetId);
    if (cached !== undefined && cached.count === count) return cached.set;
    const size = trainSize(datasetId);
    const set = read(datasetId, Math.max(0, size - count), size);
    cache.set(datasetId, { count, set });
    return set;
  };
}
