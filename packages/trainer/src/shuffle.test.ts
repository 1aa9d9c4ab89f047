import { describe, expect, it } from 'vitest';
import { MovingAverage, restAfterStep } from './pacing.ts';
import { planBatches, seededPermutation, shardSeed } from './shuffle.ts';
import { EventQueue } from './event-queue.ts';

describe('seeded shuffling', () => {
  it('is a permutation, the same for the same seed and different for another', () => {
    const a = seededPermutation(100, 42);
    expect([...a].sort((x, y) => x - y)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(seededPermutation(100, 42)).toEqual(a);
    expect(seededPermutation(100, 43)).not.toEqual(a);
    expect(shardSeed(1, 0, 3)).toBe(shardSeed(1, 0, 3));
    expect(shardSeed(1, 0, 3)).not.toBe(shardSeed(1, 1, 3));
  });

  it('plans localSteps batches covering the shard once', () => {
    const full = planBatches(64, 16, 4, 7);
    expect(full.batches.map((b) => b.length)).toEqual([16, 16, 16, 16]);
    expect(full.samples).toBe(64);
    expect(new Set(full.batches.flatMap((b) => [...b])).size).toBe(64);
    // The last shard of a dataset is smaller: fewer and smaller batches, still each sample once.
    const last = planBatches(40, 16, 4, 7);
    expect(last.batches.map((b) => b.length)).toEqual([16, 16, 8]);
    expect(last.samples).toBe(40);
  });
});

describe('pacing', () => {
  it('rests t·(1/d − 1) after a step', () => {
    expect(restAfterStep(100, 1)).toBe(0);
    expect(restAfterStep(100, 0.5)).toBe(100);
    expect(restAfterStep(100, 0.25)).toBe(300);
    expect(restAfterStep(Number.NaN, 0.25)).toBe(0);
  });

  it('averages', () => {
    const m = new MovingAverage(0.5);
    expect(m.value).toBeNull();
    expect(m.add(10)).toBe(10);
    expect(m.add(20)).toBe(15);
  });
});

describe('EventQueue', () => {
  it('delivers in order, drops the oldest droppable when full, and ends when closed', async () => {
    const q = new EventQueue<string>(3, (e) => e.startsWith('step'));
    for (const e of ['a', 'step1', 'step2', 'b']) q.push(e);
    q.close();
    const seen: string[] = [];
    for await (const e of q) seen.push(e);
    expect(seen).toEqual(['a', 'step2', 'b']);
  });
});
