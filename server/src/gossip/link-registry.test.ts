import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { LinkInfo } from '@tabswarm/protocol';
import { LinkRegistry } from './link-registry.ts';
import { createGossipMetrics } from './metrics.ts';

const link = (peer: string, rejected: Record<string, number>): LinkInfo => ({
  peer,
  kind: 'direct',
  open: true,
  rttMs: 5,
  bytesIn: 0,
  bytesOut: 0,
  framesIn: 0,
  framesOut: 0,
  rejected,
  lastError: null,
});

async function totals(registry: Registry): Promise<Record<string, number>> {
  const metric = await registry.getSingleMetric('tabswarm_gossip_rejected_frames_total')?.get();
  return Object.fromEntries((metric?.values ?? []).map((v) => [String(v.labels.reason), v.value]));
}

describe('LinkRegistry rejected-frame totals', () => {
  it('counts only the growth between reports, and keeps it after the volunteer leaves', async () => {
    const registry = new Registry();
    const links = new LinkRegistry(createGossipMetrics(registry));
    links.record('a', { links: [link('b', { NORM: 2 }), link('c', { LENGTH: 1 })], quarantined: [] });
    links.record('a', { links: [link('b', { NORM: 5 }), link('c', { LENGTH: 1 })], quarantined: [] });
    links.record('d', { links: [link('b', { NORM: 1 })], quarantined: [] });
    expect(await totals(registry)).toEqual({ NORM: 6, LENGTH: 1 });
    // A count that went down belongs to a new link to the same peer: it is counted whole.
    links.record('a', { links: [link('b', { NORM: 2 })], quarantined: [] });
    expect(await totals(registry)).toEqual({ NORM: 8, LENGTH: 1 });
    links.forget('a');
    links.forget('d');
    expect(await totals(registry)).toEqual({ NORM: 8, LENGTH: 1 });
  });
});
