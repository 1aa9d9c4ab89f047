/**
 * The scheduler decides leases with @tabswarm/core's lease policy, the one the dashboard flags
 * stragglers with: its speculative copies, deadlines and heartbeat extensions agree with core's
 * functions on every edge case, boundary instants included.
 */
import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import {
  extendedDeadline,
  isStraggler,
  leaseDeadline,
  mulberry32,
  type LeaseTiming,
  type LeaseWindow,
} from '@tabswarm/core';
import { schedulerFixture, spec, TEST_TIMING, type SchedulerFixture } from './test-fixture.ts';

let fixtures: SchedulerFixture[] = [];
afterEach(() => {
  for (const f of fixtures) {
    f.store.close();
    fs.rmSync(f.dir, { recursive: true, force: true });
  }
  fixtures = [];
});

function fixture(timing: LeaseTiming = TEST_TIMING): SchedulerFixture {
  const f = schedulerFixture(timing);
  fixtures.push(f);
  return f;
}

/** Whether the scheduler gives an idle volunteer a copy of a one-shard job's lease `afterMs` after issue. */
function speculatesAfter(timing: LeaseTiming, samplesPerSec: number, afterMs: number) {
  const f = fixture(timing);
  f.scheduler.createJob(spec(), 10); // one shard, one epoch: the queue is dry after the first lease
  const lease = f.scheduler.requestLease('slow', samplesPerSec);
  if (lease === null) throw new Error('no lease');
  f.advance(afterMs);
  const copy = f.scheduler.requestLease('idle');
  return { lease, now: f.clock.now, copied: copy !== null && copy.speculative };
}

describe('the scheduler and core share the straggler rule', () => {
  it('copies a lease exactly when core calls it a straggler, at and around the boundary', () => {
    for (const fraction of [0.5, 0.3, 0.77]) {
      const timing = { ...TEST_TIMING, speculateAfter: fraction };
      for (const sps of [0.01, 3, 7]) {
        const window = leaseDeadline(timing, 0, 10, sps);
        const boundary = Math.ceil(window * fraction);
        for (const after of [0, boundary - 1, boundary, boundary + 1, window, window + 1]) {
          const { lease, now, copied } = speculatesAfter(timing, sps, after);
          expect(copied, `fraction ${fraction}, window ${window}, after ${after}`).toBe(
            isStraggler(lease, now, fraction),
          );
        }
        // The boundary is where the answer flips, so both sides of it were really exercised.
        expect(isStraggler({ issuedAt: 0, deadline: window }, boundary - 1, fraction)).toBe(false);
        expect(isStraggler({ issuedAt: 0, deadline: window }, boundary, fraction)).toBe(true);
      }
    }
  });

  it('agrees on random timings', () => {
    const random = mulberry32(7);
    for (let i = 0; i < 40; i++) {
      const timing = { ...TEST_TIMING, speculateAfter: random() };
      const sps = 0.5 + random() * 20;
      const after = Math.floor(random() * 12_000);
      const { lease, now, copied } = speculatesAfter(timing, sps, after);
      expect(copied).toBe(isStraggler(lease, now, timing.speculateAfter));
    }
  });
});

describe('the scheduler and core share the deadline rules', () => {
  it('issues the deadline core computes, from the measured throughput or the default', () => {
    for (const sps of [undefined, 0, 0.01, 1, 3, 1e6]) {
      const f = fixture();
      f.scheduler.createJob(spec(), 10);
      const lease = f.scheduler.requestLease('a', sps);
      expect(lease?.deadline).toBe(leaseDeadline(TEST_TIMING, f.clock.now, 10, sps));
    }
  });

  it('extends on a heartbeat to what core computes, never past the lifetime', () => {
    const f = fixture();
    f.scheduler.createJob(spec(), 10);
    const issued = f.scheduler.requestLease('a', 1e6);
    if (issued === null) throw new Error('no lease');
    let lease: LeaseWindow & { id: string } = issued;
    for (const step of [0, 500, 900, 5_000, 10_000, 3_000]) {
      f.advance(step);
      const before: LeaseWindow & { id: string } = lease;
      f.scheduler.extendLeases('a');
      const after = f.scheduler.getLease(before.id);
      expect(after?.deadline).toBe(extendedDeadline(TEST_TIMING, before, f.clock.now));
      if (after === undefined) throw new Error('lease lost');
      lease = { ...before, deadline: after.deadline };
    }
    expect(lease.deadline).toBe(lease.issuedAt + TEST_TIMING.maxLifetimeMs);
  });
});
