import { describe, expect, it } from 'vitest';
import { ColumnRing } from './ring-buffer.ts';

const row = (i: number) => ({ t: i, v: i * 10 });

describe('ColumnRing', () => {
  it('keeps rows in order until full', () => {
    const ring = new ColumnRing(['t', 'v'], 4);
    [1, 2, 3].forEach((i) => ring.push(row(i)));
    expect(ring.length).toBe(3);
    expect([...ring.column('t')]).toEqual([1, 2, 3]);
    expect([...ring.column('v')]).toEqual([10, 20, 30]);
    expect(ring.at('t', 0)).toBe(1);
    expect(ring.last('v')).toBe(30);
  });

  it('drops the oldest rows once full and stays contiguous at every position', () => {
    const ring = new ColumnRing(['t', 'v'], 4);
    for (let i = 1; i <= 11; i++) {
      ring.push(row(i));
      const expected = Array.from({ length: Math.min(i, 4) }, (_, k) => i - Math.min(i, 4) + 1 + k);
      expect([...ring.column('t')]).toEqual(expected);
      expect([...ring.column('v')]).toEqual(expected.map((e) => e * 10));
    }
    expect(ring.length).toBe(4);
    expect(ring.pushed).toBe(11);
    expect(ring.at('t', 0)).toBe(8);
    expect(ring.at('t', 4)).toBeUndefined();
    expect(ring.at('t', -1)).toBeUndefined();
  });

  it('hands out copies: later pushes do not change an earlier snapshot', () => {
    const ring = new ColumnRing(['t'], 2);
    ring.push({ t: 1 });
    ring.push({ t: 2 });
    const snapshot = ring.column('t');
    ring.push({ t: 3 });
    expect([...snapshot]).toEqual([1, 2]);
    expect([...ring.column('t')]).toEqual([2, 3]);
  });

  it('clears, and rejects bad shapes', () => {
    const ring = new ColumnRing(['t'], 3);
    ring.push({ t: 1 });
    ring.clear();
    expect(ring.length).toBe(0);
    expect(ring.column('t')).toHaveLength(0);
    expect(ring.last('t')).toBeUndefined();
    expect(() => new ColumnRing(['t'], 0)).toThrow(RangeError);
    expect(() => new ColumnRing(['t', 't'], 2)).toThrow(RangeError);
  });

  it('holds 10,000 rows of 51 columns and snapshots them quickly', () => {
    const names = Array.from({ length: 51 }, (_, i) => `c${i}`);
    const ring = new ColumnRing(names, 10_000);
    const values = Object.fromEntries(names.map((n) => [n, 0]));
    for (let i = 0; i < 12_000; i++) {
      for (const n of names) values[n] = i;
      ring.push(values);
    }
    const started = performance.now();
    const columns = names.map((n) => ring.column(n));
    const ms = performance.now() - started;
    expect(columns.every((c) => c.length === 10_000 && c[0] === 2_000 && c[9_999] === 11_999)).toBe(true);
    expect(ms).toBeLessThan(200);
  });
});
