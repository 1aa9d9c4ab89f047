/**
 * Type tests (Vitest typecheck): every event of every map has a schema whose output is exactly
 * the payload (or ack body) the map declares, and the registration helpers type their handlers
 * from the same schemas. A map and a schema that disagree fail here, not at run time.
 */
import { describe, expectTypeOf, it } from 'vitest';
import type { z } from 'zod';
import type { DASHBOARD_REQUESTS, VOLUNTEER_REQUESTS } from './event-schemas.ts';
import {
  DASHBOARD_SERVER_EVENTS,
  VOLUNTEER_SERVER_EVENTS,
  type AckBody,
  type EventPayload,
} from './event-schemas.ts';
import type {
  DashboardClientToServer,
  DashboardServerToClient,
  VolunteerClientToServer,
  VolunteerServerToClient,
} from './events.ts';
import { listen, type ListenerSource } from './receive.ts';
import type { REST_REPLIES, RestReply } from './rest.ts';

/** Each event's schema output, keyed like the schema map. */
type Outputs<S> = { -readonly [E in keyof S]: S[E] extends z.ZodType ? z.output<S[E]> : never };
/** Each request's payload schema output and ack schema output. */
type RequestOutputs<R> = {
  -readonly [E in keyof R]: R[E] extends { payload: z.ZodType; ack: z.ZodType }
    ? { payload: z.output<R[E]['payload']>; ack: z.output<R[E]['ack']> }
    : never;
};
/** Each event's declared payload, keyed like the event map. */
type Payloads<M> = { [E in keyof M]: EventPayload<M, E> };
/** Each request's declared payload and ack body, keyed like the event map. */
type Requests<M> = { [E in keyof M]: { payload: EventPayload<M, E>; ack: AckBody<M, E> } };

describe('socket.io event maps and their schemas', () => {
  it('pair every event and request of both namespaces with schemas of exactly its types', () => {
    expectTypeOf<Outputs<typeof VOLUNTEER_SERVER_EVENTS>>().toEqualTypeOf<
      Payloads<VolunteerServerToClient>
    >();
    expectTypeOf<RequestOutputs<typeof VOLUNTEER_REQUESTS>>().toEqualTypeOf<
      Requests<VolunteerClientToServer>
    >();
    expectTypeOf<Outputs<typeof DASHBOARD_SERVER_EVENTS>>().toEqualTypeOf<
      Payloads<DashboardServerToClient>
    >();
    expectTypeOf<RequestOutputs<typeof DASHBOARD_REQUESTS>>().toEqualTypeOf<
      Requests<DashboardClientToServer>
    >();
  });

  it('type handlers from the schema of the same event name', () => {
    const source = {} as ListenerSource;
    listen(
      source,
      DASHBOARD_SERVER_EVENTS,
      {
        jobUpdate: (job) =>
          expectTypeOf(job).toEqualTypeOf<EventPayload<DashboardServerToClient, 'jobUpdate'>>(),
        // @ts-expect-error a handler for an event the map does not have
        jobRemoved: () => undefined,
      },
      () => undefined,
    );
    listen(
      source,
      VOLUNTEER_SERVER_EVENTS,
      {
        // @ts-expect-error a handler that expects another event's payload
        peers: (_notice: EventPayload<VolunteerServerToClient, 'leaseCancelled'>) => undefined,
      },
      () => undefined,
    );
  });

  it('type REST replies by route', () => {
    expectTypeOf<RestReply<'GET /api/jobs'>>().toEqualTypeOf<
      z.output<(typeof REST_REPLIES)['GET /api/jobs']>
    >();
    expectTypeOf<RestReply<'GET /api/jobs/:jobId'>['job']>().toEqualTypeOf<
      EventPayload<DashboardServerToClient, 'jobUpdate'>
    >();
  });
});
