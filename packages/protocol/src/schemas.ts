/**
 * zod schemas for every socket.io payload. Types say what a well-behaved peer sends; these
 * schemas are what the receiving side actually checks, so every boundary calls `parsePayload`.
 */
import { z } from 'zod';
import { errorReply, type ErrorReply } from './errors.ts';
import { leaseIdSchema } from './jobs.ts';
import { volunteerTrustSchema } from './validation-spec.ts';

const shortText = (what: string, max = 256) =>
  z
    .string({ error: `${what} must be a string` })
    .max(max, { error: `${what} is longer than ${max} characters` });

export const BACKENDS = ['webgpu', 'webgl', 'wasm', 'cpu'] as const;
export const backendSchema = z.enum(BACKENDS, { error: `backend must be one of ${BACKENDS.join(', ')}` });
export type Backend = z.infer<typeof backendSchema>;

/** Node ids double as PeerJS ids, so they use PeerJS's id alphabet. */
export const nodeIdSchema = z
  .string({ error: 'node id must be a string' })
  .regex(/^[A-Za-z0-9]{4,64}$/, { error: 'node id must be 4–64 letters or digits' });

const limitValue = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

export const adapterInfoSchema = z.strictObject({
  vendor: shortText('adapter vendor'),
  architecture: shortText('adapter architecture'),
  device: shortText('adapter device'),
  description: shortText('adapter description'),
  isFallbackAdapter: z.boolean({ error: 'isFallbackAdapter must be a boolean' }),
  limits: z.record(z.string().max(64), limitValue).refine((r) => Object.keys(r).length <= 64, {
    error: 'at most 64 adapter limits',
  }),
});
export type AdapterInfo = z.infer<typeof adapterInfoSchema>;

export const capabilitiesSchema = z.strictObject({
  backend: backendSchema,
  /** null when the browser has no WebGPU adapter. */
  adapter: adapterInfoSchema.nullable(),
  /** Why the preferred backend was not used, when it was not. */
  fallbackReason: shortText('fallbackReason', 512).nullable(),
  userAgent: shortText('userAgent', 512),
});
export type Capabilities = z.infer<typeof capabilitiesSchema>;

export const joinRequestSchema = z.strictObject({
  protocolVersion: z.number({ error: 'protocolVersion must be a number' }).int(),
  capabilities: capabilitiesSchema,
  /** Present when a tab reconnects: it resumes its identity if the secret matches. */
  resume: z
    .strictObject({
      nodeId: nodeIdSchema,
      secret: z.string().regex(/^[a-f0-9]{32}$/, { error: 'resume secret must be 32 hex digits' }),
    })
    .optional(),
});
export type JoinRequest = z.infer<typeof joinRequestSchema>;

export const iceServerSchema = z.strictObject({
  urls: z.union([z.string().max(512), z.array(z.string().max(512)).max(8)]),
  username: z.string().max(256).optional(),
  credential: z.string().max(256).optional(),
});
export type IceServer = z.infer<typeof iceServerSchema>;

/** What the coordinator answers an accepted join with. */
export const joinAcceptedSchema = z.object({
  nodeId: nodeIdSchema,
  secret: z.string().regex(/^[a-f0-9]{32}$/, { error: 'secret must be 32 hex digits' }),
  resumed: z.boolean(),
  heartbeatIntervalMs: z.number().finite().positive().max(3_600_000),
  heartbeatTimeoutMs: z.number().finite().positive().max(3_600_000),
  /**
   * PeerJS signalling. The token is the volunteer's session token: signed by the coordinator,
   * bound to this node id and session, with an expiry; its PeerJS registration and HTTP uploads
   * carry it, and heartbeat answers renew it (HeartbeatAck.sessionToken).
   */
  peerjs: z.object({
    path: shortText('peerjs path'),
    key: shortText('peerjs key'),
    token: shortText('session token'),
  }),
  iceServers: z.array(iceServerSchema).max(16),
});
export type JoinAccepted = z.infer<typeof joinAcceptedSchema>;

