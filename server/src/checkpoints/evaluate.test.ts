import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { encodeFp32Frame } from '@tabswarm/protocol';
import { readCheckpointFile, writeCheckpointFile } from './checkpoint-files.ts';
import {
  DEFAULT_EVAL_BATCH_SIZE,
  EVAL_BATCH_MULTIPLY_ADDS,
  EVAL_MULTIPLY_ADDS,
  MIN_EVAL_SAMPLES,
  evaluateParameters,
  evaluationPlan,
  type TestSet,
} from './evaluate.ts';
import { getFlatWeights, setFlatWeights, topologyFor } from '@tabswarm/core';
import { buildModel, ensureCpuBackend, initialParameters } from './model-factory.ts';
import { DatasetRegistry } from '../datasets/registry.ts';
import { tempDir } from '../test-support.ts';

/** Dense(2) on 2 inputs: with an identity kernel, the predicted class is the larger input. */
const tiny = (activation: 'softmax' | 'linear') => ({
  class_name: 'Sequential',
  config: {
    name: 'tiny',
    layers: [
      {
        class_name: 'Dense',
        config: {
          name: 'd',
          units: 2,
          activation,
          use_bias: true,
          batch_input_shape: [null, 2],
          dtype: 'float32',
        },
      },
    ],
  },
});
const identity = new Float32Array([1, 0, 0, 1, 0, 0]);
const tinySet: TestSet = {
  x: new Float32Array([1, 0, 0, 1, 1, 0]),
  y: new Int32Array([0, 1, 1]),
  n: 3,
  featureShape: [2],
};
// Each sample's correct class has probability e/(e+1) when it wins and 1/(e+1) when it loses.
const tinyLoss = (2 * Math.log1p(Math.exp(-1)) + Math.log1p(Math.exp(1))) / 3;

describe('evaluationPlan', () => {
  it('scores every sample of a small model, in full batches', () => {
    // mnist-mlp on mnist's test split; gpt-nano on 256 held-out windows of 64 characters.
    expect(evaluationPlan(2_000, 101_770)).toEqual({ maxSamples: 2_000, batchSize: DEFAULT_EVAL_BATCH_SIZE });
    expect(evaluationPlan(256, 68_000, 64)).toEqual({ maxSamples: 256, batchSize: 68 });
  });

  it('bounds a large model’s work: fewer samples (never under the minimum), smaller batches', () => {
    // gpt-mini: 10.7 M parameters × 64 positions a window.
    const plan = evaluationPlan(256, 10_700_000, 64);
    expect(plan.maxSamples).toBe(MIN_EVAL_SAMPLES);
    expect(plan.batchSize).toBe(1);
    // In between: the budget decides.
    const mid = evaluationPlan(10_000, 1_000_000, 64);
    expect(mid.maxSamples).toBe(Math.floor(EVAL_MULTIPLY_ADDS / 64e6));
    expect(mid.batchSize).toBe(Math.floor(EVAL_BATCH_MULTIPLY_ADDS / 64e6));
    // Never more than there are.
    expect(evaluationPlan(5, 10_700_000, 64).maxSamples).toBe(5);
  });
});

