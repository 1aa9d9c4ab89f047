/**
 * Wraps a socket.io event handler with the boundary rules: the payload is validated with its
 * schema, the ack is optional and guarded, errors become `{ ok: false, code, message }`, and the
 * outcome is counted. A handler never throws past this wrapper.
 */
import type { z } from 'zod';
import { errorReply, parsePayload, ProtocolError, type Reply } from '@tabswarm/protocol';
import type { Logger } from './logger.ts';
import type { ServerMetrics } from './metrics.ts';

export interface HandlerContext {
  readonly namespace: string;
  readonly metrics: ServerMetrics;
  readonly log: Logger;
}

type AnyAck = (reply: Reply<object>) => void;

export function guarded<T, R extends object>(
  ctx: HandlerContext,
  event: string,
  schema: z.ZodType<T>,
  handler: (payload: T) => R,
): (payload: unknown, ack?: unknown) => void {
  return (payload, ack) => {
    const reply = (r: Reply<object>): void => {
      ctx.metrics.socketEvents.inc({ namespace: ctx.namespace, event, outcome: r.ok ? 'ok' : r.code });
      if (typeof ack === 'function') (ack as AnyAck)(r);
    };
    const parsed = parsePayload(schema, payload);
    if (!parsed.ok) {
      ctx.log.debug({ event, reason: parsed.message }, 'rejected socket payload');
      reply(parsed);
      return;
    }
    try {
      reply({ ok: true, ...handler(parsed.value) });
    } catch (error) {
      if (error instanceof ProtocolError) {
        reply(error.toReply());
      } else {
        ctx.log.error({ err: error, event }, 'socket handler failed');
        reply(errorReply('INTERNAL', 'internal error'));
      }
    }
  };
}
