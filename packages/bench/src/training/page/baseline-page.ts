/**
 * The one-tab baseline: what a user would do instead of tabswarm. TensorFlow.js `model.fit` in one
 * tab, as its documentation shows it (batchSize, epochs, shuffle), on the job's model built from
 * the same initial weights as the swarm (the coordinator's checkpoint 0), the same training split
 * from the coordinator (MNIST images, or text windows with a next-token label at each position),
 * and the same optimizer, learning rate and batch size.
 */
import * as tf from '@tensorflow/tfjs';
import { buildJobModel, layoutOf, setFlatWeights } from '@tabswarm/core';
import { decodeFrame, decodeShard, frameValues } from '@tabswarm/protocol';
import { startBackend } from '@tabswarm/trainer';
import { WASM_FILES } from '../../../../trainer/src/worker/wasm-files.ts';
import type { BaselineConfig, BaselineResult, BaselineWindow } from './baseline-types.ts';

const scope = window as unknown as BaselineWindow;
const snapshots: Float32Array[] = [];

/** A copy of the weights in layout order, read without blocking the GPU queue (dataSync would). */
async function flatWeights(model: tf.LayersModel): Promise<Float32Array> {
  const layout = layoutOf(model);
  const flat = new Float32Array(layout.total);
  const values = await Promise.all(model.weights.map((w) => w.read().data()));
  values.forEach((v, i) => flat.set(v, layout.entries[i]?.offset ?? 0));
  return flat;
}

async function bytes(url: string): Promise<Uint8Array> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

function optimizerFor(spec: BaselineConfig['spec']): tf.Optimizer {
  const { optimizer, learningRate } = spec.training;
  switch (optimizer.type) {
    case 'sgd':
      return tf.train.sgd(learningRate);
    case 'momentum':
      return tf.train.momentum(learningRate, optimizer.momentum, optimizer.nesterov);
    case 'adam':
      return tf.train.adam(learningRate, optimizer.beta1, optimizer.beta2, optimizer.epsilon);
  }
}

async function runBaseline(config: BaselineConfig): Promise<BaselineResult> {
  // The same backend choice as the trainer's worker (or the pinned one): same code, same order.
  const skip =
    config.backend === null
      ? {}
      : Object.fromEntries(
          (['webgpu', 'webgl', 'wasm', 'cpu'] as const)
            .filter((b) => b !== config.backend)
            .map((b) => [b, 'pinned by the bench']),
        );
  // The .wasm files as the volunteer's worker serves them: emitted into this page's build.
  const backend = await startBackend({ skip, wasmPaths: WASM_FILES });
  const mark = scope.benchMark;
  if (mark === undefined) throw new Error('the bench did not expose benchMark');
  await mark('start');

  // Data and model inside the window, as the swarm's volunteers fetch shards and build the model inside theirs.
  const train = decodeShard(
    await bytes(`/api/datasets/${config.spec.dataset}/samples?split=train&start=0&end=${config.trainSize}`),
  );
  const frame = decodeFrame(await bytes(`/api/jobs/${config.jobId}/checkpoints/0`));
  if (!frame.ok) throw new Error(`checkpoint 0: ${frame.message}`);
  const model = await buildJobModel(config.spec.model, {
    featureShape: config.featureShape,
    numClasses: config.numClasses,
    ...(config.labelShape !== undefined && { labelShape: config.labelShape }),
  });
  setFlatWeights(model, frameValues(frame));
  model.compile({
    optimizer: optimizerFor(config.spec),
    loss: 'sparseCategoricalCrossentropy',
  });
  const x = tf.tensor(train.x, [train.count, ...config.featureShape], 'float32');
  // Sparse labels as Keras takes them: [n] for one per sample, [n, T, 1] for one per position.
  const labelShape = config.labelShape === undefined ? [] : [...config.labelShape, 1];
  const y = tf.tensor(Float32Array.from(train.y), [train.count, ...labelShape], 'float32');

  const batchSize = config.spec.training.batchSize;
  const epochs = Math.ceil(config.sampleBudget / train.count);
  const snapshotSamples: number[] = [];
  let samples = 0;
  // Snapshots need a batch callback, and a batch callback makes tfjs read the loss back after every
  // batch; without snapshots, fit runs exactly as documented, with no callback at all.
  const history = await model.fit(x, y, {
    batchSize,
    epochs,
    shuffle: true,
    verbose: 0,
    ...(config.snapshotEvery > 0
      ? {
          callbacks: {
            onBatchEnd: async (_batch: number, logs?: tf.Logs) => {
              samples += logs?.size ?? batchSize;
              if (samples % config.snapshotEvery === 0 || samples >= config.sampleBudget) {
                snapshots.push(await flatWeights(model));
                snapshotSamples.push(samples);
              }
              // Early stopping as tfjs documents it: the budget may end inside an epoch.
              if (samples >= config.sampleBudget) model.stopTraining = true;
            },
          },
        }
      : {}),
  });
  if (config.snapshotEvery <= 0) samples = epochs * train.count;
  const losses = history.history.loss ?? [];
  const finalLoss = (losses.at(-1) as number | undefined) ?? null;
  await mark('end');
  tf.dispose([x, y]);
  model.dispose();
  return {
    backend: backend.backend,
    fallbackReason: backend.fallbackReason,
    samples,
    snapshotSamples,
    finalLoss,
  };
}

scope.runBaseline = runBaseline;
scope.baselineSnapshot = (index: number): string => {
  const values = snapshots[index];
  if (values === undefined) throw new Error(`no snapshot ${index}`);
  const view = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  let binary = '';
  for (let i = 0; i < view.length; i += 0x8000) {
    binary += String.fromCharCode(...view.subarray(i, i + 0x8000));
  }
  return btoa(binary);
};
