import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import type { NodeInfo, VolunteerTrust } from '@tabswarm/protocol';
import { ContributorsCard, contributorRows } from './ContributorsCard.tsx';

function node(id: string, trust?: Partial<VolunteerTrust>): NodeInfo {
  return {
    id,
    status: 'active',
    state: 'working',
    capabilities: {
      backend: 'webgpu',
      adapter: null,
      fallbackReason: null,
      userAgent: 'test',
    },
    selfTest: null,
    health: null,
    joinedAt: 0,
    lastSeenAt: 0,
    connected: true,
    ...(trust === undefined
      ? {}
      : {
          trust: { trust: 0.5, standing: 'new', valid: 0, invalid: 0, inconclusive: 0, credit: 0, ...trust },
        }),
  };
}

describe('contributors', () => {
  const nodes = new Map(
    [
      node('v-unjudged'),
      node('v-lazy', { trust: 0.15, standing: 'distrusted', invalid: 1 }),
      node('v-small', { trust: 0.6, standing: 'trusted', valid: 1, credit: 320 }),
      node('v-big', { trust: 0.8, standing: 'trusted', valid: 9, credit: 2880 }),
    ].map((n) => [n.id, n]),
  );

  it('lists judged volunteers only, most credit first', () => {
    expect(contributorRows(nodes.values()).map((r) => r.node.id)).toEqual(['v-big', 'v-small', 'v-lazy']);
  });

  it('shows credit and standing, distrusted ones marked', () => {
    const html = renderToStaticMarkup(createElement(ContributorsCard, { nodes }));
    expect(html).toContain('data-testid="contributor-count">3<');
    expect(html).toContain('1 distrusted');
    expect(html).toMatch(/data-node-id="v-big" data-standing="trusted"[^>]*>.*2,880/);
    expect(html).toMatch(/data-node-id="v-lazy" data-standing="distrusted" class="row-distrusted"/);
    expect(html).not.toContain('v-unjudged');
  });

  it('says what to do when nothing was judged', () => {
    const html = renderToStaticMarkup(
      createElement(ContributorsCard, { nodes: new Map([['a', node('a')]]) }),
    );
    expect(html).toContain('No replicated work judged yet');
  });
});
