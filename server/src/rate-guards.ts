/**
 * Where the rate limits (rate-limit.ts) act: socket.io connections per address (a namespace
 * middleware), socket events per session (a per-socket middleware: a refused request is acked
 * `RATE_LIMITED` with the wait, and not handled), and HTTP writes per address (429 with
 * Retry-After). With the limits off (`--rate-limits off`) every guard lets everything through.
 */
import type { RequestHandler } from 'express';
import type { Socket } from 'socket.io';
import { errorReply } from '@tabswarm/protocol';
import { sendError } from './http-errors.ts';
import type { ServerMetrics } from './metrics.ts';
import { KeyedRateLimiter, type RateLimits } from './rate-limit.ts';

type Next = (err?: Error) => void;

export interface RateGuards {
  /** Namespace middleware (`nsp.use`): a connection over its address's budget is refused. */
  readonly connect: (socket: Socket, next: Next) => void;
  /** Puts a new connection's events under its session budget. */
  readonly session: (socket: Socket) => void;
  /** Express middleware: POST/PUT/PATCH/DELETE over the address's budget are answered 429. */
  readonly httpWrites: RequestHandler;
}

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export function createRateGuards(limits: RateLimits | null, metrics: ServerMetrics): RateGuards {
  if (limits === null) {
    return {
      connect: (_socket, next) => next(),
      session: () => {},
      httpWrites: (_req, _res, next) => next(),
    };
  }
  const connects = new KeyedRateLimiter(limits.connectsPerIp);
  const events = new KeyedRateLimiter(limits.eventsPerSession);
  const relays = new KeyedRateLimiter(limits.relayMessagesPerSession);
  const writes = new KeyedRateLimiter(limits.httpWritesPerIp);
  return {
    connect(socket, next) {
      const waitMs = connects.take(socket.handshake.address);
      if (waitMs === 0) return next();
      metrics.rateLimited.inc({ limit: 'connect' });
      const message = `too many connections from this address; retry in ${waitMs} ms`;
      next(Object.assign(new Error(message), { data: errorReply('RATE_LIMITED', message) }));
    },
    session(socket) {
      socket.use((packet, next) => {
        const relay = packet[0] === 'relay';
        const waitMs = (relay ? relays : events).take(socket.id);
        if (waitMs === 0) return next();
        metrics.rateLimited.inc({ limit: relay ? 'relay' : 'events' });
        const ack: unknown = packet.at(-1);
        if (typeof ack === 'function') {
          (ack as (reply: unknown) => void)(
            errorReply('RATE_LIMITED', `too many requests on this connection; retry in ${waitMs} ms`),
          );
        }
      });
      socket.once('disconnect', () => {
        events.forget(socket.id);
        relays.forget(socket.id);
      });
    },
    httpWrites(req, res, next) {
      if (!WRITE_METHODS.has(req.method)) return next();
      const waitMs = writes.take(req.socket.remoteAddress ?? 'unknown');
      if (waitMs === 0) return next();
      metrics.rateLimited.inc({ limit: 'http-writes' });
      res.set('Retry-After', String(Math.ceil(waitMs / 1000)));
      res.set('Connection', 'close'); // the body is not read
      sendError(res, 'RATE_LIMITED', `too many requests from this address; retry in ${waitMs} ms`);
    },
  };
}
