/** How far a job is and which controls apply to it, from its JobInfo. Pure. */
import type { JobInfo, JobStatus } from '@tabswarm/protocol';
import type { JobAction } from './api.ts';

export const TERMINAL_STATUSES: ReadonlySet<JobStatus> = new Set(['completed', 'failed', 'cancelled']);

export interface JobProgress {
  /** Fraction of all shards of all epochs done, 0–1. */
  readonly fraction: number;
  /** Epochs worth of shards done, fractional (1.5 = one and a half epochs). */
  readonly epochsDone: number;
  readonly epochs: number;
  readonly shardsDone: number;
  readonly totalShards: number;
}

export function jobProgress(job: JobInfo): JobProgress {
  const epochs = job.spec.training.epochs;
  const totalShards = Math.max(job.totalShards, 0);
  const shardsDone = Math.min(job.shardsDone, totalShards);
  return {
    fraction: totalShards === 0 ? 0 : shardsDone / totalShards,
    epochsDone: job.shardCount === 0 ? 0 : Math.min(epochs, shardsDone / job.shardCount),
    epochs,
    shardsDone,
    totalShards,
  };
}

/** Whether the coordinator would take this action for a job in this status. */
export function actionAllowed(status: JobStatus, action: JobAction): boolean {
  switch (action) {
    case 'pause':
      return status === 'running' || status === 'queued';
    case 'resume':
      return status === 'paused';
    case 'cancel':
      return !TERMINAL_STATUSES.has(status);
  }
}

/** Newest first. */
export function sortJobs(jobs: Iterable<JobInfo>): JobInfo[] {
  return [...jobs].sort((a, b) => b.createdAt - a.createdAt || a.id.localeCompare(b.id));
}
