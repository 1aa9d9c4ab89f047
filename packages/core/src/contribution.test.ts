import { describe, expect, it } from 'vitest';
import {
  judgeContribution,
  l2Norm,
  normAccepted,
  validateContribution,
  weightedMean,
} from './contribution.ts';
import { mulberry32 } from './random.ts';

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
    if (!big.ok) expect(big.message).toMatch(/100\.?0?× the reference/);
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

describe('weightedMean', () => {
  it('averages with equal weights', () => {
    const mean = weightedMean([
      { values: new Float32Array([1, 2, 3]), weight: 1 },
      { values: new Float32Array([3, 4, 5]), weight: 1 },
    ]);
    expect(Array.from(mean)).toEqual([2, 3, 4]);
    expect(mean).toBeInstanceOf(Float32Array);
  });

  it('weights each contribution', () => {
    const mean = weightedMean([
      { values: new Float32Array([0, 10]), weight: 3 },
      { values: new Float32Array([4, -10]), weight: 1 },
    ]);
    expect(Array.from(mean)).toEqual([1, 5]);
  });

  it('returns one contribution unchanged', () => {
    const values = new Float32Array([0.1, -0.2, 0.3]);
    expect(weightedMean([{ values, weight: 7 }])).toEqual(values);
  });

  it('accumulates in float64: the mean of many copies is the value itself', () => {
    const values = new Float32Array([0.1, 1e-8, 12345.678]);
    const mean = weightedMean(Array.from({ length: 1000 }, () => ({ values, weight: 1 })));
    expect(mean).toEqual(values);
  });

  it('refuses nothing to average, mixed lengths and bad weights', () => {
    expect(() => weightedMean([])).toThrow(RangeError);
    expect(() =>
      weightedMean([
        { values: new Float32Array(2), weight: 1 },
        { values: new Float32Array(3), weight: 1 },
      ]),
    ).toThrow(/differ in length/);
    for (const weight of [0, -1, NaN, Infinity]) {
      expect(() => weightedMean([{ values: new Float32Array(2), weight }])).toThrow(RangeError);
    }
  });
});

describe('l2Norm', () => {
  it('is the Euclidean length', () => {
    expect(l2Norm(new Float32Array([3, 4]))).toBe(5);
    expect(l2Norm(new Float32Array(0))).toBe(0);
  });
});

describe('the norm-ratio rule', () => {
  it('accepts [r/k, k·r], both ends included, and anything without a reference', () => {
    const bounds = { reference: 4, maxRatio: 2 };
    expect([1.99, 2, 4, 8, 8.01].map((n) => normAccepted(n, bounds))).toEqual([
      false,
      true,
      true,
      true,
      false,
    ]);
    expect(normAccepted(1e30, { reference: null, maxRatio: 2 })).toBe(true);
    expect(normAccepted(1e30, { reference: 0, maxRatio: 2 })).toBe(true);
    expect(normAccepted(Number.NaN, bounds)).toBe(false);
    expect(normAccepted(Number.POSITIVE_INFINITY, bounds)).toBe(false);
  });

  it('drops the lower bound for an upper-only reference (a sparse top-k reference)', () => {
    expect(normAccepted(0, { reference: 4, maxRatio: 2, upperOnly: true })).toBe(true);
    expect(normAccepted(8.01, { reference: 4, maxRatio: 2, upperOnly: true })).toBe(false);
  });

  it('is symmetric, so two tabs checking each other against their own norms agree (property)', () => {
    const random = mulberry32(11);
    for (let i = 0; i < 10_000; i++) {
      const a = Math.fround(random() * 10 ** (random() * 6 - 3));
      const maxRatio = 1 + random() * 20;
      // Half the cases sit on a bound, where rounding would break a rule written with a division.
      const b = random() < 0.5 ? Math.fround(a * maxRatio) : Math.fround(random() * 10 ** (random() * 6 - 3));
      expect(normAccepted(a, { reference: b, maxRatio })).toBe(normAccepted(b, { reference: a, maxRatio }));
    }
  });

  it('judges precomputed reductions exactly as validateContribution judges the vector (property)', () => {
    const random = mulberry32(5);
    for (let i = 0; i < 300; i++) {
      const n = 1 + Math.floor(random() * 20);
      const values = Float32Array.from({ length: n }, () => (random() - 0.5) * 10 ** (random() * 4 - 2));
      if (random() < 0.2)
        values[Math.floor(random() * n)] = random() < 0.5 ? Number.NaN : Number.NEGATIVE_INFINITY;
      const limits = {
        expectedLength: random() < 0.1 ? n + 1 : n,
        previousNorm: random() < 0.1 ? null : random() * 20,
        maxNormRatio: 1 + random() * 5,
      };
      const nonFinite = values.filter((v) => !Number.isFinite(v)).length;
      const judged = judgeContribution({ length: n, nonFinite, norm: l2Norm(values) }, limits);
      const validated = validateContribution(values, limits);
      expect(judged.ok).toBe(validated.ok);
      if (!judged.ok && !validated.ok) expect(judged.reason).toBe(validated.reason);
    }
  });
});

describe('weightedMean (property)', () => {
  it('stays within each coordinate’s range and returns a vector itself when all agree', () => {
    const random = mulberry32(9);
    for (let i = 0; i < 200; i++) {
      const k = 1 + Math.floor(random() * 5);
      const n = 1 + Math.floor(random() * 50);
      const contributions = Array.from({ length: k }, () => ({
        values: Float32Array.from({ length: n }, () => (random() - 0.5) * 100),
        weight: 0.1 + random() * 10,
      }));
      const mean = weightedMean(contributions);
      for (let j = 0; j < n; j++) {
        const column = contributions.map((c) => c.values[j] as number);
        expect(mean[j]).toBeGreaterThanOrEqual(Math.min(...column));
        expect(mean[j]).toBeLessThanOrEqual(Math.max(...column));
      }
      const same = contributions[0]?.values ?? new Float32Array();
      expect(weightedMean(contributions.map((c) => ({ ...c, values: same })))).toEqual(same);
    }
  });
});
