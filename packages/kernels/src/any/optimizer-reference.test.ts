// The optimizer references against tfjs's own optimizers (CPU backend): same formulas, same f32
// rounding, so the results agree to the last bit or nearly.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { compareWithin } from './compare.ts';
import { vectors } from './kernel-test-helpers.ts';
import { adamParams, adamReference, sgdMomentumReference, tfjsBetaPower } from './optimizer-reference.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** Values of a variable after each of tfjs's optimizer steps. */
function tfjsSteps(
  optimizer: tf.Optimizer,
  p0: Float32Array,
  grads: readonly Float32Array[],
): Float32Array[] {
  const variable = tf.variable(tf.tensor1d(p0), true, `v${Math.random()}`);
  const out = grads.map((g) => {
    const grad = tf.tensor1d(g);
    optimizer.applyGradients({ [variable.name]: grad });
    grad.dispose();
    return variable.dataSync<'float32'>().slice();
  });
  variable.dispose();
  optimizer.dispose();
  return out;
}

const ulps = (expected: Float32Array, n: number) => (i: number) =>
  n * 2 ** -23 * Math.abs(expected[i] as number) + 1e-45;

describe('optimizer references', () => {
  it('SGD with momentum, classic and Nesterov, equals tf.train.momentum bit for bit', () => {
    for (const useNesterov of [false, true]) {
      const [p0, ...grads] = vectors(1, 5, 1000) as [Float32Array, ...Float32Array[]];
      const expected = tfjsSteps(tf.train.momentum(0.05, 0.9, useNesterov), p0, grads);
      const [param, accumulation] = [p0.slice(), new Float32Array(1000)];
      for (const [s, g] of grads.entries()) {
        sgdMomentumReference(param, g, accumulation, { learningRate: 0.05, momentum: 0.9, useNesterov });
        expect(Array.from(param), `step ${s}`).toEqual(Array.from(expected[s] as Float32Array));
      }
    }
  });

  it('Adam equals tf.train.adam within an ulp or two, over several steps', () => {
    const [p0, ...grads] = vectors(2, 8, 1000) as [Float32Array, ...Float32Array[]];
    const expected = tfjsSteps(tf.train.adam(0.01, 0.85, 0.99, 1e-6), p0, grads);
    const [param, m, v] = [p0.slice(), new Float32Array(1000), new Float32Array(1000)];
    for (const [s, g] of grads.entries()) {
      adamReference(param, g, m, v, { learningRate: 0.01, beta1: 0.85, beta2: 0.99, epsilon: 1e-6 }, s + 1);
      const want = expected[s] as Float32Array;
      expect(compareWithin(param, want, ulps(want, 2)).message, `step ${s}`).toBeNull();
    }
  });

  it('uses tfjs defaults: lr 0.001, betas 0.9 and 0.999, epsilon 1e-7 outside the sqrt', () => {
    const [p0, g] = vectors(3, 2, 100) as [Float32Array, Float32Array];
    const [expected] = tfjsSteps(tf.train.adam(), p0, [g]);
    const [param, m, v] = [p0.slice(), new Float32Array(100), new Float32Array(100)];
    adamReference(param, g, m, v, {}, 1);
    expect(
      compareWithin(param, expected as Float32Array, ulps(expected as Float32Array, 2)).message,
    ).toBeNull();
    // With a tiny gradient, sqrt(v̂) = |g| ≪ ε: the step is lr · g / ε = -1e-8 with ε outside the
    // sqrt, but lr · g / sqrt(ε) ≈ -3e-12 with ε inside it.
    const p = new Float32Array([0]);
    adamReference(p, new Float32Array([1e-12]), new Float32Array(1), new Float32Array(1), {}, 1);
    expect(p[0]).toBeCloseTo(-1e-8, 10);
    expect((p[0] as number) / -1e-8).toBeCloseTo(1, 4);
  });

  it('AdamW decays decoupled: p − lr·wd·p, then the Adam step from the same gradient', () => {
    const [p0, g] = vectors(4, 2, 100) as [Float32Array, Float32Array];
    const config = { learningRate: 0.01, weightDecay: 0.1 };
    const [adamw, m1, v1] = [p0.slice(), new Float32Array(100), new Float32Array(100)];
    adamReference(adamw, g, m1, v1, config, 1);
    const [adam, m2, v2] = [
      p0.map((p) => p - Math.fround(0.01 * 0.1) * p),
      new Float32Array(100),
      new Float32Array(100),
    ];
    adamReference(adam, g, m2, v2, { learningRate: 0.01 }, 1);
    expect(compareWithin(adamw, adam, ulps(adam, 2)).message).toBeNull();
    expect(Array.from(m1)).toEqual(Array.from(m2));
  });

  it('keeps beta^t as tfjs does: an f32 running product, cached for consecutive steps', () => {
    let product = Math.fround(0.9);
    for (let t = 1; t <= 50; t++) {
      expect(tfjsBetaPower(0.9, t)).toBe(product);
      product = Math.fround(product * Math.fround(0.9));
    }
    expect(tfjsBetaPower(0.9, 3)).toBe(
      Math.fround(Math.fround(Math.fround(0.9) * Math.fround(0.9)) * Math.fround(0.9)),
    );
    expect(adamParams({}, 1).biasCorrection1).toBe(Math.fround(1 - Math.fround(0.9)));
    expect(() => adamParams({ beta2: 1 }, 1)).toThrow(/beta2/);
    expect(() => adamParams({}, 1.5)).toThrow(/step/);
  });
});
