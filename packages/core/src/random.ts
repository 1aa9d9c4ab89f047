/**
 * The one seeded generator (mulberry32) and what is drawn from it: permutations and test vectors.
 * Only 32-bit integer arithmetic, so every JavaScript engine produces the same bits for a seed.
 */

/**
 * mulberry32: 32-bit state, period 2^32, uniform floats in [0, 1). Good enough for shuffling,
 * initialisation and test data; never for secrets.
 */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * murmur3's 32-bit finaliser: a bijection that spreads every input bit over the output. Used to
 * derive seeds (per shard, per weight), not as a generator.
 */
export function mix32(x: number): number {
  let z = x | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** Fisher–Yates from the last index down, in place: the order every permutation here uses. */
export function shuffleInPlace<T extends { [i: number]: number; readonly length: number }>(
  items: T,
  random: () => number,
): T {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const tmp = items[i] as number;
    items[i] = items[j] as number;
    items[j] = tmp;
  }
  return items;
}

/** A permutation of 0..n-1 drawn by Fisher–Yates from mulberry32(seed). */
export function seededPermutation(n: number, seed: number): Uint32Array {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`n must be a whole number ≥ 0, got ${n}`);
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  return shuffleInPlace(order, mulberry32(seed));
}

/** `length` floats uniform in [-scale, scale) from `random` (test and self-test data). */
export function randomVector(random: () => number, length: number, scale = 1): Float32Array {
  const v = new Float32Array(length);
  for (let i = 0; i < length; i++) v[i] = (random() * 2 - 1) * scale;
  return v;
}