/** A heartbeat's answer; a renewed session token when the current one is past half its life. */
export const heartbeatAckSchema = z.object({
  serverTime: z.number().finite(),
  sessionToken: shortText('session token').optional(),
});
export type HeartbeatAck = z.infer<typeof heartbeatAckSchema>;

export const VOLUNTEER_STATES = ['idle', 'working', 'paused'] as const;

const metric = (max = 1e12) => z.number().finite().nonnegative().max(max);

/** What a training volunteer reports about itself in every heartbeat. */
export const healthSchema = z.strictObject({
  backend: backendSchema,
  /** Training throughput, measured (calibration at join, then a moving average). */
  samplesPerSec: metric(1e9),
  stepTimeMs: metric(1e9),
  /** tf.memory() of the worker. */
  tensors: z.number().int().nonnegative().max(1e9),
  gpuBytes: metric(),
  lastLoss: z.number().finite().nonnegative().max(1e9).nullable(),
  shardsDone: z.number().int().nonnegative().max(1e9),
  lease: z
    .strictObject({
      leaseId: z.string().max(64),
      jobId: z.string().max(64),
      issuedAt: metric(1e15),
      deadline: metric(1e15),
      stepsDone: z.number().int().nonnegative().max(1e9),
      steps: z.number().int().nonnegative().max(1e9),
    })
    .nullable(),
  /** GPU duty-cycle limit the volunteer chose, 0–1. */
  dutyCycle: z.number().finite().min(0).max(1),
});
export type Health = z.infer<typeof healthSchema>;

/** How long a volunteer waits for the answer to a request (a lease, a join) before giving up on it. */
export const VOLUNTEER_REQUEST_TIMEOUT_MS = 10_000;

/** The most lease ids one heartbeat may name (a volunteer holds one lease at a time today). */
export const MAX_HEARTBEAT_LEASES = 16;

/**
 * How long after its grant a lease may go unnamed by its volunteer's heartbeats before the
 * coordinator takes it back. The grant's answer can reach the volunteer up to its request timeout
 * later (after that the volunteer has given up on it), and the next heartbeat that names it leaves
 * within one interval and may wait about another in the queues; a heartbeat that still omits the
 * lease after all that comes from a volunteer that does not hold it.
 */
export function unnamedLeaseGraceMs(heartbeatIntervalMs: number): number {
  return VOLUNTEER_REQUEST_TIMEOUT_MS + 2 * heartbeatIntervalMs;
}

export const heartbeatSchema = z.strictObject({
  state: z.enum(VOLUNTEER_STATES, { error: `state must be one of ${VOLUNTEER_STATES.join(', ')}` }),
  /** Seconds the volunteer has contributed in this session. */
  uptimeS: z.number().finite().nonnegative().max(1e9),
  health: healthSchema.optional(),
  /**
   * Every lease the volunteer holds (granted and not yet completed or given back). The coordinator
   * extends only these and takes back the volunteer's other leases once they are older than
   * unnamedLeaseGraceMs. Left out (older clients): every lease of the volunteer is extended.
   */
  leases: z
    .array(leaseIdSchema, { error: 'leases must be an array of lease ids' })
    .max(MAX_HEARTBEAT_LEASES, { error: `leases names more than ${MAX_HEARTBEAT_LEASES} lease ids` })
    .optional(),
});
export type Heartbeat = z.infer<typeof heartbeatSchema>;

export const selfTestReportSchema = z.strictObject({
  kernel: z.literal('mix', { error: 'kernel must be "mix"' }),
  passed: z.boolean({ error: 'passed must be a boolean' }),
  /** 'webgpu' when the WGSL kernel ran, 'reference' when only the TypeScript reference could. */
  path: z.enum(['webgpu', 'reference']),
  elements: z.number().int().positive().max(1e9),
  maxAbsError: z.number().nonnegative().nullable(),
  durationMs: z.number().finite().nonnegative().max(1e7),
  error: shortText('error', 1024).nullable(),
});
export type SelfTestReport = z.infer<typeof selfTestReportSchema>;

