/**
 * Shards and leases, BOINC-style: every epoch's shards are handed out in a seeded order, each
 * lease has a deadline, expiry or loss of the volunteer puts the shard back, completions are
 * idempotent by lease id and the first completion of a shard is the only one counted. SQLite is
 * the source of truth and every operation is one transaction, so a crash at any point leaves a
 * consistent state; completions are committed with synchronous=FULL before they are acknowledged
 * (several at once when they arrive together: completeLeases).
 */
import crypto from 'node:crypto';
import type { Database } from 'better-sqlite3';
import { extendedDeadline, isStraggler, leaseDeadline, shardOrder, type LeaseWindow } from '@tabswarm/core';
import { ProtocolError, type JobSpec, type JobStatus } from '@tabswarm/protocol';
import type { Clock } from '../membership.ts';
import { isTerminal, JobRecords } from './job-records.ts';
import { ReplicaValidation } from './replica-validation.ts';
import { prepareStatements, toLease, type LeaseRow, type SchedulerStatements } from './scheduler-sql.ts';
import {
  DEFAULT_LEASE_TIMING,
  type CompletionItem,
  type CompletionOutcome,
  type CompletionResult,
  type JobRecord,
  type LeaseGrant,
  type LeaseRecord,
  type LeaseTiming,
  type SchedulerEvent,
  type LeaseRequestItem,
  type Settled,
} from './types.ts';

export { isTerminal } from './job-records.ts';

/** How many samples shard `shard` of the job holds: the shard size, less for the last one. */
export function shardSamples(job: Pick<JobRecord, 'shardSize' | 'trainSize'>, shard: number): number {
  return Math.max(0, Math.min(job.shardSize, job.trainSize - shard * job.shardSize));
}

type Listener = (event: SchedulerEvent) => void;

/** How many of a volunteer's latest completions on a job its measured throughput is taken over. */
const MEASURED_COMPLETIONS = 5;

export class Scheduler {
  private readonly listeners = new Set<Listener>();
  private readonly sql: SchedulerStatements;
  private readonly jobs: JobRecords;
  /** Replicated shards, trust and credit (validated work): consulted inside these transactions. */
  readonly validation: ReplicaValidation;

  constructor(
    private readonly db: Database,
    private readonly timing: LeaseTiming = DEFAULT_LEASE_TIMING,
    private readonly now: Clock = Date.now,
  ) {
    this.sql = prepareStatements(db);
    this.jobs = new JobRecords(this.sql, now);
    this.validation = new ReplicaValidation(db, now);
  }

