/**
 * Whether a parameter vector from someone else is accepted (length, finite values, one norm-ratio
 * rule) and the weighted mean of accepted ones. The coordinator checks checkpoint and FedAvg
 * uploads with it; a tab checks a gossip partner's frame with it.
 */

export const CONTRIBUTION_REJECTIONS = ['LENGTH', 'NON_FINITE', 'NORM'] as const;
export type ContributionRejection = (typeof CONTRIBUTION_REJECTIONS)[number];

/**
 * The norm-ratio rule. A vector of norm ‖v‖ is accepted against a reference norm r (the previous
 * checkpoint's, the last FedAvg round's, or the receiving tab's own model) and a factor k ≥ 1 when
 *
 *     r is null or ≤ 0 (nothing to compare with yet), or  ‖v‖ ≤ k·r  and  ‖v‖·k ≥ r,
 *
 * i.e. ‖v‖ ∈ [r/k, k·r], both ends included, written with products only so no division rounds
 * near a bound. `upperOnly` drops the lower bound, for a top-k gossip reference that starts sparse
 * and small. A NaN norm is never accepted against a reference.
 */
export interface NormBounds {
  readonly reference: number | null;
  readonly maxRatio: number;
  readonly upperOnly?: boolean;
}

export function normAccepted(norm: number, bounds: NormBounds): boolean {
  const { reference, maxRatio } = bounds;
  if (reference === null || !(reference > 0)) return true;
  return norm <= reference * maxRatio && (bounds.upperOnly === true || norm * maxRatio >= reference);
}

export interface ValidationLimits {
  readonly expectedLength: number;
  /** The reference norm of the rule above; null (or 0) skips the norm test. */
  readonly previousNorm: number | null;
  readonly maxNormRatio: number;
  /** Only the upper bound of the norm rule applies. */
  readonly upperOnly?: boolean;
}

export type ValidationResult =
  | { readonly ok: true; readonly norm: number }
  | { readonly ok: false; readonly reason: ContributionRejection; readonly message: string };

/** What the checks need to know of a vector; a tab may reduce it on the GPU. */
export interface ContributionSummary {
  readonly length: number;
  /** How many entries are NaN or ±Infinity. */
  readonly nonFinite: number;
  readonly norm: number;
}

/** L2 norm, accumulated in float64 so a 10⁶-entry vector does not lose precision. */
export function l2Norm(values: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    sum += v * v;
  }
  return Math.sqrt(sum);
}

/** The acceptance decision from a vector's summary: length, then finite values, then the norm rule. */
export function judgeContribution(summary: ContributionSummary, limits: ValidationLimits): ValidationResult {
  if (summary.length !== limits.expectedLength) {
    return {
      ok: false,
      reason: 'LENGTH',
      message: `expected ${limits.expectedLength} parameters, got ${summary.length}`,
    };
  }
  if (summary.nonFinite > 0) {
    return { ok: false, reason: 'NON_FINITE', message: `${summary.nonFinite} parameters are not finite` };
  }
  const { norm } = summary;
  const reference = limits.previousNorm;
  const bounds = { reference, maxRatio: limits.maxNormRatio, upperOnly: limits.upperOnly === true };
  if (!normAccepted(norm, bounds)) {
    const ratio = reference === null ? Number.NaN : norm / reference;
    return {
      ok: false,
      reason: 'NORM',
      message: `norm ${norm.toPrecision(4)} is ${ratio.toPrecision(3)}× the reference ${(reference ?? 0).toPrecision(4)}; the limit is a factor of ${limits.maxNormRatio}`,
    };
  }
  return { ok: true, norm };
}

/** Checks one vector on the CPU: its length, that every entry is finite, and the norm rule. */
export function validateContribution(values: Float32Array, limits: ValidationLimits): ValidationResult {
  if (values.length !== limits.expectedLength) {
    return judgeContribution({ length: values.length, nonFinite: 0, norm: 0 }, limits);
  }
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (!Number.isFinite(v)) {
      return { ok: false, reason: 'NON_FINITE', message: `parameter ${i} is ${v}` };
    }
  }
  return judgeContribution({ length: values.length, nonFinite: 0, norm: l2Norm(values) }, limits);
}

export interface Contribution {
  readonly values: Float32Array;
  /** Relative weight, e.g. samples seen; must be finite and positive. */
  readonly weight: number;
}

/**
 * The weighted mean Σ wₖ/W · vₖ of accepted contributions, accumulated in float64 and rounded
 * once to fp32. Throws a RangeError on programmer error (nothing to average, lengths differ, a bad
 * weight).
 */
export function weightedMean(contributions: readonly Contribution[]): Float32Array {
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
