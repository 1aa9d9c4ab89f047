/** Small seeded generator for test and self-test data: the same seed gives the same vectors. */

/** mulberry32: 32-bit state, uniform floats in [0, 1); good enough for test data, not crypto. */
export function createRng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `length` floats uniform in [-scale, scale). */
export function randomVector(rng: () => number, length: number, scale = 1): Float32Array {
  const v = new Float32Array(length);
  for (let i = 0; i < length; i++) v[i] = (rng() * 2 - 1) * scale;
  return v;
}
