import { describe, expect, it } from 'vitest';
import { STRAGGLER_FRACTION } from '@tabswarm/core';
import { type Health, type LinkInfo, type NodeInfo, type NodeLinks } from '@tabswarm/protocol';
import {
  countByStatus,
  countLinkKinds,
  deriveStatus,
  linkSummary,
  nodeView,
  sortNodeViews,
  STALE_AFTER_MS,
  topologyLinks,
} from './node-view.ts';

const NOW = 1_000_000;

function health(overrides: Partial<Health> = {}): Health {
  return {
    backend: 'webgpu',
    samplesPerSec: 100,
    stepTimeMs: 5,
    tensors: 10,
    gpuBytes: 0,
    lastLoss: 0.5,
    shardsDone: 3,
    lease: null,
    dutyCycle: 1,
    ...overrides,
  };
}

function node(id: string, overrides: Partial<NodeInfo> = {}): NodeInfo {
  return {
    id,
    status: 'active',
    state: 'idle',
    capabilities: { backend: 'webgpu', adapter: null, fallbackReason: null, userAgent: 'test' },
    selfTest: null,
    health: null,
    joinedAt: NOW - 60_000,
    lastSeenAt: NOW - 1_000,
    connected: true,
    ...overrides,
  };
}

const lease = (issuedAt: number, deadline: number) => ({
  leaseId: 'lease-0000000000000001',
  jobId: 'job-000000000001',
  issuedAt,
  deadline,
  stepsDone: 2,
  steps: 10,
});

describe('node status', () => {
  it('is gone when the coordinator says so, whatever the health', () => {
    const n = node('gone1', { status: 'gone', health: health({ lease: lease(NOW - 100_000, NOW - 1) }) });
    expect(deriveStatus(n, NOW)).toBe('gone');
  });

  it('flags a straggler with the scheduler rule (isStraggler at STRAGGLER_FRACTION)', () => {
    const window = 30_000;
    const issuedAt = NOW - window * STRAGGLER_FRACTION;
    expect(
      deriveStatus(node('s1', { health: health({ lease: lease(issuedAt, issuedAt + window) }) }), NOW),
    ).toBe('straggler');
    const justBefore = issuedAt + 1;
    expect(
      deriveStatus(node('s2', { health: health({ lease: lease(justBefore, justBefore + window) }) }), NOW),
    ).toBe('active');
  });

  it('is active while working or holding a lease, idle otherwise', () => {
    expect(deriveStatus(node('w', { state: 'working' }), NOW)).toBe('active');
    expect(deriveStatus(node('l', { health: health({ lease: lease(NOW, NOW + 60_000) }) }), NOW)).toBe(
      'active',
    );
    expect(deriveStatus(node('i'), NOW)).toBe('idle');
    expect(deriveStatus(node('p', { state: 'paused' }), NOW)).toBe('idle');
  });

  it('marks live nodes stale after STALE_AFTER_MS without a heartbeat, never gone ones', () => {
    expect(nodeView(node('a', { lastSeenAt: NOW - STALE_AFTER_MS }), NOW).stale).toBe(false);
    expect(nodeView(node('b', { lastSeenAt: NOW - STALE_AFTER_MS - 1 }), NOW).stale).toBe(true);
    expect(nodeView(node('c', { status: 'gone', lastSeenAt: 0 }), NOW).stale).toBe(false);
  });

  it('reads throughput, shards and the lease deadline from health', () => {
    const v = nodeView(node('h', { health: health({ lease: lease(NOW - 1_000, NOW + 9_000) }) }), NOW);
    expect(v.samplesPerSec).toBe(100);
    expect(v.shardsDone).toBe(3);
    expect(v.lease).toMatchObject({ jobId: 'job-000000000001', msLeft: 9_000, stepsDone: 2, steps: 10 });
    const bare = nodeView(node('n'), NOW);
    expect(bare.samplesPerSec).toBeNull();
    expect(bare.lease).toBeNull();
    expect(bare.adapter).toBe('no WebGPU');
  });
});

describe('node sorting', () => {
  const views = [
    nodeView(node('b', { health: health({ samplesPerSec: 50 }), joinedAt: 3 }), NOW),
    nodeView(node('a', { status: 'gone', joinedAt: 5 }), NOW),
    nodeView(
      node('c', { health: health({ samplesPerSec: 200, lease: lease(NOW - 60_000, NOW + 1) }), joinedAt: 1 }),
      NOW,
    ),
    nodeView(node('d', { joinedAt: 4 }), NOW),
  ];
  const ids = (key: Parameters<typeof sortNodeViews>[1], dir: 'asc' | 'desc') =>
    sortNodeViews(views, key, dir).map((v) => v.id);

  it('by default lists live nodes first, newest first', () => {
    expect(ids('default', 'asc')).toEqual(['d', 'b', 'c', 'a']);
    expect(ids('default', 'desc')).toEqual(['a', 'c', 'b', 'd']);
  });

  it('sorts text and numbers both ways, empty values always last', () => {
    expect(ids('id', 'asc')).toEqual(['a', 'b', 'c', 'd']);
    expect(ids('id', 'desc')).toEqual(['d', 'c', 'b', 'a']);
    expect(ids('samplesPerSec', 'asc')).toEqual(['b', 'c', 'a', 'd']);
    expect(ids('samplesPerSec', 'desc')).toEqual(['c', 'b', 'a', 'd']);
    expect(ids('lease', 'asc')).toEqual(['c', 'a', 'b', 'd']);
  });

  it('puts stragglers first when sorting by status', () => {
    expect(ids('status', 'asc')).toEqual(['c', 'b', 'd', 'a']);
    expect(countByStatus(views)).toEqual({ straggler: 1, active: 0, idle: 2, gone: 1 });
  });
});

