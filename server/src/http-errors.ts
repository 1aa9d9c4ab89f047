/** JSON error bodies for the REST API: the same `{ ok: false, code, message }` shape as socket acks. */
import type { Request, Response } from 'express';

export type HttpErrorCode =
  | 'BAD_REQUEST'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'RATE_LIMITED'
  | 'INTERNAL';

const STATUS: Record<HttpErrorCode, number> = {
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RATE_LIMITED: 429,
  INTERNAL: 500,
};

export function sendError(res: Response, code: HttpErrorCode, message: string): void {
  res.status(STATUS[code]).json({ ok: false, code, message });
}

export interface ClientError {
  readonly code: HttpErrorCode;
  readonly message: string;
}

const CODE_BY_STATUS: ReadonlyMap<number, HttpErrorCode> = new Map(
  Object.entries(STATUS).map(([code, status]) => [status, code as HttpErrorCode]),
);

/**
 * What to answer for an error that express's router or a body parser raised on a client's
 * mistake, or null when it is the server's fault (answered 500 and logged). Every 4xx such an
 * error carries is the client's: a path parameter that is not percent-encoding, a body that is
 * not JSON, too large, cut short, or does not decompress under its Content-Encoding.
 */
export function clientErrorOf(err: unknown, contentEncoding: string | undefined): ClientError | null {
  if (typeof err !== 'object' || err === null) return null;
  const e = err as { type?: unknown; status?: unknown; statusCode?: unknown };
  const status = typeof e.status === 'number' ? e.status : e.statusCode;
  const type = typeof e.type === 'string' ? e.type : '';
  if (err instanceof URIError)
    return { code: 'BAD_REQUEST', message: 'a path parameter is not valid percent-encoding' };
  if (type === 'entity.too.large')
    return { code: 'PAYLOAD_TOO_LARGE', message: 'the request body is too large' };
  if (type === 'entity.parse.failed')
    return { code: 'BAD_REQUEST', message: 'the request body is not valid JSON' };
  if (type.startsWith('encoding.') || type === 'charset.unsupported')
    return { code: 'UNSUPPORTED_MEDIA_TYPE', message: 'unsupported body encoding' };
  if (type === 'request.aborted' || type === 'request.size.invalid')
    return { code: 'BAD_REQUEST', message: 'the request body does not match its Content-Length' };
  if (typeof status !== 'number' || status < 400 || status > 499) return null;
  const encoding = contentEncoding?.trim().toLowerCase();
  if (status === 400 && encoding !== undefined && encoding !== '' && encoding !== 'identity') {
    // body-parser passes the decompressor's error on as a 400 (zlib's Z_DATA_ERROR, a truncated stream…).
    return {
      code: 'BAD_REQUEST',
      message: `the request body is not valid ${encoding.slice(0, 32)} data (Content-Encoding)`,
    };
  }
  return { code: CODE_BY_STATUS.get(status) ?? 'BAD_REQUEST', message: 'bad request' };
}

/**
 * Whether the client is gone, so an error has nobody to answer: its connection closed (an upload
 * cut off mid-body). Not `req.destroyed`, which is also true once a body has been read in full —
 * an error after that must still be answered.
 */
export function clientGone(req: Request): boolean {
  return req.socket.destroyed;
}
