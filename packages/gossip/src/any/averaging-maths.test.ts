import { describe, expect, it } from 'vitest';
import { mulberry32, randomVector } from '@tabswarm/core';
import {
  averageInto,
  consensusStepInto,
  defaultConsensusStep,
  differenceFrom,
  mergePending,
} from './averaging-maths.ts';

const vector = (seed: number, n = 64, scale = 10): Float32Array => randomVector(mulberry32(seed), n, scale);

describe('pair averaging', () => {
  it('gives both sides of a pair the same bits and keeps the pair mean (property)', () => {
    for (let seed = 1; seed < 200; seed++) {
      const a = vector(seed);
      const b = vector(seed + 1000);
      const [x, y] = [a.slice(), b.slice()];
      averageInto(x, b, null);
      averageInto(y, a, null);
      expect(x).toEqual(y);
      for (let i = 0; i < a.length; i++) {
        // (a + b) / 2 computed once and rounded once to fp32.
        expect(x[i]).toBe(Math.fround(((a[i] as number) + (b[i] as number)) * 0.5));
      }
    }
  });

  it('adds each change to the pending changes when a trainer holds the parameters', () => {
    const x = new Float32Array([1, 2, 3]);
    const pending = new Float32Array([0.5, 0, 0]);
    averageInto(x, new Float32Array([3, 2, 1]), pending);
    expect(x).toEqual(new Float32Array([2, 2, 2]));
    expect(pending).toEqual(new Float32Array([1.5, 0, -1]));
  });
});

describe('the compressed consensus step', () => {
  it('cancels between the two sides, so the pair sum is unchanged whatever the references (property)', () => {
    const random = mulberry32(3);
    for (let seed = 1; seed < 100; seed++) {
      const [x, y] = [vector(seed), vector(seed + 500)];
      const sumBefore = x.map((v, i) => v + (y[i] as number));
      const [mineA, mineB] = [vector(seed + 2000, 64, 1), vector(seed + 3000, 64, 1)];
      const step = random() * 0.5;
      // A's ĥ_mine is B's ĥ_theirs and the other way round.
      consensusStepInto(x, mineB, mineA, step, null);
      consensusStepInto(y, mineA, mineB, step, null);
      for (let i = 0; i < x.length; i++) {
        expect((x[i] as number) + (y[i] as number)).toBeCloseTo(sumBefore[i] as number, 4);
      }
    }
  });

  it('is the exact pair average once both references equal the models, at γ = 1/2', () => {
    const [a, b] = [vector(1), vector(2)];
    const x = a.slice();
    consensusStepInto(x, b, a, 0.5, null);
    const y = a.slice();
    averageInto(y, b, null);
    for (let i = 0; i < x.length; i++) expect(x[i]).toBeCloseTo(y[i] as number, 5);
  });

  it('steps 1/2 for fp16 and int8, and 2 × the fraction (at most 1/2) for top-k', () => {
    expect(defaultConsensusStep('fp16', 0.01)).toBe(0.5);
    expect(defaultConsensusStep('int8', 0.01)).toBe(0.5);
    expect(defaultConsensusStep('topk', 0.01)).toBe(0.02);
    expect(defaultConsensusStep('topk', 0.4)).toBe(0.5);
  });
});

describe('differences and pending changes', () => {
  it('sends x − ĥ_mine, or x itself before any reference', () => {
    const x = new Float32Array([1, 2, 3]);
    expect(differenceFrom(x, new Float32Array([1, 1, 1]))).toEqual(new Float32Array([0, 1, 2]));
    const first = differenceFrom(x, undefined);
    expect(first).toEqual(x);
    expect(first).not.toBe(x);
  });

  it('adds the pending changes to the trainer’s parameters once, then clears them', () => {
    const x = new Float32Array(3);
    const pending = new Float32Array([1, -1, 0.5]);
    mergePending(x, new Float32Array([1, 2, 3]), pending);
    expect(x).toEqual(new Float32Array([2, 1, 3.5]));
    expect(pending).toEqual(new Float32Array(3));
    mergePending(x, new Float32Array([1, 2, 3]), null);
    expect(x).toEqual(new Float32Array([1, 2, 3]));
  });
});
