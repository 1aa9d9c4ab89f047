import { describe, expect, it } from 'vitest';
import { mulberry32 as createRng, randomVector } from '@tabswarm/core';
import { compareMix } from './mix-compare.ts';
import { MIX_MAX_INPUTS, mixReference } from './mix-reference.ts';

/** Σₖ wₖ·xₖ[i] in float64: what the f32 reference approximates. */
function exact(inputs: readonly Float32Array[], weights: readonly number[]): number[] {
  return Array.from({ length: inputs[0]?.length ?? 0 }, (_, i) =>
    inputs.reduce((s, x, k) => s + (weights[k] as number) * (x[i] as number), 0),
  );
}

describe('mixReference', () => {
  it('matches a float64 mix for every K from 1 to 8, weights of both signs', () => {
    const rng = createRng(1);
    for (let k = 1; k <= MIX_MAX_INPUTS; k++) {
      const inputs = Array.from({ length: k }, () => randomVector(rng, 1000, 10));
      const weights = Array.from({ length: k }, () => rng() * 4 - 2);
      const out = mixReference(inputs, weights);
      expect(out).toBeInstanceOf(Float32Array);
      expect(out).toHaveLength(1000);
      const cmp = compareMix(out, exact(inputs, weights), inputs, weights);
      expect(cmp.message, `K=${k}`).toBeNull();
    }
  });

  it('rounds every product and partial sum to f32, in input order', () => {
    // 1 + 2^-24 is not an f32: summed in f32 the small terms vanish one at a time, in f64 they
    // would add up to 2^-23 and survive. This pins the order and the per-term rounding.
    const tiny = 2 ** -24;
    const inputs = [new Float32Array([1]), new Float32Array([tiny]), new Float32Array([tiny])];
    expect(mixReference(inputs, [1, 1, 1])[0]).toBe(1);
    // Weights are rounded to f32 first, as the shader's uniform holds f32.
    expect(mixReference([new Float32Array([1])], [0.1])[0]).toBe(Math.fround(0.1));
  });

  it('K = 1 scales, K = 2 with weights 1 and -1 subtracts exactly', () => {
    const a = new Float32Array([1, -2, 3.5, 0]);
    const b = new Float32Array([0.5, 2, -1, 7]);
    expect(Array.from(mixReference([a], [2]))).toEqual([2, -4, 7, 0]);
    expect(Array.from(mixReference([a, b], [1, -1]))).toEqual([0.5, -4, 4.5, -7]);
  });

  it('weights summing to 1 preserve the mean across the swarm (pairwise gossip)', () => {
    // Four models average pairwise with symmetric weights (1/2, 1/2): the swarm's mean is unchanged.
    const rng = createRng(2);
    const models = Array.from({ length: 4 }, () => randomVector(rng, 257, 3));
    const mean = (vs: readonly Float32Array[]) =>
      Array.from({ length: 257 }, (_, i) => vs.reduce((s, v) => s + (v[i] as number), 0) / vs.length);
    const before = mean(models);
    const [m0, m1, m2, m3] = models as [Float32Array, Float32Array, Float32Array, Float32Array];
    const avg01 = mixReference([m0, m1], [0.5, 0.5]);
    const avg23 = mixReference([m2, m3], [0.5, 0.5]);
    const after = mean([avg01, avg01, avg23, avg23]);
    after.forEach((v, i) => expect(v).toBeCloseTo(before[i] as number, 5));
    // And a convex mix of identical vectors returns that vector.
    const weights = [0.2, 0.3, 0.1, 0.4];
    expect(Array.from(mixReference([m0, m0, m0, m0], weights))).toEqual(
      Array.from(m0, (x) => {
        let s = Math.fround(Math.fround(0.2) * x);
        for (const w of weights.slice(1)) s = Math.fround(s + Math.fround(Math.fround(w) * x));
        return s;
      }),
    );
  });

  it('mixes in place into the first input or into a later one', () => {
    const rng = createRng(3);
    const inputs = Array.from({ length: 3 }, () => randomVector(rng, 100));
    const weights = [0.5, 0.25, -0.75];
    const expected = mixReference(inputs, weights);
    for (const target of [0, 2]) {
      const copies = inputs.map((x) => x.slice());
      const out = copies[target] as Float32Array;
      expect(mixReference(copies, weights, out)).toBe(out);
      expect(out).toEqual(expected);
    }
    // The same vector twice, mixed into itself.
    const x = inputs[0]?.slice() as Float32Array;
    const twice = mixReference([inputs[0] as Float32Array, inputs[0] as Float32Array], [0.5, 0.5]);
    expect(mixReference([x, x], [0.5, 0.5], x)).toEqual(twice);
  });

  it('handles empty vectors', () => {
    expect(mixReference([new Float32Array(0)], [1])).toHaveLength(0);
  });

  it('rejects bad arguments with a clear message', () => {
    const x = new Float32Array(4);
    expect(() => mixReference([], [])).toThrow(/1 to 8 input vectors/);
    expect(() =>
      mixReference(
        Array.from({ length: 9 }, () => x),
        Array(9).fill(0.1),
      ),
    ).toThrow(/got 9/);
    expect(() => mixReference([x, x], [1])).toThrow(/one weight per input/);
    expect(() => mixReference([x], [Number.NaN])).toThrow(/not finite/);
    expect(() => mixReference([x, new Float32Array(5)], [1, 1])).toThrow(/input 1 has 5 elements/);
    expect(() => mixReference([x], [1], new Float32Array(3))).toThrow(/output has 3 elements/);
  });
});

describe('compareMix', () => {
  it('accepts f32 rounding, rejects a real difference and NaN', () => {
    const inputs = [new Float32Array([1, 2, 3])];
    expect(compareMix([1, 2, 3], [1, 2, 3 + 1e-7], inputs, [1]).ok).toBe(true);
    const wrong = compareMix([1, 2.001, 3], [1, 2, 3], inputs, [1]);
    expect(wrong.ok).toBe(false);
    expect(wrong.worstIndex).toBe(1);
    expect(wrong.maxAbsError).toBeCloseTo(0.001, 6);
    expect(compareMix([1, Number.NaN, 3], [1, 2, 3], inputs, [1]).ok).toBe(false);
  });
});
