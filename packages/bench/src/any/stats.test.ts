import { describe, expect, it } from 'vitest';
import { formatTiming, mapTiming, timing } from './stats.ts';

describe('timing', () => {
  it('is the median with min and max, whatever the order', () => {
    expect(timing([5, 1, 3])).toEqual({ median: 3, min: 1, max: 5, repetitions: 3 });
    expect(timing([4, 1, 3, 2])).toEqual({ median: 2.5, min: 1, max: 4, repetitions: 4 });
  });

  it('refuses no samples and non-finite ones', () => {
    expect(() => timing([])).toThrow(RangeError);
    expect(() => timing([1, Number.NaN])).toThrow(RangeError);
  });

  it('maps ms to a rate with min and max swapped', () => {
    const rate = mapTiming(timing([10, 20, 40]), (ms) => 1000 / ms);
    expect(rate).toEqual({ median: 50, min: 25, max: 100, repetitions: 3 });
    expect(formatTiming(rate, 1)).toBe('50.0 (25.0–100.0)');
  });
});