export const dashboardSubscribeSchema = z.strictObject({
  protocolVersion: z.number({ error: 'protocolVersion must be a number' }).int(),
});
export type DashboardSubscribe = z.infer<typeof dashboardSubscribeSchema>;

export const NODE_STATUSES = ['active', 'gone'] as const;
export type NodeStatus = (typeof NODE_STATUSES)[number];

/** Times in NodeInfo and elsewhere: epoch milliseconds. */
const epochMs = z.number().finite().nonnegative().max(1e15);

/** What dashboards see of a volunteer. Times are epoch milliseconds from the coordinator's clock. */
export const nodeInfoSchema = z.object({
  id: nodeIdSchema,
  status: z.enum(NODE_STATUSES),
  state: heartbeatSchema.shape.state,
  capabilities: capabilitiesSchema,
  selfTest: selfTestReportSchema.nullable(),
  /** From the latest heartbeat that carried it. */
  health: healthSchema.nullable(),
  joinedAt: epochMs,
  lastSeenAt: epochMs,
  connected: z.boolean(),
  /** Its standing from validated work; absent while none of its work was checked. */
  trust: volunteerTrustSchema.optional(),
});
export type NodeInfo = z.infer<typeof nodeInfoSchema>;

export const MAX_PEERS = 10_000;
export const peerInfoSchema = z.object({ nodeId: nodeIdSchema, backend: backendSchema });
export type PeerInfo = z.infer<typeof peerInfoSchema>;
/**
 * The membership a volunteer sees, as the `peers` event carries it once after each join: the whole
 * swarm while it has at most PEER_SAMPLE_SIZE other members, else the volunteer itself and a
 * sample of PEER_SAMPLE_SIZE others that the coordinator picks and refreshes (`peersDelta`).
 */
export const peerListSchema = z.array(peerInfoSchema).max(MAX_PEERS);
export type PeerList = z.infer<typeof peerListSchema>;

/** How many other members a volunteer's view holds at most once the swarm outgrows it. */
export const PEER_SAMPLE_SIZE = 32;
/** The most entries one `peersDelta` carries each way (a refresh or a leave is a few). */
export const MAX_PEERS_DELTA = 2 * PEER_SAMPLE_SIZE;

/** A change to a volunteer's view: members added to it and node ids removed from it. */
export const peersDeltaSchema = z.object({
  added: z.array(peerInfoSchema).max(MAX_PEERS_DELTA),
  removed: z.array(nodeIdSchema).max(MAX_PEERS_DELTA),
});
export type PeersDelta = z.infer<typeof peersDeltaSchema>;

/**
 * Whether a view of `size` entries (the volunteer included) is certainly the whole swarm: the
 * coordinator keeps a sampled view at exactly PEER_SAMPLE_SIZE others, so a smaller one is all
 * there is. (A view of exactly that many may be either; it counts as a sample.)
 */
export const peerViewIsComplete = (size: number): boolean => size - 1 < PEER_SAMPLE_SIZE;

export type ParseResult<T> = { readonly ok: true; readonly value: T } | ErrorReply;

/** The first problem zod found, as a readable message with its path. */
export function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  const where = issue && issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
  return `${where}${issue?.message ?? 'invalid payload'}`;
}

/**
 * Validates an untrusted payload. `code` says whose fault it is: BAD_REQUEST when the coordinator
 * refuses a client's request, BAD_PAYLOAD when a client refuses what the coordinator sent.
 */
export function parsePayload<T>(
  schema: z.ZodType<T>,
  data: unknown,
  code: 'BAD_REQUEST' | 'BAD_PAYLOAD' = 'BAD_REQUEST',
): ParseResult<T> {
  const result = schema.safeParse(data);
  if (result.success) return { ok: true, value: result.data };
  return errorReply(code, firstIssue(result.error));
}
