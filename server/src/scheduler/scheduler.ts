/**
 * Shards and leases, BOINC-style: every epoch's shards are handed out in a seeded order, each
 * lease has a deadline, expiry or loss of the volunteer puts the shard back, completions are
 * idempotent by lease id and the first completion of a shard is the only one counted. SQLite is
 * the source of truth and every operation is one transaction, so a crash at any point leaves a
 * consistent state; completions are committed with synchronous=FULL before they are acknowledged
 * (several at once when they arrive together: completeLeases).
 */
import type { SqlDatabase } from '../store/sql-database.ts';
import { extendedDeadline } from '@tabswarm/core';
import type { JobSpec, JobStatus } from '@tabswarm/protocol';
import type { Clock } from '../membership.ts';
import { CompletionRecording } from './completion-recording.ts';
import { JobRecords } from './job-records.ts';
import { LeaseGranting } from './lease-granting.ts';
import { endActiveLease, findLease, requireLease } from './lease-rows.ts';
import { ReplicaValidation } from './replica-validation.ts';
import { settleEach } from './savepoints.ts';
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

export { isTerminal, shardSamples } from './job-records.ts';

type Listener = (event: SchedulerEvent) => void;

/** Jobs a volunteer may say it cannot run before the oldest of them is forgotten. */
export const MAX_JOBS_A_VOLUNTEER_CANNOT_RUN = 64;

export class Scheduler {
  private readonly listeners = new Set<Listener>();
  private readonly sql: SchedulerStatements;
  private readonly jobs: JobRecords;
  private readonly granting: LeaseGranting;
  /** Jobs each volunteer said it cannot run (LeaseRelease.cannotRun), until it leaves. */
  private readonly cannotRun = new Map<string, Set<string>>();
  private readonly completing: CompletionRecording;
  /** Replicated shards, trust and credit (validated work): consulted inside these transactions. */
  readonly validation: ReplicaValidation;

  constructor(
    private readonly db: SqlDatabase,
    private readonly timing: LeaseTiming = DEFAULT_LEASE_TIMING,
    private readonly now: Clock = Date.now,
  ) {
    this.sql = prepareStatements(db);
    this.jobs = new JobRecords(this.sql, now);
    this.validation = new ReplicaValidation(db, now);
    this.granting = new LeaseGranting(this.sql, this.jobs, this.validation, timing, now, (nodeId) =>
      this.cannotRun.get(nodeId),
    );
    this.completing = new CompletionRecording(this.sql, this.jobs, this.validation, now);
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
    const { settled, events } = settleEach(this.db, items, ({ nodeId, samplesPerSec }, own) =>
      this.granting.grantOne(nodeId, samplesPerSec, own),
    );
    this.emitAll(events);
    return settled;
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
    const { settled, events } = this.db.durably(() =>
      settleEach(this.db, items, (item, own) => this.completing.record(item, own)),
    );
    this.emitAll(events);
    return settled;
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

  /**
   * The volunteer cannot run this job (LeaseRelease.cannotRun): it is not offered the job's leases
   * again until it leaves. At most MAX_JOBS_A_VOLUNTEER_CANNOT_RUN per volunteer are remembered
   * (the oldest forgotten): the set stays bounded whatever a volunteer claims.
   */
  excludeJob(nodeId: string, jobId: string): void {
    const jobs = this.cannotRun.get(nodeId) ?? new Set<string>();
    jobs.add(jobId);
    if (jobs.size > MAX_JOBS_A_VOLUNTEER_CANNOT_RUN) jobs.delete(jobs.values().next().value as string);
    this.cannotRun.set(nodeId, jobs);
  }

  /** A volunteer left or was marked gone: every lease it held goes back to the queue. */
  releaseNode(nodeId: string): LeaseRecord[] {
    this.cannotRun.delete(nodeId);
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
    return findLease(this.sql, id);
  }

  /** How many leases of the job are active (a count, not the rows: the job's info asks often). */
  activeLeaseCount(jobId: string): number {
    return (this.sql.activeCountForJob.get(jobId) as { n: number }).n;
  }

  /**
   * The leases, over every epoch, of the job's most leased shard: a bound on how many updates
   * trained on any one sample a volunteer could have released (a job's privacy accounting).
   */
  mostLeasesOfOneShard(jobId: string): number {
    return (this.sql.mostLeasedShard.get(jobId) as { n: number }).n;
  }

  activeLeases(jobId?: string): LeaseRecord[] {
    const rows = (
      jobId === undefined ? this.sql.allActive.all() : this.sql.activeForJob.all(jobId)
    ) as LeaseRow[];
    return rows.map(toLease);
  }

  // ── internals ─────────────────────────────────────────────────────────────

  private endActive(
    lease: LeaseRecord,
    state: 'expired' | 'released' | 'cancelled',
    events: SchedulerEvent[],
  ): LeaseRecord {
    return endActiveLease(this.sql, lease, state, events);
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
    return requireLease(this.sql, id, nodeId);
  }

  private emit(event: SchedulerEvent): void {
    for (const listener of this.listeners) listener(event);
  }

  private emitAll(events: readonly SchedulerEvent[]): void {
    for (const event of events) this.emit(event);
  }
}
