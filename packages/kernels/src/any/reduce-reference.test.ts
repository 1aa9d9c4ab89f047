import { describe, expect, it } from 'vitest';
import {
  clipByNormReference,
  countNonFiniteReference,
  dotReference,
  l2NormReference,
  relativeDistanceReference,
} from './reduce-reference.ts';

const f = (values: number[]) => new Float32Array(values);

describe('reduction references', () => {
  it('norm, dot and count on small vectors', () => {
    expect(l2NormReference(f([3, 4]))).toBe(5);
    expect(l2NormReference(f([]))).toBe(0);
    expect(dotReference(f([1, 2, 3]), f([4, -5, 6]))).toBe(12);
    expect(countNonFiniteReference(f([1, Number.NaN, Number.POSITIVE_INFINITY, -Infinity, 0]))).toBe(3);
  });

  it('norms neither overflow nor underflow where the result is representable', () => {
    expect(l2NormReference(f([3e30, 4e30]))).toBe(Math.fround(5e30));
    expect(l2NormReference(f([3e-30, 4e-30]))).toBe(Math.fround(5e-30));
    expect(l2NormReference(f([3e38, 3e38]))).toBe(Number.POSITIVE_INFINITY); // 4.2e38 > f32 max
  });

  it('propagates NaN over ±Inf in the norm, and gives NaN distances for non-finite input', () => {
    expect(l2NormReference(f([1, Number.POSITIVE_INFINITY, Number.NaN]))).toBeNaN();
    expect(l2NormReference(f([1, Number.NEGATIVE_INFINITY]))).toBe(Number.POSITIVE_INFINITY);
    expect(relativeDistanceReference(f([1, Number.POSITIVE_INFINITY]), f([1, 2]))).toBeNaN();
  });

  it('distance ‖a − b‖ / ‖a‖, with the zero cases', () => {
    expect(relativeDistanceReference(f([3, 4]), f([3, 4]))).toBe(0);
    expect(relativeDistanceReference(f([3, 4]), f([0, 0]))).toBe(1);
    expect(relativeDistanceReference(f([0, 0]), f([0, 0]))).toBe(0);
    expect(relativeDistanceReference(f([0, 0]), f([1, 0]))).toBe(Number.POSITIVE_INFINITY);
  });

  it('clips only above the limit and only for finite norms', () => {
    const x = f([3, 4]);
    expect(clipByNormReference(x, 1)).toBe(5);
    expect(Array.from(x)).toEqual([Math.fround(3 * Math.fround(0.2)), Math.fround(4 * Math.fround(0.2))]);
    const small = f([0.3, 0.4]);
    clipByNormReference(small, 1);
    expect(Array.from(small)).toEqual(Array.from(f([0.3, 0.4])));
    const bad = f([Number.POSITIVE_INFINITY, 1]);
    clipByNormReference(bad, 1);
    expect(Array.from(bad)).toEqual([Number.POSITIVE_INFINITY, 1]);
    expect(() => clipByNormReference(x, Number.NaN)).toThrow(/maxNorm/);
  });
});
