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
import * as tf from '@tensorflow/tfjs';
import { LocalTrainer } from './local-trainer.ts';
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

/** One local step of a small MLP on the active backend: the loss, and whether parameters moved. */
export async function oneLocalStep(): Promise<{ loss: number; moved: boolean }> {
  const spec = jobSpec({ training: { batchSize: 8, localSteps: 1 } });
  const trainer = await LocalTrainer.create('job-a', spec, { featureShape: [4], numClasses: 3 });
  try {
    const before = await trainer.flat.read();
    const x = tf.randomUniform([8, 4]);
    const y = tf.tensor1d([0, 1, 2, 0, 1, 2, 0, 1]);
    const loss = trainer.step(x, y);
    const value = (await loss.data())[0] ?? Number.NaN;
    tf.dispose([x, y, loss]);
    const after = await trainer.flat.read();
    return { loss: value, moved: after.some((v, i) => v !== before[i]) };
  } finally {
    trainer.dispose();
  }
}
