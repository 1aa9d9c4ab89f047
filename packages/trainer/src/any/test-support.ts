/** Fixtures shared by the trainer's tests: small jobs, datasets and shards. */
import {
  jobSpecSchema,
  shardBytes,
  writeShardHeader,
  type JobInfo,
  type JobSpec,
  type JobSpecInput,
} from '@tabswarm/protocol';
import { mulberry32 as seededRandom } from '@tabswarm/core';
import type { DatasetShape } from './types.ts';

export function jobSpec(input: Partial<JobSpecInput> = {}): JobSpec {
  return jobSpecSchema.parse({ name: 'test', ...input });
}

export function jobInfo(
  id: string,
  spec: JobSpec,
  parameterCount: number | null,
  extra: Partial<JobInfo> = {},
): JobInfo {
  return {
    id,
    name: spec.name,
    spec,
    status: 'running',
    statusReason: null,
    createdAt: 1,
    startedAt: 1,
    finishedAt: null,
    trainSize: 1000,
    shardSize: spec.training.batchSize * spec.training.localSteps,
    shardCount: 10,
    totalShards: 10 * spec.training.epochs,
    epochsOpened: 1,
    shardsDone: 0,
    samplesDone: 0,
    activeLeases: 0,
    samplesPerSecond: 0,
    parameterCount,
    latestCheckpoint: null,
    ...extra,
  };
}

/**
 * A float32 training shard of `count` samples: features drawn from `seed`, labels a simple function
 * of the features so a model can learn them.
 */
export function makeShard(dataset: DatasetShape, start: number, count: number, seed = start + 1): Uint8Array {
  const featureCount = dataset.featureShape.reduce((a, b) => a * b, 1);
  const header = {
    dtype: 'float32' as const,
    labelDtype: 'uint8' as const,
    split: 'train' as const,
    start,
    count,
    featureCount,
    normalization: { scale: 1, offset: 0 },
  };
  const bytes = new Uint8Array(shardBytes(header));
  const { xOffset, yOffset } = writeShardHeader(bytes, header);
  const view = new DataView(bytes.buffer);
  const random = seededRandom(seed);
  for (let i = 0; i < count; i++) {
    let sum = 0;
    for (let f = 0; f < featureCount; f++) {
      const value = random();
      sum += value;
      view.setFloat32(xOffset + (i * featureCount + f) * 4, value, true);
    }
    bytes[yOffset + i] = Math.floor((sum / featureCount) * dataset.numClasses * 0.999) % dataset.numClasses;
  }
  return bytes;
}
