/**
 * Gossip averaging on the wire: the control messages peers exchange beside parameter frames, the
 * link and exchange reports volunteers send the coordinator, the socket.io relay, FedAvg uploads,
 * and what dashboards receive. Every payload has a schema; peers and the coordinator parse with it.
 */
import { z } from 'zod';
import { CODECS } from './job-spec.ts';
import { nodeIdSchema } from './schemas.ts';

export type GossipCodecName = (typeof CODECS)[number];

/** How a link to a peer carries frames: WebRTC, the coordinator's socket.io relay, or neither. */
export const LINK_KINDS = ['direct', 'relay', 'failed'] as const;
export type LinkKind = (typeof LINK_KINDS)[number];

export const EXCHANGE_ROLES = ['initiator', 'responder'] as const;
export type ExchangeRole = (typeof EXCHANGE_ROLES)[number];

/**
 * What became of one exchange attempt. `ok`: both sides averaged. `busy`: the partner was in
 * another exchange. `refused`: it would not exchange with us (other job, quarantine, shape).
 * `timeout`: no answer in time. `rejected`: a frame failed the checks on receipt (either side).
 * `unreachable`: no link could be made. `failed`: anything else (a link broke mid-way).
 */
export const EXCHANGE_OUTCOMES = [
  'ok',
  'busy',
  'refused',
  'timeout',
  'rejected',
  'unreachable',
  'failed',
] as const;
export type ExchangeOutcome = (typeof EXCHANGE_OUTCOMES)[number];

/** Why a received frame was dropped by the averaging checks (transport rejections use their own codes). */
export const FRAME_REJECTIONS = [
  'LENGTH',
  'NON_FINITE',
  'NORM',
  'WRONG_JOB',
  'WRONG_SENDER',
  'WRONG_ROUND',
  'WRONG_CODEC',
  'BAD_PAYLOAD',
] as const;
export type FrameRejection = (typeof FRAME_REJECTIONS)[number];

const u32 = z.number().int().min(0).max(0xffffffff);
const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const shortText = (max = 256) => z.string().max(max);
/** Job ids as frames carry them. */
export const gossipJobIdSchema = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, { error: 'job id is not an id' });
const codecSchema = z.enum(CODECS, { error: `codec must be one of ${CODECS.join(', ')}` });
/** Reason codes are UPPER_SNAKE: frame rejections above and the transport's receive errors. */
const reasonCode = z.string().regex(/^[A-Z0-9_]{1,40}$/);
const reasonCounts = z
  .record(reasonCode, count)
  .refine((r) => Object.keys(r).length <= 32, { error: 'at most 32 rejection reasons' });

// ---------------------------------------------------------------------------------------------
// Peer to peer: control messages, carried beside frames on the same link (JSON, a few hundred bytes).

export const GOSSIP_CONTROL_MAX_BYTES = 4096;

/** A clipping radius: a distance between parameter vectors, finite and positive. */
const clipRadius = z.number().finite().positive();

export const gossipControlSchema = z.discriminatedUnion('t', [
  /** Link heartbeat; the answer echoes `seq` and `at` so the sender measures the round trip. */
  z.strictObject({ t: z.literal('ping'), seq: u32, at: z.number().finite() }),
  z.strictObject({ t: z.literal('pong'), seq: u32, at: z.number().finite() }),
  /** Asks for exchange `x`; the frames of the exchange carry `x` as their round. */
  z.strictObject({
    t: z.literal('xreq'),
    x: u32,
    job: gossipJobIdSchema,
    /** The initiator's gossip round: the responder may be waiting for exactly this one. */
    round: u32,
    codec: codecSchema,
    n: u32,
    /** Codec parameters both sides must share (int8 block size, top-k count). */
    param: u32,
    /** Id of the last exchange both committed with this codec (pair state), or null for none. */
    epoch: u32.nullable(),
    /** The initiator's clipping radius τ (clipped gossip); absent: it clips nothing yet. */
    clip: clipRadius.optional(),
  }),
  z.strictObject({
    t: z.literal('xrep'),
    x: u32,
    verdict: z.enum(['accept', 'busy', 'refuse']),
    reason: shortText().nullable(),
    /** True when the pair state does not match: both sides start this exchange from zero. */
    reset: z.boolean(),
    /** The responder's clipping radius τ (clipped gossip); absent: it clips nothing yet. */
    clip: clipRadius.optional(),
  }),
  /** The partner's frame passed every check; the sender averages once it has both verdicts. */
  z.strictObject({ t: z.literal('xok'), x: u32 }),
  z.strictObject({ t: z.literal('xabort'), x: u32, reason: shortText() }),
  /** The sender is closing this link on purpose (pool eviction, shutdown). */
  z.strictObject({ t: z.literal('bye') }),
]);
export type GossipControl = z.infer<typeof gossipControlSchema>;

