/**
 * The one way clients take in what the coordinator sends: `listen` registers handlers keyed by
 * event name and parses each payload with the schema of the same name before the handler runs;
 * `request` emits a request and parses its ack. A malformed payload never reaches a handler: it
 * becomes a PayloadError (code BAD_PAYLOAD) for the caller to report.
 */
import type { z } from 'zod';
import { errorReplySchema, PayloadError, type ErrorReply } from './errors.ts';
import type { RequestSchemaMap, SchemaMap } from './event-schemas.ts';
import { firstIssue } from './schemas.ts';

/**
 * What `listen` needs of a socket. Typed socket.io sockets (client or server) fit as they are:
 * their `on`/`off` are generic over their own event maps, which is why the parameters are `never`.
 */
export interface ListenerSource {
  on: (...args: never[]) => unknown;
  off: (...args: never[]) => unknown;
}
interface UntypedSource {
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  off(event: string, listener: (...args: unknown[]) => void): unknown;
}

/**
 * Adds one listener by event name and returns its remover. The building block of `listen` and of
 * the coordinator's request handlers; call sites use those, which take the name from a schema map.
 */
export function addListener(
  source: ListenerSource,
  event: string,
  listener: (...args: unknown[]) => void,
): () => void {
  const socket = untyped<UntypedSource>(source);
  socket.on(event, listener);
  return () => socket.off(event, listener);
}

/**
 * The one untyped step: socket.io types `on`/`emit` by its own event maps, and the helpers here
 * key the same names by the schema maps (whose keys the event-map type tests tie together).
 */
function untyped<T extends object>(socket: object): T {
  return socket as T;
}

export type PayloadHandlers<S extends SchemaMap> = {
  readonly [E in keyof S]?: (payload: z.output<S[E]>) => void;
};

export type Parsed<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: PayloadError };

/** Parses what arrived as `source` (an event, an ack, a REST route) with `schema`. */
export function parseAs<S extends z.ZodType>(
  schema: S,
  source: string,
  payload: unknown,
): Parsed<z.output<S>> {
  const result = schema.safeParse(payload);
  if (result.success) return { ok: true, value: result.data };
  return { ok: false, error: new PayloadError(source, firstIssue(result.error)) };
}

/** Parses one payload with the schema registered for `event`. */
export function parseEvent<S extends SchemaMap, E extends keyof S & string>(
  schemas: S,
  event: E,
  payload: unknown,
): Parsed<z.output<S[E]>> {
  return parseAs(schemas[event] as S[E], event, payload);
}

/**
 * Registers `handlers` on `source`, each behind the schema of the same event name. Returns a
 * function that removes exactly these listeners (other listeners on the socket stay).
 */
export function listen<S extends SchemaMap>(
  source: ListenerSource,
  schemas: S,
  handlers: PayloadHandlers<S>,
  onRejected: (error: PayloadError) => void,
): () => void {
  const removers: (() => void)[] = [];
  for (const event of Object.keys(handlers) as (keyof S & string)[]) {
    const handler = handlers[event];
    if (handler === undefined) continue;
    const remove = addListener(source, event, (payload) => {
      const parsed = parseEvent(schemas, event, payload);
      if (parsed.ok) handler(parsed.value);
      else onRejected(parsed.error);
    });
    removers.push(remove);
  }
  return () => {
    for (const remove of removers) remove();
  };
}

/** A parsed ack: the success body with `ok: true`, or an error reply (BAD_PAYLOAD when malformed). */
export type ParsedAck<T> = ({ readonly ok: true } & T) | ErrorReply;

/**
 * Parses the ack of request `event` from `requests`: an error reply as sent, or the success body
 * with its ack schema. A malformed ack becomes a BAD_PAYLOAD error reply, reported to `onRejected`.
 */
export function parseAck<R extends RequestSchemaMap, E extends keyof R & string>(
  requests: R,
  event: E,
  reply: unknown,
  onRejected?: (error: PayloadError) => void,
): ParsedAck<z.output<R[E]['ack']>> {
  const refused = errorReplySchema.safeParse(reply);
  if (refused.success) return refused.data;
  const isOk = typeof reply === 'object' && reply !== null && (reply as { ok?: unknown }).ok === true;
  const parsed = isOk
    ? parseAs(requests[event]?.ack as R[E]['ack'], event, reply)
    : { ok: false as const, error: new PayloadError(event, 'the ack is neither ok nor an error reply') };
  if (parsed.ok) return { ...(parsed.value as object), ok: true } as ParsedAck<z.output<R[E]['ack']>>;
  onRejected?.(parsed.error);
  return parsed.error.toReply();
}

/** What `request` needs of a socket: socket.io's `timeout(ms).emit(event, payload, callback)`. */
export interface RequestTarget {
  timeout: (ms: number) => { emit: (...args: never[]) => unknown };
}
interface UntypedTarget {
  timeout(ms: number): {
    emit(event: string, payload: unknown, ack: (error: unknown, reply: unknown) => void): unknown;
  };
}

/**
 * Emits request `event` and parses its ack with the schema of the same name. Null when no ack
 * came within `timeoutMs`; a malformed ack resolves as a BAD_PAYLOAD error reply (and is reported
 * to `onRejected`).
 */
export function request<R extends RequestSchemaMap, E extends keyof R & string>(
  target: RequestTarget,
  requests: R,
  event: E,
  payload: z.input<R[E]['payload']>,
  timeoutMs: number,
  onRejected?: (error: PayloadError) => void,
): Promise<ParsedAck<z.output<R[E]['ack']>> | null> {
  const socket = untyped<UntypedTarget>(target);
  return new Promise((resolve) => {
    socket.timeout(timeoutMs).emit(event, payload, (error, reply) => {
      resolve(error ? null : parseAck(requests, event, reply, onRejected));
    });
  });
}
