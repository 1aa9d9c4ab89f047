import { describe, expect, it } from 'vitest';
import type { NodeInfo } from '@tabswarm/protocol';
import { adapterLabel, formatAge, formatPrivacy, selfTestLabel, sortNodes } from './format.ts';

function node(id: string, status: NodeInfo['status'], joinedAt: number): NodeInfo {
  return {
    id,
    status,
    state: 'idle',
    capabilities: { backend: 'webgpu', adapter: null, fallbackReason: null, userAgent: 'test' },
    selfTest: null,
    health: null,
    joinedAt,
    lastSeenAt: joinedAt,
    connected: status === 'active',
  };
}

describe('dashboard labels', () => {
  it('formats ages in seconds, then minutes, then hours, never negative', () => {
    expect(formatAge(10_000, 13_400)).toBe('3 s ago');
    expect(formatAge(10_000, 9_000)).toBe('0 s ago');
    expect(formatAge(0, 119_999)).toBe('119 s ago');
    expect(formatAge(0, 300_000)).toBe('5 min ago');
    expect(formatAge(0, 3 * 3600_000)).toBe('3 h ago');
  });

  it('describes adapters and self-tests', () => {
    expect(adapterLabel(null)).toBe('no WebGPU');
    const adapter = {
      vendor: 'google',
      architecture: 'swiftshader',
      device: '',
      description: '',
      isFallbackAdapter: true,
      limits: {},
    };
    expect(adapterLabel(adapter)).toBe('google / swiftshader (fallback)');
    const n = node('abcd', 'active', 1);
    expect(selfTestLabel(n)).toBe('pending');
    const report = {
      kernel: 'mix',
      passed: false,
      path: 'webgpu',
      elements: 1,
      maxAbsError: null,
      durationMs: 1,
      error: 'x',
    } as const;
    expect(selfTestLabel({ ...n, selfTest: report })).toBe('failed');
  });

  it('lists active nodes first, newest first', () => {
    const sorted = sortNodes([node('old1', 'active', 1), node('gone', 'gone', 5), node('new1', 'active', 3)]);
    expect(sorted.map((n) => n.id)).toEqual(['new1', 'old1', 'gone']);
  });
});

describe('formatPrivacy', () => {
  it('says ε at δ and the releases a sample was in', () => {
    expect(formatPrivacy({ epsilon: 2.3141, delta: 1e-5, releases: 3 })).toBe(
      'ε 2.31 at δ 1e-5 · 3 releases a sample',
    );
    expect(formatPrivacy({ epsilon: 0, delta: 1e-6, releases: 0 })).toBe(
      'ε 0.00 at δ 1e-6 · 0 releases a sample',
    );
    expect(formatPrivacy({ epsilon: 523_112, delta: 1e-5, releases: 1 })).toBe(
      'ε 5.23e+5 at δ 1e-5 · 1 release a sample',
    );
    expect(formatPrivacy({ epsilon: null, delta: 1e-5, releases: 2 })).toBe(
      'ε ∞ at δ 1e-5 · 2 releases a sample',
    );
  });
});
