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
  type RequestSchemaMap,
} from '@tabswarm/protocol';
import type { Logger } from './logger.ts';
import type { ServerMetrics } from './metrics.ts';

export interface HandlerContext {
  readonly namespace: string;
  readonly metrics: ServerMetrics;
  readonly log: Logger;
}

/** One handler per request: it gets the parsed payload and returns what its ack schema takes. */
export type RequestHandlers<R extends RequestSchemaMap> = {
  readonly [E in keyof R & string]?: (
    payload: z.output<R[E]['payload']>,
  ) => z.input<R[E]['ack']> | Promise<z.input<R[E]['ack']>>;
};

/**
 * Registers `handlers` on `socket`, keyed by event name; the payload schema for each comes from
 * `requests` under the same name. Asynchronous handlers are acknowledged when they settle.
 */
export function serve<R extends RequestSchemaMap>(
  socket: ListenerSource,
  ctx: HandlerContext,
  requests: R,
  handlers: RequestHandlers<R>,
): void {
  for (const event of Object.keys(handlers) as (keyof R & string)[]) {
    const handler = handlers[event];
    if (handler === undefined) continue;
    addListener(socket, event, (...args) => {
      // socket.io passes the ack last when the client asked for one; exactly one payload comes before it.
      const ack = typeof args.at(-1) === 'function' ? args.pop() : undefined;
      const payload = args[0];
      const endTimer = ctx.metrics.requestSeconds.startTimer({ namespace: ctx.namespace, request: event });
      const reply = (r: Reply<object>): void => {
        endTimer();
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
      if (args.length !== 1) {
        reply(errorReply('BAD_REQUEST', `${event} takes one payload argument, got ${args.length}`));
        return;
      }
      const schema = requests[event]?.payload as z.ZodType<z.output<R[typeof event]['payload']>>;
      const parsed = parsePayload(schema, payload);
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
