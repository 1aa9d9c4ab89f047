import { describe, expect, it } from 'vitest';
import { gaussianEpsilon, privatizeUpdate, type UniformSource } from './privacy.ts';
import { mulberry32 } from './random.ts';

const seeded =
  (seed: number): UniformSource =>
  (out) => {
    const random = mulberry32(seed);
    for (let i = 0; i < out.length; i++) out[i] = 1 - random(); // (0, 1]
  };

const norm = (a: Float32Array, b: Float32Array): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += ((a[i] as number) - (b[i] as number)) ** 2;
  return Math.sqrt(s);
};

describe('privatizeUpdate', () => {
  const n = 100_000;
  const start = Float32Array.from({ length: n }, (_, i) => Math.sin(i));
  /** An update of norm 10 along a fixed direction. */
  const end = Float32Array.from(start, (s, i) => s + (i % 2 === 0 ? 10 : -10) / Math.sqrt(n));

  it('clips the update to the clip norm (noise negligible)', () => {
    const out = privatizeUpdate(start, end, { clipNorm: 0.5, noiseMultiplier: 1e-9 });
    expect(out.updateNorm).toBeCloseTo(10, 3);
    expect(out.clipScale).toBeCloseTo(0.05, 6);
    expect(norm(out.values, start)).toBeCloseTo(0.5, 3);
    // An update within the clip norm is kept as it is.
    const small = privatizeUpdate(start, end, { clipNorm: 20, noiseMultiplier: 1e-9 });
    expect(small.clipScale).toBe(1);
    expect(norm(small.values, start)).toBeCloseTo(10, 2);
  });

  it('adds Gaussian noise of standard deviation z·C to every parameter', () => {
    const out = privatizeUpdate(start, start, { clipNorm: 2, noiseMultiplier: 0.75 }, seeded(3));
    const noise = Array.from(out.values, (v, i) => v - (start[i] as number));
    const mean = noise.reduce((a, b) => a + b, 0) / n;
    const sd = Math.sqrt(noise.reduce((a, b) => a + (b - mean) ** 2, 0) / n);
    expect(Math.abs(mean)).toBeLessThan(0.02);
    expect(sd).toBeGreaterThan(1.5 * 0.98);
    expect(sd).toBeLessThan(1.5 * 1.02);
    // Gaussian tails: about 4.55 % beyond two standard deviations.
    const beyond = noise.filter((v) => Math.abs(v) > 3).length / n;
    expect(beyond).toBeGreaterThan(0.04);
    expect(beyond).toBeLessThan(0.051);
  });

  it('draws fresh noise from the cryptographic generator by default', () => {
    const a = privatizeUpdate(start, end, { clipNorm: 1, noiseMultiplier: 1 });
    const b = privatizeUpdate(start, end, { clipNorm: 1, noiseMultiplier: 1 });
    expect(norm(a.values, b.values)).toBeGreaterThan(100);
  });

  it('refuses ends of different lengths and a non-finite update', () => {
    expect(() => privatizeUpdate(start, end.subarray(1), { clipNorm: 1, noiseMultiplier: 1 })).toThrow(
      /differ in length/,
    );
    const bad = Float32Array.from(end);
    bad[3] = Number.NaN;
    expect(() => privatizeUpdate(start, bad, { clipNorm: 1, noiseMultiplier: 1 })).toThrow(/not finite/);
  });
});

describe('gaussianEpsilon', () => {
  // Reference values: the same conversion minimised by a dense grid over α (an independent script,
  // α from 1.0001 to 2,000 in steps of 0.05 %).
  it.each([
    [1, 1, 1e-5, 4.7284],
    [1, 10, 1e-5, 19.0473],
    [2, 10, 1e-5, 8.0784],
    [4, 100, 1e-6, 15.3275],
    [0.5, 1, 1e-5, 10.7248],
  ])('z %s, %s releases, δ %s: ε %s', (z, releases, delta, expected) => {
    const epsilon = gaussianEpsilon(z, releases, delta);
    expect(epsilon).toBeCloseTo(expected, 3);
    // Never above the classic zCDP conversion ρ + 2√(ρ log(1/δ)), ρ = k / (2z²).
    const rho = releases / (2 * z * z);
    expect(epsilon).toBeLessThanOrEqual(rho + 2 * Math.sqrt(rho * Math.log(1 / delta)));
  });

  it('is 0 before any release, grows with releases, falls with noise', () => {
    expect(gaussianEpsilon(1, 0, 1e-5)).toBe(0);
    const series = [1, 2, 4, 8, 16].map((k) => gaussianEpsilon(1, k, 1e-5));
    for (let i = 1; i < series.length; i++) expect(series[i]).toBeGreaterThan(series[i - 1] as number);
    expect(gaussianEpsilon(2, 4, 1e-5)).toBeLessThan(gaussianEpsilon(1, 4, 1e-5));
  });

  it('refuses a non-positive multiplier and a δ outside (0, 1)', () => {
    expect(() => gaussianEpsilon(0, 1, 1e-5)).toThrow(RangeError);
    expect(() => gaussianEpsilon(1, 1, 0)).toThrow(RangeError);
    expect(() => gaussianEpsilon(1, 1, 1)).toThrow(RangeError);
  });
});