  onEvent(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  // ── jobs ──────────────────────────────────────────────────────────────────

  createJob(spec: JobSpec, trainSize: number): JobRecord {
    const job = this.jobs.create(spec, trainSize);
    this.emit({ type: 'job', job });
    return job;
  }

  getJob(id: string): JobRecord | undefined {
    return this.jobs.get(id);
  }

  listJobs(): JobRecord[] {
    return this.jobs.list();
  }

  pause(id: string): JobRecord {
    return this.transition(id, ['queued', 'running'], 'paused', null);
  }

  resume(id: string): JobRecord {
    const job = this.jobs.require(id);
    return this.transition(id, ['paused'], job.startedAt === null ? 'queued' : 'running', null);
  }

  cancel(id: string, reason = 'cancelled by the operator'): JobRecord {
    return this.finish(id, 'cancelled', reason);
  }

  fail(id: string, reason: string): JobRecord {
    return this.finish(id, 'failed', reason);
  }

  /** Ends a job early, e.g. when a checkpoint reached the target accuracy. */
  complete(id: string, reason: string): JobRecord {
    return this.finish(id, 'completed', reason);
  }

  // ── leases ────────────────────────────────────────────────────────────────

  /**
   * The next piece of work for a volunteer, across running jobs by weighted fair share (active
   * leases per unit of priority, fewest first), or null when there is none, or when the volunteer
   * already holds its allowance of leases (timing.maxLeasesPerVolunteer): one volunteer cannot
   * take every shard of a job.
   */
  requestLease(nodeId: string, samplesPerSec?: number): LeaseGrant | null {
    const [settled] = this.requestLeases([{ nodeId, samplesPerSec }]);
    if (settled === undefined || !settled.ok) throw settled?.error ?? new Error('no outcome');
    return settled.value;
  }

  /**
   * Several lease requests in one transaction (group commit: the coordinator batches those that
   * arrive together), each in its own savepoint with exactly requestLease's rules, in order.
   * Events are emitted once the whole batch is committed.
   */
  requestLeases(items: readonly LeaseRequestItem[]): Settled<LeaseGrant | null>[] {
    const events: SchedulerEvent[] = [];
    const settled = this.db.transaction((): Settled<LeaseGrant | null>[] =>
      items.map(({ nodeId, samplesPerSec }) => {
        const own: SchedulerEvent[] = [];
        try {
          const value = this.db.transaction(() => this.grantOne(nodeId, samplesPerSec, own))();
          events.push(...own);
          return { ok: true, value };
        } catch (error) {
          return { ok: false, error: error instanceof Error ? error : new Error(String(error)) };
        }
      }),
    )();
    this.emitAll(events);
    return settled;
  }

  /** One lease request, inside the caller's transaction; its events go to `events`. */
  private grantOne(
    nodeId: string,
    samplesPerSec: number | undefined,
    events: SchedulerEvent[],
  ): LeaseGrant | null {
    if (this.heldBy(nodeId) >= this.timing.maxLeasesPerVolunteer) return null;
    if (this.validation.isDistrusted(nodeId)) return null;
    const jobs = this.jobs.leasable();
    // The fair share needs every job's active leases (a scan of them all): only when there is a choice.
    const active = new Map(
      jobs.length < 2
        ? []
        : (this.sql.activeCounts.all() as { job_id: string; n: number }[]).map((r) => [r.job_id, r.n]),
    );
    jobs.sort(
      (a, b) => (active.get(a.id) ?? 0) / a.spec.priority - (active.get(b.id) ?? 0) / b.spec.priority,
    );
    for (const job of jobs) {
      // A replica another volunteer's result waits for comes before new work.
      const task = this.validation.taskFor(job, nodeId);
      if (task !== undefined) return this.grant(job, task, false, nodeId, samplesPerSec, events, task, true);
    }
    for (const job of jobs) {
      const lease = this.leaseFrom(job, nodeId, samplesPerSec, events);
      if (lease) return lease;
    }
    return null;
  }

  /**
   * Records a completion. Idempotent by lease id; only the first completion of a shard counts.
   *
   * Nothing a volunteer claims is taken on trust where the coordinator knows better. It knows the
   * shard's size, so a completion must report exactly the shard's samples: anything else is
   * refused with BAD_REQUEST and changes nothing (the lease stays as it was, to be completed
   * properly, released, or to expire; nothing is counted). It knows when it granted the lease, so
   * the duration it records is its own measurement, completion time minus grant time, whatever
   * duration is claimed. The claim is overridden rather than refused: the volunteer's timer only runs
   * inside the lease (it starts after the grant arrives and stops before the completion is sent),
   * so no claim can be checked for being too short, and refusing would only throw away honest work
   * from tabs whose timers are throttled; since nothing downstream reads the claim, a lie about it
   * (0 ms, or an hour) changes nothing.
   */
  completeLease(leaseId: string, nodeId: string, result: CompletionResult): CompletionOutcome {
    const [settled] = this.completeLeases([{ leaseId, nodeId, result }]);
    if (settled === undefined || !settled.ok) throw settled?.error ?? new Error('no outcome');
    return settled.value;
  }

  /**
   * Records several completions in one transaction and one fsync (group commit): the coordinator
   * batches those that arrive together (CompletionBatcher) so that a busy swarm does not pay a
   * disk flush per shard. Each completion runs in its own savepoint with exactly completeLease's
   * rules, in order: one that is refused changes nothing and does not affect the others; a second
   * completion of the same lease in the batch is a duplicate. Nothing is reported before the
   * whole batch is committed with synchronous=FULL.
   */
  completeLeases(items: readonly CompletionItem[]): Settled<CompletionOutcome>[] {
    const events: SchedulerEvent[] = [];
    this.db.pragma('synchronous = FULL');
    try {
      const settled = this.db.transaction((): Settled<CompletionOutcome>[] =>
        items.map((item) => {
          const own: SchedulerEvent[] = [];
          try {
            const value = this.db.transaction(() => this.recordCompletion(item, own))();
            events.push(...own);
            return { ok: true, value };
          } catch (error) {
            return { ok: false, error: error instanceof Error ? error : new Error(String(error)) };
          }
        }),
      )();
      this.emitAll(events);
      return settled;
    } finally {
      this.db.pragma('synchronous = NORMAL');
    }
  }

  /** One completion, inside the caller's transaction; its events go to `events`. */
  private recordCompletion(
    { leaseId, nodeId, result }: CompletionItem,
    events: SchedulerEvent[],
  ): CompletionOutcome {
    const lease = this.requireLease(leaseId, nodeId);
    if (lease.state === 'completed') return { kind: 'duplicate', lease };
    if (this.validation.isDistrusted(nodeId))
      throw new ProtocolError(
        'DISTRUSTED',
        "this volunteer's replicated work was outvoted; its work is not counted",
      );
    const now = this.now();
    const job = this.jobs.require(lease.jobId);
    const expected = shardSamples(job, lease.shard);
    if (result.samples !== expected) {
      throw new ProtocolError(
        'BAD_REQUEST',
        `samples: the shard holds ${expected} samples, the completion reports ${result.samples}`,
      );
    }
    const shard = this.sql.shardState.get(lease.jobId, lease.epoch, lease.shard) as
      { state: string } | undefined;
    const counts = !isTerminal(job.status) && shard !== undefined && shard.state !== 'done';
    this.sql.completeLease.run({
      id: lease.id,
      counted: counts ? 1 : 0,
      now,
      loss: result.loss,
      samples: expected,
      duration: Math.max(0, now - lease.issuedAt),
    });
    const recorded = { ...lease, state: 'completed' as const, counted: counts };
    if (lease.replicaCheckpoint != null) this.recordReplica(job, recorded, result, events);
    events.push({
      type: 'completed',
      lease: recorded,
      counted: counts,
      samples: expected,
      loss: result.loss,
    });
    if (!counts) return { kind: 'late', lease: recorded };

    this.sql.markDone.run({
      lease: lease.id,
      now,
      job: lease.jobId,
      epoch: lease.epoch,
      shard: lease.shard,
    });
    this.sql.countDone.run({ samples: expected, now, job: lease.jobId });
    // First completion wins: any other copy of this shard is cancelled.
    const cancelled: LeaseRecord[] = [];
    for (const row of this.sql.activeOnShard.all(lease.jobId, lease.epoch, lease.shard) as LeaseRow[]) {
      // A replica is validation work: it runs to its end whoever finished the shard first.
      if (row.replica_checkpoint !== null) continue;
      this.sql.endLease.run({ id: row.id, state: 'cancelled' });
      const other = { ...toLease(row), state: 'cancelled' as const };
      cancelled.push(other);
      events.push({
        type: 'cancelled',
        lease: other,
        reason: 'another copy of this shard finished first',
      });
    }
    let updated = this.jobs.require(lease.jobId);
    if (updated.status === 'queued') updated = this.jobs.setStatus(updated.id, 'running', null, events);
    if (this.allDone(updated))
      updated = this.jobs.setStatus(updated.id, 'completed', 'all epochs done', events);
    return { kind: 'counted', lease: recorded, job: updated, cancelled };
  }

  /** The volunteer gives a lease back (e.g. its shard failed to download): the shard is re-queued. */
  releaseLease(leaseId: string, nodeId: string): LeaseRecord {
    const events: SchedulerEvent[] = [];
    const released = this.db.transaction(() => {
      const lease = this.requireLease(leaseId, nodeId);
      if (lease.state !== 'active') return lease;
      return this.endActive(lease, 'released', events);
    })();
    this.emitAll(events);
    return released;
  }

  /** A volunteer left or was marked gone: every lease it held goes back to the queue. */
  releaseNode(nodeId: string): LeaseRecord[] {
    const events: SchedulerEvent[] = [];
    const released = this.db.transaction(() =>
      (this.sql.activeForNode.all(nodeId) as LeaseRow[]).map((row) =>
        this.endActive(toLease(row), 'released', events),
      ),
    )();
    this.emitAll(events);
    return released;
  }

  /**
   * A heartbeat pushes a volunteer's deadlines out, up to the lease's lifetime (core's
   * leaseLifetimeEnd: a multiple of its window at grant, at most maxLifetimeMs); past that the
   * lease expires and its shard is re-queued for others however often it heartbeats. When it
   * names the leases the volunteer holds (`held`), only those are extended, and the volunteer's
   * other leases granted more than `held.graceMs` ago are released and their shards re-queued: the
   * volunteer does not have them (e.g. the grant's answer came after its request timed out), and
   * extending them would keep their shards from everyone for good. A lease younger than the grace
   * may still be on its way to the volunteer: it is left as it is. Returns the released leases.
   */
  extendLeases(
    nodeId: string,
    held?: { readonly leaseIds: readonly string[]; readonly graceMs: number },
  ): LeaseRecord[] {
    const now = this.now();
    const named = held === undefined ? null : new Set(held.leaseIds);
    const events: SchedulerEvent[] = [];
    const released = this.db.transaction(() => {
      const ended: LeaseRecord[] = [];
      for (const row of this.sql.activeForNode.all(nodeId) as LeaseRow[]) {
        const lease = toLease(row);
        if (named === null || named.has(lease.id)) {
          const deadline = extendedDeadline(this.timing, lease, now);
          if (deadline !== row.deadline) this.sql.setDeadline.run({ id: row.id, deadline });
        } else if (held !== undefined && now - lease.issuedAt > held.graceMs) {
          ended.push(this.endActive(lease, 'released', events));
        }
      }
      return ended;
    })();
    this.emitAll(events);
    return released;
  }

  /** Expires overdue leases and re-queues their shards. Called on a timer. */
  expireOverdue(): LeaseRecord[] {
    const events: SchedulerEvent[] = [];
    const expired = this.db.transaction(() =>
      (this.sql.overdue.all(this.now()) as LeaseRow[]).map((row) =>
        this.endActive(toLease(row), 'expired', events),
      ),
    )();
    this.emitAll(events);
    return expired;
  }

  /** At start: leases outstanding at a crash cannot be trusted to finish; re-queue them. */
  recover(): number {
    const events: SchedulerEvent[] = [];
    const n = this.db.transaction(
      () =>
        (this.sql.allActive.all() as LeaseRow[]).map((row) =>
          this.endActive(toLease(row), 'released', events),
        ).length,
    )();
    return n;
  }

  /** Volunteers that completed work for the job, most recent first: they hold its model. */
  recentWorkers(jobId: string, limit: number): string[] {
    return (this.sql.recentWorkers.all(jobId, limit) as { node_id: string }[]).map((r) => r.node_id);
  }

  /** Every recorded completion of the job, oldest first: the training-loss series. */
  completions(
    jobId: string,
  ): { t: number; loss: number; samples: number; counted: number; nodeId: string }[] {
    return this.sql.completions.all(jobId) as {
      t: number;
      loss: number;
      samples: number;
      counted: number;
      nodeId: string;
    }[];
  }

  /** How many leases the volunteer holds now. */
  heldBy(nodeId: string): number {
    return (this.sql.activeCountForNode.get(nodeId) as { n: number }).n;
  }

  getLease(id: string): LeaseRecord | undefined {
    const row = this.sql.lease.get(id) as LeaseRow | undefined;
    return row && toLease(row);
  }

  /** How many leases of the job are active (a count, not the rows: the job's info asks often). */
  activeLeaseCount(jobId: string): number {
    return (this.sql.activeCountForJob.get(jobId) as { n: number }).n;
  }

  activeLeases(jobId?: string): LeaseRecord[] {
    const rows = (
      jobId === undefined ? this.sql.allActive.all() : this.sql.activeForJob.all(jobId)
    ) as LeaseRow[];
    return rows.map(toLease);
  }

  // ── internals ─────────────────────────────────────────────────────────────

  private leaseFrom(
    job: JobRecord,
    nodeId: string,
    samplesPerSec: number | undefined,
    events: SchedulerEvent[],
  ): LeaseGrant | null {
    if (job.epochsOpened === 0) this.openEpoch(job, 0);
    let pending = this.sql.nextPending.get(job.id) as
      { epoch: number; shard: number; reissues: number } | undefined;
    let speculative = false;
    if (!pending) {
      const candidate = this.stragglerFor(job.id, nodeId);
      if (candidate) {
        pending = { ...candidate, reissues: 0 };
        speculative = true;
      } else {
        const current = this.jobs.require(job.id);
        if (current.epochsOpened >= job.spec.training.epochs) return null;
        this.openEpoch(current, current.epochsOpened);
        pending = this.sql.nextPending.get(job.id) as typeof pending;
        if (!pending) return null;
      }
    }
    const replica = speculative
      ? null
      : this.validation.replicaForGrant(job, pending.epoch, pending.shard, nodeId);
    return this.grant(job, pending, speculative, nodeId, samplesPerSec, events, replica);
  }

  /** Inserts a lease of (epoch, shard) for the volunteer; `replica` when it is a replicated one. */
  private grant(
    job: JobRecord,
    pending: { readonly epoch: number; readonly shard: number; readonly reissues?: number },
    speculative: boolean,
    nodeId: string,
    samplesPerSec: number | undefined,
    events: SchedulerEvent[],
    replica: { readonly checkpoint: number; readonly seed: number } | null,
    replicaTask = false,
  ): LeaseGrant {
    const now = this.now();
    const start = pending.shard * job.shardSize;
    const end = start + shardSamples(job, pending.shard);
    const measured = this.measuredSamplesPerSec(job.id, nodeId);
    const deadline = leaseDeadline(this.timing, now, end - start, measured ?? samplesPerSec);
    const id = `lease-${crypto.randomBytes(8).toString('hex')}`;
    this.sql.insertLease.run({
      id,
      job: job.id,
      epoch: pending.epoch,
      shard: pending.shard,
      node: nodeId,
      now,
      deadline,
      speculative: speculative ? 1 : 0,
      replica: replica?.checkpoint ?? null,
    });
    // A replica task's shard is leased or done already (its first replica holds or finished it).
    if (!replicaTask)
      this.sql.setShard.run({ state: 'leased', job: job.id, epoch: pending.epoch, shard: pending.shard });
    if (job.status === 'queued') this.jobs.setStatus(job.id, 'running', null, events);
    const grant: LeaseGrant = {
      id,
      jobId: job.id,
      epoch: pending.epoch,
      shard: pending.shard,
      nodeId,
      issuedAt: now,
      deadline,
      grantedDeadline: deadline,
      speculative,
      state: 'active',
      counted: false,
      start,
      end,
      reissue: !speculative && (pending.reissues ?? 0) > 0,
      replicaCheckpoint: replica?.checkpoint ?? null,
      replica: replica === null ? null : { checkpoint: replica.checkpoint, seed: replica.seed },
    };
    events.push({ type: 'issued', lease: grant });
    return grant;
  }

  /**
   * The volunteer's throughput on the job as the coordinator measured it: samples over measured
   * lease durations (grant to completion) of its last few completions, or undefined before its
   * first. Deadlines, and with them the straggler rule, use this rather than the throughput the
   * volunteer claims once there is a record: a claim cannot buy a longer window than its work
   * shows, and a volunteer slower than it claims gets the window its record needs.
   */
  private measuredSamplesPerSec(jobId: string, nodeId: string): number | undefined {
    const row = this.sql.measuredThroughput.get(nodeId, jobId, MEASURED_COMPLETIONS) as
      { samples: number | null; ms: number | null } | undefined;
    if (row?.samples == null || row.ms === null) return undefined;
    return (row.samples * 1000) / Math.max(1, row.ms);
  }

  /** The oldest-leased shard whose only lease, held by someone else, is a straggler (core's rule). */
  private stragglerFor(jobId: string, nodeId: string): { epoch: number; shard: number } | undefined {
    const now = this.now();
    // The straggler rule is also in the query's HAVING (one lease per shard, so MIN is that
    // lease), so SQLite skips the rest: every idle volunteer's request runs it.
    const rows = this.sql.copyCandidates.iterate({
      job: jobId,
      node: nodeId,
      now,
      fraction: this.timing.speculateAfter,
    }) as IterableIterator<LeaseWindow & { epoch: number; shard: number }>;
    for (const row of rows) {
      if (isStraggler(row, now, this.timing.speculateAfter)) return { epoch: row.epoch, shard: row.shard };
    }
    return undefined;
  }

  private openEpoch(job: JobRecord, epoch: number): void {
    const order = shardOrder(job.shardCount, job.spec.training.seed, epoch);
    order.forEach((shard, position) => this.sql.insertShard.run(job.id, epoch, shard, position));
    this.sql.openEpoch.run(this.now(), job.id);
  }

  /**
   * A replica's result, judged with its shard's others (replica-validation.ts). A volunteer that
   * falls below the trust threshold loses every lease it holds now: each is cancelled (it is told
   * to stop) and its shard re-queued for others.
   */
  private recordReplica(
    job: JobRecord,
    lease: LeaseRecord,
    result: CompletionResult,
    events: SchedulerEvent[],
  ): void {
    const outcome = this.validation.record(lease, result, job.spec.validation?.tolerance ?? 0.05);
    if (outcome.verdicts.length > 0)
      events.push({
        type: 'judged',
        jobId: job.id,
        verdicts: outcome.verdicts,
        distrusted: outcome.distrusted,
      });
    for (const nodeId of outcome.distrusted) {
      for (const row of this.sql.activeForNode.all(nodeId) as LeaseRow[]) {
        if (row.id === lease.id) continue;
        this.endActive(
          toLease(row),
          'cancelled',
          events,
          'the volunteer is distrusted: its replicated work was outvoted',
        );
      }
    }
  }

  private endActive(
    lease: LeaseRecord,
    state: 'expired' | 'released' | 'cancelled',
    events: SchedulerEvent[],
    reason = 'cancelled',
  ): LeaseRecord {
    this.sql.endLease.run({ id: lease.id, state });
    const shard = this.sql.shardState.get(lease.jobId, lease.epoch, lease.shard) as
      { state: string } | undefined;
    const others = (this.sql.activeOnShard.all(lease.jobId, lease.epoch, lease.shard) as LeaseRow[]).length;
    if (shard?.state === 'leased' && others === 0) {
      this.sql.setShard.run({ state: 'pending', job: lease.jobId, epoch: lease.epoch, shard: lease.shard });
      this.sql.markReissue.run(lease.jobId, lease.epoch, lease.shard);
    }
    const ended = { ...lease, state };
    events.push(
      state === 'cancelled'
        ? { type: 'cancelled', lease: ended, reason }
        : state === 'expired'
          ? { type: 'expired', lease: ended }
          : { type: 'released', lease: ended },
    );
    return ended;
  }

  private allDone(job: JobRecord): boolean {
    if (job.epochsOpened < job.spec.training.epochs) return false;
    return (this.sql.openShards.get(job.id) as { n: number }).n === 0;
  }

  private transition(
    id: string,
    from: readonly JobStatus[],
    to: JobStatus,
    reason: string | null,
  ): JobRecord {
    const events: SchedulerEvent[] = [];
    const job = this.db.transaction(() => {
      this.jobs.requireStatus(id, from, to);
      return this.jobs.setStatus(id, to, reason, events);
    })();
    this.emitAll(events);
    return job;
  }

  private finish(id: string, to: 'completed' | 'failed' | 'cancelled', reason: string): JobRecord {
    const events: SchedulerEvent[] = [];
    const job = this.db.transaction(() => {
      this.jobs.requireUnfinished(id);
      for (const row of this.sql.activeForJob.all(id) as LeaseRow[]) {
        this.sql.endLease.run({ id: row.id, state: 'cancelled' });
        events.push({
          type: 'cancelled',
          lease: { ...toLease(row), state: 'cancelled' },
          reason: `job ${to}`,
        });
      }
      return this.jobs.setStatus(id, to, reason, events);
    })();
    this.emitAll(events);
    return job;
  }

  private requireLease(id: string, nodeId: string): LeaseRecord {
    const lease = this.getLease(id);
    if (!lease) throw new ProtocolError('UNKNOWN_LEASE', `unknown lease ${id}`);
    if (lease.nodeId !== nodeId)
      throw new ProtocolError('NOT_YOUR_LEASE', `lease ${id} belongs to another volunteer`);
    return lease;
  }

  private emit(event: SchedulerEvent): void {
    for (const listener of this.listeners) listener(event);
  }

  private emitAll(events: readonly SchedulerEvent[]): void {
    for (const event of events) this.emit(event);
  }
}
