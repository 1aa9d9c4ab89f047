/**
 * The coordinator's REST replies as its clients read them: one schema per JSON route, in one map
 * keyed by route, and `parseReply` that every client calls on a reply body before using it.
 * Binary replies (parameters, checkpoint frames, FedAvg averages) are checked by `decodeFrame`.
 */
import { z } from 'zod';
import { columnSummarySchema } from './dataset-columns.ts';
import { consensusSeriesSchema, fedAvgStateSchema, nodeLinksSchema } from './gossip.ts';
import { checkpointSummarySchema, jobInfoSchema, logEventSchema } from './jobs.ts';
import { parseEvent, type Parsed } from './receive.ts';
import { textInfoSchema } from './text-dataset.ts';
import { nodeInfoSchema } from './schemas.ts';
import { creditReplySchema, nodeCreditReplySchema } from './validation-spec.ts';

const count = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const epochMs = z.number().finite().nonnegative().max(1e15);

/** Every REST error body: the same `{ ok: false, code, message }` shape as socket acks. */
export const restErrorSchema = z.object({
  ok: z.literal(false),
  code: z.string().max(64),
  message: z.string().max(4096),
});
export type RestError = z.infer<typeof restErrorSchema>;

/** The parts of a dataset manifest a model needs: one sample's shape and the class count. */
export const datasetShapeSchema = z.object({
  /** One sample's feature shape, without the batch dimension. */
  featureShape: z.array(z.number().int().positive().max(1e8)).min(1).max(8),
  numClasses: z.number().int().min(2).max(1e6),
  /** Labels per sample beyond one: a text window's [context] (one next token per position). */
  labelShape: z.array(z.number().int().positive().max(65_535)).min(1).max(1).optional(),
  name: z
    .string()
    .optional()
    .transform((n) => (n ?? '').slice(0, 200)),
});
export type NamedDatasetShape = z.output<typeof datasetShapeSchema>;
/** A dataset shape, or null (the trainer's former hand check). */
export function parseDatasetShape(value: unknown): NamedDatasetShape | null {
  const result = datasetShapeSchema.safeParse(value);
  return result.success ? result.data : null;
}

export const DATASET_SOURCES = ['builtin', 'csv', 'binary', 'text'] as const;

/** A dataset as clients list it (the manifest has more; clients ignore the rest). */
export const datasetSummarySchema = z.object({
  id: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, { error: 'not a dataset id' }),
  name: z.string().min(1).max(200),
  source: z.enum(DATASET_SOURCES),
  featureShape: datasetShapeSchema.shape.featureShape,
  numClasses: datasetShapeSchema.shape.numClasses,
  labelShape: datasetShapeSchema.shape.labelShape,
  /** Text datasets: tokenisation, vocabulary, context and the held-out unigram baseline. */
  text: textInfoSchema.optional(),
  trainSize: count,
  testSize: count,
  /** CSV uploads: each column's kind, training-split statistics and preprocessing (older ones: none). */
  columnSummary: z.array(columnSummarySchema).max(1_048_577).optional(),
});
export type DatasetSummary = z.infer<typeof datasetSummarySchema>;

export const UPLOAD_PHASES = ['receiving', 'processing', 'done', 'failed'] as const;
export type UploadPhase = (typeof UPLOAD_PHASES)[number];

/** Progress of one dataset upload, by the id the client picked. */
export const uploadStatusSchema = z.object({
  uploadId: z.string().max(64),
  phase: z.enum(UPLOAD_PHASES),
  receivedBytes: count,
  /** Content-Length when the client sent one. */
  totalBytes: count.nullable(),
  datasetId: z.string().max(64).optional(),
  error: z.object({ code: z.string().max(64), message: z.string().max(4096) }).optional(),
  startedAt: epochMs,
  updatedAt: epochMs,
});
export type UploadStatus = z.infer<typeof uploadStatusSchema>;

/** One lease completion, as `GET /api/jobs/:id/metrics` lists them (SQLite gives `counted` as 0/1). */
export const trainingPointSchema = z.object({
  t: epochMs,
  loss: z.number().finite(),
  samples: count,
  counted: z.union([z.number(), z.boolean()]),
  nodeId: z.string().max(64),
});
export type TrainingPoint = z.infer<typeof trainingPointSchema>;

export const jobMetricsSchema = z.object({
  checkpoints: z.array(checkpointSummarySchema),
  /** The points after `?since=`, oldest first. */
  training: z.array(trainingPointSchema),
  /** How many training points the job has in all. */
  trainingTotal: count,
  /** Counted samples per second over the coordinator's last minute. */
  samplesPerSecond: z.number().finite().nonnegative(),
});
export type JobMetrics = z.infer<typeof jobMetricsSchema>;

const jobReply = z.object({ job: jobInfoSchema });
const datasetReply = z.object({ ok: z.literal(true), dataset: datasetSummarySchema });

/** Every JSON reply a client reads, by route. A route added without a schema here has no parser. */
export const REST_REPLIES = {
  'GET /healthz': z.object({ ok: z.literal(true), volunteersActive: count }),
  'GET /api/nodes': z.object({ nodes: z.array(nodeInfoSchema), serverTime: epochMs }),
  'GET /api/credit': creditReplySchema,
  'GET /api/credit/:nodeId': nodeCreditReplySchema,
  'GET /api/jobs': z.object({ jobs: z.array(jobInfoSchema) }),
  'POST /api/jobs': jobReply,
  'GET /api/jobs/:jobId': jobReply,
  'POST /api/jobs/:jobId/:action': jobReply,
  'GET /api/jobs/:jobId/metrics': jobMetricsSchema,
  'GET /api/jobs/:jobId/checkpoints': z.object({ checkpoints: z.array(checkpointSummarySchema) }),
  'POST /api/jobs/:jobId/checkpoint-uploads/:requestId': z.object({
    ok: z.literal(true),
    accepted: z.literal(true),
  }),
  'GET /api/jobs/:jobId/consensus': consensusSeriesSchema,
  'GET /api/jobs/:jobId/fedavg': fedAvgStateSchema,
  'GET /api/events': z.object({ events: z.array(logEventSchema) }),
  'GET /api/gossip/links': z.object({ nodes: z.array(nodeLinksSchema), serverTime: epochMs }),
  'GET /api/gossip/links/:nodeId': nodeLinksSchema,
  'GET /api/datasets': z.object({ ok: z.literal(true), datasets: z.array(datasetSummarySchema) }),
  'GET /api/datasets/:id': datasetReply,
  'POST /api/datasets': datasetReply.extend({ uploadId: z.string().max(64) }),
  'GET /api/datasets/uploads/:uploadId': z.object({ ok: z.literal(true), upload: uploadStatusSchema }),
} as const satisfies Record<string, z.ZodType>;

export type RestRoute = keyof typeof REST_REPLIES;
export type RestReply<R extends RestRoute> = z.output<(typeof REST_REPLIES)[R]>;

/** Parses a reply body of `route`; a malformed one becomes a BAD_PAYLOAD PayloadError naming the route. */
export function parseReply<R extends RestRoute>(route: R, body: unknown): Parsed<RestReply<R>> {
  return parseEvent(REST_REPLIES, route, body);
}

/** Like `parseReply`, but throws the PayloadError: for clients whose callers already catch. */
export function readReply<R extends RestRoute>(route: R, body: unknown): RestReply<R> {
  const parsed = parseReply(route, body);
  if (!parsed.ok) throw parsed.error;
  return parsed.value;
}
