import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { CreditFact } from './CreditFact.tsx';

describe("the volunteer's credit", () => {
  it('shows validated samples and standing', () => {
    const html = renderToStaticMarkup(
      createElement(CreditFact, {
        trust: { trust: 0.76, standing: 'trusted', valid: 7, invalid: 0, inconclusive: 0, credit: 2240 },
      }),
    );
    expect(html).toContain('data-testid="credit-samples">2,240<');
    expect(html).toContain('trust 0.76 · 7 agreed, 0 outvoted');
  });

  it('says when the coordinator distrusts it', () => {
    const html = renderToStaticMarkup(
      createElement(CreditFact, {
        trust: { trust: 0.15, standing: 'distrusted', valid: 0, invalid: 1, inconclusive: 0, credit: 0 },
      }),
    );
    expect(html).toContain('data-standing="distrusted"');
    expect(html).toContain('no more work');
  });

  it('before any work was judged: zero, and why', () => {
    expect(renderToStaticMarkup(createElement(CreditFact, { trust: null }))).toContain('credit comes once');
  });
});
