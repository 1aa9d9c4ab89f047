import { describe, expect, it } from 'vitest';
import { averageInto, consensusStepInto, differenceFrom } from './averaging-maths.ts';
import { createCodec, type GossipCodec } from './codecs.ts';
import { referenceKernels } from './kernel-library.ts';
import { OuterState, outerNesterovStep } from './outer-optimizer.ts';
import { randomVector } from './test-helpers.ts';

const plain = { syncEvery: 1, learningRate: 1, momentum: 0 };
const diloco = { syncEvery: 4, learningRate: 0.7, momentum: 0.9 };

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
};
const sum = (a: Float32Array, b: Float32Array): Float64Array =>
  Float64Array.from(a, (v, i) => v + (b[i] as number));

describe('the outer optimizer (DiLoCo-style)', () => {
  it('with learning rate 1 and momentum 0 is plain averaging, bit for bit', () => {
    const synced = randomVector(1000, 1);
    const [a, b] = [randomVector(1000, 2), randomVector(1000, 3)];
    const plainA = a.slice();
    averageInto(plainA, b, null);
    const [outerA, outerB] = [new OuterState(synced, plain), new OuterState(synced, plain)];
    const [xA, xB] = [a.slice(), b.slice()];
    averageInto(xA, b, null);
    averageInto(xB, a, null);
    outerA.sync(xA);
    outerB.sync(xB);
    expect(xA).toEqual(plainA);
    expect(xB).toEqual(plainA);
    expect(outerA.synced).toEqual(plainA);
    expect(outerA.syncs).toBe(1);
  });

  it('takes Nesterov momentum steps as computed by hand, in both forms', () => {
    // g = 1 every time, η = 0.5, μ = 0.9: v = 1, 1.9, 2.71; θ moves by −η(g + μv): −0.95, −1.355, −1.7195.
    const settings = { syncEvery: 1, learningRate: 0.5, momentum: 0.9 };
    const expected = [-0.95, -2.305, -4.0245];
    const synced = new Float32Array([0]);
    const velocity = new Float32Array([0]);
    const state = new OuterState(new Float32Array([0]), settings);
    for (const want of expected) {
      outerNesterovStep(synced, velocity, new Float32Array([1]), settings);
      // The local models average one below θ: the pseudo-gradient is 1.
      const average = new Float32Array([(state.synced[0] as number) - 1]);
      state.sync(average);
      expect(synced[0]).toBeCloseTo(want, 5);
      expect(state.synced[0]).toBeCloseTo(want, 5);
      expect(average[0]).toBe(state.synced[0]);
    }
    expect(state.velocity[0]).toBeCloseTo(2.71, 5);
  });

  it('counts shards and synchronises every syncEvery of them', () => {
    const state = new OuterState(new Float32Array(4), diloco);
    const syncs = Array.from({ length: 12 }, () => state.shardDone());
    expect(syncs.map((s, i) => (s ? i + 1 : 0)).filter(Boolean)).toEqual([4, 8, 12]);
    state.reset(new Float32Array([1, 2, 3, 4]));
    expect(state.shards).toBe(0);
    expect(Array.from(state.synced)).toEqual([1, 2, 3, 4]);
  });

  it('moves the mean of two volunteers’ θs by the outer step of their mean, and pulls θs apart together', () => {
    // Anchors apart, as in gossip where each volunteer synchronised with others before.
    const [a, b] = [
      new OuterState(randomVector(500, 4), diloco),
      new OuterState(randomVector(500, 5), diloco),
    ];
    const [xA, xB] = [randomVector(500, 6), randomVector(500, 7)];
    const xbar = xA.slice();
    averageInto(xbar, xB, null);
    const before = Float64Array.from(a.synced, (v, i) => (v + (b.synced[i] as number)) / 2);
    const gapBefore = maxAbsDiff(a.synced, b.synced);
    const [ya, yb] = [xbar.slice(), xbar.slice()];
    a.sync(ya);
    b.sync(yb);
    // mean θ' = mean θ − η(ḡ + μ·v̄) with ḡ = mean θ − x̄ and v̄ = ḡ (fresh momentum).
    const want = before.map((v, i) => {
      const g = v - (xbar[i] as number);
      return v - 0.7 * (g + 0.9 * g);
    });
    const after = Float64Array.from(a.synced, (v, i) => (v + (b.synced[i] as number)) / 2);
    expect(maxAbsDiff(after, want)).toBeLessThan(1e-5);
    // θA' − θB' = (1 − η − ημ)(θA − θB): |1 − 0.7 − 0.63| = 0.33.
    expect(maxAbsDiff(a.synced, b.synced)).toBeCloseTo(0.33 * gapBefore, 4);
  });

  it.each(['int8', 'topk'] as const)(
    'error feedback through the pair references with %s: over 100 compressed synchronisations no training progress is lost',
    async (name) => {
      const codec = createCodec(name, referenceKernels, { topkFraction: 0.01 });
      const n = 4000;
      const step = name === 'topk' ? 0.02 : 0.5;
      const run = async (feedback: boolean) => {
        let xA: Float32Array = randomVector(n, 8);
        let xB: Float32Array = randomVector(n, 9);
        const [oA, oB] = [new OuterState(xA, plain), new OuterState(xB, plain)];
        const total = sum(xA, xB);
        let hA: Float32Array = new Float32Array(n);
        let hB: Float32Array = new Float32Array(n);
        for (let round = 0; round < 100; round++) {
          // A shard of "training" on each side.
          const [mA, mB] = [randomVector(n, 100 + round), randomVector(n, 300 + round)];
          for (let i = 0; i < n; i++) {
            xA[i] = (xA[i] as number) + 0.01 * (mA[i] as number);
            xB[i] = (xB[i] as number) + 0.01 * (mB[i] as number);
            total[i] = (total[i] as number) + 0.01 * ((mA[i] as number) + (mB[i] as number));
          }
          if (feedback) {
            // As the exchange machine does: C(x − ĥ_mine) out, both references advance, then
            // x ← x + γ(ĥ_theirs − ĥ_mine) on each side and the outer step.
            hA = await advance(codec, hA, xA);
            hB = await advance(codec, hB, xB);
            consensusStepInto(xA, hB, hA, step, null);
            consensusStepInto(xB, hA, hB, step, null);
          } else {
            // No references: each side's code of its whole model, averaged.
            const cA = await advance(codec, new Float32Array(n), xA);
            averageInto(cA, await advance(codec, new Float32Array(n), xB), null);
            xA = cA;
            xB = cA.slice();
          }
          oA.sync(xA);
          oB.sync(xB);
        }
        return { lost: maxAbsDiff(sum(xA, xB), total), gap: maxAbsDiff(xA, xB) };
      };
      const kept = await run(true);
      const dropped = await run(false);
      console.log(
        `[error feedback ${name}] lost with references ${kept.lost.toExponential(2)} (gap ${kept.gap.toExponential(2)}), without ${dropped.lost.toExponential(2)}`,
      );
      expect(kept.lost).toBeLessThan(1e-4);
      // The control: coding the models without references loses what the codec leaves out.
      expect(dropped.lost).toBeGreaterThan(100 * kept.lost);
    },
  );
});

/** ĥ + C(x − ĥ): a reference advanced by this side's code, as both sides of a pair compute it. */
async function advance(codec: GossipCodec, reference: Float32Array, x: Float32Array): Promise<Float32Array> {
  const next = reference.slice();
  await codec.accumulate(next, await codec.encode(differenceFrom(x, reference), codec.param(x.length)));
  return next;
}
