import { describe, expect, it } from 'vitest';
import { columnRows, formatStat } from './column-summary.ts';

describe('the dataset column summary', () => {
  it('shows training statistics, categories and the preprocessing of each column', () => {
    const rows = columnRows([
      {
        name: 'area',
        kind: 'numeric',
        preprocessing: 'standardize',
        min: 143.5,
        max: 2501,
        mean: 654.889,
        std: 351.6,
      },
      {
        name: 'smoothness',
        kind: 'numeric',
        preprocessing: 'none',
        min: 0.05263,
        max: 0.1634,
        mean: 0.0964,
        std: 0.014,
      },
      { name: 'colour', kind: 'categorical', preprocessing: 'onehot', categories: ['blue', 'green', 'red'] },
      { name: 'comment', kind: 'categorical', preprocessing: 'drop' },
      { name: 'diagnosis', kind: 'label', preprocessing: 'classes', categories: ['B', 'M'] },
    ]);
    expect(rows).toEqual([
      {
        name: 'area',
        kind: 'numeric',
        values: 'min 143.5 · max 2,501 · mean 654.9 · std 351.6',
        preprocessing: 'standardised with the training split’s mean and std',
      },
      {
        name: 'smoothness',
        kind: 'numeric',
        values: 'min 0.05263 · max 0.1634 · mean 0.0964 · std 0.014',
        preprocessing: 'raw values',
      },
      { name: 'colour', kind: 'categorical', values: '3 values: blue, green, red', preprocessing: 'one-hot' },
      { name: 'comment', kind: 'categorical', values: '—', preprocessing: 'dropped' },
      { name: 'diagnosis', kind: 'label', values: '2 values: B, M', preprocessing: 'label (classes)' },
    ]);
  });

  it('shortens long category lists and extreme numbers', () => {
    const many = Array.from({ length: 12 }, (_, i) => `c${i}`);
    expect(
      columnRows([{ name: 'c', kind: 'categorical', preprocessing: 'onehot', categories: many }])[0]?.values,
    ).toBe('12 values: c0, c1, c2, c3, c4, c5, c6, c7, … (4 more)');
    expect(formatStat(1.5e7)).toBe('1.500e+7');
    expect(formatStat(2e-5)).toBe('2.000e-5');
    expect(formatStat(0)).toBe('0');
    expect(formatStat(undefined)).toBe('—');
  });
});
