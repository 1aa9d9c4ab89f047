/**
 * Granting one lease: which job (weighted fair share), which shard (a replica another result
 * waits for, the next pending one, a straggler's copy, or a newly opened epoch) and which deadline
 * (from the volunteer's measured throughput). Runs inside the scheduler's transaction; the
 * events it collects are emitted by the scheduler once that is committed.
 */
import crypto from 'node:crypto';
import { isStraggler, leaseDeadline, shardOrder, type LeaseWindow } from '@tabswarm/core';
import type { Clock } from '../membership.ts';
import { shardSamples, type JobRecords } from './job-records.ts';
import type { ReplicaValidation } from './replica-validation.ts';
import type { SchedulerStatements } from './scheduler-sql.ts';
import type { JobRecord, LeaseGrant, LeaseTiming, SchedulerEvent } from './types.ts';

/** How many of a volunteer's latest completions on a job its measured throughput is taken over. */
const MEASURED_COMPLETIONS = 5;

export class LeaseGranting {
  constructor(
    private readonly sql: SchedulerStatements,
    private readonly jobs: JobRecords,
    private readonly validation: ReplicaValidation,
    private readonly timing: LeaseTiming,
    private readonly now: Clock,
    /** The jobs a volunteer said it cannot run (Scheduler.excludeJob). */
    private readonly cannotRun: (nodeId: string) => ReadonlySet<string> | undefined = () => undefined,
  ) {}

  /** One lease request (Scheduler.requestLease's rules); its events go to `events`. */
  grantOne(nodeId: string, samplesPerSec: number | undefined, events: SchedulerEvent[]): LeaseGrant | null {
    const held = (this.sql.activeCountForNode.get(nodeId) as { n: number }).n;
    if (held >= this.timing.maxLeasesPerVolunteer) return null;
    if (this.validation.isDistrusted(nodeId)) return null;
    const excluded = this.cannotRun(nodeId);
    const jobs = this.jobs.leasable().filter((job) => excluded === undefined || !excluded.has(job.id));
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
}
