/**
 * The tolerance that GPU results and the reference are compared with, shared by the self-test
 * and the tests so that "passed" means the same thing everywhere.
 */

/**
 * Relative tolerance, scaled per element by Σₖ|wₖ·xₖ[i]|. f32 rounding of K ≤ 8 products and
 * sums is at most about 8·2⁻²⁴ ≈ 4.8e-7 of that scale, whether or not the driver fuses the
 * multiply and add (fma) or the f64 sum in the reference rounds twice.
 */
export const MIX_RELATIVE_TOLERANCE = 1e-6;

/** Absolute floor: a GPU may flush subnormal results to zero. */
export const MIX_ABSOLUTE_TOLERANCE = 2 ** -126;

export interface MixComparison {
  readonly ok: boolean;
  readonly maxAbsError: number;
  /** First element outside the tolerance, or -1. */
  readonly worstIndex: number;
  readonly message: string | null;
}

/** Compares `actual` with `expected`, both results of mixing `inputs` with `weights`. */
export function compareMix(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  inputs: readonly ArrayLike<number>[],
  weights: readonly number[],
): MixComparison {
  if (actual.length !== expected.length) {
    return {
      ok: false,
      maxAbsError: Number.POSITIVE_INFINITY,
      worstIndex: 0,
      message: `length ${actual.length}, expected ${expected.length}`,
    };
  }
  let maxAbsError = 0;
  let worstIndex = -1;
  let message: string | null = null;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i] as number;
    const e = expected[i] as number;
    const err = Math.abs(a - e);
    // NaN compares false everywhere, so test it explicitly.
    const bad = Number.isNaN(a) !== Number.isNaN(e) || err > tolerance(inputs, weights, i);
    if (!Number.isNaN(err) && err > maxAbsError) maxAbsError = err;
    if (bad && worstIndex < 0) {
      worstIndex = i;
      message = `element ${i}: got ${a}, expected ${e} (tolerance ${tolerance(inputs, weights, i)})`;
    }
  }
  return { ok: worstIndex < 0, maxAbsError, worstIndex, message };
}

function tolerance(inputs: readonly ArrayLike<number>[], weights: readonly number[], i: number): number {
  let scale = 0;
  for (const [k, x] of inputs.entries()) scale += Math.abs((weights[k] as number) * (x[i] as number));
  return MIX_RELATIVE_TOLERANCE * scale + MIX_ABSOLUTE_TOLERANCE;
}