// ---------------------------------------------------------------------------------------------
// Volunteer → coordinator: link state and exchange reports.

export const linkInfoSchema = z.strictObject({
  peer: nodeIdSchema,
  kind: z.enum(LINK_KINDS),
  open: z.boolean(),
  /** Last heartbeat round trip; null before the first answer. */
  rttMs: z.number().finite().nonnegative().max(3_600_000).nullable(),
  bytesIn: count,
  bytesOut: count,
  framesIn: count,
  framesOut: count,
  /** Frames from this peer dropped on receipt, by reason. */
  rejected: reasonCounts,
  lastError: shortText().nullable(),
});
export type LinkInfo = z.infer<typeof linkInfoSchema>;

export const MAX_REPORTED_LINKS = 64;

export const linkReportSchema = z.strictObject({
  links: z.array(linkInfoSchema).max(MAX_REPORTED_LINKS),
  /** Peers this node currently skips because they sent bad frames. */
  quarantined: z.array(nodeIdSchema).max(MAX_REPORTED_LINKS),
});
export type LinkReport = z.infer<typeof linkReportSchema>;

export const exchangeReportSchema = z.strictObject({
  jobId: gossipJobIdSchema,
  partner: nodeIdSchema,
  exchangeId: u32,
  role: z.enum(EXCHANGE_ROLES),
  round: u32,
  codec: codecSchema,
  outcome: z.enum(EXCHANGE_OUTCOMES),
  reason: shortText().nullable(),
  /** ‖mine − theirs‖ / ‖mine‖ before averaging (the consensus metric); null when no frame arrived. */
  distance: z.number().finite().nonnegative().max(1e9).nullable(),
  /** Bytes this side put on the wire for the exchange and received (frames, chunk headers, control). */
  bytesOut: count,
  bytesIn: count,
  durationMs: z.number().finite().nonnegative().max(3_600_000),
  link: z.enum(['direct', 'relay']).nullable(),
});
export type ExchangeReport = z.infer<typeof exchangeReportSchema>;

// ---------------------------------------------------------------------------------------------
// The relay: chunk messages through the coordinator when no direct link can be made.

/** A relayed message is one chunk-wire message: a 64 KiB chunk and its header, with room to spare. */
export const RELAY_MAX_MESSAGE_BYTES = 64 * 1024 + 64;

const binarySchema = z
  .custom<Uint8Array | ArrayBuffer>((v) => v instanceof Uint8Array || v instanceof ArrayBuffer, {
    error: 'data must be binary',
  })
  .transform((v) => (v instanceof Uint8Array ? v : new Uint8Array(v)))
  .refine((v) => v.byteLength > 0 && v.byteLength <= RELAY_MAX_MESSAGE_BYTES, {
    error: `data must be 1 to ${RELAY_MAX_MESSAGE_BYTES} bytes`,
  });

export const relayMessageSchema = z.strictObject({ to: nodeIdSchema, data: binarySchema });
export type RelayMessage = z.output<typeof relayMessageSchema>;

/** What the coordinator forwards: socket.io delivers `data` as a Buffer in Node, an ArrayBuffer in browsers. */
export const relayedMessageSchema = z.object({ from: nodeIdSchema, data: binarySchema });
export type RelayedMessage = z.output<typeof relayedMessageSchema>;

