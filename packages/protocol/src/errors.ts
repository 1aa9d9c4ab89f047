/** Typed errors that cross the wire: a string code a program can branch on, a message a person can read. */
import { z } from 'zod';

export const ERROR_CODES = [
  'BAD_REQUEST',
  'PAYLOAD_TOO_LARGE',
  'VERSION_MISMATCH',
  'NOT_JOINED',
  'ALREADY_JOINED',
  'UNKNOWN_NODE',
  'UNKNOWN_JOB',
  'UNKNOWN_LEASE',
  'NOT_YOUR_LEASE',
  'NO_WORK',
  /** Its replicated work was outvoted: the volunteer gets no more leases (validated work). */
  'DISTRUSTED',
  /** Over a rate limit: retry after the wait the message names. */
  'RATE_LIMITED',
  /** What the other side sent did not match its schema (a client's rejection of a server payload). */
  'BAD_PAYLOAD',
  'INTERNAL',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export const errorReplySchema = z.object({
  ok: z.literal(false),
  code: z.enum(ERROR_CODES),
  message: z.string().max(4096),
});
export type ErrorReply = z.infer<typeof errorReplySchema>;

export type Reply<T extends object = object> = ({ readonly ok: true } & T) | ErrorReply;

/** The base of every typed error in tabswarm: a string code to branch on, a message to read. */
export class CodedError<Code extends string = string> extends Error {
  readonly code: Code;
  constructor(code: Code, message: string, name = 'CodedError') {
    super(message);
    this.name = name;
    this.code = code;
  }
}

export class ProtocolError extends CodedError<ErrorCode> {
  constructor(code: ErrorCode, message: string) {
    super(code, message, 'ProtocolError');
  }
  toReply(): ErrorReply {
    return { ok: false, code: this.code, message: this.message };
  }
}

export function errorReply(code: ErrorCode, message: string): ErrorReply {
  return { ok: false, code, message };
}

/**
 * A payload that failed its schema on arrival: which event or reply it was and the first problem.
 * Clients report it (log, event stream, caller) and leave their state as it was.
 */
export class PayloadError extends ProtocolError {
  /** The event or REST reply name the payload arrived as. */
  readonly source: string;
  constructor(source: string, message: string) {
    super('BAD_PAYLOAD', `${source}: ${message}`);
    this.name = 'PayloadError';
    this.source = source;
  }
}
