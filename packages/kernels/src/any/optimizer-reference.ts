/**
 * TypeScript references of shaders/sgd-momentum.wgsl and shaders/adam.wgsl, with the formulas,
 * operation order and f32 rounding of tf.train.momentum and tf.train.adam (tfjs-core 4.22), so
 * that a trainer can check our steps against model.trainOnBatch; also the path without WebGPU.
 */

export interface SgdMomentumConfig {
  readonly learningRate: number;
  /** 0 gives plain SGD (with a zeroed accumulator). */
  readonly momentum: number;
  readonly useNesterov?: boolean;
}

/** tf.train.adam's arguments and defaults, plus AdamW's decoupled weight decay. */
export interface AdamConfig {
  /** Default 0.001, as tf.train.adam. */
  readonly learningRate?: number;
  /** Default 0.9. */
  readonly beta1?: number;
  /** Default 0.999. */
  readonly beta2?: number;
  /** Default 1e-7, tfjs's float32 backend epsilon; added to sqrt(v̂), not inside it. */
  readonly epsilon?: number;
  /** AdamW: p -= lr·wd·p before the Adam update (decoupled, not added to the gradient). Default 0. */
  readonly weightDecay?: number;
}

/** The per-element tolerance of both optimizers: about 16 ulp of the terms' magnitudes. */
export const OPTIMIZER_RELATIVE_TOLERANCE = 2e-6;

/** Uniform values of sgd-momentum.wgsl, rounded to f32 as the shader (and tfjs's scalars) hold them. */
export interface SgdMomentumParams {
  readonly negLr: number;
  readonly momentum: number;
  readonly nesterov: boolean;
}

export interface AdamParams {
  readonly negLr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly oneMinusBeta1: number;
  readonly oneMinusBeta2: number;
  readonly epsilon: number;
  readonly biasCorrection1: number;
  readonly biasCorrection2: number;
  readonly lrWeightDecay: number;
}

const fround = Math.fround;

export function sgdMomentumParams(config: SgdMomentumConfig): SgdMomentumParams {
  const { learningRate, momentum } = config;
  if (!Number.isFinite(learningRate))
    throw new RangeError(`learningRate must be finite, got ${learningRate}`);
  if (!Number.isFinite(momentum)) throw new RangeError(`momentum must be finite, got ${momentum}`);
  return { negLr: fround(-learningRate), momentum: fround(momentum), nesterov: config.useNesterov === true };
}

/** Parameters of Adam step `step` (1 for the first step, as tfjs counts). */
export function adamParams(config: AdamConfig, step: number): AdamParams {
  const learningRate = config.learningRate ?? 0.001;
  const beta1 = config.beta1 ?? 0.9;
  const beta2 = config.beta2 ?? 0.999;
  const epsilon = config.epsilon ?? 1e-7;
  const weightDecay = config.weightDecay ?? 0;
  for (const [name, value] of Object.entries({ learningRate, epsilon, weightDecay })) {
    if (!Number.isFinite(value)) throw new RangeError(`${name} must be finite, got ${value}`);
  }
  for (const [name, value] of Object.entries({ beta1, beta2 })) {
    if (!(value >= 0 && value < 1)) throw new RangeError(`${name} must be in [0, 1), got ${value}`);
  }
  if (!Number.isSafeInteger(step) || step < 1)
    throw new RangeError(`step must be an integer ≥ 1, got ${step}`);
  return {
    negLr: fround(-learningRate),
    beta1: fround(beta1),
    beta2: fround(beta2),
    oneMinusBeta1: fround(1 - beta1),
    oneMinusBeta2: fround(1 - beta2),
    epsilon: fround(epsilon),
    biasCorrection1: fround(1 - tfjsBetaPower(beta1, step)),
    biasCorrection2: fround(1 - tfjsBetaPower(beta2, step)),
    lrWeightDecay: fround(learningRate * weightDecay),
  };
}

const powerCache = new Map<number, { step: number; value: number }>();

/**
 * beta^step as tfjs's Adam keeps it: an f32 variable that starts at beta and is multiplied by
 * beta (in f32) after every step. Cached per beta, so consecutive steps cost O(1).
 */
export function tfjsBetaPower(beta: number, step: number): number {
  const b = fround(beta);
  const cached = powerCache.get(b);
  let from = 1;
  let value = b;
  if (cached !== undefined && cached.step <= step) {
    from = cached.step;
    value = cached.value;
  }
  for (let s = from; s < step; s++) value = fround(value * b);
  powerCache.set(b, { step, value });
  return value;
}

function checkLengths(arrays: Readonly<Record<string, Float32Array>>): number {
  const entries = Object.entries(arrays);
  const n = (entries[0]?.[1] as Float32Array).length;
  for (const [name, a] of entries) {
    if (a.length !== n) throw new RangeError(`${name} has ${a.length} elements, expected ${n}`);
  }
  return n;
}

/** One tf.train.momentum step, in place on `param` and `accumulation`. */
export function sgdMomentumReference(
  param: Float32Array,
  grad: Float32Array,
  accumulation: Float32Array,
  config: SgdMomentumConfig,
): void {
  const n = checkLengths({ param, grad, accumulation });
  const { negLr, momentum, nesterov } = sgdMomentumParams(config);
  for (let i = 0; i < n; i++) {
    const g = grad[i] as number;
    const a = fround(fround(momentum * (accumulation[i] as number)) + g);
    accumulation[i] = a;
    const step = nesterov ? fround(g + fround(a * momentum)) : a;
    param[i] = fround(fround(negLr * step) + (param[i] as number));
  }
}

/** One tf.train.adam step (AdamW with weightDecay > 0), in place on `param`, `m` and `v`. */
export function adamReference(
  param: Float32Array,
  grad: Float32Array,
  m: Float32Array,
  v: Float32Array,
  config: AdamConfig,
  step: number,
): void {
  const n = checkLengths({ param, grad, m, v });
  const p = adamParams(config, step);
  for (let i = 0; i < n; i++) {
    const g = grad[i] as number;
    const m1 = fround(fround((m[i] as number) * p.beta1) + fround(g * p.oneMinusBeta1));
    const v1 = fround(fround((v[i] as number) * p.beta2) + fround(fround(g * g) * p.oneMinusBeta2));
    m[i] = m1;
    v[i] = v1;
    const mHat = fround(m1 / p.biasCorrection1);
    const vHat = fround(v1 / p.biasCorrection2);
    let x = param[i] as number;
    if (p.lrWeightDecay !== 0) x = fround(x - fround(p.lrWeightDecay * x));
    const update = fround(fround(mHat / fround(fround(Math.sqrt(vHat)) + p.epsilon)) * p.negLr);
    param[i] = fround(update + x);
  }
}
