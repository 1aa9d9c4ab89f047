/**
 * Data and tolerances shared by the kernels' unit and browser tests: the sizes every kernel is
 * run at, edge values sprinkled into random vectors, and per-kernel tolerance functions.
 */
import { mulberry32 as createRng, randomVector } from '@tabswarm/core';
import { F32_MIN_NORMAL } from './compare.ts';
import { OPTIMIZER_RELATIVE_TOLERANCE, adamParams, sgdMomentumParams } from './optimizer-reference.ts';
import type { AdamConfig, SgdMomentumConfig } from './optimizer-reference.ts';

/** One element, around a workgroup (256), past the 65,536 a 1-D grid of 256 cannot reach in one row, and a million and three. */
export const TEST_SIZES = [1, 255, 256, 257, 65_537, 1_000_003] as const;

/** Values that break naive kernels: NaN, ±Inf, signed zeros, the f32 extremes, subnormals. */
export const EDGE_VALUES: readonly number[] = [
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  0,
  -0,
  3.4e38,
  -3.4e38,
  1e30,
  -1e-30,
  1e-40,
  -1.4e-45,
  F32_MIN_NORMAL,
];

/** The finite ones among EDGE_VALUES. */
export const FINITE_EDGE_VALUES = EDGE_VALUES.filter((v) => Number.isFinite(v));

/** Overwrites every `every`-th element (from `offset`) with the edge values in turn. */
export function sprinkle(v: Float32Array, values: readonly number[], every = 7, offset = 3): Float32Array {
  for (let i = offset, j = 0; i < v.length; i += every, j++) v[i] = values[j % values.length] as number;
  return v;
}

export function vectors(seed: number, count: number, length: number, scale = 1): Float32Array[] {
  const rng = createRng(seed);
  return Array.from({ length: count }, () => randomVector(rng, length, scale));
}

/** Tolerance of one momentum step's outputs, from the magnitudes of its terms. */
export function sgdMomentumTolerance(
  { param, grad, accumulation }: Readonly<Record<'param' | 'grad' | 'accumulation', Float32Array>>,
  config: SgdMomentumConfig,
): { param: (i: number) => number; accumulation: (i: number) => number } {
  const { negLr, momentum } = sgdMomentumParams(config);
  const acc = (i: number) => Math.abs(momentum * (accumulation[i] as number)) + Math.abs(grad[i] as number);
  return {
    accumulation: (i) => OPTIMIZER_RELATIVE_TOLERANCE * acc(i) + F32_MIN_NORMAL,
    param: (i) =>
      OPTIMIZER_RELATIVE_TOLERANCE *
        (Math.abs(param[i] as number) +
          Math.abs(negLr) * (1 + Math.abs(momentum)) * (acc(i) + Math.abs(grad[i] as number))) +
      F32_MIN_NORMAL,
  };
}

/** Tolerance of one Adam step's outputs (inputs as before the step). */
export function adamTolerance(
  { param, grad, m, v }: Readonly<Record<'param' | 'grad' | 'm' | 'v', Float32Array>>,
  config: AdamConfig,
  step: number,
): { param: (i: number) => number; m: (i: number) => number; v: (i: number) => number } {
  const p = adamParams(config, step);
  const rel = OPTIMIZER_RELATIVE_TOLERANCE;
  const mTerms = (i: number) =>
    Math.abs((m[i] as number) * p.beta1) + Math.abs((grad[i] as number) * p.oneMinusBeta1);
  const vTerms = (i: number) =>
    Math.abs((v[i] as number) * p.beta2) + (grad[i] as number) ** 2 * p.oneMinusBeta2;
  return {
    m: (i) => rel * mTerms(i) + F32_MIN_NORMAL,
    v: (i) => rel * vTerms(i) + F32_MIN_NORMAL,
    param: (i) => {
      // |update| ≤ lr · |m̂| / (sqrt(v̂) + ε); division and sqrt may each be off by 2.5 ulp.
      const mHat = mTerms(i) / p.biasCorrection1;
      const vHat = vTerms(i) / p.biasCorrection2;
      const update = (Math.abs(p.negLr) * mHat) / (Math.sqrt(vHat) + p.epsilon);
      const x = Math.abs(param[i] as number) * (1 + Math.abs(p.lrWeightDecay));
      return rel * (x + 4 * update) + F32_MIN_NORMAL;
    },
  };
}

/** What a passing mix self-test reports on `path` (for toMatchObject). */
export function passingMixSelfTest(path: 'webgpu' | 'reference', elements: number) {
  return { kernel: 'mix', passed: true, path, elements, error: null } as const;
}
