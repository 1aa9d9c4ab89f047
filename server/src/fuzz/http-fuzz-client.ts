/**
 * The REST fuzz tests' client and request generators: one keep-alive agent, raw paths (so bad
 * percent-encoding reaches the server as sent), any headers and body; and arbitraries for path
 * parameters, query strings, headers and bodies of a route. For the fuzz tests only.
 */
import http from 'node:http';
import zlib from 'node:zlib';
import fc from 'fast-check';
import type { z } from 'zod';
import { OPERATOR_TOKEN } from '../test-support.ts';
import { anyJson, payloadFor, type Hints } from './zod-arbitrary.ts';

export interface RawResponse {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
}

export interface RawRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: Buffer | null;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });

export function send(base: string, request: RawRequest): Promise<RawResponse> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        agent,
        host: url.hostname,
        port: url.port,
        method: request.method,
        path: request.path,
        headers: {
          ...request.headers,
          ...(request.body !== null && { 'content-length': String(request.body.length) }),
        },
        timeout: 20_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () =>
      req.destroy(new Error(`no answer to ${request.method} ${request.path.slice(0, 200)}`)),
    );
    req.on('error', reject);
    req.end(request.body ?? undefined);
  });
}

export function closeAgent(): void {
  agent.destroy();
}

/** Path segments as a client could send them: valid ids, encoded junk, bad percent-encoding, traversal. */
export function segment(valid: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 4, arbitrary: valid.map(encodeURIComponent) },
    fc.string({ maxLength: 80 }).map(encodeURIComponent),
    fc.constantFrom(
      '%zz',
      '%',
      '%E0%A4%A',
      '%00',
      '%C0%AF',
      '..',
      '%2e%2e',
      '%2F..%2F..',
      '__proto__',
      'constructor',
      'NaN',
      '-1',
      '1e400',
      '0x10',
      '00',
      '9'.repeat(400),
      'x'.repeat(4000),
    ),
  );
}

/** A query string built from the route's own keys (values from `values` or junk) and foreign ones. */
export function queryString(keys: Readonly<Record<string, fc.Arbitrary<string>>>): fc.Arbitrary<string> {
  const value = (own: fc.Arbitrary<string>) =>
    fc.oneof(
      { weight: 3, arbitrary: own.map(encodeURIComponent) },
      fc.string({ maxLength: 40 }).map(encodeURIComponent),
      fc.constantFrom('%zz', '', 'NaN', '-1', '1e400', '9007199254740993', 'x'.repeat(3000)),
    );
  const pairs = Object.entries(keys).map(([key, own]) =>
    fc.option(
      fc.oneof(
        { weight: 4, arbitrary: value(own).map((v) => `${key}=${v}`) },
        // Repeated keys and bracket syntax arrive as arrays or objects in req.query.
        fc.tuple(value(own), value(own)).map(([a, b]) => `${key}=${a}&${key}=${b}`),
        value(own).map((v) => `${key}[]=${v}`),
        value(own).map((v) => `${key}[__proto__]=${v}`),
        fc.constant(key),
      ),
      { freq: 2 },
    ),
  );
  return fc
    .tuple(
      fc.tuple(...pairs),
      fc.option(fc.constantFrom('__proto__=1', 'constructor[prototype]=1', '%zz=%zz', 'a=b'), { freq: 4 }),
    )
    .map(([own, extra]) => {
      const parts = [...own, extra].filter((p): p is string => p !== null);
      return parts.length > 0 ? `?${parts.join('&')}` : '';
    });
}

export const authHeader: fc.Arbitrary<string | null> = fc.oneof(
  { weight: 4, arbitrary: fc.constant(`Bearer ${OPERATOR_TOKEN}`) },
  fc.constant(null),
  fc.constantFrom(
    'Bearer',
    'Bearer ',
    'Basic Zm9vOmJhcg==',
    `Bearer ${OPERATOR_TOKEN}x`,
    'Bearer a.b',
    'x'.repeat(5000),
  ),
  fc.string({ maxLength: 60 }).map((s) => `Bearer ${s.replace(/[^\x20-\x7e]/g, '')}`),
);

export const contentType: fc.Arbitrary<string | null> = fc.oneof(
  fc.constantFrom(
    'application/json',
    'application/octet-stream',
    'text/csv',
    'application/json; charset=utf-16',
    'application/json; charset=bogus',
    'text/plain',
    'multipart/form-data; boundary=x',
    '*/*',
    '',
  ),
  fc.constant(null),
);

export const contentEncoding: fc.Arbitrary<string | null> = fc.oneof(
  { weight: 6, arbitrary: fc.constant(null) },
  fc.constantFrom('gzip', 'deflate', 'br', 'identity', 'compress', 'gzip, gzip', 'x'.repeat(300)),
);

/** A body: JSON shaped by `schema`, any JSON, broken JSON text, random bytes, or none. */
export function body(schema: z.ZodType | null, hints: Hints = {}): fc.Arbitrary<Buffer | null> {
  const json = (schema ? payloadFor(schema, hints) : anyJson).map((v) =>
    Buffer.from(JSON.stringify(v) ?? 'null'),
  );
  return fc.oneof(
    { weight: 4, arbitrary: json },
    fc.constant(null),
    fc.uint8Array({ maxLength: 2048 }).map((b) => Buffer.from(b)),
    fc
      .constantFrom('{', '{"a":', '[1,2', '"unterminated', 'nul', '{"__proto__":{"x":1}}', '\u0000')
      .map((s) => Buffer.from(s)),
    fc.tuple(json, fc.boolean()).map(([b, truncate]) => {
      const zipped = zlib.gzipSync(b);
      return truncate ? zipped.subarray(0, Math.max(1, zipped.length >> 1)) : zipped;
    }),
    fc.constant(Buffer.from(`${'['.repeat(100_000)}${']'.repeat(100_000)}`)),
  );
}

export function headersOf(parts: {
  auth: string | null;
  type: string | null;
  encoding: string | null;
  extra?: Record<string, string>;
}): Record<string, string> {
  return {
    ...(parts.auth !== null && { authorization: parts.auth }),
    ...(parts.type !== null && { 'content-type': parts.type }),
    ...(parts.encoding !== null && { 'content-encoding': parts.encoding }),
    ...parts.extra,
  };
}
