/**
 * Checks for what the coordinator sends this trainer (lease grants, cancellations, checkpoint
 * requests, job documents). Types do not validate: every payload is checked before it is used.
 */
import {
  jobSpecSchema,
  leaseIdSchema,
  JOB_STATUSES,
  type CheckpointRequest,
  type JobInfo,
  type LeaseGrantInfo,
} from '@tabswarm/protocol';
import type { DatasetShape } from './types.ts';

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;
const ID = /^[A-Za-z0-9_-]{1,64}$/;
const isId = (v: unknown): v is string => typeof v === 'string' && ID.test(v);

export function parseLeaseGrant(value: unknown): LeaseGrantInfo | null {
  if (!isObject(value)) return null;
  const v = value;
  if (!leaseIdSchema.safeParse(v.leaseId).success) return null;
  if (!isId(v.jobId) || !isId(v.datasetId)) return null;
  if (!isCount(v.epoch) || !isCount(v.shard) || !isCount(v.start) || !isCount(v.end) || v.end <= v.start)
    return null;
  if (!isTime(v.deadline) || typeof v.speculative !== 'boolean') return null;
  if (typeof v.samplesUrl !== 'string' || !v.samplesUrl.startsWith('/') || v.samplesUrl.length > 1024)
    return null;
  return {
    leaseId: v.leaseId as string,
    jobId: v.jobId,
    datasetId: v.datasetId,
    epoch: v.epoch,
    shard: v.shard,
    start: v.start,
    end: v.end,
    deadline: v.deadline,
    speculative: v.speculative,
    samplesUrl: v.samplesUrl,
  };
}

export function parseLeaseCancelled(value: unknown): { leaseId: string; reason: string } | null {
  if (!isObject(value) || !leaseIdSchema.safeParse(value.leaseId).success) return null;
  return {
    leaseId: value.leaseId as string,
    reason: typeof value.reason === 'string' ? value.reason.slice(0, 512) : 'cancelled',
  };
}

const REQUEST_ID = /^[0-9a-f]{16}$/;

/** A checkpoint request; its upload URL must be the coordinator's own upload route for the job. */
export function parseCheckpointRequest(value: unknown): CheckpointRequest | null {
  if (!isObject(value)) return null;
  const v = value;
  if (!isId(v.jobId) || typeof v.requestId !== 'string' || !REQUEST_ID.test(v.requestId)) return null;
  if (typeof v.token !== 'string' || v.token.length < 1 || v.token.length > 256) return null;
  if (!isTime(v.deadline)) return null;
  if (v.uploadUrl !== `/api/jobs/${v.jobId}/checkpoint-uploads/${v.requestId}`) return null;
  return {
    jobId: v.jobId,
    requestId: v.requestId,
    uploadUrl: v.uploadUrl,
    token: v.token,
    deadline: v.deadline,
  };
}

/** A job document from the REST API, with its spec re-validated (defaults filled in). */
export function parseJobInfo(value: unknown): JobInfo | null {
  if (!isObject(value) || !isId(value.id) || typeof value.name !== 'string') return null;
  if (typeof value.status !== 'string' || !(JOB_STATUSES as readonly string[]).includes(value.status))
    return null;
  const spec = jobSpecSchema.safeParse(value.spec);
  if (!spec.success) return null;
  const count = value.parameterCount;
  if (count !== null && !isCount(count)) return null;
  return { ...(value as unknown as JobInfo), spec: spec.data };
}

/** The parts of a dataset manifest a model needs. */
export function parseDatasetShape(value: unknown): (DatasetShape & { name: string }) | null {
  if (!isObject(value)) return null;
  const shape = value.featureShape;
  if (!Array.isArray(shape) || shape.length < 1 || shape.length > 8) return null;
  if (!shape.every((d) => isCount(d) && d > 0)) return null;
  if (!isCount(value.numClasses) || value.numClasses < 2) return null;
  return {
    featureShape: shape as number[],
    numClasses: value.numClasses,
    name: typeof value.name === 'string' ? value.name.slice(0, 200) : '',
  };
}
