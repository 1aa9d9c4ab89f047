/**
 * Property test: 1,000 random interleavings of join / leave / lease / complete (each first tried
 * with a false sample count, which must be refused and change nothing) / duplicate / heartbeat and
 * expire / pause / crash-restart against a real SQLite store, checking after every step that no
 * volunteer holds more leases than its allowance, no lease outlives its lifetime,
 * every shard is done at most once, no shard has two non-speculative leases, and nothing
 * acknowledged is lost; then a reliable volunteer drains the job and every shard of every
 * epoch is accounted done exactly once.
 */
import { afterAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import { mulberry32 } from '@tabswarm/core';
import { schedulerFixture, spec, TEST_TIMING, type SchedulerFixture } from './test-fixture.ts';
import type { LeaseRecord } from './types.ts';

const RUNS = 1_000;
const STEPS = 40;
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

interface ShardRow {
  epoch: number;
  shard: number;
  state: string;
}

function checkInvariants(f: SchedulerFixture, jobId: string, acked: ReadonlyMap<string, boolean>): void {
  const db = f.store.db;
  const shards = db
    .prepare('SELECT epoch, shard, state FROM shards WHERE job_id = ?')
    .all(jobId) as ShardRow[];
  const leases = db.prepare('SELECT * FROM leases WHERE job_id = ?').all(jobId) as {
    id: string;
    epoch: number;
    shard: number;
    node_id: string;
    issued_at: number;
    deadline: number;
    granted_deadline: number;
    state: string;
    speculative: number;
    counted: number;
  }[];
  // No volunteer holds more than its allowance, and no lease outlives its lifetime.
  const perNode = new Map<string, number>();
  for (const l of leases.filter((l) => l.state === 'active')) {
    perNode.set(l.node_id, (perNode.get(l.node_id) ?? 0) + 1);
    const lifetime = Math.min(
      TEST_TIMING.maxLifetimeMs,
      TEST_TIMING.lifetimeMultiple * (l.granted_deadline - l.issued_at),
    );
    expect(l.deadline - l.issued_at).toBeLessThanOrEqual(lifetime);
  }
  for (const n of perNode.values()) expect(n).toBeLessThanOrEqual(TEST_TIMING.maxLeasesPerVolunteer);
  const byShard = new Map<string, typeof leases>();
  for (const l of leases) {
    const key = `${l.epoch}:${l.shard}`;
    byShard.set(key, [...(byShard.get(key) ?? []), l]);
  }
  let done = 0;
  for (const s of shards) {
    const mine = byShard.get(`${s.epoch}:${s.shard}`) ?? [];
    const active = mine.filter((l) => l.state === 'active');
    const counted = mine.filter((l) => l.counted === 1);
    // Done exactly once: a done shard has exactly one counted lease; others have none.
    expect(counted.length, `shard ${s.epoch}:${s.shard} counted`).toBe(s.state === 'done' ? 1 : 0);
    // Never two volunteers on one shard except as a speculative copy.
    expect(active.filter((l) => l.speculative === 0).length).toBeLessThanOrEqual(1);
    expect(active.length).toBeLessThanOrEqual(2);
    expect(s.state).toBe(s.state === 'done' ? 'done' : active.length > 0 ? 'leased' : 'pending');
    if (s.state === 'done') {
      expect(active).toHaveLength(0);
      done++;
    }
  }
  const job = f.scheduler.getJob(jobId);
  expect(job?.shardsDone).toBe(done);
  // Nothing acknowledged is lost, across restarts.
  for (const [leaseId, counted] of acked) {
    const lease = f.scheduler.getLease(leaseId);
    expect(lease?.state, `acked lease ${leaseId}`).toBe('completed');
    if (counted) expect(lease?.counted).toBe(true);
  }
}

function runOnce(seed: number): void {
  const random = mulberry32(seed);
  const pick = <T>(items: readonly T[]): T | undefined => items[Math.floor(random() * items.length)];
  const f = schedulerFixture();
  dirs.push(f.dir);
  const epochs = 1 + Math.floor(random() * 3);
  const trainSize = 10 + Math.floor(random() * 50);
  const job = f.scheduler.createJob(
    spec({ training: { batchSize: 10, localSteps: 1, epochs, seed } }),
    trainSize,
  );
  const live = new Set<string>(['n0']);
  const held: LeaseRecord[] = [];
  const acked = new Map<string, boolean>();
  let nextNode = 1;
  const complete = (lease: LeaseRecord): void => {
    // A completion reports exactly the shard's samples (the last shard may be short); one that
    // claims fewer is refused before anything changes, and the honest one after it still counts.
    const samples = Math.min(10, trainSize - lease.shard * 10);
    const before = f.scheduler.getLease(lease.id);
    if (before?.state !== 'completed') {
      const lie = { loss: 1, samples: samples - 1, durationMs: 0 };
      expect(() => f.scheduler.completeLease(lease.id, lease.nodeId, lie)).toThrow(/samples/);
      expect(f.scheduler.getLease(lease.id)).toEqual(before);
    }
    const outcome = f.scheduler.completeLease(lease.id, lease.nodeId, {
      loss: 1,
      samples,
      durationMs: 5,
    });
    acked.set(lease.id, acked.get(lease.id) === true || outcome.kind === 'counted');
  };

  for (let step = 0; step < STEPS; step++) {
    const r = random();
    if (r < 0.1) {
      live.add(`n${nextNode++}`);
    } else if (r < 0.16) {
      const node = pick([...live]);
      if (node !== undefined) {
        live.delete(node);
        f.scheduler.releaseNode(node);
      }
    } else if (r < 0.45) {
      const node = pick([...live]);
      const grant = node === undefined ? null : f.scheduler.requestLease(node, random() * 100);
      if (grant) held.push(grant);
    } else if (r < 0.7) {
      const lease = held.splice(Math.floor(random() * held.length), 1)[0];
      if (lease) complete(lease);
    } else if (r < 0.75) {
      const again = pick([...acked.keys()]);
      const lease = again === undefined ? undefined : f.scheduler.getLease(again);
      if (lease) complete(lease);
    } else if (r < 0.88) {
      f.advance(Math.floor(random() * 4_000));
      // Every live volunteer heartbeats, naming the leases it holds (extended up to their lifetime).
      for (const node of live) {
        const mine = held.filter((l) => l.nodeId === node).map((l) => l.id);
        f.scheduler.extendLeases(node, { leaseIds: mine, graceMs: 2_000 });
      }
      f.scheduler.expireOverdue();
    } else if (r < 0.92) {
      const status = f.scheduler.getJob(job.id)?.status;
      if (status === 'running' || status === 'queued') f.scheduler.pause(job.id);
      else if (status === 'paused') f.scheduler.resume(job.id);
    } else {
      f.restart();
    }
    checkInvariants(f, job.id, acked);
  }

  // Drain: resume if paused, then one reliable volunteer finishes everything.
  if (f.scheduler.getJob(job.id)?.status === 'paused') f.scheduler.resume(job.id);
  for (let guard = 0; guard < 1_000; guard++) {
    f.advance(20_000); // outlive every outstanding lease
    f.scheduler.expireOverdue();
    const grant = f.scheduler.requestLease('finisher');
    if (!grant) break;
    complete(grant);
  }
  checkInvariants(f, job.id, acked);
  const final = f.scheduler.getJob(job.id);
  const shardCount = Math.ceil(trainSize / 10);
  expect(final).toMatchObject({ status: 'completed', shardsDone: epochs * shardCount, epochsOpened: epochs });
  const perEpochShard = f.store.db
    .prepare(`SELECT epoch, shard, SUM(counted) AS n FROM leases WHERE job_id = ? GROUP BY epoch, shard`)
    .all(job.id) as { n: number }[];
  expect(perEpochShard).toHaveLength(epochs * shardCount);
  expect(perEpochShard.every((row) => row.n === 1)).toBe(true);
  f.store.close();
}

describe('scheduler invariants under random interleavings', () => {
  it(`hold for ${RUNS} random runs of ${STEPS} steps`, { timeout: 300_000 }, () => {
    for (let seed = 1; seed <= RUNS; seed++) {
      try {
        runOnce(seed);
      } catch (error) {
        throw new Error(`seed ${seed}: ${(error as Error).message}`, { cause: error });
      }
    }
  });
});
