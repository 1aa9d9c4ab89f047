/** Typed errors that cross the wire: a string code a program can branch on, a message a person can read. */

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
  'INTERNAL',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export interface ErrorReply {
  readonly ok: false;
  readonly code: ErrorCode;
  readonly message: string;
}

export type Reply<T extends object = object> = ({ readonly ok: true } & T) | ErrorReply;

export class ProtocolError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = 'ProtocolError';
    this.code = code;
  }
  toReply(): ErrorReply {
    return { ok: false, code: this.code, message: this.message };
  }
}

export function errorReply(code: ErrorCode, message: string): ErrorReply {
  return { ok: false, code, message };
}
