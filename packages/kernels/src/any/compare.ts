/**
 * Element-wise comparison of a GPU result with its reference, under a per-element tolerance or
 * bit for bit, for the tests and self-tests of every kernel (mix-compare.ts keeps mix's rule).
 */

export interface Comparison {
  readonly ok: boolean;
  readonly maxAbsError: number;
  /** First element outside the tolerance, or -1. */
  readonly worstIndex: number;
  readonly message: string | null;
}

function lengthMismatch(actual: ArrayLike<number>, expected: ArrayLike<number>): Comparison | null {
  if (actual.length === expected.length) return null;
  const message = `length ${actual.length}, expected ${expected.length}`;
  return { ok: false, maxAbsError: Number.POSITIVE_INFINITY, worstIndex: 0, message };
}

/**
 * Compares `actual` with `expected` where |actual[i] − expected[i]| ≤ tolerance(i) passes; NaN
 * matches only NaN, and an infinity only the same infinity.
 */
export function compareWithin(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tolerance: (i: number) => number,
  label = 'element',
): Comparison {
  const mismatch = lengthMismatch(actual, expected);
  if (mismatch !== null) return mismatch;
  let maxAbsError = 0;
  let worstIndex = -1;
  let message: string | null = null;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i] as number;
    const e = expected[i] as number;
    let bad: boolean;
    if (Number.isNaN(a) || Number.isNaN(e)) bad = Number.isNaN(a) !== Number.isNaN(e);
    else if (!Number.isFinite(a) || !Number.isFinite(e)) bad = a !== e;
    else {
      const err = Math.abs(a - e);
      if (err > maxAbsError) maxAbsError = err;
      bad = err > tolerance(i);
    }
    if (bad && worstIndex < 0) {
      worstIndex = i;
      message = `${label} ${i}: got ${a}, expected ${e} (tolerance ${tolerance(i)})`;
    }
  }
  return { ok: worstIndex < 0, maxAbsError, worstIndex, message };
}

/** Bit-for-bit equality of two typed arrays (NaN equals NaN, -0 differs from 0). */
export function compareBits(
  actual: Float32Array | Uint32Array | Int32Array,
  expected: Float32Array | Uint32Array | Int32Array,
  label = 'element',
): Comparison {
  const mismatch = lengthMismatch(actual, expected);
  if (mismatch !== null) return mismatch;
  const ua = new Uint32Array(actual.buffer, actual.byteOffset, actual.length);
  const ub = new Uint32Array(expected.buffer, expected.byteOffset, expected.length);
  for (let i = 0; i < ua.length; i++) {
    if (ua[i] !== ub[i]) {
      return {
        ok: false,
        maxAbsError: Math.abs((actual[i] as number) - (expected[i] as number)),
        worstIndex: i,
        message: `${label} ${i}: got ${actual[i]} (0x${(ua[i] as number).toString(16)}), expected ${expected[i]} (0x${(ub[i] as number).toString(16)})`,
      };
    }
  }
  return { ok: true, maxAbsError: 0, worstIndex: -1, message: null };
}

/** Smallest normal f32: GPUs may flush anything below it to zero, so tolerances have this floor. */
export const F32_MIN_NORMAL = 2 ** -126;
