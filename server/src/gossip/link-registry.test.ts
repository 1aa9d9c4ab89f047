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

async function gauge(registry: Registry, name: string, label: string): Promise<Record<string, number>> {
  const metric = await registry.getSingleMetric(name)?.get();
  return Object.fromEntries(
    (metric?.values ?? []).filter((v) => v.value !== 0).map((v) => [String(v.labels[label]), v.value]),
  );
}

const LINKS = 'tabswarm_gossip_links';
const REJECTED_NOW = 'tabswarm_gossip_rejected_frames';

describe('LinkRegistry gauges', () => {
  it('are the sums over the latest report of each volunteer, through replacements and leaves', async () => {
    const registry = new Registry();
    const links = new LinkRegistry(createGossipMetrics(registry));
    const relay = { ...link('e', {}), kind: 'relay' as const };
    const failed = { ...link('f', { NORM: 1 }), kind: 'failed' as const, open: false };
    const closed = { ...link('g', {}), open: false };
    links.record('a', { links: [link('b', { NORM: 2 }), relay], quarantined: [] });
    links.record('d', { links: [link('b', { LENGTH: 3 }), failed, closed], quarantined: [] });
    expect(await gauge(registry, LINKS, 'kind')).toEqual({ direct: 2, relay: 1, failed: 1 });
    expect(await gauge(registry, REJECTED_NOW, 'reason')).toEqual({ NORM: 3, LENGTH: 3 });
    // A new report replaces the volunteer's last one; it is not added to it.
    links.record('a', { links: [link('b', { NORM: 4 })], quarantined: [] });
    expect(await gauge(registry, LINKS, 'kind')).toEqual({ direct: 2, failed: 1 });
    expect(await gauge(registry, REJECTED_NOW, 'reason')).toEqual({ NORM: 5, LENGTH: 3 });
    links.forget('d');
    expect(await gauge(registry, LINKS, 'kind')).toEqual({ direct: 1 });
    expect(await gauge(registry, REJECTED_NOW, 'reason')).toEqual({ NORM: 4 });
    links.forget('a');
    links.forget('a');
    expect(await gauge(registry, LINKS, 'kind')).toEqual({});
    expect(await gauge(registry, REJECTED_NOW, 'reason')).toEqual({});
  });
});
