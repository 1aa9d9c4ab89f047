import { describe, expect, it } from 'vitest';
import { mulberry32 } from './random.ts';
import {
  DISTRUST_BELOW,
  INITIAL_TRUST,
  isDistrusted,
  isReplicated,
  judgeReplicas,
  nextTrust,
  resultsAgree,
  spotCheckRate,
  updateStatistics,
  type ReplicaResult,
} from './validation.ts';

function vector(seed: number, n: number, scale = 1): Float32Array {
  const random = mulberry32(seed);
  return Float32Array.from({ length: n }, () => (random() - 0.5) * scale);
}

const honest = (id: string, start: Float32Array, end: Float32Array, loss = 0.8): ReplicaResult => ({
  id,
  loss,
  update: updateStatistics(start, end, 42),
});

describe('updateStatistics', () => {
  it('is the norm of the change and seeded projections whose square is the squared norm on average', () => {
    const start = vector(1, 1000);
    const end = vector(2, 1000);
    const s = updateStatistics(start, end, 7);
    let squares = 0;
    for (let i = 0; i < 1000; i++) squares += ((end[i] as number) - (start[i] as number)) ** 2;
    expect(s.norm).toBeCloseTo(Math.sqrt(squares), 4);
    expect(s.projections).toHaveLength(4);
    // Same inputs and seed: the same numbers; another seed: other projections.
    expect(updateStatistics(start, end, 7)).toEqual(s);
    expect(updateStatistics(start, end, 8).projections).not.toEqual(s.projections);
    const mean = (seeds: number) => {
      let sum = 0;
      for (let k = 0; k < seeds; k++)
        for (const p of updateStatistics(start, end, k).projections) sum += p * p;
      return sum / (seeds * 4);
    };
    expect(mean(50) / squares).toBeGreaterThan(0.7);
    expect(mean(50) / squares).toBeLessThan(1.3);
  });

  it('refuses vectors of different lengths', () => {
    expect(() => updateStatistics(new Float32Array(3), new Float32Array(4), 1)).toThrow(RangeError);
  });
});

describe('resultsAgree', () => {
  const start = vector(3, 4096);
  const end = Float32Array.from(start, (v, i) => v + 0.01 * Math.sin(i));
  const a = honest('a', start, end);

  it('agrees with a replica that differs by floating-point noise', () => {
    const noisy = Float32Array.from(end, (v, i) => v + 1e-7 * Math.cos(i));
    expect(resultsAgree(a, honest('b', start, noisy, 0.8 * (1 + 1e-4)), 0.05)).toBe(true);
  });

  it('refuses a replica that did not train (zero update), a fabricated loss, another update, or none', () => {
    expect(resultsAgree(a, honest('lazy', start, start), 0.05)).toBe(false);
    expect(resultsAgree(a, honest('loss', start, end, 2.3), 0.05)).toBe(false);
    const other = Float32Array.from(start, (v, i) => v + 0.01 * Math.cos(i));
    expect(resultsAgree(a, honest('other', start, other), 0.05)).toBe(false);
    expect(resultsAgree(a, { id: 'none', loss: 0.8, update: null }, 0.05)).toBe(false);
  });

  it('never lets two zero updates validate each other (two lazy volunteers)', () => {
    expect(resultsAgree(honest('x', start, start), honest('y', start, start), 0.05)).toBe(false);
  });

  it('catches a lazy replica on ≥ 99 % of 1,000 random shards (here: all of them)', () => {
    let caught = 0;
    for (let s = 0; s < 1000; s++) {
      const from = vector(10 + s, 256);
      const step = vector(5000 + s, 256, 0.02);
      const h = honest(
        'h',
        from,
        Float32Array.from(from, (v, i) => v + (step[i] as number)),
        0.3 + (s % 7) / 10,
      );
      // The lazy one reports no change, or a made-up update of a plausible size (its loss copied).
      const made = vector(9000 + s, 256, 0.02);
      const fabricated =
        s % 2 === 0
          ? honest('l', from, from, h.loss)
          : honest(
              'l',
              from,
              Float32Array.from(from, (v, i) => v + (made[i] as number)),
              h.loss,
            );
      if (!resultsAgree(h, fabricated, 0.05)) caught++;
    }
    expect(caught / 1000).toBeGreaterThanOrEqual(0.99);
  });
});