// ---------------------------------------------------------------------------------------------
// FedAvg: parameter frames uploaded over HTTP, averaged by samples on the coordinator.

/** POST a fp32 parameter frame here; the response is the round's average (a frame) once it closes. */
export const fedAvgUploadPath = (jobId: string): string => `/api/jobs/${jobId}/fedavg/uploads`;
/**
 * Samples trained since the volunteer's previous upload, as it declares them: checked for form
 * only. The coordinator weights an upload by the samples it counted itself (server/src/gossip/fedavg.ts).
 */
export const FEDAVG_SAMPLES_HEADER = 'x-tabswarm-samples';
export const FEDAVG_ROUND_HEADER = 'x-tabswarm-fedavg-round';
export const FEDAVG_PARTICIPANTS_HEADER = 'x-tabswarm-fedavg-participants';
/** Uploads authenticate as the node: `Authorization: Bearer <nodeId>.<session token (JoinAccepted.peerjs.token)>`. */
export const fedAvgCredential = (nodeId: string, sessionToken: string): string =>
  `Bearer ${nodeId}.${sessionToken}`;

// ---------------------------------------------------------------------------------------------
// Coordinator → dashboards.

const epochMs = z.number().finite().nonnegative().max(1e15);
const distance = z.number().finite().nonnegative().max(1e9).nullable();

/** The latest link report of one volunteer. */
export const nodeLinksSchema = z.object({
  nodeId: nodeIdSchema,
  reportedAt: epochMs,
  links: z.array(linkInfoSchema).max(MAX_REPORTED_LINKS),
  quarantined: z.array(nodeIdSchema).max(MAX_REPORTED_LINKS),
  /**
   * Bytes its averaging sent and received since it joined: its gossip exchanges as it reported
   * them, and its FedAvg uploads and the averages it got back. Absent before the first.
   */
  averaging: z.strictObject({ bytesOut: count, bytesIn: count }).optional(),
});
export type NodeLinks = z.infer<typeof nodeLinksSchema>;

/** One side's report of one exchange, as kept per job for the consensus curve. */
export const consensusPointSchema = z.object({
  jobId: gossipJobIdSchema,
  at: epochMs,
  nodeId: nodeIdSchema,
  partner: nodeIdSchema,
  role: z.enum(EXCHANGE_ROLES),
  outcome: z.enum(EXCHANGE_OUTCOMES),
  codec: codecSchema,
  distance,
  bytes: count,
  durationMs: z.number().finite().nonnegative().max(3_600_000),
  link: z.enum(['direct', 'relay']).nullable(),
});
export type ConsensusPoint = z.infer<typeof consensusPointSchema>;

/** Exchanges of one job bucketed in time: the dashboard's consensus series. */
export const consensusBucketSchema = z.object({
  at: epochMs,
  exchanges: count,
  ok: count,
  meanDistance: distance,
  maxDistance: distance,
  bytes: count,
});
export type ConsensusBucket = z.infer<typeof consensusBucketSchema>;

/** GET /api/jobs/:jobId/consensus */
export const consensusSeriesSchema = z.object({
  jobId: gossipJobIdSchema,
  bucketMs: z.number().int().positive().max(86_400_000),
  buckets: z.array(consensusBucketSchema).max(100_000),
  /** The newest points, oldest first. */
  points: z.array(consensusPointSchema).max(100_000),
  totals: z.object({
    exchanges: count,
    byOutcome: z.partialRecord(z.enum(EXCHANGE_OUTCOMES), count),
    bytesByCodec: z.partialRecord(codecSchema, count),
  }),
});
export type ConsensusSeries = z.infer<typeof consensusSeriesSchema>;

/** GET /api/jobs/:jobId/fedavg: the coordinator's FedAvg rounds of one job. */
export const fedAvgStateSchema = z.object({
  round: count,
  open: z.object({ uploads: count, expected: count, openedAt: epochMs }).nullable(),
  lastParticipants: count.nullable(),
});
export type FedAvgState = z.infer<typeof fedAvgStateSchema>;
