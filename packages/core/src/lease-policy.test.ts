import { describe, expect, it } from 'vitest';
import {
  DEFAULT_LEASE_TIMING,
  extendedDeadline,
  isOverdue,
  isStraggler,
  leaseDeadline,
  leaseLifetimeEnd,
} from './lease-policy.ts';
import { mulberry32 } from './random.ts';

const timing = { ...DEFAULT_LEASE_TIMING, floorMs: 1_000, capMs: 10_000, maxLifetimeMs: 20_000 };

describe('lease deadlines', () => {
  it('gives slack × the expected time, within the floor and the cap', () => {
    // 3 × 100 samples at 50/s = 6 s.
    expect(leaseDeadline(timing, 1_000, 100, 50)).toBe(7_000);
    // Unknown or useless throughput: the default.
    expect(leaseDeadline(timing, 0, 100, undefined)).toBe(6_000);
    expect(leaseDeadline(timing, 0, 100, 0)).toBe(6_000);
    expect(leaseDeadline(timing, 0, 100, -5)).toBe(6_000);
    expect(leaseDeadline(timing, 0, 100, 1e9)).toBe(1_000);
    expect(leaseDeadline(timing, 0, 100, 0.001)).toBe(10_000);
    // Rounded to a millisecond.
    expect(leaseDeadline(timing, 0, 10, 7)).toBe(Math.round(30_000 / 7));
  });

  it('extends on a heartbeat to at least a floor from now, never past the lifetime', () => {
    const lease = { issuedAt: 0, deadline: 5_000 };
    expect(extendedDeadline(timing, lease, 1_000)).toBe(5_000);
    expect(extendedDeadline(timing, lease, 4_500)).toBe(5_500);
    expect(extendedDeadline(timing, lease, 19_500)).toBe(20_000);
    expect(extendedDeadline(timing, { issuedAt: 0, deadline: 30_000 }, 0)).toBe(20_000);
  });

  it('bounds the lifetime by a multiple of the window at grant, and by the fixed maximum', () => {
    // lifetimeMultiple 4: a lease granted a 1 s window lives at most 4 s, however it is extended.
    const short = { issuedAt: 100, deadline: 1_100, grantedDeadline: 1_100 };
    expect(leaseLifetimeEnd(timing, short)).toBe(4_100);
    expect(extendedDeadline(timing, short, 3_000)).toBe(4_000);
    expect(extendedDeadline(timing, { ...short, deadline: 4_000 }, 3_900)).toBe(4_100);
    expect(extendedDeadline(timing, { ...short, deadline: 4_100 }, 9_000)).toBe(4_100);
    // A 10 s window: 4 × is 40 s, past the 20 s maximum.
    expect(leaseLifetimeEnd(timing, { issuedAt: 0, deadline: 10_000, grantedDeadline: 10_000 })).toBe(20_000);
    // A lease recorded before grants were kept: the fixed maximum, as before.
    expect(leaseLifetimeEnd(timing, { issuedAt: 0, deadline: 1_000, grantedDeadline: null })).toBe(20_000);
    expect(leaseLifetimeEnd(timing, { issuedAt: 0, deadline: 1_000 })).toBe(20_000);
  });

  it('calls a lease overdue only after its deadline', () => {
    expect(isOverdue({ issuedAt: 0, deadline: 10 }, 10)).toBe(false);
    expect(isOverdue({ issuedAt: 0, deadline: 10 }, 11)).toBe(true);
  });
});

describe('stragglers', () => {
  it('are leases that ran for the fraction of their window, boundary included', () => {
    const lease = { issuedAt: 1_000, deadline: 11_000 };
    // The default fraction is the scheduler's default: half the window.
    expect(DEFAULT_LEASE_TIMING.speculateAfter).toBe(0.5);
    expect(isStraggler(lease, 5_999)).toBe(false);
    expect(isStraggler(lease, 6_000)).toBe(true);
    expect(isStraggler(lease, 1_000, 0)).toBe(true);
    expect(isStraggler(lease, 10_999, 1)).toBe(false);
    expect(isStraggler(lease, 11_000, 1)).toBe(true);
  });

  it('never flags a lease more readily as its window grows (property)', () => {
    const random = mulberry32(17);
    for (let i = 0; i < 5_000; i++) {
      const issuedAt = Math.floor(random() * 1e6);
      const window = 1 + Math.floor(random() * 1e5);
      const now = issuedAt + Math.floor(random() * 2e5);
      const fraction = random();
      const longer = { issuedAt, deadline: issuedAt + window + 1 + Math.floor(random() * 1e4) };
      if (isStraggler(longer, now, fraction)) {
        expect(isStraggler({ issuedAt, deadline: issuedAt + window }, now, fraction)).toBe(true);
      }
      // A straggler stays one as time passes.
      if (isStraggler(longer, now, fraction)) expect(isStraggler(longer, now + 1, fraction)).toBe(true);
    }
  });
});
