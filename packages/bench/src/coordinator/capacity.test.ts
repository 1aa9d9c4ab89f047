import { describe, expect, it } from 'vitest';
import { GOALS, capacityMarkdown, quantile, stepFigure, stepLimit } from './capacity.ts';
import type { LoadWindow } from './load-protocol.ts';

const window = (overrides: Partial<LoadWindow> = {}): LoadWindow => ({
  ms: 10_000,
  connected: 100,
  leaseMs: [],
  completeMs: [],
  heartbeatMs: [],
  leases: 0,
  completions: 0,
  noWork: 0,
  errors: 0,
  errorMessages: [],
  late: 0,
  ...overrides,
});

describe('quantile', () => {
  it('is the nearest rank', () => {
    const samples = Array.from({ length: 100 }, (_, i) => 100 - i); // 100 … 1, unsorted
    expect(quantile(samples, 0.5)).toBe(50);
    expect(quantile(samples, 0.99)).toBe(99);
    expect(quantile(samples, 1)).toBe(100);
    expect(quantile([7], 0.99)).toBe(7);
    expect(quantile([], 0.5)).toBeNaN();
  });
});

describe('stepFigure', () => {
  it('merges the workers’ windows and relates the coordinator’s cost to the work done', () => {
    const a = window({ leaseMs: [1, 2, 3], leases: 3000, completions: 3000, connected: 1000 });
    const b = window({ ms: 8_000, leaseMs: [4, 100], leases: 2000, completions: 1990, connected: 1000 });
    const step = stepFigure(2000, 4.5, 0.5, [a, b], {
      cpuSeconds: 5,
      rssBytes: 300e6,
      idleRssBytes: 100e6,
    });
    expect(step.offeredPerSecond).toBe(1000);
    // Rates over the longest window (10 s).
    expect(step.leasesPerSecond).toBe(500);
    expect(step.completionsPerSecond).toBe(499);
    expect(step.leaseP50Ms).toBe(3);
    expect(step.leaseP99Ms).toBe(100);
    expect(step.cpuSecondsPer1000Leases).toBe(1);
    expect(step.coordinatorCores).toBe(0.5);
    // 200 MB above idle over 2,000 connected volunteers.
    expect(step.rssMbPer1000Volunteers).toBeCloseTo(100, 9);
    expect(stepLimit(step)).toMatch(/p99 lease latency 100\.0 ms > 50 ms/);
  });

  it('is held only with everyone connected, no error and the p99 within the goal', () => {
    const held = stepFigure(100, 1, 0.5, [window({ leaseMs: [GOALS.p99LeaseMs], leases: 1 })], {
      cpuSeconds: null,
      rssBytes: null,
      idleRssBytes: null,
    });
    expect(stepLimit(held)).toBeNull();
    expect(held.cpuSecondsPer1000Leases).toBeNull();
    const errors = stepFigure(
      100,
      1,
      0.5,
      [window({ leaseMs: [1], errors: 2, errorMessages: ['x: TIMEOUT'] })],
      {
        cpuSeconds: 1,
        rssBytes: 1,
        idleRssBytes: 1,
      },
    );
    expect(stepLimit(errors)).toBe('2 errors (x: TIMEOUT)');
    const missing = stepFigure(200, 1, 0.5, [window({ leaseMs: [1] })], {
      cpuSeconds: 1,
      rssBytes: 1,
      idleRssBytes: 1,
    });
    expect(stepLimit(missing)).toBe('100 volunteers not connected');
    // No lease measured at all is not a pass.
    expect(
      stepLimit(stepFigure(100, 1, 0.5, [window()], { cpuSeconds: 1, rssBytes: 1, idleRssBytes: 1 })),
    ).toMatch(/p99 lease latency NaN/);
  });

  it('reports the largest step held against the goals', () => {
    const step = stepFigure(10_000, 30, 0.5, [window({ connected: 10_000, leaseMs: [5], leases: 50_000 })], {
      cpuSeconds: 8,
      rssBytes: 2e9,
      idleRssBytes: 1e9,
    });
    const text = capacityMarkdown({
      setup: '1 coordinator, SQLite',
      goals: GOALS,
      ratePerVolunteer: 0.5,
      workers: 2,
      steps: [step],
      held: step,
      stoppedBecause: 'the plan ends at 10000 volunteers',
    });
    expect(text).toContain('Held: 10000 volunteers (goal 10000: met), 5000 leases/s (goal 5000: met)');
  });
});
