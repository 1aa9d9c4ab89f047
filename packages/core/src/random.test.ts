import { describe, expect, it } from 'vitest';
import { mix32, mulberry32, randomVector, seededPermutation } from './random.ts';
import { planBatches, shardOrder, shardSeed } from './shards.ts';

// Golden values from the copies this module replaced (server/src/scheduler/shuffle.ts,
// server/src/datasets/prng.ts, packages/trainer/src/shuffle.ts): stored shard positions, the
// MNIST split and re-issued shards depend on these exact bits.
describe('the seeded generator', () => {
  it('draws the bits the scheduler and the dataset split always drew', () => {
    const r = mulberry32(20261122);
    expect([r(), r(), r()]).toEqual([0.8369944463483989, 0.10530598578043282, 0.0031693943310528994]);
    expect([...seededPermutation(12, 42)]).toEqual([2, 0, 5, 10, 9, 11, 3, 1, 6, 8, 4, 7]);
  });

  it('draws uniform floats in [0, 1)', () => {
    const r = mulberry32(1);
    let sum = 0;
    for (let i = 0; i < 10_000; i++) {
      const v = r();
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThan(1);
      sum += v;
    }
    expect(sum / 10_000).toBeCloseTo(0.5, 1);
  });

  it('permutes: every index once, the same for a seed and different for another', () => {
    for (const seed of [0, 1, 42, 0xffffffff]) {
      const a = seededPermutation(100, seed);
      expect([...a].sort((x, y) => x - y)).toEqual(Array.from({ length: 100 }, (_, i) => i));
      expect(seededPermutation(100, seed)).toEqual(a);
      expect(seededPermutation(100, seed + 1)).not.toEqual(a);
    }
    expect(seededPermutation(0, 1)).toHaveLength(0);
    expect(() => seededPermutation(-1, 1)).toThrow(RangeError);
  });

  it('mixes seeds as a bijection on small inputs', () => {
    const seen = new Set(Array.from({ length: 4096 }, (_, i) => mix32(i)));
    expect(seen.size).toBe(4096);
  });

  it('makes test vectors within [-scale, scale)', () => {
    const v = randomVector(mulberry32(3), 1000, 4);
    expect(v.every((x) => x >= -4 && x < 4)).toBe(true);
    expect(randomVector(mulberry32(3), 1000, 4)).toEqual(v);
  });
});

describe('shard order and shard seeds', () => {
  it('orders an epoch as the scheduler always did', () => {
    expect(shardOrder(12, 7, 0)).toEqual([5, 4, 1, 2, 11, 9, 8, 3, 10, 6, 0, 7]);
    expect(shardOrder(12, 7, 3)).toEqual([6, 4, 3, 0, 1, 8, 7, 10, 5, 2, 9, 11]);
  });

  it('derives shard seeds as the trainer always did', () => {
    expect(shardSeed(1, 0, 3)).toBe(238927191);
    expect(shardSeed(0xdeadbeef, 4, 99)).toBe(4235894095);
    expect(shardSeed(1, 0, 3)).not.toBe(shardSeed(1, 1, 3));
    expect(shardSeed(1, 0, 3)).not.toBe(shardSeed(1, 0, 4));
  });

  it('plans localSteps batches covering the shard once', () => {
    const full = planBatches(64, 16, 4, 7);
    expect(full.batches.map((b) => b.length)).toEqual([16, 16, 16, 16]);
    expect(full.samples).toBe(64);
    expect(new Set(full.batches.flatMap((b) => [...b])).size).toBe(64);
    // The batches are the seeded permutation cut in order.
    expect(full.batches.flatMap((b) => [...b])).toEqual([...seededPermutation(64, 7)]);
    // The last shard of a dataset is smaller: fewer and smaller batches, still each sample once.
    const last = planBatches(40, 16, 4, 7);
    expect(last.batches.map((b) => b.length)).toEqual([16, 16, 8]);
    expect(last.samples).toBe(40);
    // Fewer steps than the shard needs: the plan stops at localSteps.
    expect(planBatches(64, 16, 2, 7).samples).toBe(32);
    expect(() => planBatches(10, 0, 1, 1)).toThrow(RangeError);
    expect(() => planBatches(10, 1, 0, 1)).toThrow(RangeError);
  });
});