describe('evaluateParameters', () => {
  it('computes accuracy and cross-entropy on softmax outputs', async () => {
    const result = await evaluateParameters(tiny('softmax'), identity, tinySet);
    expect(result.accuracy).toBeCloseTo(2 / 3, 12);
    expect(result.loss).toBeCloseTo(tinyLoss, 5);
    expect(result.durationMs).toBeGreaterThan(0);
  });

  it('applies softmax itself to a model that ends in logits', async () => {
    const result = await evaluateParameters(tiny('linear'), identity, tinySet);
    expect(result.accuracy).toBeCloseTo(2 / 3, 12);
    expect(result.loss).toBeCloseTo(tinyLoss, 5);
  });

  it('gives the same answer whatever the batch size', async () => {
    const one = await evaluateParameters(tiny('softmax'), identity, tinySet, { batchSize: 1 });
    const two = await evaluateParameters(tiny('softmax'), identity, tinySet, { batchSize: 2 });
    expect(one.accuracy).toBe(two.accuracy);
    expect(one.loss).toBeCloseTo(two.loss, 6);
  });

  it('scores only the first maxSamples samples when told to', async () => {
    // The first two are both right; the third, which it leaves out, is wrong.
    const two = await evaluateParameters(tiny('softmax'), identity, tinySet, { maxSamples: 2 });
    expect(two.accuracy).toBe(1);
    expect(two.loss).toBeCloseTo(Math.log1p(Math.exp(-1)), 5);
  });

  it('refuses a vector that does not fit, a label out of range and an inconsistent test set', async () => {
    await expect(evaluateParameters(tiny('softmax'), new Float32Array(5), tinySet)).rejects.toThrow(
      RangeError,
    );
    await expect(
      evaluateParameters(tiny('softmax'), identity, { ...tinySet, y: new Int32Array([0, 2, 1]) }),
    ).rejects.toThrow(/label 2/);
    await expect(evaluateParameters(tiny('softmax'), identity, { ...tinySet, n: 4 })).rejects.toThrow(
      RangeError,
    );
  });

  it('leaves no tensors behind, also when it fails', async () => {
    await ensureCpuBackend();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) await evaluateParameters(tiny('linear'), identity, tinySet, { batchSize: 2 });
    await evaluateParameters(tiny('softmax'), identity, { ...tinySet, y: new Int32Array([0, 5, 1]) }).catch(
      () => undefined,
    );
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('acceptance: a checkpoint evaluates to the accuracy its model reports itself', () => {
  it('trains the MNIST MLP in Node, checkpoints its parameters, and evaluates them within ±0.1 pp', async () => {
    const dataDir = tempDir();
    const registry = new DatasetRegistry(dataDir);
    const mnist = await registry.ensureBuiltin('mnist');
    const train = registry.readSamples('mnist', 'train', 0, mnist.trainSize);
    const test = registry.readSamples('mnist', 'test', 0, mnist.testSize);
    expect([train.n, test.n]).toEqual([8_000, 2_000]);
    const dataset = { featureShape: mnist.featureShape, numClasses: mnist.numClasses };

    const spec = { kind: 'preset', preset: 'mnist-mlp' } as const;
    const topology = topologyFor(spec, dataset);
    const model = await buildModel(topology);
    const optimizer = tf.train.adam(0.001);
    const [trainX, trainY, testX, testY] = [
      tf.tensor(train.x, [train.n, ...train.featureShape]),
      tf.oneHot(tf.tensor1d(train.y, 'int32'), dataset.numClasses),
      tf.tensor(test.x, [test.n, ...test.featureShape]),
      tf.oneHot(tf.tensor1d(test.y, 'int32'), dataset.numClasses),
    ];
    try {
      setFlatWeights(model, await initialParameters(spec, dataset, 1));
      model.compile({ optimizer, loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
      await model.fit(trainX, trainY, { epochs: 1, batchSize: 32, shuffle: true, verbose: 0 });

      const [ownLoss, ownAccuracy] = (model.evaluate(testX, testY, { batchSize: 500 }) as tf.Scalar[]).map(
        (t) => {
          const v = t.dataSync()[0] as number;
          t.dispose();
          return v;
        },
      ) as [number, number];
      expect(ownAccuracy).toBeGreaterThan(0.85);

      const frame = encodeFp32Frame({
        jobId: 'acceptance',
        senderId: 'coordinator',
        round: 1,
        values: getFlatWeights(model),
      });
      const written = await writeCheckpointFile(dataDir, 'acceptance', 1, frame);
      const read = await readCheckpointFile(written.path, { jobId: 'acceptance' });
      if (!read.ok) throw new Error(read.message);

      const memoryBefore = tf.memory().numTensors;
      const result = await evaluateParameters(topology, read.values, test, { batchSize: 256 });
      expect(tf.memory().numTensors).toBe(memoryBefore);
      // Teeth: the same path on the untrained parameters is far off, so the match above is not a constant.
      const untrained = await evaluateParameters(topology, await initialParameters(spec, dataset, 1), test);
      expect(untrained.accuracy).toBeLessThan(0.5);
      expect(Math.abs(result.accuracy - ownAccuracy) * 100).toBeLessThanOrEqual(0.1);
      expect(result.loss).toBeCloseTo(ownLoss, 3);
    } finally {
      tf.dispose([trainX, trainY, testX, testY]);
      model.dispose();
      optimizer.dispose();
    }
  }, 120_000);
});