describe('judgeReplicas', () => {
  const start = vector(4, 512);
  const end = Float32Array.from(start, (v, i) => v + 0.01 * Math.sin(i + 1));
  const h1 = honest('h1', start, end);
  const h2 = honest('h2', start, end);
  const lazy = honest('lazy', start, start);

  it('two that agree are valid together', () => {
    expect(judgeReplicas([h1, h2], 0.05)).toEqual({ state: 'valid', valid: ['h1', 'h2'], invalid: [] });
  });

  it('two that disagree wait for a third, which outvotes the odd one', () => {
    expect(judgeReplicas([h1, lazy], 0.05)).toEqual({ state: 'pending' });
    expect(judgeReplicas([h1, lazy, h2], 0.05)).toEqual({
      state: 'valid',
      valid: ['h1', 'h2'],
      invalid: ['lazy'],
    });
    expect(judgeReplicas([lazy, h1, h2], 0.05)).toEqual({
      state: 'valid',
      valid: ['h1', 'h2'],
      invalid: ['lazy'],
    });
  });

  it('three that all disagree are inconclusive', () => {
    const other = honest(
      'o',
      start,
      Float32Array.from(start, (v, i) => v - 0.01 * Math.cos(i)),
    );
    expect(judgeReplicas([h1, lazy, other], 0.05)).toEqual({
      state: 'inconclusive',
      invalid: ['h1', 'lazy', 'o'],
    });
  });

  it('one result is pending', () => {
    expect(judgeReplicas([h1], 0.05)).toEqual({ state: 'pending' });
  });
});

describe('trust and spot checks', () => {
  it('agreement raises trust, an outvoted result drops a new volunteer below the threshold', () => {
    expect(nextTrust(INITIAL_TRUST, 'valid')).toBeGreaterThan(INITIAL_TRUST);
    expect(isDistrusted(nextTrust(INITIAL_TRUST, 'invalid'))).toBe(true);
    expect(nextTrust(INITIAL_TRUST, 'inconclusive')).toBeLessThan(INITIAL_TRUST);
    expect(isDistrusted(nextTrust(INITIAL_TRUST, 'inconclusive'))).toBe(false);
  });

  it('a long-trusted volunteer survives one fluke, not two', () => {
    let trust = INITIAL_TRUST;
    for (let i = 0; i < 20; i++) trust = nextTrust(trust, 'valid');
    const once = nextTrust(trust, 'invalid');
    expect(once).toBeGreaterThanOrEqual(DISTRUST_BELOW);
    expect(isDistrusted(nextTrust(once, 'invalid'))).toBe(true);
  });

  it('the spot-check rate falls with trust to a tenth of the replication, never to zero', () => {
    expect(spotCheckRate(0.4, INITIAL_TRUST)).toBeCloseTo(0.4);
    expect(spotCheckRate(0.4, 0.1)).toBeCloseTo(0.4);
    expect(spotCheckRate(0.4, 0.75)).toBeCloseTo(0.2);
    expect(spotCheckRate(0.4, 0.999)).toBeCloseTo(0.04);
  });

  it('the seeded rule replicates about `rate` of the shards, the same ones every time', () => {
    const picked = Array.from({ length: 2000 }, (_, s) => isReplicated(9, 0, s, 0.25));
    const share = picked.filter(Boolean).length / 2000;
    expect(share).toBeGreaterThan(0.22);
    expect(share).toBeLessThan(0.28);
    expect(Array.from({ length: 2000 }, (_, s) => isReplicated(9, 0, s, 0.25))).toEqual(picked);
    expect(isReplicated(9, 0, 5, 0)).toBe(false);
    expect(isReplicated(9, 0, 5, 1)).toBe(true);
  });
});