function link(peer: string, overrides: Partial<LinkInfo> = {}): LinkInfo {
  return {
    peer,
    kind: 'direct',
    open: true,
    rttMs: 12,
    bytesIn: 100,
    bytesOut: 200,
    framesIn: 1,
    framesOut: 1,
    rejected: {},
    lastError: null,
    ...overrides,
  };
}

function report(nodeId: string, links: LinkInfo[], quarantined: string[] = []): NodeLinks {
  return { nodeId, reportedAt: NOW - 500, links, quarantined };
}

describe('link reports', () => {
  it('sums peers, kinds, bytes and rejected frames of one report', () => {
    const summary = linkSummary(
      report(
        'a',
        [
          link('b'),
          link('c', { kind: 'relay', bytesIn: 50, bytesOut: 5, rejected: { NORM: 2, LENGTH: 1 } }),
          link('d', { kind: 'failed', open: false, bytesIn: 0, bytesOut: 0, rejected: { NORM: 3 } }),
        ],
        ['d'],
      ),
    );
    expect(summary.peers).toBe(3);
    expect(summary.byKind).toEqual({ direct: 1, relay: 1, failed: 1 });
    expect(summary.bytesIn).toBe(150);
    expect(summary.bytesOut).toBe(205);
    expect(summary.rejected).toBe(6);
    expect(summary.rejectedByReason).toEqual([
      ['NORM', 5],
      ['LENGTH', 1],
    ]);
    expect(summary.quarantined).toEqual(['d']);
  });

  it('carries what the node’s averaging sent and received, sortable, null before any', () => {
    expect(linkSummary(report('a', [link('b')])).averaging).toBeNull();
    const views = [
      nodeView(node('a'), NOW, { ...report('a', []), averaging: { bytesOut: 900, bytesIn: 1000 } }),
      nodeView(node('b'), NOW, report('b', [])),
      nodeView(node('c'), NOW, { ...report('c', []), averaging: { bytesOut: 10, bytesIn: 20 } }),
    ];
    expect(views[0]?.links?.averaging).toEqual({ bytesOut: 900, bytesIn: 1000 });
    expect(sortNodeViews(views, 'averagingBytes', 'desc').map((v) => v.id)).toEqual(['a', 'c', 'b']);
    expect(sortNodeViews(views, 'averagingBytes', 'asc').map((v) => v.id)).toEqual(['c', 'a', 'b']);
  });

  it('puts the summary on the node view, null without a report', () => {
    expect(nodeView(node('a'), NOW).links).toBeNull();
    expect(nodeView(node('a'), NOW, report('a', [link('b')])).links?.peers).toBe(1);
  });

  it('sorts by peers, bytes and rejected frames, nodes without a report last', () => {
    const views = [
      nodeView(node('a'), NOW, report('a', [link('b'), link('c')])),
      nodeView(node('b'), NOW),
      nodeView(node('c'), NOW, report('c', [link('a', { rejected: { NORM: 4 }, bytesIn: 1 })])),
    ];
    expect(sortNodeViews(views, 'peers', 'asc').map((v) => v.id)).toEqual(['c', 'a', 'b']);
    expect(sortNodeViews(views, 'peers', 'desc').map((v) => v.id)).toEqual(['a', 'c', 'b']);
    expect(sortNodeViews(views, 'bytes', 'asc').map((v) => v.id)).toEqual(['c', 'a', 'b']);
    expect(sortNodeViews(views, 'rejected', 'desc').map((v) => v.id)).toEqual(['c', 'a', 'b']);
  });

  it('draws one edge per pair, the better kind when the sides disagree, no closed links', () => {
    const edges = topologyLinks([
      report('b', [link('a', { kind: 'relay' }), link('c', { kind: 'failed', open: false })]),
      report('a', [link('b'), link('d', { open: false })]),
      report('c', [link('d', { kind: 'relay' }), link('c')]),
    ]);
    expect(edges).toEqual([
      { from: 'a', to: 'b', kind: 'direct' },
      { from: 'b', to: 'c', kind: 'failed' },
      { from: 'c', to: 'd', kind: 'relay' },
    ]);
    expect(countLinkKinds(edges)).toEqual({ direct: 1, relay: 1, failed: 1 });
    expect(topologyLinks([])).toEqual([]);
  });
});
