/**
 * Registers a namespace's request handlers with the boundary rules: each payload is validated with
 * the schema of the same event name (from the protocol's request maps), the ack is optional and
 * guarded, errors become `{ ok: false, code, message }`, and the outcome is counted. A handler
 * never throws past this wrapper.
 */
import type { z } from 'zod';
import {
  addListener,
  errorReply,
  parsePayload,
  ProtocolError,
  type ListenerSource,
  type Reply,
  type RequestSchemas,
  type SchemaMap,
} from '@tabswarm/protocol';
import type { Logger } from './logger.ts';
import type { ServerMetrics } from './metrics.ts';

export interface HandlerContext {
  readonly namespace: string;
  readonly metrics: ServerMetrics;
  readonly log: Logger;
}

type Acks<Q extends SchemaMap> = { readonly [K in keyof Q]: z.ZodType };

/** One handler per request: it gets the parsed payload and returns what its ack schema takes. */
export type RequestHandlers<Q extends SchemaMap, A extends Acks<Q>> = {
  readonly [E in keyof Q & keyof A & string]?: (
    payload: z.output<Q[E]>,
  ) => z.input<A[E]> | Promise<z.input<A[E]>>;
};

/**
 * Registers `handlers` on `socket`, keyed by event name; the schema for each comes from
 * `schemas.payloads` under the same name. Asynchronous handlers are acknowledged when they settle.
 */
export function serve<Q extends SchemaMap, A extends Acks<Q>>(
  socket: ListenerSource,
  ctx: HandlerContext,
  schemas: RequestSchemas<Q, A>,
  handlers: RequestHandlers<Q, A>,
): void {
  for (const event of Object.keys(handlers) as (keyof Q & keyof A & string)[]) {
    const handler = handlers[event];
    if (handler === undefined) continue;
    addListener(socket, event, (payload, ack) => {
      const reply = (r: Reply<object>): void => {
        ctx.metrics.socketEvents.inc({ namespace: ctx.namespace, event, outcome: r.ok ? 'ok' : r.code });
        if (typeof ack === 'function') (ack as (reply: Reply<object>) => void)(r);
      };
      const failed = (error: unknown): void => {
        if (error instanceof ProtocolError) {
          reply(error.toReply());
        } else {
          ctx.log.error({ err: error, event }, 'socket handler failed');
          reply(errorReply('INTERNAL', 'internal error'));
        }
      };
      const parsed = parsePayload(schemas.payloads[event] as z.ZodType<z.output<Q[typeof event]>>, payload);
      if (!parsed.ok) {
        ctx.log.debug({ event, reason: parsed.message }, 'rejected socket payload');
        reply(parsed);
        return;
      }
      try {
        const result = handler(parsed.value);
        if (result instanceof Promise) {
          result.then((body) => reply({ ok: true, ...(body as object) }), failed);
        } else {
          reply({ ok: true, ...(result as object) });
        }
      } catch (error) {
        failed(error);
      }
    });
  }
}
