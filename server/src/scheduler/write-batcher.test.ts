/**
 * Group commit: completions (and lease requests) that arrive together are written in one
 * transaction (one flush), each caller hears back only once its write is committed, and one refused
 * request in a batch changes nothing and affects no other.
 */
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { ProtocolError } from '@tabswarm/protocol';
import { MAX_WRITE_BATCH, WriteBatcher } from './write-batcher.ts';
import { result, schedulerFixture, spec, type SchedulerFixture } from './test-fixture.ts';
import {
  DEFAULT_LEASE_TIMING,
  type CompletionItem,
  type CompletionOutcome,
  type LeaseGrant,
  type LeaseRequestItem,
} from './types.ts';

let f: SchedulerFixture;
afterEach(() => f.store.close());

/** The real scheduler, with every batch it is asked to write recorded. */
function countingBatcher(): {
  batcher: WriteBatcher<CompletionItem, CompletionOutcome>;
  batches: number[];
  sizes: number[];
} {
  const batches: number[] = [];
  const sizes: number[] = [];
  const batcher = new WriteBatcher(
    (items: readonly CompletionItem[]) => {
      batches.push(items.length);
      return f.scheduler.completeLeases(items);
    },
    (size) => sizes.push(size),
  );
  return { batcher, batches, sizes };
}

/** `count` leases of a job with enough shards, each to its own volunteer (the lease cap is per volunteer). */
function leases(count: number): LeaseGrant[] {
  f.scheduler.createJob(spec(), count * 10);
  return Array.from({ length: count }, (_, i) => {
    const lease = f.scheduler.requestLease(`v${i}`);
    if (!lease) throw new Error('no lease');
    return lease;
  });
}

const item = (lease: LeaseGrant, overrides: Partial<CompletionItem> = {}): CompletionItem => ({
  leaseId: lease.id,
  nodeId: lease.nodeId,
  result,
  ...overrides,
});

describe('WriteBatcher of completions', () => {
  it('writes the completions that arrive together in one transaction, all counted', async () => {
    f = schedulerFixture();
    const granted = leases(20);
    const { batcher, batches, sizes } = countingBatcher();
    const outcomes = await Promise.all(granted.map((l) => batcher.submit(item(l))));
    expect(batches).toEqual([20]);
    expect(sizes).toEqual([20]);
    expect(outcomes.map((o) => o.kind)).toEqual(granted.map(() => 'counted'));
    const job = f.scheduler.listJobs()[0];
    expect(job?.shardsDone).toBe(20);
  });

  it('answers each caller only once its completion is committed (another connection sees it)', async () => {
    f = schedulerFixture();
    const granted = leases(5);
    const { batcher } = countingBatcher();
    const reader = new Database(path.join(f.dir, 'tabswarm.sqlite'), { readonly: true, fileMustExist: true });
    try {
      const stateSeen = (id: string): string =>
        (reader.prepare('SELECT state FROM leases WHERE id = ?').get(id) as { state: string }).state;
      const seen = await Promise.all(granted.map((l) => batcher.submit(item(l)).then(() => stateSeen(l.id))));
      expect(seen).toEqual(granted.map(() => 'completed'));
    } finally {
      reader.close();
    }
  });

  it('a refused completion in a batch changes nothing and the others still count', async () => {
    f = schedulerFixture();
    const [a, b, c, d] = leases(4) as [LeaseGrant, LeaseGrant, LeaseGrant, LeaseGrant];
    const { batcher, batches } = countingBatcher();
    const settled = await Promise.allSettled([
      batcher.submit(item(a)),
      batcher.submit(item(b, { result: { ...result, samples: 0 } })), // a lie about the work
      batcher.submit(item(c, { nodeId: 'mallory' })), // someone else's lease
      batcher.submit(item(d)),
      batcher.submit(item(a)), // the same completion again, in the same batch
    ]);
    expect(batches).toEqual([5]);
    const code = (s: PromiseSettledResult<unknown>): string =>
      s.status === 'rejected' && s.reason instanceof ProtocolError ? s.reason.code : s.status;
    expect(settled.map((s) => (s.status === 'fulfilled' ? s.value.kind : code(s)))).toEqual([
      'counted',
      'BAD_REQUEST',
      expect.any(String),
      'counted',
      'duplicate',
    ]);
    expect(settled[2]?.status).toBe('rejected');
    // The refused ones are still active leases, to be completed properly.
    expect(f.scheduler.getLease(b.id)?.state).toBe('active');
    expect(f.scheduler.getLease(c.id)?.state).toBe('active');
    expect(f.scheduler.listJobs()[0]?.shardsDone).toBe(2);
    // And completing it properly now counts.
    expect((await batcher.submit(item(b))).kind).toBe('counted');
  });

  it('bounds a batch and writes the rest in the next one', async () => {
    f = schedulerFixture({ ...DEFAULT_LEASE_TIMING, maxLeasesPerVolunteer: 1_000 });
    const count = MAX_WRITE_BATCH + 44;
    f.scheduler.createJob(spec(), count * 10);
    const granted = Array.from({ length: count }, () => f.scheduler.requestLease('busy') as LeaseGrant);
    const { batcher, batches } = countingBatcher();
    await Promise.all(granted.map((l) => batcher.submit(item(l))));
    expect(batches).toEqual([MAX_WRITE_BATCH, 44]);
    expect(f.scheduler.listJobs()[0]?.shardsDone).toBe(count);
  });
});

describe('WriteBatcher of lease requests', () => {
  it('grants the requests that arrive together in one transaction, each its own shard', async () => {
    f = schedulerFixture();
    f.scheduler.createJob(spec(), 200);
    const batches: number[] = [];
    const batcher = new WriteBatcher((items: readonly LeaseRequestItem[]) => {
      batches.push(items.length);
      return f.scheduler.requestLeases(items);
    });
    const issued: string[] = [];
    f.scheduler.onEvent((e) => {
      if (e.type === 'issued') issued.push(e.lease.id);
    });
    const grants = await Promise.all(
      Array.from({ length: 12 }, (_, i) => batcher.submit({ nodeId: `v${i}`, samplesPerSec: 100 })),
    );
    expect(batches).toEqual([12]);
    const shards = grants.map((g) => g?.shard);
    expect(new Set(shards).size).toBe(12);
    expect(grants.map((g) => g?.nodeId)).toEqual(Array.from({ length: 12 }, (_, i) => `v${i}`));
    // Events are emitted after the commit, one per grant.
    expect(issued.sort()).toEqual(grants.map((g) => g?.id).sort());
  });

  it('applies the per-volunteer cap within a batch as it would one request at a time', async () => {
    f = schedulerFixture({ ...DEFAULT_LEASE_TIMING, maxLeasesPerVolunteer: 2 });
    f.scheduler.createJob(spec(), 200);
    const batcher = new WriteBatcher((items: readonly LeaseRequestItem[]) =>
      f.scheduler.requestLeases(items),
    );
    const grants = await Promise.all(Array.from({ length: 4 }, () => batcher.submit({ nodeId: 'greedy' })));
    expect(grants.map((g) => g !== null)).toEqual([true, true, false, false]);
  });
});
