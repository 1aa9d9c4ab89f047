/**
 * The tolerance that mix results and the reference are compared with, shared by the self-test
 * and the tests so that "passed" means the same thing everywhere.
 */
import { compareWithin, F32_MIN_NORMAL, type Comparison } from './compare.ts';

/**
 * Relative tolerance, scaled per element by Σₖ|wₖ·xₖ[i]|. f32 rounding of K ≤ 8 products and
 * sums is at most about 8·2⁻²⁴ ≈ 4.8e-7 of that scale, whether or not the driver fuses the
 * multiply and add (fma) or the f64 sum in the reference rounds twice.
 */
export const MIX_RELATIVE_TOLERANCE = 1e-6;

/** Absolute floor: a GPU may flush subnormal results to zero. */
export const MIX_ABSOLUTE_TOLERANCE = F32_MIN_NORMAL;

export type MixComparison = Comparison;

/** Compares `actual` with `expected`, both results of mixing `inputs` with `weights`. */
export function compareMix(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  inputs: readonly ArrayLike<number>[],
  weights: readonly number[],
): MixComparison {
  return compareWithin(actual, expected, (i) => {
    let scale = 0;
    for (const [k, x] of inputs.entries()) scale += Math.abs((weights[k] as number) * (x[i] as number));
    return MIX_RELATIVE_TOLERANCE * scale + MIX_ABSOLUTE_TOLERANCE;
  });
}
