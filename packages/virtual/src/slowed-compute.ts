/**
 * A straggler: a compute whose shards take `factor` times as long. After each shard it sleeps
 * (factor − 1) times what the shard's training took, so the lease loop, the coordinator and the
 * peers see a slower volunteer and nothing else changes.
 */
import type { ComputePort } from '@tabswarm/trainer';
import { withTrain } from './train-override.ts';

export function slowedCompute(compute: ComputePort, factor: () => number): ComputePort {
  return withTrain(compute, async (task, onStep) => {
    const started = performance.now();
    const outcome = await compute.train(task, onStep);
    const extra = (Math.max(1, factor()) - 1) * (performance.now() - started);
    if (extra > 0) await new Promise((resolve) => setTimeout(resolve, extra));
    return outcome;
  });
}
