import { describe, expect, it } from 'vitest';
import { l2Norm, weightedMean } from './contribution.ts';
import { mulberry32, randomVector } from './random.ts';
import { DEFAULT_CLIP_MULTIPLE, distanceFrom, lowerMedian, robustRound } from './robust-aggregation.ts';

const N = 500;
// ‖reference‖ ≈ 19, a move of about 1 per round: the proportions of the MNIST model in the server tests.
const reference = randomVector(mulberry32(1), N, 1.5);
const direction = (seed: number, norm: number): Float32Array => {
  const v = randomVector(mulberry32(seed), N);
  const k = norm / l2Norm(v);
  return v.map((x) => x * k);
};
const plus = (a: Float32Array, b: Float32Array, k = 1): Float32Array =>
  a.map((x, i) => x + k * (b[i] as number));
/** Honest uploads: the reference plus a shared step and a little noise each (‖difference‖ ≈ 1). */
const honest = (count: number): Float32Array[] => {
  const step = direction(2, 1);
  return Array.from({ length: count }, (_, i) => plus(plus(reference, step), direction(10 + i, 0.3)));
};
const equal = (values: Float32Array[]) => values.map((v) => ({ values: v, weight: 1 }));

describe('lowerMedian', () => {
  it('is the entry at ⌊(n − 1)/2⌋ of the sorted values', () => {
    expect(lowerMedian([])).toBeNaN();
    expect(lowerMedian([3])).toBe(3);
    expect(lowerMedian([5, 1])).toBe(1);
    expect(lowerMedian([3, 1, 2])).toBe(2);
    expect(lowerMedian([4, 1, 3, 2])).toBe(2);
  });
});

describe('robustRound', () => {
  it('is the plain weighted mean when every difference is within the clip multiple of the scale', () => {
    const uploads = honest(4).map((values, i) => ({ values, weight: 1 + i }));
    const round = robustRound(uploads, { reference, maxRatio: 10 });
    expect(round.outliers).toEqual([]);
    expect(round.kept.every((k) => k.clip === 1)).toBe(true);
    const plain = weightedMean(uploads);
    expect(distanceFrom(round.values as Float32Array, plain)).toBeLessThan(1e-6 * l2Norm(plain));
  });

  it('leaves out an upload far beyond the round scale: the result is the mean of the others', () => {
    const good = honest(3);
    for (const poison of [
      reference.map((x) => -9.9 * x),
      reference.map((x) => -3 * x),
      plus(reference, direction(5, 50)),
    ]) {
      const round = robustRound(equal([...good, poison]), { reference, maxRatio: 10 });
      expect(round.outliers.map((o) => o.index)).toEqual([3]);
      expect(round.outliers[0]?.message).toMatch(/the limit is 10×/);
      const plain = weightedMean(equal(good));
      expect(distanceFrom(round.values as Float32Array, plain)).toBeLessThan(1e-6);
    }
  });

  it('holds with two uploads: the one that moved more than maxRatio × the other is the outlier', () => {
    const [good] = honest(1) as [Float32Array];
    const round = robustRound(equal([reference.map((x) => -5 * x), good]), { reference, maxRatio: 10 });
    expect(round.outliers.map((o) => o.index)).toEqual([0]);
    expect(distanceFrom(round.values as Float32Array, good)).toBeLessThan(1e-6);
  });

  it('clips an attacker inside the ratio: it moves a round of m by at most clipMultiple × scale / m', () => {
    const good = honest(3);
    const honestMean = weightedMean(equal(good));
    // Nine times the honest move, in the opposite direction: not an outlier at maxRatio 10.
    const attack = plus(reference, direction(2, 1), -9);
    const round = robustRound(equal([...good, attack]), { reference, maxRatio: 10 });
    expect(round.outliers).toEqual([]);
    const clipped = round.kept.find((k) => k.index === 3);
    expect(clipped?.clip).toBeCloseTo((DEFAULT_CLIP_MULTIPLE * round.scale) / 9, 3);
    // Compared with the 3 honest uploads alone: the honest ones now weigh 3/4, the attacker 1/4.
    const shift = distanceFrom(round.values as Float32Array, honestMean);
    const unclipped = distanceFrom(weightedMean(equal([...good, attack])), honestMean);
    expect(shift).toBeLessThan(unclipped / 3);
    expect(shift).toBeLessThan(((DEFAULT_CLIP_MULTIPLE + 1.2) * round.scale) / 4);
  });

  it('an attacker cannot shrink the scale below the honest moves among three or more', () => {
    const good = honest(3);
    const tiny = plus(reference, direction(9, 1e-6));
    const round = robustRound(equal([tiny, ...good]), { reference, maxRatio: 10 });
    expect(round.outliers).toEqual([]);
    expect(round.scale).toBeGreaterThan(0.9);
  });

  it('an upload equal to the reference has no scale and is no outlier; all equal gives the reference', () => {
    const same = robustRound(equal([reference.slice(), reference.slice()]), { reference, maxRatio: 10 });
    expect(same).toMatchObject({ scale: 0, outliers: [] });
    expect(Array.from(same.values as Float32Array)).toEqual(Array.from(reference));
    const [good] = honest(1) as [Float32Array];
    const mixed = robustRound(equal([reference.slice(), good]), { reference, maxRatio: 10 });
    expect(mixed.outliers).toEqual([]);
    expect(mixed.scale).toBeCloseTo(distanceFrom(good, reference), 9);
  });

  it('has nothing to average without uploads, and refuses programmer errors', () => {
    expect(robustRound([], { reference, maxRatio: 10 })).toEqual({
      values: null,
      scale: 0,
      kept: [],
      outliers: [],
    });
    const [good] = honest(1) as [Float32Array];
    expect(() => robustRound(equal([good.subarray(1)]), { reference, maxRatio: 10 })).toThrow(RangeError);
    expect(() => robustRound([{ values: good, weight: 0 }], { reference, maxRatio: 10 })).toThrow(RangeError);
    expect(() => robustRound(equal([good]), { reference, maxRatio: 0.5 })).toThrow(RangeError);
    expect(() => robustRound(equal([good]), { reference, maxRatio: 10, clipMultiple: 0 })).toThrow(
      RangeError,
    );
  });
});
