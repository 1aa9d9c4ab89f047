/**
 * Validated work in the scheduler: replicated leases go to different volunteers from the same
 * checkpoint, replicas are not cancelled when the shard is done, agreement builds trust and
 * credit, a disagreement asks a third volunteer, the outvoted one is distrusted (no leases, its
 * active ones cancelled, its completions refused) across a restart; jobs without the option are
 * unchanged.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ProtocolError, type UpdateStatistics } from '@tabswarm/protocol';
import { schedulerFixture, spec, type SchedulerFixture } from './test-fixture.ts';
import type { LeaseGrant, SchedulerEvent } from './types.ts';

let f: SchedulerFixture;
afterEach(() => f.store.close());

function must<T>(value: T | null | undefined): T {
  expect(value).toBeTruthy();
  return value as T;
}

function checkpoint(jobId: string, seq: number): void {
  f.store.db
    .prepare(
      `INSERT INTO checkpoints (job_id, seq, round, shards_done, created_at, file, bytes, checksum,
        element_count, contributors, norm, status) VALUES (?, ?, 0, 0, 0, 'f', 1, 0, 1, '{}', 1, 'written')`,
    )
    .run(jobId, seq);
}

const HONEST: UpdateStatistics = { norm: 2, projections: [1, -0.5, 0.25, 3] };
const LAZY: UpdateStatistics = { norm: 0, projections: [0, 0, 0, 0] };
const done = (update: UpdateStatistics, loss = 0.5) => ({ loss, samples: 10, durationMs: 5, update });

function validatedJob(replication = 1) {
  const job = f.scheduler.createJob(spec({ validation: { replication, tolerance: 0.05 } }), 50);
  checkpoint(job.id, 0);
  return job;
}

describe('replicated leases', () => {
  it('a job without validation hands out ordinary leases, as before', () => {
    f = schedulerFixture();
    const job = f.scheduler.createJob(spec(), 50);
    checkpoint(job.id, 0);
    const a = must(f.scheduler.requestLease('a'));
    const b = must(f.scheduler.requestLease('b'));
    expect(a.replica).toBeNull();
    expect(b.shard).not.toBe(a.shard);
    expect(f.scheduler.completeLease(a.id, 'a', done(HONEST)).kind).toBe('counted');
    expect(f.scheduler.validation.trustOf('a')).toBeUndefined();
  });

  it('gives a second, different volunteer the same shard from the same checkpoint; agreement builds trust and credit', () => {
    f = schedulerFixture();
    const job = validatedJob();
    checkpoint(job.id, 1);
    const a = must(f.scheduler.requestLease('a'));
    expect(a.replica).toEqual({ checkpoint: 1, seed: expect.any(Number) as number });
    // The same volunteer never gets a replica of its own shard.
    const again = must(f.scheduler.requestLease('a'));
    expect(again.shard).not.toBe(a.shard);
    const b = must(f.scheduler.requestLease('b'));
    expect([b.epoch, b.shard, b.replica]).toEqual([a.epoch, a.shard, a.replica]);
    // The shard counts once; the replica keeps running when the first copy finishes.
    const first = f.scheduler.completeLease(a.id, 'a', done(HONEST));
    expect(first.kind).toBe('counted');
    expect(first.kind === 'counted' && first.cancelled).toEqual([]);
    expect(f.scheduler.getLease(b.id)?.state).toBe('active');
    const events: SchedulerEvent[] = [];
    f.scheduler.onEvent((e) => events.push(e));
    expect(f.scheduler.completeLease(b.id, 'b', done(HONEST, 0.5001)).kind).toBe('late');
    const judged = events.find((e) => e.type === 'judged');
    expect(
      judged?.type === 'judged' && [...judged.verdicts].sort((x, y) => (x.nodeId < y.nodeId ? -1 : 1)),
    ).toEqual([
      { nodeId: 'a', verdict: 'valid' },
      { nodeId: 'b', verdict: 'valid' },
    ]);
    expect(judged?.type === 'judged' && judged.distrusted).toEqual([]);
    for (const node of ['a', 'b']) {
      expect(f.scheduler.validation.trustOf(node)).toMatchObject({ valid: 1, invalid: 0, credit: 10 });
      expect(f.scheduler.validation.trustOf(node)?.trust).toBeGreaterThan(0.5);
    }
    expect(f.scheduler.getJob(job.id)?.shardsDone).toBe(1);
  });

  it('a disagreement goes to a third volunteer; the outvoted one is distrusted and loses its leases', () => {
    f = schedulerFixture();
    validatedJob();
    const lazyFirst = must(f.scheduler.requestLease('lazy'));
    const lazyOther = must(f.scheduler.requestLease('lazy'));
    const honest = must(f.scheduler.requestLease('h1'));
    expect(honest.shard).toBe(lazyFirst.shard);
    f.scheduler.completeLease(lazyFirst.id, 'lazy', done(LAZY, 2.3));
    f.scheduler.completeLease(honest.id, 'h1', done(HONEST));
    // Two that disagree: nobody is judged yet; the next volunteer is the tie-breaker.
    expect(f.scheduler.validation.trustOf('lazy')).toBeUndefined();
    const third = must(f.scheduler.requestLease('h2'));
    expect([third.shard, third.replica]).toEqual([lazyFirst.shard, lazyFirst.replica]);
    const events: SchedulerEvent[] = [];
    f.scheduler.onEvent((e) => events.push(e));
    f.scheduler.completeLease(third.id, 'h2', done(HONEST));
    expect(f.scheduler.validation.trustOf('lazy')).toMatchObject({
      standing: 'distrusted',
      invalid: 1,
      credit: 0,
    });
    expect(f.scheduler.validation.trustOf('h1')).toMatchObject({ valid: 1, invalid: 0 });
    expect(f.scheduler.validation.trustOf('h2')).toMatchObject({ valid: 1, invalid: 0 });
    // Its other lease is cancelled (it is told) and its shard goes back to the queue.
    expect(f.scheduler.getLease(lazyOther.id)?.state).toBe('cancelled');
    expect(events).toContainEqual(
      expect.objectContaining({
        type: 'cancelled',
        lease: expect.objectContaining({ id: lazyOther.id }) as LeaseGrant,
      }),
    );
    expect(f.scheduler.heldBy('lazy')).toBe(0);
    expect(f.scheduler.requestLease('lazy')).toBeNull();
    const code = (() => {
      try {
        f.scheduler.completeLease(lazyOther.id, 'lazy', done(LAZY));
      } catch (error) {
        return error instanceof ProtocolError ? error.code : 'uncoded';
      }
      return 'accepted';
    })();
    expect(code).toBe('DISTRUSTED');
    // The verdict is durable: after a restart it still gets nothing.
    f.restart();
    expect(f.scheduler.validation.isDistrusted('lazy')).toBe(true);
    expect(f.scheduler.requestLease('lazy')).toBeNull();
    expect(f.scheduler.requestLease('h1')).not.toBeNull();
  });

  it('a completion without statistics on a replicated lease agrees with nothing', () => {
    f = schedulerFixture();
    validatedJob();
    const a = must(f.scheduler.requestLease('a'));
    const b = must(f.scheduler.requestLease('b'));
    f.scheduler.completeLease(a.id, 'a', { loss: 0.5, samples: 10, durationMs: 1 });
    f.scheduler.completeLease(b.id, 'b', done(HONEST));
    const c = must(f.scheduler.requestLease('c'));
    f.scheduler.completeLease(c.id, 'c', done(HONEST));
    expect(f.scheduler.validation.trustOf('a')?.standing).toBe('distrusted');
    expect(f.scheduler.validation.trustOf('b')?.invalid).toBe(0);
  });

  it("replicates about `replication` of a new volunteer's shards, a tenth of it for a trusted one", () => {
    f = schedulerFixture();
    const share = (node: string): number => {
      const job = f.scheduler.createJob(spec({ validation: { replication: 0.5, tolerance: 0.05 } }), 2000);
      checkpoint(job.id, 0);
      let replicated = 0;
      for (let i = 0; i < 200; i++) {
        const lease = must(f.scheduler.requestLease(node));
        if (lease.replica) replicated++;
        f.scheduler.completeLease(lease.id, node, done(HONEST));
      }
      return replicated / 200;
    };
    const fresh = share('new');
    expect(fresh).toBeGreaterThan(0.38);
    expect(fresh).toBeLessThan(0.62);
    f.store.db
      .prepare(`INSERT INTO volunteer_trust (node_id, trust, valid, updated_at) VALUES ('old', 0.95, 40, 0)`)
      .run();
    const trusted = share('old');
    expect(trusted).toBeLessThan(0.12);
    console.log(
      `replicated: ${fresh} of a new volunteer's shards, ${trusted} of a trusted one's (replication 0.5)`,
    );
  });
});
