/**
 * Recording one completion (Scheduler.completeLease's rules): the coordinator checks what it
 * knows better than the volunteer (the shard's samples, the lease's duration), counts the first
 * completion of a shard only, cancels the shard's other copies, judges a replica's result with
 * its shard's others and ends the job when its last shard is done. Runs inside the scheduler's
 * transaction; the events it collects are emitted by the scheduler once that is committed.
 */
import { ProtocolError } from '@tabswarm/protocol';
import type { Clock } from '../membership.ts';
import { isTerminal, shardSamples, type JobRecords } from './job-records.ts';
import { endActiveLease, requireLease } from './lease-rows.ts';
import type { ReplicaValidation } from './replica-validation.ts';
import { toLease, type LeaseRow, type SchedulerStatements } from './scheduler-sql.ts';
import type {
  CompletionItem,
  CompletionOutcome,
  CompletionResult,
  JobRecord,
  LeaseRecord,
  SchedulerEvent,
} from './types.ts';

export class CompletionRecording {
  constructor(
    private readonly sql: SchedulerStatements,
    private readonly jobs: JobRecords,
    private readonly validation: ReplicaValidation,
    private readonly now: Clock,
  ) {}

  /** One completion, inside the caller's transaction; its events go to `events`. */
  record({ leaseId, nodeId, result }: CompletionItem, events: SchedulerEvent[]): CompletionOutcome {
    const lease = requireLease(this.sql, leaseId, nodeId);
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
        endActiveLease(
          this.sql,
          toLease(row),
          'cancelled',
          events,
          'the volunteer is distrusted: its replicated work was outvoted',
        );
      }
    }
  }

  private allDone(job: JobRecord): boolean {
    if (job.epochsOpened < job.spec.training.epochs) return false;
    return (this.sql.openShards.get(job.id) as { n: number }).n === 0;
  }
}
