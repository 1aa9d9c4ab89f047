/**
 * Each socket.io event paired with its schema, once: what the server sends (payloads), what
 * clients send (requests) and what the server acknowledges (acks). `satisfies` makes a missing,
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
  heartbeatSchema,
  joinAcceptedSchema,
  joinRequestSchema,
  nodeInfoSchema,
  peerListSchema,
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
/** One schema per request of `M`, whose output is the body of its successful ack. */
export type AckSchemas<M> = { readonly [E in keyof M]-?: z.ZodType<AckBody<M, E>> };

/** A map from event names to schemas, as the registration helpers take it. */
export type SchemaMap = Readonly<Record<string, z.ZodType>>;

/** A namespace's requests: each client→server event's payload schema and its ack's schema. */
export interface RequestSchemas<Q extends SchemaMap, A extends { readonly [E in keyof Q]: z.ZodType }> {
  readonly payloads: Q;
  readonly acks: A;
}

/** Acks that carry nothing but `ok: true` (the maps declare them as `Ack`, i.e. `object`). */
const empty: z.ZodType<object> = z.object({});

// ---------------------------------------------------------------------------------------------
// /volunteer

export const VOLUNTEER_SERVER_EVENTS = {
  peers: peerListSchema,
  fatal: errorReplySchema,
  leaseCancelled: leaseCancelledSchema,
  checkpointRequest: checkpointRequestSchema,
  relayed: relayedMessageSchema,
} as const satisfies PayloadSchemas<VolunteerServerToClient>;

export const VOLUNTEER_CLIENT_EVENTS = {
  join: joinRequestSchema,
  heartbeat: heartbeatSchema,
  selfTest: selfTestReportSchema,
  requestLease: leaseRequestSchema,
  completeLease: leaseCompletionSchema,
  releaseLease: leaseReleaseSchema,
  linkReport: linkReportSchema,
  exchangeReport: exchangeReportSchema,
  relay: relayMessageSchema,
} as const satisfies PayloadSchemas<VolunteerClientToServer>;

export const VOLUNTEER_ACKS = {
  join: joinAcceptedSchema,
  heartbeat: z.object({ serverTime: z.number().finite() }),
  selfTest: empty,
  requestLease: z.object({
    lease: leaseGrantSchema.nullable(),
    retryAfterMs: z.number().finite().nonnegative().max(86_400_000),
  }),
  completeLease: z.object({ counted: z.boolean(), duplicate: z.boolean() }),
  releaseLease: empty,
  linkReport: empty,
  exchangeReport: empty,
  relay: z.object({ queuedMs: z.number().finite().nonnegative() }),
} as const satisfies AckSchemas<VolunteerClientToServer>;

/** What volunteer request `E` sends. */
export type VolunteerRequest<E extends keyof typeof VOLUNTEER_CLIENT_EVENTS> = z.input<
  (typeof VOLUNTEER_CLIENT_EVENTS)[E]
>;
/** The parsed ack of volunteer request `E`, as `request` resolves it. */
export type VolunteerReply<E extends keyof typeof VOLUNTEER_ACKS> = Reply<
  z.output<(typeof VOLUNTEER_ACKS)[E]>
>;

export const VOLUNTEER_REQUESTS = {
  payloads: VOLUNTEER_CLIENT_EVENTS,
  acks: VOLUNTEER_ACKS,
} as const satisfies RequestSchemas<typeof VOLUNTEER_CLIENT_EVENTS, typeof VOLUNTEER_ACKS>;

// ---------------------------------------------------------------------------------------------
// /dashboard

export const DASHBOARD_SERVER_EVENTS = {
  nodeUpdate: nodeInfoSchema,
  jobUpdate: jobInfoSchema,
  logEvent: logEventSchema,
  linkUpdate: nodeLinksSchema,
  consensus: consensusPointSchema,
} as const satisfies PayloadSchemas<DashboardServerToClient>;

export const DASHBOARD_CLIENT_EVENTS = {
  subscribe: dashboardSubscribeSchema,
} as const satisfies PayloadSchemas<DashboardClientToServer>;

export const DASHBOARD_ACKS = {
  subscribe: z.object({
    nodes: z.array(nodeInfoSchema),
    jobs: z.array(jobInfoSchema),
    serverTime: z.number().finite(),
  }),
} as const satisfies AckSchemas<DashboardClientToServer>;

export const DASHBOARD_REQUESTS = {
  payloads: DASHBOARD_CLIENT_EVENTS,
  acks: DASHBOARD_ACKS,
} as const satisfies RequestSchemas<typeof DASHBOARD_CLIENT_EVENTS, typeof DASHBOARD_ACKS>;
