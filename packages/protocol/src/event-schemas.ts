/**
 * Each socket.io event paired with its schema, once: what the server sends (events), and for each
 * client request what it sends and what the server acknowledges. `satisfies` makes a missing,
 * extra or mismatched schema a compile error; event-schemas.test-d.ts checks exact equality.
 */
import { z } from 'zod';
import { errorReplySchema } from './errors.ts';
import type { Reply } from './errors.ts';
import type {
  Ack,
  DashboardClientToServer,
  DashboardServerToClient,
  VolunteerClientToServer,
  VolunteerServerToClient,
} from './events.ts';
import {
  consensusPointSchema,
  exchangeReportSchema,
  linkReportSchema,
  nodeLinksSchema,
  relayedMessageSchema,
  relayMessageSchema,
} from './gossip.ts';
import {
  checkpointRequestSchema,
  jobInfoSchema,
  leaseCancelledSchema,
  leaseCompletionSchema,
  leaseGrantSchema,
  leaseReleaseSchema,
  leaseRequestSchema,
  logEventSchema,
} from './jobs.ts';
import {
  dashboardSubscribeSchema,
  heartbeatAckSchema,
  heartbeatSchema,
  joinAcceptedSchema,
  joinRequestSchema,
  nodeInfoSchema,
  peerListSchema,
  peersDeltaSchema,
  selfTestReportSchema,
} from './schemas.ts';

/** The payload (first argument) of event `E` in event map `M`. */
export type EventPayload<M, E extends keyof M> = M[E] extends (payload: infer P, ...rest: never[]) => unknown
  ? P
  : never;

/** What the ack of request `E` in client→server map `M` carries besides `ok: true`. */
export type AckBody<M, E extends keyof M> = M[E] extends (payload: never, ack: Ack<infer T>) => unknown
  ? T
  : never;

/** One schema per event of `M`, whose output is the event's payload. */
export type PayloadSchemas<M> = { readonly [E in keyof M]-?: z.ZodType<EventPayload<M, E>> };
/** Per request of `M`: the schema of its payload and the schema of its successful ack's body. */
export type RequestSchemas<M> = {
  readonly [E in keyof M]-?: {
    readonly payload: z.ZodType<EventPayload<M, E>>;
    readonly ack: z.ZodType<AckBody<M, E>>;
  };
};

/** A map from event names to schemas, as the listening helpers take it. */
export type SchemaMap = Readonly<Record<string, z.ZodType>>;
/** A map from request names to their payload and ack schemas, as the request helpers take it. */
export type RequestSchemaMap = Readonly<
  Record<string, { readonly payload: z.ZodType; readonly ack: z.ZodType }>
>;

/** Acks that carry nothing but `ok: true` (the maps declare them as `Ack`, i.e. `object`). */
const empty: z.ZodType<object> = z.object({});

// ---------------------------------------------------------------------------------------------
// /volunteer

export const VOLUNTEER_SERVER_EVENTS = {
  peers: peerListSchema,
  peersDelta: peersDeltaSchema,
  fatal: errorReplySchema,
  leaseCancelled: leaseCancelledSchema,
  checkpointRequest: checkpointRequestSchema,
  relayed: relayedMessageSchema,
} as const satisfies PayloadSchemas<VolunteerServerToClient>;

export const VOLUNTEER_REQUESTS = {
  join: { payload: joinRequestSchema, ack: joinAcceptedSchema },
  heartbeat: { payload: heartbeatSchema, ack: heartbeatAckSchema },
  selfTest: { payload: selfTestReportSchema, ack: empty },
  requestLease: {
    payload: leaseRequestSchema,
    ack: z.object({
      lease: leaseGrantSchema.nullable(),
      retryAfterMs: z.number().finite().nonnegative().max(86_400_000),
    }),
  },
  completeLease: {
    payload: leaseCompletionSchema,
    ack: z.object({ counted: z.boolean(), duplicate: z.boolean() }),
  },
  releaseLease: { payload: leaseReleaseSchema, ack: empty },
  linkReport: { payload: linkReportSchema, ack: empty },
  exchangeReport: { payload: exchangeReportSchema, ack: empty },
  relay: { payload: relayMessageSchema, ack: z.object({ queuedMs: z.number().finite().nonnegative() }) },
} as const satisfies RequestSchemas<VolunteerClientToServer>;

type VolunteerRequests = typeof VOLUNTEER_REQUESTS;
/** What volunteer request `E` sends. */
export type VolunteerRequest<E extends keyof VolunteerRequests> = z.input<VolunteerRequests[E]['payload']>;
/** The parsed ack of volunteer request `E`, as `request` resolves it. */
export type VolunteerReply<E extends keyof VolunteerRequests> = Reply<z.output<VolunteerRequests[E]['ack']>>;

// ---------------------------------------------------------------------------------------------
// /dashboard

export const DASHBOARD_SERVER_EVENTS = {
  nodeUpdate: nodeInfoSchema,
  jobUpdate: jobInfoSchema,
  logEvent: logEventSchema,
  linkUpdate: nodeLinksSchema,
  consensus: consensusPointSchema,
} as const satisfies PayloadSchemas<DashboardServerToClient>;

export const DASHBOARD_REQUESTS = {
  subscribe: {
    payload: dashboardSubscribeSchema,
    ack: z.object({
      nodes: z.array(nodeInfoSchema),
      jobs: z.array(jobInfoSchema),
      serverTime: z.number().finite(),
    }),
  },
} as const satisfies RequestSchemas<DashboardClientToServer>;
