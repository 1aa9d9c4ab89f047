/**
 * The jobs table as the scheduler sees it: creating a job with its shard geometry, reading jobs,
 * and status changes (each recorded as a 'job' event). Callers run these inside their transaction.
 */
import crypto from 'node:crypto';
import { ProtocolError, type JobSpec, type JobStatus } from '@tabswarm/protocol';
import type { Clock } from '../membership.ts';
import { toJob, type JobRow, type SchedulerStatements } from './scheduler-sql.ts';
import type { JobRecord, SchedulerEvent } from './types.ts';

const TERMINAL: ReadonlySet<JobStatus> = new Set(['completed', 'failed', 'cancelled']);

export function isTerminal(status: JobStatus): boolean {
  return TERMINAL.has(status);
}

/** How many samples shard `shard` of the job holds: the shard size, less for the last one. */
export function shardSamples(job: Pick<JobRecord, 'shardSize' | 'trainSize'>, shard: number): number {
  return Math.max(0, Math.min(job.shardSize, job.trainSize - shard * job.shardSize));
}

export class JobRecords {
  constructor(
    private readonly sql: SchedulerStatements,
    private readonly now: Clock,
  ) {}

  /** A queued job whose training set is cut into shards of batchSize × localSteps samples. */
  create(spec: JobSpec, trainSize: number): JobRecord {
    if (!Number.isInteger(trainSize) || trainSize <= 0)
      throw new RangeError('the dataset has no training samples');
    const shardSize = Math.min(trainSize, spec.training.batchSize * spec.training.localSteps);
    const id = `job-${crypto.randomBytes(6).toString('hex')}`;
    this.sql.insertJob.run({
      id,
      name: spec.name,
      spec: JSON.stringify(spec),
      now: this.now(),
      train_size: trainSize,
      shard_size: shardSize,
      shard_count: Math.ceil(trainSize / shardSize),
    });
    return this.require(id);
  }

  get(id: string): JobRecord | undefined {
    const row = this.sql.job.get(id) as JobRow | undefined;
    return row && toJob(row);
  }

  list(): JobRecord[] {
    return (this.sql.jobs.all() as JobRow[]).map(toJob);
  }

  /** Jobs that may hand out leases, oldest first. */
  leasable(): JobRecord[] {
    return (this.sql.leasableJobs.all() as JobRow[]).map(toJob);
  }

  require(id: string): JobRecord {
    const job = this.get(id);
    if (!job) throw new ProtocolError('UNKNOWN_JOB', `unknown job ${id}`);
    return job;
  }

  /** Throws BAD_REQUEST unless the job is in one of `from`; returns it. */
  requireStatus(id: string, from: readonly JobStatus[], to: JobStatus): JobRecord {
    const current = this.require(id);
    if (!from.includes(current.status)) {
      throw new ProtocolError('BAD_REQUEST', `job ${id} is ${current.status}; it cannot become ${to}`);
    }
    return current;
  }

  /** Throws BAD_REQUEST when the job has already ended; returns it. */
  requireUnfinished(id: string): JobRecord {
    const current = this.require(id);
    if (isTerminal(current.status)) {
      throw new ProtocolError('BAD_REQUEST', `job ${id} is already ${current.status}`);
    }
    return current;
  }

  setStatus(id: string, status: JobStatus, reason: string | null, events: SchedulerEvent[]): JobRecord {
    this.sql.setStatus.run({ id, status, reason, now: this.now() });
    const job = this.require(id);
    events.push({ type: 'job', job });
    return job;
  }
}
