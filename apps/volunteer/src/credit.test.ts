import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import type { VolunteerTrust } from '@tabswarm/protocol';
import { CreditFact } from './CreditFact.tsx';

/** The credit fact as the page renders it, for the volunteer's standing (null: nothing judged yet). */
const render = (trust: VolunteerTrust | null): string =>
  renderToStaticMarkup(createElement(CreditFact, { trust }));

/** A standing: nothing judged and no credit, but for what `judged` says. */
const standing = (judged: Partial<VolunteerTrust>): VolunteerTrust => ({
  trust: 0.5,
  standing: 'new',
  valid: 0,
  invalid: 0,
  inconclusive: 0,
  credit: 0,
  ...judged,
});

describe("the volunteer's credit", () => {
  it('shows validated samples and standing', () => {
    const html = render(standing({ trust: 0.76, standing: 'trusted', valid: 7, credit: 2240 }));
    expect(html).toContain('data-testid="credit-samples">2,240<');
    expect(html).toContain('trust 0.76 · 7 agreed, 0 outvoted');
  });

  it('says when the coordinator distrusts it', () => {
    const html = render(standing({ trust: 0.15, standing: 'distrusted', invalid: 1 }));
    expect(html).toContain('data-standing="distrusted"');
    expect(html).toContain('no more work');
  });

  it('before any work was judged: zero, and why', () => {
    expect(render(null)).toContain('credit comes once');
  });
});
