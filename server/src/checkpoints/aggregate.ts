/**
 * Checkpoint maths: which uploaded parameter vectors are accepted, and their weighted mean. Pure
 * functions over Float32Arrays; the orchestration decides who is asked and what to do with a refusal.
 */

export const CONTRIBUTION_REJECTIONS = ['LENGTH', 'NON_FINITE', 'NORM'] as const;
export type ContributionRejection = (typeof CONTRIBUTION_REJECTIONS)[number];

export interface ValidationLimits {
  readonly expectedLength: number;
  /** L2 norm of the previous checkpoint; null (or 0) for the first one, which skips the norm test. */
  readonly previousNorm: number | null;
  /** Accept norms within [previousNorm / ratio, previousNorm × ratio]. */
  readonly maxNormRatio: number;
}

export type ValidationResult =
  | { readonly ok: true; readonly norm: number }
  | { readonly ok: false; readonly reason: ContributionRejection; readonly message: string };

/** L2 norm, accumulated in float64 so a 10⁶-entry vector does not lose precision. */
export function l2Norm(values: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    sum += v * v;
  }
  return Math.sqrt(sum);
}

/** Checks one upload: its length, that every entry is finite, and its norm against the previous checkpoint's. */
export function validateContribution(values: Float32Array, limits: ValidationLimits): ValidationResult {
  if (values.length !== limits.expectedLength) {
    return {
      ok: false,
      reason: 'LENGTH',
      message: `expected ${limits.expectedLength} parameters, got ${values.length}`,
    };
  }
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (!Number.isFinite(v)) {
      return { ok: false, reason: 'NON_FINITE', message: `parameter ${i} is ${v}` };
    }
    sum += v * v;
  }
  const norm = Math.sqrt(sum);
  const previous = limits.previousNorm;
  if (previous !== null && previous > 0) {
    const ratio = norm / previous;
    if (ratio > limits.maxNormRatio || ratio * limits.maxNormRatio < 1) {
      return {
        ok: false,
        reason: 'NORM',
        message: `norm ${norm.toPrecision(4)} is ${ratio.toPrecision(3)}× the previous checkpoint's ${previous.toPrecision(4)}; the limit is a factor of ${limits.maxNormRatio}`,
      };
    }
  }
  return { ok: true, norm };
}

export interface Contribution {
  readonly values: Float32Array;
  /** Relative weight, e.g. samples seen; must be finite and positive. */
  readonly weight: number;
}

/**
 * The weighted mean of accepted contributions, accumulated in float64 and rounded once to fp32.
 * Throws a RangeError on programmer error (nothing to average, lengths differ, a bad weight).
 */
export function averageContributions(contributions: readonly Contribution[]): Float32Array {
  const first = contributions[0];
  if (first === undefined) throw new RangeError('nothing to average');
  const length = first.values.length;
  let totalWeight = 0;
  for (const c of contributions) {
    if (c.values.length !== length) {
      throw new RangeError(`contributions differ in length: ${length} and ${c.values.length}`);
    }
    if (!Number.isFinite(c.weight) || c.weight <= 0) {
      throw new RangeError(`contribution weight must be finite and positive, got ${c.weight}`);
    }
    totalWeight += c.weight;
  }
  const sum = new Float64Array(length);
  for (const { values, weight } of contributions) {
    const w = weight / totalWeight;
    for (let i = 0; i < length; i++) sum[i] = (sum[i] as number) + w * (values[i] as number);
  }
  return Float32Array.from(sum);
}
