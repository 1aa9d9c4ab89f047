/**
 * Seeded weight initialisation that follows tfjs-layers' initialiser configs (VarianceScaling and
 * its Glorot/He/LeCun forms, uniform/normal/truncated-normal, zeros, ones, constant) but draws from
 * our own counter-based generator, so a job's round-0 parameters are a function of its seed alone.
 * Uniform draws use only integer arithmetic, multiplication and Math.sqrt, which every JavaScript
 * engine computes identically; normal draws also use Math.log and Math.cos.
 */

/** An initialiser as a tfjs layer's getConfig() serialises it: `{ className, config }`. */
export interface InitializerConfig {
  readonly className: string;
  readonly config: Readonly<Record<string, unknown>>;
}

export class InitializerError extends Error {
  readonly code = 'UNSUPPORTED_INITIALIZER';
  constructor(message: string) {
    super(message);
    this.name = 'InitializerError';
  }
}

/** murmur3's 32-bit finaliser: a bijection that spreads every input bit over the output. */
function mix32(x: number): number {
  let z = x | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** Uniform numbers in [0, 1) from a Weyl sequence passed through mix32; one stream per (seed, stream). */
export function seededStream(seed: number, stream: number): () => number {
  let state = mix32(mix32(seed) ^ mix32(Math.imul(stream + 1, 0x9e3779b9)));
  return () => {
    state = (state + 0x9e3779b9) | 0;
    return mix32(state) / 0x100000000;
  };
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
