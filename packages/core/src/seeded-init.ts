/**
 * A job's round-0 parameters: each weight drawn from its layer's tfjs initialiser config
 * (VarianceScaling and its Glorot/He/LeCun forms, uniform/normal/truncated-normal, zeros, ones,
 * constant) with the one seeded generator, seeded per (job seed, weight index), so the same spec,
 * dataset and seed give the same vector on any backend and any machine. Uniform draws use only
 * integer arithmetic, multiplication and Math.sqrt, which every engine computes identically;
 * normal draws also use Math.log and Math.cos.
 */
import { CodedError, type ModelSpec } from '@tabswarm/protocol';
import * as tf from '@tensorflow/tfjs';
import { buildModel, layoutOf, topologyFor, type DatasetShape } from './model.ts';
import { mix32, mulberry32 } from './random.ts';

/** An initialiser as a tfjs layer's getConfig() serialises it: `{ className, config }`. */
export interface InitializerConfig {
  readonly className: string;
  readonly config: Readonly<Record<string, unknown>>;
}

export class InitializerError extends CodedError<'UNSUPPORTED_INITIALIZER'> {
  constructor(message: string) {
    super('UNSUPPORTED_INITIALIZER', message, 'InitializerError');
  }
}

/** Uniform numbers in [0, 1), one independent stream per (seed, stream). */
export function seededStream(seed: number, stream: number): () => number {
  return mulberry32(mix32(mix32(seed) ^ mix32(Math.imul(stream + 1, 0x9e3779b9))));
}

/** Keras/tfjs fan-in and fan-out of a weight shape (channels-last convolution kernels). */
export function computeFans(shape: readonly number[]): [number, number] {
  if (shape.length === 2) return [shape[0] as number, shape[1] as number];
  if (shape.length >= 3 && shape.length <= 5) {
    const receptiveField = shape.slice(0, -2).reduce((a, b) => a * b, 1);
    return [(shape.at(-2) as number) * receptiveField, (shape.at(-1) as number) * receptiveField];
  }
  const root = Math.sqrt(shape.reduce((a, b) => a * b, 1));
  return [root, root];
}

const numberOr = (value: unknown, fallback: number): number =>
  typeof value === 'number' && Number.isFinite(value) ? value : fallback;

function normalSampler(random: () => number): () => number {
  // Box–Muller; 1 - u keeps the logarithm's argument in (0, 1].
  return () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

function fill(size: number, draw: () => number): Float32Array {
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = draw();
  return out;
}

function truncatedNormal(size: number, mean: number, stddev: number, random: () => number): Float32Array {
  const normal = normalSampler(random);
  return fill(size, () => {
    // Redraw beyond two standard deviations, as tf.truncatedNormal does.
    for (;;) {
      const z = normal();
      if (Math.abs(z) <= 2) return mean + stddev * z;
    }
  });
}

/**
 * Values for one weight. `stream` separates the weights of one model (use its index in the
 * layout). Throws an InitializerError for an initialiser it does not know (Orthogonal, Identity).
 */
export function initializeWeight(
  init: InitializerConfig,
  shape: readonly number[],
  seed: number,
  stream: number,
): Float32Array {
  const size = shape.reduce((a, b) => a * b, 1);
  const random = seededStream(seed, stream);
  const c = init.config;
  switch (init.className) {
    case 'Zeros':
      return new Float32Array(size);
    case 'Ones':
      return new Float32Array(size).fill(1);
    case 'Constant':
      return new Float32Array(size).fill(numberOr(c.value, 0));
    case 'RandomUniform': {
      const min = numberOr(c.minval, -0.05);
      const max = numberOr(c.maxval, 0.05);
      return fill(size, () => min + (max - min) * random());
    }
    case 'RandomNormal': {
      const mean = numberOr(c.mean, 0);
      const stddev = numberOr(c.stddev, 0.05);
      const normal = normalSampler(random);
      return fill(size, () => mean + stddev * normal());
    }
    case 'TruncatedNormal':
      return truncatedNormal(size, numberOr(c.mean, 0), numberOr(c.stddev, 0.05), random);
    case 'VarianceScaling': {
      const [fanIn, fanOut] = computeFans(shape);
      const mode = c.mode ?? 'fanIn';
      const fan =
        mode === 'fanIn' || mode === 'fan_in'
          ? fanIn
          : mode === 'fanOut' || mode === 'fan_out'
            ? fanOut
            : (fanIn + fanOut) / 2;
      const scale = numberOr(c.scale, 1) / Math.max(1, fan);
      if (c.distribution === 'uniform') {
        const limit = Math.sqrt(3 * scale);
        return fill(size, () => limit * (2 * random() - 1));
      }
      // tfjs treats 'normal' as a truncated normal with stddev √scale.
      return truncatedNormal(size, 0, Math.sqrt(scale), random);
    }
    default:
      throw new InitializerError(`seeded initialisation does not support the ${init.className} initialiser`);
  }
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
