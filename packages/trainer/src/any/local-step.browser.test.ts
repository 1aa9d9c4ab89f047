// One local step of the trainer (tfjs gradients + the kernel library's optimizer on the flat vector)
// against tfjs's own model.trainOnBatch with the same optimizer, on WebGPU (the WGSL kernels) and
// on the CPU backend (the TypeScript references).
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-webgpu';
import { presetTopology, type JobSpecInput } from '@tabswarm/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mulberry32 as seededRandom } from '@tabswarm/core';
import { startBackend } from './backend.ts';
import { LocalTrainer } from './local-trainer.ts';
import { jobSpec } from './test-support.ts';
import type { DatasetShape } from './types.ts';

const DATASET: DatasetShape = { featureShape: [6, 6, 1], numClasses: 5 };
const BATCH = 16;
const TOLERANCE = 1e-4;

const OPTIMIZERS: { name: string; training: JobSpecInput['training']; reference: () => tf.Optimizer }[] = [
  {
    name: 'sgd',
    training: { optimizer: { type: 'sgd' }, learningRate: 0.1 },
    reference: () => tf.train.sgd(0.1),
  },
  {
    name: 'momentum',
    training: { optimizer: { type: 'momentum', momentum: 0.9, nesterov: false }, learningRate: 0.05 },
    reference: () => tf.train.momentum(0.05, 0.9, false),
  },
  {
    name: 'nesterov momentum',
    training: { optimizer: { type: 'momentum', momentum: 0.8, nesterov: true }, learningRate: 0.05 },
    reference: () => tf.train.momentum(0.05, 0.8, true),
  },
  {
    name: 'adam',
    training: { optimizer: { type: 'adam', beta1: 0.9, beta2: 0.999, epsilon: 1e-7 }, learningRate: 0.01 },
    reference: () => tf.train.adam(0.01, 0.9, 0.999, 1e-7),
  },
];

function fixedBatch(seed: number): { x: tf.Tensor; y: tf.Tensor1D } {
  const random = seededRandom(seed);
  const features = Float32Array.from({ length: BATCH * 36 }, () => random());
  const labels = Float32Array.from({ length: BATCH }, (_, i) => (i * 3 + seed) % DATASET.numClasses);
  return { x: tf.tensor(features, [BATCH, 6, 6, 1]), y: tf.tensor1d(labels) };
}

async function referenceModel(trainer: LocalTrainer, optimizer: tf.Optimizer): Promise<tf.LayersModel> {
  const topology = presetTopology('mnist-mlp', {
    inputShape: DATASET.featureShape,
    numClasses: DATASET.numClasses,
  });
  const model = await tf.models.modelFromJSON({ modelTopology: structuredClone(topology) } as never);
  const values = await trainer.flat.read();
  const weights = trainer.flat.layout.entries.map((e) =>
    tf.tensor(values.subarray(e.offset, e.offset + e.size), [...e.shape]),
  );
  model.setWeights(weights);
  tf.dispose(weights);
  model.compile({ optimizer, loss: 'sparseCategoricalCrossentropy' });
  return model;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs((a[i] as number) - (b[i] as number)));
  return max;
}

async function flatWeights(model: tf.LayersModel): Promise<Float32Array> {
  const parts = await Promise.all(model.getWeights().map((w) => w.data<'float32'>()));
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

for (const backend of ['webgpu', 'cpu'] as const) {
  describe(`a local step on ${backend} matches model.trainOnBatch`, () => {
    let active = '';
    beforeAll(async () => {
      if (backend === 'webgpu') active = (await startBackend()).backend;
      else active = (await tf.setBackend('cpu')) ? 'cpu' : '';
    });
    afterAll(() => tf.disposeVariables());

    for (const { name, training, reference } of OPTIMIZERS) {
      it(name, async ({ skip }) => {
        if (active !== backend) skip(`${backend} is not available here`);
        const trainer = await LocalTrainer.create('job-test', jobSpec({ training }), DATASET);
        const model = await referenceModel(trainer, reference());
        try {
          // Three steps on different batches: the optimizer state carries over as tfjs's does.
          for (let step = 0; step < 3; step++) {
            const { x, y } = fixedBatch(step + 1);
            const lossTensor = trainer.step(x, y);
            const ours = (await lossTensor.data())[0] as number;
            lossTensor.dispose();
            const theirs = (await model.trainOnBatch(x, y)) as number;
            tf.dispose([x, y]);
            expect(Math.abs(ours - theirs), `loss of step ${step + 1}: ${ours} vs ${theirs}`).toBeLessThan(
              TOLERANCE,
            );
            const diff = maxAbsDiff(await trainer.flat.read(), await flatWeights(model));
            expect(diff, `parameters after step ${step + 1}`).toBeLessThan(TOLERANCE);
          }
          // The variables the model computes with are the flat vector's values.
          const viaModel = await flatWeights(trainer.flat.model);
          expect(maxAbsDiff(viaModel, await trainer.flat.read())).toBe(0);
        } finally {
          trainer.dispose();
          model.optimizer.dispose();
          model.dispose();
        }
      });
    }

    it('leaves no tensor behind', async ({ skip }) => {
      if (active !== backend) skip(`${backend} is not available here`);
      const before = tf.memory().numTensors;
      for (const { training } of OPTIMIZERS) {
        const trainer = await LocalTrainer.create('job-test', jobSpec({ training }), DATASET);
        for (let step = 0; step < 3; step++) {
          const { x, y } = fixedBatch(step + 1);
          trainer.step(x, y).dispose();
          tf.dispose([x, y]);
        }
        await trainer.calibrate(1);
        trainer.dispose();
      }
      expect(tf.memory().numTensors).toBe(before);
    });
  });
}
