import { describe, expect, it } from 'vitest';
import { goalVerdict, markdownTable } from './markdown.ts';

describe('markdownTable', () => {
  it('pads columns and right-aligns numbers', () => {
    expect(
      markdownTable(
        ['name', 'ms'],
        [
          ['adam', '1.5'],
          ['mix-8', '12.25'],
        ],
      ),
    ).toBe(['| name  |    ms |', '|-------|------:|', '| adam  |   1.5 |', '| mix-8 | 12.25 |'].join('\n'));
  });
});

describe('goalVerdict', () => {
  it('says met at or above the goal, and by how much it missed below', () => {
    expect(goalVerdict(0.7, 0.7, String)).toBe('met');
    expect(goalVerdict(1.5, 2, (x) => `${x.toFixed(2)}×`)).toBe('missed by 0.50×');
  });
});
