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
import type { AggregationSpec } from '@tabswarm/protocol';
import { evaluationPlan, type TestSet } from '../checkpoints/evaluate.ts';
import type { Evaluator } from '../checkpoints/evaluation-thread.ts';
import type { Logger } from '../logger.ts';
import type { JobRecord } from '../scheduler/types.ts';

export interface ScreeningDeps {
  readonly evaluate: Evaluator;
  readonly log: Logger;
  /** The last `count` samples of the dataset's training split (fewer when it has fewer). */
  readonly screeningSet: (datasetId: string, count: number) => TestSet;
}

/**
 * Each upload's mean loss on the rule's `lossScreenSamples` screening samples of the job's
 * dataset, in upload order; undefined when the rule scores nothing — or scoring failed: logged,
 * and the round is averaged by its rule unscreened rather than lost.
 */
export async function screeningLosses(
  deps: ScreeningDeps,
  topology: Topology,
  job: JobRecord,
  rule: AggregationSpec,
  uploads: readonly Float32Array[],
): Promise<number[] | undefined> {
  // Rules stored before the option existed have no lossScreenSamples: nothing is scored.
  const count = (rule.lossScreenSamples as number | undefined) ?? 0;
  if (count === 0 || uploads.length === 0) return undefined;
  try {
    const set = deps.screeningSet(job.spec.dataset, count);
    const losses: number[] = [];
    for (const values of uploads) {
      const plan = evaluationPlan(set.n, values.length, set.labelsPerSample ?? 1);
      losses.push((await deps.evaluate(topology, values, set, plan)).loss);
    }
    return losses;
  } catch (error) {
    deps.log.error({ err: error, jobId: job.id }, 'loss screen failed: the round is averaged unscreened');
    return undefined;
  }
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
