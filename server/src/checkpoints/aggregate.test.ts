import { describe, expect, it } from 'vitest';
import { averageContributions, l2Norm, validateContribution } from './aggregate.ts';

const limits = { expectedLength: 4, previousNorm: 2, maxNormRatio: 10 };

describe('validateContribution', () => {
  it('accepts a finite vector of the right length and reports its norm', () => {
    expect(validateContribution(new Float32Array([1, 1, 1, 1]), limits)).toEqual({ ok: true, norm: 2 });
  });

  it('refuses the wrong length', () => {
    const result = validateContribution(new Float32Array(5), limits);
    expect(result).toMatchObject({ ok: false, reason: 'LENGTH' });
    expect(validateContribution(new Float32Array(0), limits)).toMatchObject({ ok: false, reason: 'LENGTH' });
  });

  it('refuses a NaN or an infinity anywhere', () => {
    expect(validateContribution(new Float32Array([1, NaN, 1, 1]), limits)).toMatchObject({
      ok: false,
      reason: 'NON_FINITE',
      message: 'parameter 1 is NaN',
    });
    expect(validateContribution(new Float32Array([1, 1, 1, Infinity]), limits)).toMatchObject({
      ok: false,
      reason: 'NON_FINITE',
    });
    expect(validateContribution(new Float32Array([-Infinity, 1, 1, 1]), limits)).toMatchObject({
      ok: false,
      reason: 'NON_FINITE',
    });
  });

  it('refuses a norm 100× the previous checkpoint, and one 100× smaller', () => {
    const big = validateContribution(new Float32Array([100, 100, 100, 100]), limits);
    expect(big).toMatchObject({ ok: false, reason: 'NORM' });
    if (!big.ok) expect(big.message).toMatch(/100\.?0?× the previous/);
    expect(validateContribution(new Float32Array([0.01, 0.01, 0.01, 0.01]), limits)).toMatchObject({
      ok: false,
      reason: 'NORM',
    });
    expect(validateContribution(new Float32Array(4), limits)).toMatchObject({ ok: false, reason: 'NORM' });
  });

  it('accepts norms up to exactly the ratio on either side', () => {
    expect(validateContribution(new Float32Array([10, 10, 10, 10]), limits).ok).toBe(true);
    expect(validateContribution(new Float32Array([0.1, 0.1, 0.1, 0.1]), limits).ok).toBe(true);
  });

  it('skips the norm test for the first checkpoint', () => {
    const huge = new Float32Array([1e6, 1e6, 1e6, 1e6]);
    expect(validateContribution(huge, { ...limits, previousNorm: null })).toEqual({ ok: true, norm: 2e6 });
    expect(validateContribution(huge, { ...limits, previousNorm: 0 }).ok).toBe(true);
  });
});

describe('averageContributions', () => {
  it('averages with equal weights', () => {
    const mean = averageContributions([
      { values: new Float32Array([1, 2, 3]), weight: 1 },
      { values: new Float32Array([3, 4, 5]), weight: 1 },
    ]);
    expect(Array.from(mean)).toEqual([2, 3, 4]);
    expect(mean).toBeInstanceOf(Float32Array);
  });

  it('weights each contribution', () => {
    const mean = averageContributions([
      { values: new Float32Array([0, 10]), weight: 3 },
      { values: new Float32Array([4, -10]), weight: 1 },
    ]);
    expect(Array.from(mean)).toEqual([1, 5]);
  });

  it('returns one contribution unchanged', () => {
    const values = new Float32Array([0.1, -0.2, 0.3]);
    expect(averageContributions([{ values, weight: 7 }])).toEqual(values);
  });

  it('accumulates in float64: the mean of many copies is the value itself', () => {
    const values = new Float32Array([0.1, 1e-8, 12345.678]);
    const mean = averageContributions(Array.from({ length: 1000 }, () => ({ values, weight: 1 })));
    expect(mean).toEqual(values);
  });

  it('refuses nothing to average, mixed lengths and bad weights', () => {
    expect(() => averageContributions([])).toThrow(RangeError);
    expect(() =>
      averageContributions([
        { values: new Float32Array(2), weight: 1 },
        { values: new Float32Array(3), weight: 1 },
      ]),
    ).toThrow(/differ in length/);
    for (const weight of [0, -1, NaN, Infinity]) {
      expect(() => averageContributions([{ values: new Float32Array(2), weight }])).toThrow(RangeError);
    }
  });
});

describe('l2Norm', () => {
  it('is the Euclidean length', () => {
    expect(l2Norm(new Float32Array([3, 4]))).toBe(5);
    expect(l2Norm(new Float32Array(0))).toBe(0);
  });
});
