/**
 * What part 6 (communication) compares: the averaging settings of issue 13, each a job's
 * `averaging` block on the same gossip job. Dense fp32 after every shard is the reference.
 */
import type { AveragingSpec, ModelPreset } from '@tabswarm/protocol';

export interface CommSetting {
  /** Short, as the table's first column. */
  readonly name: string;
  readonly averaging: Partial<AveragingSpec>;
}

const outer = (syncEvery: number, momentum = 0.5) => ({ syncEvery, learningRate: 1, momentum });

export const REFERENCE: CommSetting = { name: 'fp32, every shard (reference)', averaging: { codec: 'fp32' } };

/** The full part runs the reference again last: its two rows show the run-to-run noise. */
export const REFERENCE_AGAIN: CommSetting = { ...REFERENCE, name: 'fp32, every shard (reference, again)' };

export const FULL_SETTINGS: readonly CommSetting[] = [
  REFERENCE,
  { name: 'fp16', averaging: { codec: 'fp16' } },
  { name: 'int8 blocks', averaging: { codec: 'int8' } },
  { name: 'top-k 1 %', averaging: { codec: 'topk', topkFraction: 0.01 } },
  ...[1, 4, 16].flatMap((syncEvery) => [
    { name: `outer ×${syncEvery}, int8`, averaging: { codec: 'int8' as const, outer: outer(syncEvery) } },
    {
      name: `outer ×${syncEvery}, top-k 1 %`,
      averaging: { codec: 'topk' as const, topkFraction: 0.01, outer: outer(syncEvery) },
    },
  ]),
  // Beyond the list, the candidates for its goal that a first look found: top-k at half the
  // fraction, and the outer optimizer without momentum (plain averaging every syncEvery shards),
  // which the short job's few synchronisations suit better than momentum 0.5.
  { name: 'top-k 0.5 %', averaging: { codec: 'topk', topkFraction: 0.005 } },
  {
    name: 'outer ×4 (μ 0), top-k 1 %',
    averaging: { codec: 'topk', topkFraction: 0.01, outer: outer(4, 0) },
  },
  { name: 'outer ×16 (μ 0), int8', averaging: { codec: 'int8', outer: outer(16, 0) } },
  REFERENCE_AGAIN,
];

/** --quick: the reference and the cheapest family, enough to fill every column. */
export const QUICK_SETTINGS: readonly CommSetting[] = [
  REFERENCE,
  { name: 'outer ×4, int8', averaging: { codec: 'int8', outer: outer(4) } },
];

/** The job every setting trains: the same model, data, seed and shard plan. */
export interface CommWorkload {
  readonly preset: ModelPreset;
  readonly volunteers: number;
  readonly epochs: number;
  /** Batch 64 × this many steps per shard: small shards give syncEvery 16 several syncs. */
  readonly localSteps: number;
}

/**
 * 8,000 MNIST samples in shards of 2 × 64: 63 shards an epoch, about 16 per volunteer of four, so
 * syncEvery 16 synchronises about twice in the two epochs. mnist-mlp, not the CNN: virtual volunteers
 * train on TensorFlow.js's WebAssembly backend, which has no Conv2DBackpropFilter kernel (the CNN
 * cannot train there), and its CPU backend trains the CNN at ~25 samples/s here, hours for this part.
 */
export const FULL_WORKLOAD: CommWorkload = { preset: 'mnist-mlp', volunteers: 4, epochs: 2, localSteps: 2 };
export const QUICK_WORKLOAD: CommWorkload = { preset: 'mnist-mlp', volunteers: 2, epochs: 1, localSteps: 5 };

/** The goal: a setting at ≤ 1/100 of the reference's bytes within 0.5 points of its accuracy. */
export const COMM_GOAL = { bytesFraction: 0.01, accuracyPoints: 0.5 } as const;
