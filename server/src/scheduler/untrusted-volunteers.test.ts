/**
 * What one untrusted volunteer can do to the scheduler (issue 16): claim work it did not do, and
 * hoard shards. A completion must report exactly the shard's samples and its duration is the
 * coordinator's own measurement; a volunteer holds a bounded number of leases, each for a bounded
 * time, however often it heartbeats.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ProtocolError } from '@tabswarm/protocol';
import { schedulerFixture, spec, TEST_TIMING, type SchedulerFixture } from './test-fixture.ts';
import { DEFAULT_LEASE_TIMING } from './types.ts';

let f: SchedulerFixture;
afterEach(() => f.store.close());

function must<T>(value: T | null | undefined): T {
  expect(value).toBeTruthy();
  return value as T;
}

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    return error instanceof ProtocolError ? error.code : `not coded: ${String(error)}`;
  }
  return undefined;
}

const recordedDuration = (leaseId: string): number | null =>
  (
    f.store.db.prepare('SELECT duration_ms AS d FROM leases WHERE id = ?').get(leaseId) as {
      d: number | null;
    }
  ).d;

describe('completions are checked against what the coordinator knows', () => {
  it('refuses a completion that claims 0 samples in 0 ms: coded, nothing counted, the shard still leased', () => {
    f = schedulerFixture();
    const job = f.scheduler.createJob(spec(), 25); // shards of 10, 10 and 5 samples
    const lease = must(f.scheduler.requestLease('mallory'));
    expect(
      codeOf(() => f.scheduler.completeLease(lease.id, 'mallory', { loss: 0, samples: 0, durationMs: 0 })),
    ).toBe('BAD_REQUEST');
    expect(must(f.scheduler.getJob(job.id))).toMatchObject({ shardsDone: 0, samplesDone: 0 });
    expect(must(f.scheduler.getLease(lease.id))).toMatchObject({ state: 'active', counted: false });
    const shard = f.store.db
      .prepare('SELECT state FROM shards WHERE job_id = ? AND epoch = ? AND shard = ?')
      .get(job.id, lease.epoch, lease.shard) as { state: string };
    expect(shard.state).toBe('leased');
  });

  it('accepts only exactly the samples of the shard, the short last shard included', () => {
    f = schedulerFixture();
    const job = f.scheduler.createJob(spec(), 25);
    const leases = [0, 1, 2].map((i) => must(f.scheduler.requestLease(`n${i}`)));
    for (const lease of leases) {
      const samples = lease.end - lease.start;
      for (const wrong of [0, 1, samples - 1, samples + 1, 1e9]) {
        expect(
          codeOf(() =>
            f.scheduler.completeLease(lease.id, lease.nodeId, { loss: 1, samples: wrong, durationMs: 5 }),
          ),
          `shard ${lease.shard} claiming ${wrong} of ${samples}`,
        ).toBe('BAD_REQUEST');
      }
      expect(
        f.scheduler.completeLease(lease.id, lease.nodeId, { loss: 1, samples, durationMs: 5 }).kind,
      ).toBe('counted');
    }
    expect(must(f.scheduler.getJob(job.id))).toMatchObject({
      shardsDone: 3,
      samplesDone: 25,
      status: 'completed',
    });
  });

  it('refuses a wrong late completion too, and still recognises a duplicate of a counted one', () => {
    f = schedulerFixture();
    f.scheduler.createJob(spec(), 10);
    const a = must(f.scheduler.requestLease('a'));
    f.advance(1_001);
    f.scheduler.expireOverdue();
    const b = must(f.scheduler.requestLease('b'));
    expect(f.scheduler.completeLease(b.id, 'b', { loss: 1, samples: 10, durationMs: 5 }).kind).toBe(
      'counted',
    );
    expect(codeOf(() => f.scheduler.completeLease(a.id, 'a', { loss: 1, samples: 0, durationMs: 0 }))).toBe(
      'BAD_REQUEST',
    );
    expect(must(f.scheduler.getLease(a.id)).state).toBe('expired');
    expect(f.scheduler.completeLease(b.id, 'b', { loss: 1, samples: 0, durationMs: 0 }).kind).toBe(
      'duplicate',
    );
  });

  it('records its own measured lease duration, not the claimed one', () => {
    f = schedulerFixture();
    f.scheduler.createJob(spec(), 20);
    const fast = must(f.scheduler.requestLease('a'));
    const slow = must(f.scheduler.requestLease('b'));
    f.advance(700);
    f.scheduler.completeLease(fast.id, 'a', { loss: 1, samples: 10, durationMs: 0 });
    f.advance(300);
    f.scheduler.completeLease(slow.id, 'b', { loss: 1, samples: 10, durationMs: 3_600_000 });
    expect(recordedDuration(fast.id)).toBe(700);
    expect(recordedDuration(slow.id)).toBe(1_000);
  });
});

describe('one volunteer cannot hoard shards', () => {
  it('holds at most maxLeasesPerVolunteer leases at once; the rest of the job goes to others', () => {
    f = schedulerFixture();
    const job = f.scheduler.createJob(spec(), 200); // 20 shards
    const cap = DEFAULT_LEASE_TIMING.maxLeasesPerVolunteer;
    expect(cap).toBeGreaterThanOrEqual(2);
    const hoarded = [];
    for (let i = 0; i < 20; i++) {
      const grant = f.scheduler.requestLease('hoarder');
      if (grant) hoarded.push(grant);
    }
    expect(hoarded).toHaveLength(cap);
    expect(f.scheduler.heldBy('hoarder')).toBe(cap);
    // The other shards are still there for an honest volunteer.
    const honest = must(f.scheduler.requestLease('honest'));
    expect(hoarded.map((l) => l.shard)).not.toContain(honest.shard);
    // Finishing one frees one place in the allowance.
    const first = must(hoarded[0]);
    f.scheduler.completeLease(first.id, 'hoarder', { loss: 1, samples: 10, durationMs: 1 });
    expect(f.scheduler.requestLease('hoarder')).not.toBeNull();
    expect(f.scheduler.requestLease('hoarder')).toBeNull();
    expect(must(f.scheduler.getJob(job.id)).shardsDone).toBe(1);
  });

  it('takes a configurable cap from the lease timing', () => {
    f = schedulerFixture({ ...TEST_TIMING, maxLeasesPerVolunteer: 1 });
    f.scheduler.createJob(spec(), 50);
    expect(f.scheduler.requestLease('a')).not.toBeNull();
    expect(f.scheduler.requestLease('a')).toBeNull();
    expect(f.scheduler.requestLease('b')).not.toBeNull();
  });

  it('re-queues a lease at the end of its lifetime however often its holder heartbeats', () => {
    // A long cap and maximum lifetime: only the multiple of the lease's window bounds it.
    const timing = {
      ...TEST_TIMING,
      floorMs: 1_000,
      capMs: 60_000,
      maxLifetimeMs: 60 * 60_000,
      lifetimeMultiple: DEFAULT_LEASE_TIMING.lifetimeMultiple,
    };
    f = schedulerFixture(timing);
    const job = f.scheduler.createJob(spec(), 20);
    const lease = must(f.scheduler.requestLease('hoarder', 1e6)); // window: the 1 s floor
    const bound = lease.issuedAt + timing.lifetimeMultiple * (lease.deadline - lease.issuedAt);
    let expired = false;
    for (let i = 0; i < 100 && !expired; i++) {
      f.advance(500);
      f.scheduler.extendLeases('hoarder', { leaseIds: [lease.id], graceMs: 5_000 });
      expired = f.scheduler.expireOverdue().some((l) => l.id === lease.id);
    }
    expect(expired).toBe(true);
    expect(f.clock.now).toBeGreaterThan(bound);
    expect(f.clock.now).toBeLessThanOrEqual(bound + 500);
    // Its shard goes to someone else, as a re-issue.
    const other = must(f.scheduler.requestLease('honest'));
    const again = other.shard === lease.shard ? other : must(f.scheduler.requestLease('honest'));
    expect(again).toMatchObject({ shard: lease.shard, reissue: true });
    expect(must(f.scheduler.getJob(job.id)).shardsDone).toBe(0);
  });

  it('never extends past the fixed maximum lifetime, even for a long window', () => {
    const timing = { ...TEST_TIMING, floorMs: 1_000, capMs: 10_000, maxLifetimeMs: 20_000 };
    f = schedulerFixture(timing);
    f.scheduler.createJob(spec(), 10);
    const lease = must(f.scheduler.requestLease('slow', 0.001)); // window: the 10 s cap; 4× is 40 s
    for (let i = 0; i < 60; i++) {
      f.advance(900);
      f.scheduler.extendLeases('slow');
      if (f.scheduler.expireOverdue().length > 0) break;
    }
    expect(must(f.scheduler.getLease(lease.id)).state).toBe('expired');
    expect(f.clock.now - lease.issuedAt).toBeGreaterThan(20_000);
    expect(f.clock.now - lease.issuedAt).toBeLessThanOrEqual(20_900);
  });
});

describe('deadlines come from the throughput the coordinator measured', () => {
  it('sizes a volunteer’s deadlines from its measured lease durations, not the throughput it claims', () => {
    // floor 1 s, cap 10 s, slack 3: a 10-sample shard at 10 samples/s is a 3 s window.
    f = schedulerFixture();
    f.scheduler.createJob(spec({ training: { batchSize: 10, localSteps: 1, epochs: 5 } }), 100);
    // A volunteer that finishes its shards in 1 s each (10 samples/s, as measured by the coordinator)…
    for (let i = 0; i < 3; i++) {
      const lease = must(f.scheduler.requestLease('liar', 1e6));
      f.advance(1_000);
      f.scheduler.completeLease(lease.id, 'liar', { loss: 1, samples: 10, durationMs: 1 });
    }
    // …and now claims to be very slow, to be granted the 10 s cap: it gets what its record says.
    const next = must(f.scheduler.requestLease('liar', 0.001));
    expect(next.deadline - next.issuedAt).toBe(3_000);
    // A volunteer without a record on the job is sized by its claim, within the floor and cap.
    expect(f.scheduler.requestLease('newcomer', 0.001)?.deadline).toBe(f.clock.now + 10_000);
  });

  it('gives a volunteer that claims more than it delivers the longer window its record needs', () => {
    f = schedulerFixture();
    f.scheduler.createJob(spec({ training: { batchSize: 10, localSteps: 1, epochs: 5 } }), 100);
    const lease = must(f.scheduler.requestLease('optimist', 1e6)); // the 1 s floor
    expect(lease.deadline - lease.issuedAt).toBe(1_000);
    f.advance(2_000); // late, but nobody finished the shard first: counted
    f.scheduler.completeLease(lease.id, 'optimist', { loss: 1, samples: 10, durationMs: 1 });
    const next = must(f.scheduler.requestLease('optimist', 1e6));
    expect(next.deadline - next.issuedAt).toBe(6_000); // 3 × 10 samples at 5 samples/s
  });
});
