/**
 * TF.js models on the coordinator: a job's topology, a model built from it on the CPU backend, and
 * the flat parameter vector (the order of `model.weights`) that checkpoints and frames carry.
 */
import * as tf from '@tensorflow/tfjs';
import { layoutFromShapes, presetTopology, type ModelSpec, type ParamLayout } from '@tabswarm/protocol';
import { initializeWeight, InitializerError, type InitializerConfig } from './seeded-init.ts';

/** What a model needs to know about its dataset. */
export interface DatasetShape {
  readonly featureShape: readonly number[];
  readonly numClasses: number;
}

/** A TF.js layers `modelTopology` document. */
export type Topology = Record<string, unknown>;

/** The topology a job trains: a preset fitted to the dataset, or the operator's own document. */
export function topologyFor(spec: ModelSpec, dataset: DatasetShape): Topology {
  if (spec.kind === 'preset') {
    return presetTopology(spec.preset, {
      inputShape: dataset.featureShape,
      numClasses: dataset.numClasses,
    });
  }
  return spec.topology;
}

/** The coordinator evaluates on the pure-JS CPU backend; nothing else is available in Node here. */
export async function ensureCpuBackend(): Promise<void> {
  if (tf.getBackend() !== 'cpu') await tf.setBackend('cpu');
  await tf.ready();
}

/** Builds an untrained model. Rejects when tfjs cannot read the topology. Dispose it when done. */
export async function buildModel(topology: Topology): Promise<tf.LayersModel> {
  await ensureCpuBackend();
  // A copy: nothing promises that tfjs's deserialisation leaves its input untouched.
  const config = { modelTopology: structuredClone(topology) };
  // tfjs types the topology as its own JSON type; ours is the same document typed as unknown values.
  return tf.models.modelFromJSON(config as unknown as Parameters<typeof tf.models.modelFromJSON>[0]);
}

/** Why a model cannot train on a dataset, or null when it can. */
export function modelMismatch(model: tf.LayersModel, dataset: DatasetShape): string | null {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) {
    return `the model must have one input and one output, it has ${model.inputs.length} and ${model.outputs.length}`;
  }
  const input = (model.inputs[0] as tf.SymbolicTensor).shape.slice(1);
  const output = (model.outputs[0] as tf.SymbolicTensor).shape.slice(1);
  const want = dataset.featureShape;
  if (input.length !== want.length || input.some((d, i) => d !== null && d !== want[i])) {
    return `the model takes inputs of shape [${input.join(', ')}], the dataset's samples are [${want.join(', ')}]`;
  }
  if (output.length !== 1 || output[0] !== dataset.numClasses) {
    return `the model outputs shape [${output.join(', ')}], the dataset has ${dataset.numClasses} classes`;
  }
  return null;
}

/** The flat layout of a model's weights, named as a model.json weights manifest names them. */
export function layoutOf(model: tf.LayersModel): ParamLayout {
  return layoutFromShapes(model.weights.map((w) => ({ name: w.originalName, shape: w.shape as number[] })));
}

/** A copy of every weight, laid end to end in `model.weights` order. */
export function getFlatWeights(model: tf.LayersModel): Float32Array {
  const layout = layoutOf(model);
  const flat = new Float32Array(layout.total);
  model.weights.forEach((w, i) => {
    const entry = layout.entries[i];
    if (entry !== undefined) flat.set(w.read().dataSync(), entry.offset);
  });
  return flat;
}

/** Writes a flat vector into the model's weights. Throws a RangeError when its length does not fit. */
export function setFlatWeights(model: tf.LayersModel, flat: Float32Array): void {
  const layout = layoutOf(model);
  if (flat.length !== layout.total) {
    throw new RangeError(`the model has ${layout.total} parameters, the vector ${flat.length}`);
  }
  model.weights.forEach((w, i) => {
    const entry = layout.entries[i];
    if (entry === undefined) return;
    // slice, not subarray: the CPU backend keeps the array it is given, and the caller keeps theirs.
    const value = tf.tensor(flat.slice(entry.offset, entry.offset + entry.size), [...entry.shape], 'float32');
    w.write(value);
    value.dispose();
  });
}

const INITIALIZER_KEYS: Readonly<Record<string, string>> = {
  kernel: 'kernelInitializer',
  bias: 'biasInitializer',
  recurrent_kernel: 'recurrentInitializer',
  depthwise_kernel: 'depthwiseInitializer',
  pointwise_kernel: 'pointwiseInitializer',
  gamma: 'gammaInitializer',
  beta: 'betaInitializer',
  moving_mean: 'movingMeanInitializer',
  moving_variance: 'movingVarianceInitializer',
  embeddings: 'embeddingsInitializer',
};

function isInitializerConfig(value: unknown): value is InitializerConfig {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { className?: unknown }).className === 'string' &&
    typeof (value as { config?: unknown }).config === 'object'
  );
}

/** Each weight's initialiser config, keyed by the weight's unique tfjs name. */
function initializersByWeight(
  layers: readonly tf.layers.Layer[],
  into = new Map<string, InitializerConfig>(),
) {
  for (const layer of layers) {
    if (layer instanceof tf.LayersModel) {
      initializersByWeight(layer.layers, into);
      continue;
    }
    const config = layer.getConfig() as Record<string, unknown>;
    for (const weight of layer.weights) {
      const role = weight.originalName.slice(weight.originalName.lastIndexOf('/') + 1);
      const key = INITIALIZER_KEYS[role];
      const init = key === undefined ? undefined : config[key];
      if (!isInitializerConfig(init)) {
        throw new InitializerError(`cannot tell how weight ${weight.originalName} is initialised`);
      }
      into.set(weight.name, init);
    }
  }
  return into;
}

/**
 * Round-0 parameters of a job: each weight drawn from its layer's initialiser with a generator
 * seeded by (seed, weight index), so the same spec, dataset and seed give the same vector anywhere.
 * Throws a PresetError when a preset does not fit the dataset, an InitializerError for an
 * initialiser the seeded path does not support.
 */
export async function initialParameters(
  spec: ModelSpec,
  dataset: DatasetShape,
  seed: number,
): Promise<Float32Array> {
  const model = await buildModel(topologyFor(spec, dataset));
  try {
    const layout = layoutOf(model);
    const inits = initializersByWeight(model.layers);
    const flat = new Float32Array(layout.total);
    model.weights.forEach((w, i) => {
      const entry = layout.entries[i];
      const init = inits.get(w.name);
      if (entry === undefined || init === undefined) {
        throw new InitializerError(`cannot tell how weight ${w.originalName} is initialised`);
      }
      flat.set(initializeWeight(init, entry.shape, seed, i), entry.offset);
    });
    return flat;
  } finally {
    model.dispose();
  }
}
