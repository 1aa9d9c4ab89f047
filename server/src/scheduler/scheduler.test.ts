import { afterEach, describe, expect, it } from 'vitest';
import { shardOrder } from '@tabswarm/core';
import { result, schedulerFixture, spec, TEST_TIMING, type SchedulerFixture } from './test-fixture.ts';
import type { SchedulerEvent } from './types.ts';

let f: SchedulerFixture;
afterEach(() => f.store.close());

function must<T>(value: T | null | undefined): T {
  expect(value).toBeTruthy();
  return value as T;
}

function record(): SchedulerEvent[] {
  const events: SchedulerEvent[] = [];
  f.scheduler.onEvent((e) => events.push(e));
  return events;
}

describe('scheduler', () => {
  it('splits the training set into shards of batch × local steps and leases them in a seeded order', () => {
    f = schedulerFixture();
    const job = f.scheduler.createJob(
      spec({ training: { batchSize: 8, localSteps: 2, epochs: 1, seed: 7 } }),
      100,
    );
    expect(job).toMatchObject({ status: 'queued', shardSize: 16, shardCount: 7 });
    const grants = Array.from({ length: 7 }, (_, i) => must(f.scheduler.requestLease(`n${i}`)));
    expect(grants.map((g) => g.shard)).toEqual(shardOrder(7, 7, 0));
    const short = must(grants.find((g) => g.shard === 6));
    expect([short.start, short.end]).toEqual([96, 100]);
    expect(must(f.scheduler.getJob(job.id)).status).toBe('running');
  });

  it('derives the deadline from throughput, with a floor and a cap', () => {
    f = schedulerFixture();
    f.scheduler.createJob(spec({ training: { batchSize: 100, localSteps: 1, epochs: 3 } }), 1000);
    const now = f.clock.now;
    expect(must(f.scheduler.requestLease('fast', 1e6)).deadline).toBe(now + 1_000); // floor
    expect(must(f.scheduler.requestLease('mid', 100)).deadline).toBe(now + 3_000); // 3 × 100 samples / 100 per s
    expect(must(f.scheduler.requestLease('slow', 0.01)).deadline).toBe(now + 10_000); // cap
  });

  it('expires an overdue lease and re-issues its shard as a re-issue', () => {
    f = schedulerFixture();
    f.scheduler.createJob(spec(), 20);
    const events = record();
    const first = must(f.scheduler.requestLease('a'));
    f.advance(999);
    expect(f.scheduler.expireOverdue()).toEqual([]);
    f.advance(2);
    expect(f.scheduler.expireOverdue().map((l) => l.id)).toEqual([first.id]);
    expect(events.filter((e) => e.type === 'expired')).toHaveLength(1);
    const second = must(f.scheduler.requestLease('b'));
    const third = must(f.scheduler.requestLease('c'));
    const again = [second, third].find((g) => g.shard === first.shard);
    expect(again).toMatchObject({ reissue: true, speculative: false });
  });

  it('extends deadlines on heartbeats, but never past the maximum lifetime', () => {
    f = schedulerFixture();
    f.scheduler.createJob(spec(), 10);
    const lease = must(f.scheduler.requestLease('a'));
    for (let i = 0; i < 30; i++) {
      f.advance(900);
      f.scheduler.extendLeases('a');
      if (f.scheduler.expireOverdue().length > 0) break;
    }
    const ended = must(f.scheduler.getLease(lease.id));
    expect(ended.state).toBe('expired');
    expect(f.clock.now - lease.issuedAt).toBeGreaterThanOrEqual(20_000);
    expect(f.clock.now - lease.issuedAt).toBeLessThan(21_000);
  });

  describe('heartbeats that name the leases their volunteer holds', () => {
    const GRACE_MS = 5_000;

    it('take back a lease the heartbeats leave out once it is past the grace, and re-issue it to another node', () => {
      // A long floor: nothing here expires on its deadline.
      f = schedulerFixture({ ...TEST_TIMING, floorMs: 60_000, capMs: 60_000, maxLifetimeMs: 120_000 });
      f.scheduler.createJob(spec(), 30);
      const events = record();
      // The grant whose answer the volunteer never saw (its request had timed out).
      const lost = must(f.scheduler.requestLease('a'));
      // Just granted: it may still be on its way, so a heartbeat that leaves it out changes nothing yet.
      f.advance(GRACE_MS);
      expect(f.scheduler.extendLeases('a', { leaseIds: [], graceMs: GRACE_MS })).toEqual([]);
      expect(must(f.scheduler.getLease(lost.id))).toMatchObject({ state: 'active', deadline: lost.deadline });
      f.advance(1);
      const released = f.scheduler.extendLeases('a', { leaseIds: [], graceMs: GRACE_MS });
      expect(released.map((l) => l.id)).toEqual([lost.id]);
      expect(must(f.scheduler.getLease(lost.id)).state).toBe('released');
      expect(
        events.filter((e) => e.type === 'released').map((e) => e.type === 'released' && e.lease.id),
      ).toEqual([lost.id]);
      // Back in the queue, first in line: the next volunteer gets it, as a re-issue.
      const again = must(f.scheduler.requestLease('b'));
      expect(again).toMatchObject({ shard: lost.shard, epoch: lost.epoch, nodeId: 'b', reissue: true });
      // And b's copy counts; a's late heartbeats do not touch it.
      expect(f.scheduler.extendLeases('a', { leaseIds: [], graceMs: GRACE_MS })).toEqual([]);
      expect(f.scheduler.completeLease(again.id, 'b', result).kind).toBe('counted');
    });

    it('extend only the leases they name', () => {
      f = schedulerFixture();
      f.scheduler.createJob(spec(), 30);
      const held = must(f.scheduler.requestLease('a', 1e6));
      const forgotten = must(f.scheduler.requestLease('a', 1e6));
      f.advance(900);
      // Within the grace the forgotten one stays, unextended; the held one is extended.
      expect(f.scheduler.extendLeases('a', { leaseIds: [held.id], graceMs: GRACE_MS })).toEqual([]);
      expect(must(f.scheduler.getLease(held.id)).deadline).toBeGreaterThan(held.deadline);
      expect(must(f.scheduler.getLease(forgotten.id)).deadline).toBe(forgotten.deadline);
      // Heartbeats that name it keep the held lease alive well past its first deadline and the grace.
      for (let i = 0; i < 10; i++) {
        f.advance(900);
        f.scheduler.extendLeases('a', { leaseIds: [held.id], graceMs: GRACE_MS });
        f.scheduler.expireOverdue();
      }
      expect(f.clock.now - held.issuedAt).toBeGreaterThan(GRACE_MS);
      expect(must(f.scheduler.getLease(held.id)).state).toBe('active');
      expect(must(f.scheduler.getLease(forgotten.id)).state).not.toBe('active');
    });

    it('leave other nodes alone and ignore ids they do not hold', () => {
      f = schedulerFixture();
      f.scheduler.createJob(spec(), 30);
      const mine = must(f.scheduler.requestLease('a', 1e6));
      const theirs = must(f.scheduler.requestLease('b', 1e6));
      f.advance(GRACE_MS + 1);
      expect(
        f.scheduler.extendLeases('a', { leaseIds: [theirs.id, 'lease-0000000000000000'], graceMs: GRACE_MS }),
      ).toEqual([expect.objectContaining({ id: mine.id, state: 'released' })]);
      expect(must(f.scheduler.getLease(theirs.id))).toMatchObject({
        state: 'active',
        deadline: theirs.deadline,
      });
    });

    it('that name nothing at all (older clients) extend every lease of the node, as before', () => {
      f = schedulerFixture();
      f.scheduler.createJob(spec(), 30);
      const one = must(f.scheduler.requestLease('a', 1e6));
      const two = must(f.scheduler.requestLease('a', 1e6));
      for (let i = 0; i < 10; i++) {
        f.advance(900);
        expect(f.scheduler.extendLeases('a')).toEqual([]);
        expect(f.scheduler.expireOverdue()).toEqual([]);
      }
      expect(f.clock.now - one.issuedAt).toBeGreaterThan(GRACE_MS);
      for (const lease of [one, two]) {
        const now = must(f.scheduler.getLease(lease.id));
        expect(now.state).toBe('active');
        expect(now.deadline).toBeGreaterThan(lease.deadline);
      }
    });
  });

  it('counts a completion once, recognises duplicates, and records a late completion without counting it', () => {
    f = schedulerFixture();
    const job = f.scheduler.createJob(spec(), 20);
    const a = must(f.scheduler.requestLease('a'));
    f.advance(1_001);
    f.scheduler.expireOverdue();
    const b = must(f.scheduler.requestLease('b'));
    const reissued = b.shard === a.shard ? b : must(f.scheduler.requestLease('b'));
    expect(reissued.shard).toBe(a.shard);

    expect(f.scheduler.completeLease(reissued.id, 'b', result).kind).toBe('counted');
    expect(f.scheduler.completeLease(reissued.id, 'b', result).kind).toBe('duplicate');
    // The original, expired lease finishes after all: recorded, never counted twice.
    const late = f.scheduler.completeLease(a.id, 'a', result);
    expect(late).toMatchObject({ kind: 'late', lease: { counted: false, state: 'completed' } });
    expect(must(f.scheduler.getJob(job.id)).shardsDone).toBe(1);
  });

  it('counts a late completion of an expired lease when nobody else finished the shard first', () => {
    f = schedulerFixture();
    const job = f.scheduler.createJob(spec(), 10);
    const a = must(f.scheduler.requestLease('a'));
    f.advance(1_001);
    f.scheduler.expireOverdue();
    const b = must(f.scheduler.requestLease('b'));
    const outcome = f.scheduler.completeLease(a.id, 'a', result);
    expect(outcome.kind).toBe('counted');
    if (outcome.kind === 'counted') expect(outcome.cancelled.map((l) => l.id)).toEqual([b.id]);
    expect(must(f.scheduler.getLease(b.id)).state).toBe('cancelled');
    expect(f.scheduler.completeLease(b.id, 'b', result).kind).toBe('late');
    expect(must(f.scheduler.getJob(job.id))).toMatchObject({ shardsDone: 1, status: 'completed' });
  });

  it('refuses completions of unknown leases and of leases held by someone else', () => {
    f = schedulerFixture();
    f.scheduler.createJob(spec(), 10);
    const a = must(f.scheduler.requestLease('a'));
    expect(() => f.scheduler.completeLease('lease-nope', 'a', result)).toThrow(/unknown lease/);
    expect(() => f.scheduler.completeLease(a.id, 'mallory', result)).toThrow(/another volunteer/);
    expect(must(f.scheduler.getLease(a.id)).state).toBe('active');
  });

  it('gives idle volunteers speculative copies of stragglers at the end; first completion wins', () => {
    f = schedulerFixture();
    const job = f.scheduler.createJob(spec(), 20); // two shards, one epoch
    const events = record();
    const slow = must(f.scheduler.requestLease('slow', 0.01)); // deadline at the cap: 10 s
    const fast = must(f.scheduler.requestLease('fast'));
    f.scheduler.completeLease(fast.id, 'fast', result);
    // The queue is dry, but the slow lease is young: no copy yet.
    expect(f.scheduler.requestLease('fast')).toBeNull();
    f.advance(5_000);
    const copy = must(f.scheduler.requestLease('fast'));
    expect(copy).toMatchObject({ shard: slow.shard, speculative: true });
    // The slow volunteer may not copy its own shard, and a third gets nothing: one copy at most.
    expect(f.scheduler.requestLease('slow')).toBeNull();
    expect(f.scheduler.requestLease('third')).toBeNull();
    const won = f.scheduler.completeLease(copy.id, 'fast', result);
    expect(won.kind).toBe('counted');
    expect(must(f.scheduler.getLease(slow.id)).state).toBe('cancelled');
    expect(events.some((e) => e.type === 'cancelled' && e.lease.id === slow.id)).toBe(true);
    expect(f.scheduler.completeLease(slow.id, 'slow', result).kind).toBe('late');
    expect(must(f.scheduler.getJob(job.id))).toMatchObject({ status: 'completed', shardsDone: 2 });
  });

  it('opens the next epoch for idle volunteers instead of waiting at an epoch boundary', () => {
    f = schedulerFixture();
    f.scheduler.createJob(spec({ training: { batchSize: 10, localSteps: 1, epochs: 2 } }), 10);
    const e0 = must(f.scheduler.requestLease('a'));
    const e1 = must(f.scheduler.requestLease('b'));
    expect([e0.epoch, e1.epoch]).toEqual([0, 1]);
  });

  it('pauses and resumes: no new leases while paused, outstanding ones still count', () => {
    f = schedulerFixture();
    const job = f.scheduler.createJob(spec(), 30);
    const a = must(f.scheduler.requestLease('a'));
    expect(f.scheduler.pause(job.id).status).toBe('paused');
    expect(f.scheduler.requestLease('b')).toBeNull();
    expect(f.scheduler.completeLease(a.id, 'a', result).kind).toBe('counted');
    expect(() => f.scheduler.pause(job.id)).toThrow(/cannot become paused/);
    expect(f.scheduler.resume(job.id).status).toBe('running');
    expect(f.scheduler.requestLease('b')).not.toBeNull();
  });

  it('cancels a job: its leases are cancelled and later completions are not counted', () => {
    f = schedulerFixture();
    const job = f.scheduler.createJob(spec(), 30);
    const a = must(f.scheduler.requestLease('a'));
    expect(f.scheduler.cancel(job.id).status).toBe('cancelled');
    expect(must(f.scheduler.getLease(a.id)).state).toBe('cancelled');
    expect(f.scheduler.completeLease(a.id, 'a', result).kind).toBe('late');
    expect(f.scheduler.requestLease('a')).toBeNull();
    expect(() => f.scheduler.resume(job.id)).toThrow(/cannot become/);
    expect(() => f.scheduler.cancel(job.id)).toThrow(/already cancelled/);
  });

  it('shares volunteers between running jobs by priority', () => {
    f = schedulerFixture();
    const big = f.scheduler.createJob(spec({ name: 'big', priority: 30 }), 1000);
    const small = f.scheduler.createJob(spec({ name: 'small', priority: 10 }), 1000);
    const grants = Array.from({ length: 40 }, (_, i) => must(f.scheduler.requestLease(`n${i}`)));
    expect(grants.filter((g) => g.jobId === big.id)).toHaveLength(30);
    expect(grants.filter((g) => g.jobId === small.id)).toHaveLength(10);
  });

  it('re-queues the leases of a volunteer that left, and leases outstanding at a crash', () => {
    f = schedulerFixture();
    f.scheduler.createJob(spec(), 40);
    must(f.scheduler.requestLease('a'));
    must(f.scheduler.requestLease('a'));
    const kept = must(f.scheduler.requestLease('b'));
    expect(f.scheduler.releaseNode('a')).toHaveLength(2);
    expect(f.scheduler.activeLeases().map((l) => l.id)).toEqual([kept.id]);
    f.restart();
    expect(f.scheduler.activeLeases()).toEqual([]);
    expect(f.store.integrityCheck()).toBe('ok');
  });
});
