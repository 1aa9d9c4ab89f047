/**
 * TypeScript references of shaders/reduce.wgsl (L2 norm, dot product, non-finite count, relative
 * distance) and shaders/clip-by-norm.wgsl; also the path without WebGPU. Sums are taken in
 * float64, which neither overflows nor underflows on squares of f32 values, and rounded to f32.
 */
import { l2Norm } from '@tabswarm/core/contribution';

/** Norms and the distance: |gpu − reference| ≤ this × reference (+ a subnormal floor). */
export const NORM_RELATIVE_TOLERANCE = 1e-5;
/** Dot product: |gpu − reference| ≤ this × Σ|a[i]·b[i]| (+ a subnormal floor). */
export const DOT_RELATIVE_TOLERANCE = 1e-5;
/** clip-by-norm scales each element once: a few ulp, plus the norm's own tolerance. */
export const CLIP_RELATIVE_TOLERANCE = 2e-5;

const fround = Math.fround;

/**
 * ‖x‖ as the kernel returns it: the one L2 norm of @tabswarm/core rounded to f32 (NaN if any
 * element is NaN, else +Inf if any is ±Inf).
 */
export function l2NormReference(x: Float32Array): number {
  return fround(l2Norm(x));
}

export function dotReference(a: Float32Array, b: Float32Array): number {
  checkSameLength(a, b);
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i] as number) * (b[i] as number);
  return fround(sum);
}

export function countNonFiniteReference(x: Float32Array): number {
  let count = 0;
  for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i])) count++;
  return count;
}

/**
 * ‖a − b‖ / ‖a‖ (the consensus metric), with a − b rounded to f32 as the shader does: NaN if any
 * element of a or b is not finite; 0 when both norms are 0, +Inf when only ‖a‖ is.
 */
export function relativeDistanceReference(a: Float32Array, b: Float32Array): number {
  checkSameLength(a, b);
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    if (!Number.isFinite(x) || !Number.isFinite(y)) return Number.NaN;
    const d = fround(x - y);
    diff += d * d;
    norm += x * x;
  }
  if (norm === 0) return diff === 0 ? 0 : Number.POSITIVE_INFINITY;
  return fround(Math.sqrt(diff) / Math.sqrt(norm));
}

/**
 * Scales x in place to norm maxNorm when ‖x‖ > maxNorm and ‖x‖ is finite; returns ‖x‖ before.
 * `norm` may be given (the GPU's), so that a test isolates the scaling from the reduction.
 */
export function clipByNormReference(x: Float32Array, maxNorm: number, norm = l2NormReference(x)): number {
  checkMaxNorm(maxNorm);
  const max = fround(maxNorm);
  if (Number.isFinite(norm) && norm > max) {
    const factor = fround(max / norm);
    for (let i = 0; i < x.length; i++) x[i] = fround((x[i] as number) * factor);
  }
  return norm;
}

export function checkMaxNorm(maxNorm: number): void {
  if (!(Number.isFinite(maxNorm) && maxNorm >= 0)) {
    throw new RangeError(`maxNorm must be finite and ≥ 0, got ${maxNorm}`);
  }
}

function checkSameLength(a: Float32Array, b: Float32Array): void {
  if (a.length !== b.length) throw new RangeError(`vectors have ${a.length} and ${b.length} elements`);
}
