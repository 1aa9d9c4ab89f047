import { describe, expect, it } from 'vitest';
import { EDGE_VALUES, sprinkle, vectors } from './kernel-test-helpers.ts';
import { TOPK_SENTINEL, topKScatterAddReference, topKSparsifyReference } from './topk-reference.ts';

describe('top-k reference', () => {
  it('selects the k largest magnitudes, in index order, with error feedback that loses nothing', () => {
    const [x, r] = vectors(1, 2, 5000) as [Float32Array, Float32Array];
    sprinkle(x, EDGE_VALUES, 97);
    const y = x.map((v, i) => v + (r[i] as number));
    const residual = r.slice();
    const { indices, values, count } = topKSparsifyReference(x, residual, 100);
    expect(count).toBe(100);
    const chosen = Array.from(indices);
    expect(chosen).toEqual([...chosen].sort((a, b) => a - b));
    const smallestChosen = Math.min(...Array.from(values, Math.abs));
    for (let i = 0; i < 5000; i++) {
      if (!chosen.includes(i) && Number.isFinite(y[i])) {
        expect(Math.abs(y[i] as number)).toBeLessThanOrEqual(smallestChosen);
      }
    }
    for (const [j, i] of chosen.entries()) expect(values[j]).toBe(y[i]);
    expect(values.every((v) => Number.isFinite(v))).toBe(true);
    const restored = topKScatterAddReference(residual, indices, values);
    expect(Array.from(restored, (v) => (Number.isNaN(v) ? 'NaN' : v))).toEqual(
      Array.from(y, (v) => (Number.isNaN(v) ? 'NaN' : v)),
    );
  });

  it('takes ties at the threshold lowest index first, and fills unused slots with the sentinel', () => {
    const x = new Float32Array([1, -2, 2, 0, 2, -1, Number.NaN, Number.POSITIVE_INFINITY]);
    expect(topKSparsifyReference(x, null, 2)).toEqual({
      indices: new Uint32Array([1, 2]),
      values: new Float32Array([-2, 2]),
      count: 2,
    });
    const all = topKSparsifyReference(x, null, 8);
    expect(all.count).toBe(5);
    expect(Array.from(all.indices)).toEqual([0, 1, 2, 4, 5, TOPK_SENTINEL, TOPK_SENTINEL, TOPK_SENTINEL]);
    expect(Array.from(all.values)).toEqual([1, -2, 2, 2, -1, 0, 0, 0]);
  });

  it('with k = 0 sends nothing and keeps all of y in the residual', () => {
    const residual = new Float32Array([0.5, 0.5]);
    expect(topKSparsifyReference(new Float32Array([1, 2]), residual, 0).count).toBe(0);
    expect(Array.from(residual)).toEqual([1.5, 2.5]);
  });

  it('scatter-add skips sentinels and out-of-range indices, and weights by alpha', () => {
    const out = new Float32Array([1, 1, 1]);
    topKScatterAddReference(
      out,
      new Uint32Array([2, TOPK_SENTINEL, 7, 0]),
      new Float32Array([4, 9, 9, 2]),
      0.5,
    );
    expect(Array.from(out)).toEqual([2, 1, 3]);
    expect(() => topKSparsifyReference(new Float32Array(2), null, -1)).toThrow(/non-negative/);
  });
});
