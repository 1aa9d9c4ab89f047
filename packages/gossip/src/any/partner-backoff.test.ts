import { describe, expect, it } from 'vitest';
import { PartnerBackoff } from './partner-backoff.ts';

const skippedRounds = (backoff: PartnerBackoff, peer: string, from: number): number => {
  let round = from;
  while (backoff.skips(peer, round)) round++;
  return round - from;
};

describe('PartnerBackoff', () => {
  it('skips a partner for 1, 2, 4 … rounds after each timeout, up to the cap', () => {
    const backoff = new PartnerBackoff({ maxRounds: 8 });
    let round = 0;
    const skips: number[] = [];
    for (let i = 0; i < 6; i++) {
      backoff.timedOut('p', round);
      const skipped = skippedRounds(backoff, 'p', round + 1);
      skips.push(skipped);
      round += 1 + skipped;
    }
    expect(skips).toEqual([1, 2, 4, 8, 8, 8]);
    expect(backoff.skips('q', 1)).toBe(false);
  });

  it('forgets the strikes once the partner answers an exchange again', () => {
    const backoff = new PartnerBackoff();
    backoff.timedOut('p', 0);
    backoff.timedOut('p', 2);
    expect(skippedRounds(backoff, 'p', 3)).toBe(2);
    backoff.answered('p');
    expect(backoff.skips('p', 3)).toBe(false);
    backoff.timedOut('p', 10);
    expect(skippedRounds(backoff, 'p', 11)).toBe(1);
  });

  it('remembers a bounded number of partners, the oldest strike forgotten first', () => {
    const backoff = new PartnerBackoff({ maxTracked: 100 });
    for (let i = 0; i < 10_000; i++) backoff.timedOut(`p${i}`, 0);
    expect(backoff.tracked).toBe(100);
    expect(backoff.skips('p9999', 0)).toBe(true);
    expect(backoff.skips('p0', 0)).toBe(false);
  });
});
