/**
 * The backends benchmark page: one training step of each preset — the trainer's own LocalTrainer
 * step (tfjs loss and gradients, the kernel library's optimizer on the flat vector), on the model
 * the swarm builds — on each backend in turn, started the way the volunteer starts it
 * (startBackend, with the other backends skipped). Driven by backends-part.ts.
 */
import * as tf from '@tensorflow/tfjs';
import { isGptPreset, jobSpecSchema, type Backend } from '@tabswarm/protocol';
import { mulberry32 } from '@tabswarm/core';
import { BACKEND_ORDER, LocalTrainer, startBackend, type BackendChoice } from '@tabswarm/trainer';
import { WASM_FILES } from '../../../../trainer/src/worker/wasm-files.ts';
import type { BackendStepRow, BackendsApi, BackendsOptions, BackendsResult } from '../backends-api.ts';

const MNIST = { featureShape: [28, 28, 1], numClasses: 10 } as const;
/** The built-in moby-dick corpus's shape: windows of 64 characters, the next one at each position. */
const TEXT = { featureShape: [64], labelShape: [64], numClasses: 83 } as const;

/** Forces `backend`: every other one is skipped, so a failure to start is reported, not replaced. */
function only(backend: Backend): BackendChoice {
  const skip: Partial<Record<Backend, string>> = {};
  for (const other of BACKEND_ORDER) if (other !== backend) skip[other] = 'benchmarking another backend';
  return { skip, wasmPaths: WASM_FILES };
}

/** A batch of random inputs and labels of the preset's dataset shape. */
function randomBatch(text: boolean, n: number): { x: tf.Tensor; y: tf.Tensor } {
  const random = mulberry32(7);
  if (text) {
    const [t] = TEXT.featureShape;
    const token = (): number => Math.floor(random() * TEXT.numClasses);
    return {
      x: tf.tensor(Float32Array.from({ length: n * t }, token), [n, t]),
      y: tf.tensor(Float32Array.from({ length: n * t }, token), [n, ...TEXT.labelShape]),
    };
  }
  return {
    x: tf.tensor(
      Float32Array.from({ length: n * 784 }, () => random()),
      [n, ...MNIST.featureShape],
    ),
    y: tf.tensor1d(Float32Array.from({ length: n }, () => Math.floor(random() * 10))),
  };
}

/** The batch a preset's step is timed on: windows of text for the language models. */
const batchOf = (preset: BackendStepRow['preset'], options: BackendsOptions): number =>
  isGptPreset(preset) ? options.textBatchSize : options.batchSize;

async function stepTimes(
  preset: BackendStepRow['preset'],
  options: BackendsOptions,
): Promise<{ parameters: number; batchSize: number; stepMs: number[] }> {
  const text = isGptPreset(preset);
  const n = batchOf(preset, options);
  // The training settings of the swarm's mnist-mlp job (packages/virtual mnistMlpJob): Adam, lr
  // 0.003; gpt-nano's learning rate in the training part (0.005).
  const spec = jobSpecSchema.parse({
    name: `bench-${preset}`,
    model: { kind: 'preset', preset },
    dataset: text ? 'moby-dick' : 'mnist',
    training: {
      optimizer: { type: 'adam' },
      learningRate: text ? 0.005 : 0.003,
      batchSize: n,
      localSteps: 1,
    },
  });
  const trainer = await LocalTrainer.create(`bench-${preset}`, spec, text ? TEXT : MNIST);
  const { x, y } = randomBatch(text, n);
  const stepMs: number[] = [];
  try {
    for (let s = 0; s < options.warmupSteps + options.steps; s++) {
      const started = performance.now();
      const loss = trainer.step(x, y);
      // Reading the loss waits for the device: the step is finished, not just queued.
      const value = (await loss.data())[0] ?? NaN;
      loss.dispose();
      if (!Number.isFinite(value)) throw new Error(`${preset}: the loss is not finite`);
      if (s >= options.warmupSteps) stepMs.push(performance.now() - started);
    }
    return { parameters: trainer.flat.size, batchSize: n, stepMs };
  } finally {
    tf.dispose([x, y]);
    trainer.dispose();
  }
}

const api: BackendsApi = {
  async run(options): Promise<BackendsResult> {
    const rows: BackendStepRow[] = [];
    const unavailable: { backend: Backend; reason: string }[] = [];
    let adapter: BackendsResult['adapter'] = null;
    let wasm: BackendsResult['wasm'] = null;
    for (const backend of options.backends) {
      let info;
      try {
        info = await startBackend(only(backend));
      } catch (error) {
        unavailable.push({ backend, reason: error instanceof Error ? error.message : String(error) });
        continue;
      }
      adapter ??= info.adapter;
      if (backend === 'wasm') {
        wasm = {
          simd: tf.env().getBool('WASM_HAS_SIMD_SUPPORT'),
          threads: tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT'),
        };
      }
      for (const preset of options.presets) {
        try {
          const { parameters, batchSize, stepMs } = await stepTimes(preset, options);
          rows.push({ backend, preset, parameters, batchSize, stepMs, error: null });
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          rows.push({
            backend,
            preset,
            parameters: 0,
            batchSize: batchOf(preset, options),
            stepMs: [],
            error: message,
          });
        }
      }
    }
    return { rows, unavailable, adapter, wasm };
  },
};
window.backendsBench = api;
