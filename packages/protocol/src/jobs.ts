/** Wire shapes and schemas for jobs, leases and checkpoints on the control plane. */
import { z } from 'zod';
import type { JobSpec, JobStatus } from './job-spec.ts';

export const leaseIdSchema = z.string({ error: 'leaseId must be a string' }).regex(/^lease-[0-9a-f]{16}$/, {
  error: 'leaseId is not a lease id',
});

export const leaseRequestSchema = z.strictObject({
  /** The volunteer's measured training throughput; sets the lease deadline. */
  samplesPerSec: z.number().finite().positive().max(1e9).optional(),
});
export type LeaseRequest = z.infer<typeof leaseRequestSchema>;

export const leaseCompletionSchema = z.strictObject({
  leaseId: leaseIdSchema,
  loss: z.number({ error: 'loss must be a number' }).finite({ error: 'loss must be finite' }).min(0).max(1e9),
  samples: z.number().int().nonnegative().max(1e8),
  durationMs: z.number().finite().nonnegative().max(1e9),
});
export type LeaseCompletion = z.infer<typeof leaseCompletionSchema>;

export const leaseReleaseSchema = z.strictObject({
  leaseId: leaseIdSchema,
  reason: z.string().max(512).optional(),
});
export type LeaseRelease = z.infer<typeof leaseReleaseSchema>;

/** A shard of work: train on samples [start, end) of the dataset's training split, then report. */
export interface LeaseGrantInfo {
  readonly leaseId: string;
  readonly jobId: string;
  readonly datasetId: string;
  readonly epoch: number;
  readonly shard: number;
  readonly start: number;
  readonly end: number;
  readonly deadline: number;
  readonly speculative: boolean;
  /** Relative URL of the shard's samples (immutable, cacheable). */
  readonly samplesUrl: string;
}

export interface CheckpointSummary {
  readonly seq: number;
  readonly createdAt: number;
  readonly shardsDone: number;
  readonly accuracy: number | null;
  readonly loss: number | null;
}

export interface JobInfo {
  readonly id: string;
  readonly name: string;
  readonly spec: JobSpec;
  readonly status: JobStatus;
  readonly statusReason: string | null;
  readonly createdAt: number;
  readonly startedAt: number | null;
  readonly finishedAt: number | null;
  readonly trainSize: number;
  readonly shardSize: number;
  readonly shardCount: number;
  readonly totalShards: number;
  readonly epochsOpened: number;
  readonly shardsDone: number;
  readonly samplesDone: number;
  readonly activeLeases: number;
  /** Training samples per second over the last minute. */
  readonly samplesPerSecond: number;
  /** Length of the flat parameter vector; null until the coordinator has built the model. */
  readonly parameterCount: number | null;
  readonly latestCheckpoint: CheckpointSummary | null;
}

export interface CheckpointRequest {
  readonly jobId: string;
  readonly requestId: string;
  /** Relative URL to POST the parameter frame to, with the token as a bearer credential. */
  readonly uploadUrl: string;
  readonly token: string;
  readonly deadline: number;
}

export const EVENT_KINDS = [
  'join',
  'leave',
  'gone',
  'lease-expired',
  'lease-reissued',
  'lease-speculative',
  'rejected-update',
  'checkpoint',
  'job',
  'error',
] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

/** One line of the coordinator's event log, as dashboards show it. */
export interface LogEvent {
  readonly seq: number;
  readonly at: number;
  readonly kind: EventKind;
  readonly level: 'info' | 'warn' | 'error';
  readonly jobId: string | null;
  readonly nodeId: string | null;
  readonly message: string;
}
