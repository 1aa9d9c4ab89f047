/** Wire shapes and schemas for jobs, leases and checkpoints on the control plane. */
import { z } from 'zod';
import { JOB_STATUSES, jobSpecSchema } from './job-spec.ts';
import { privacySpentSchema } from './privacy-spec.ts';
import { trainingAlarmsSchema } from './training-alarms.ts';
import { replicaGrantSchema, updateStatisticsSchema } from './validation-spec.ts';

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
  /** A replicated lease's update statistics (validation-spec.ts); absent on other leases. */
  update: updateStatisticsSchema.optional(),
});
export type LeaseCompletion = z.infer<typeof leaseCompletionSchema>;

export const leaseReleaseSchema = z.strictObject({
  leaseId: leaseIdSchema,
  reason: z.string().max(512).optional(),
  /**
   * The volunteer cannot run this lease's job at all (its model does not build or train on the
   * volunteer's backend, e.g. a kernel TensorFlow.js lacks there): it gets no more of the job's
   * leases until it leaves, instead of taking and giving back the same job for good.
   */
  cannotRun: z.boolean().optional(),
});
export type LeaseRelease = z.infer<typeof leaseReleaseSchema>;

/** Job and dataset ids: what the coordinator puts in URLs and frames. */
export const resourceIdSchema = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, { error: 'not an id' });
const count = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const epochMs = z.number().finite().nonnegative().max(1e15);
/** A path on the coordinator itself: `/…` but never `//host/…`, which would leave its origin. */
const coordinatorPath = z
  .string()
  .max(1024)
  .regex(/^\/(?!\/)/, { error: 'must be a path on the coordinator' });

/** A shard of work: train on samples [start, end) of the dataset's training split, then report. */
export const leaseGrantSchema = z
  .object({
    leaseId: leaseIdSchema,
    jobId: resourceIdSchema,
    datasetId: resourceIdSchema,
    epoch: count,
    shard: count,
    start: count,
    end: count,
    deadline: epochMs,
    speculative: z.boolean(),
    /** Relative URL of the shard's samples (immutable, cacheable). */
    samplesUrl: coordinatorPath,
    /** Present on a replicated lease: where to start from, and the projections' seed. */
    replica: replicaGrantSchema.optional(),
  })
  .refine((g) => g.end > g.start, { error: 'a lease covers at least one sample', path: ['end'] });
export type LeaseGrantInfo = z.infer<typeof leaseGrantSchema>;

/** Stop working on this lease: another copy finished first, or the job was paused or ended. */
export const leaseCancelledSchema = z.object({
  leaseId: leaseIdSchema,
  reason: z
    .string()
    .optional()
    .transform((r) => (r === undefined ? 'cancelled' : r.slice(0, 512))),
});
export type LeaseCancelled = z.output<typeof leaseCancelledSchema>;

export const checkpointSummarySchema = z.object({
  seq: count,
  createdAt: epochMs,
  shardsDone: count,
  accuracy: z.number().finite().min(0).max(1).nullable(),
  loss: z.number().finite().nullable(),
  /** Text models (per character): e^loss and loss / ln 2 on the held-out windows. */
  perplexity: z.number().finite().nonnegative().optional(),
  bitsPerChar: z.number().finite().nonnegative().optional(),
});
export type CheckpointSummary = z.infer<typeof checkpointSummarySchema>;

export const jobInfoSchema = z.object({
  id: resourceIdSchema,
  name: z.string().max(200),
  /** Re-validated on arrival, defaults filled in. */
  spec: jobSpecSchema,
  status: z.enum(JOB_STATUSES),
  statusReason: z.string().max(1024).nullable(),
  createdAt: epochMs,
  startedAt: epochMs.nullable(),
  finishedAt: epochMs.nullable(),
  trainSize: count,
  shardSize: count,
  shardCount: count,
  totalShards: count,
  epochsOpened: count,
  shardsDone: count,
  samplesDone: count,
  activeLeases: count,
  /** Training samples per second over the last minute. */
  samplesPerSecond: z.number().finite().nonnegative(),
  /** Length of the flat parameter vector; null until the coordinator has built the model. */
  parameterCount: count.nullable(),
  latestCheckpoint: checkpointSummarySchema.nullable(),
  /** Active training-health alarms; absent from coordinators that predate them. */
  alarms: trainingAlarmsSchema.optional(),
  /** The privacy a job with `privacy` has spent; absent without it (and from older coordinators). */
  privacy: privacySpentSchema.optional(),
});
export type JobInfo = z.output<typeof jobInfoSchema>;

/** Checkpoint requests carry a 16-hex-digit id; the upload URL is derived from it and the job. */
export const checkpointRequestSchema = z
  .object({
    jobId: resourceIdSchema,
    requestId: z.string().regex(/^[0-9a-f]{16}$/, { error: 'requestId must be 16 hex digits' }),
    /** Relative URL to POST the parameter frame to, with the token as a bearer credential. */
    uploadUrl: coordinatorPath,
    token: z.string().min(1).max(256),
    deadline: epochMs,
  })
  .refine((r) => r.uploadUrl === checkpointUploadPath(r.jobId, r.requestId), {
    error: "uploadUrl is not the coordinator's upload route for this job",
    path: ['uploadUrl'],
  });
export type CheckpointRequest = z.infer<typeof checkpointRequestSchema>;

/** Where a volunteer uploads the parameters a checkpoint request asked for. */
export const checkpointUploadPath = (jobId: string, requestId: string): string =>
  `/api/jobs/${jobId}/checkpoint-uploads/${requestId}`;

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
  'alarm',
  'error',
  /** A volunteer's replicated work was outvoted and it lost its leases (validated work). */
  'distrusted',
] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

/** One line of the coordinator's event log, as dashboards show it. */
export const logEventSchema = z.object({
  seq: count,
  at: epochMs,
  kind: z.enum(EVENT_KINDS),
  level: z.enum(['info', 'warn', 'error']),
  // Loose on purpose: a log line names what it is about, even a malformed id a client sent.
  jobId: z.string().max(256).nullable(),
  nodeId: z.string().max(256).nullable(),
  message: z.string().max(65_536),
});
export type LogEvent = z.infer<typeof logEventSchema>;

// Drop-in replacements for the trainer's former hand checks (wire.ts): the value, or null.
const orNull =
  <T>(schema: z.ZodType<T>) =>
  (value: unknown): T | null => {
    const result = schema.safeParse(value);
    return result.success ? result.data : null;
  };
export const parseLeaseGrant = orNull(leaseGrantSchema);
export const parseLeaseCancelled = orNull(leaseCancelledSchema);
export const parseCheckpointRequest = orNull(checkpointRequestSchema);
export const parseJobInfo = orNull(jobInfoSchema);
