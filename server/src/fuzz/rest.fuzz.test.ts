/**
 * Fuzzing every REST route of the coordinator (issue 16 part 6): path parameters (valid ids, junk,
 * bad percent-encoding, traversal), query strings (the route's own keys with junk values, repeated
 * and bracketed keys, prototype keys), headers (token, content type and encoding) and bodies (shaped
 * by the route's zod schema, any JSON, broken JSON, random and gzipped bytes, deep nesting), on a
 * real coordinator in-process over one keep-alive agent. No answer may be a 5xx; every 4xx under
 * /api is a coded `{ ok: false, code, message }`; a refused request leaves jobs, leases, checkpoints
 * and volunteers as they were; nothing is logged as a server error; no promise rejection goes
 * unhandled; the heap after a GC stays within a bound.
 * Cases per route: TABSWARM_FUZZ_RUNS (default 200; see fuzzRuns).
 */
import fc from 'fast-check';
import { io } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FEDAVG_SAMPLES_HEADER,
  jobSpecSchema,
  NAMESPACES,
  PEERJS_PATH,
  PROTOCOL_VERSION,
  type JoinAccepted,
} from '@tabswarm/protocol';
import { api, capabilities } from '../test-support.ts';
import {
  fuzzRuns,
  guardUnhandled,
  heapAfterGc,
  isCodedError,
  startFuzzServer,
  stateSnapshot,
  type FuzzServer,
} from './fuzz-support.ts';
import {
  authHeader,
  body,
  closeAgent,
  contentEncoding,
  contentType,
  headersOf,
  queryString,
  segment,
  send,
  type RawRequest,
} from './http-fuzz-client.ts';

const RUNS = fuzzRuns(200);
const TIMEOUT = 60_000 + RUNS * 200;
const guard = guardUnhandled();

let running: FuzzServer;
const jobIds: string[] = [];
let volunteer: JoinAccepted | undefined;
let heapBefore = 0;

const hex = (n: number) => fc.stringMatching(new RegExp(`^[0-9a-f]{${n}}$`));
const jobId = fc.oneof(
  { weight: 3, arbitrary: fc.constant(null).map(() => jobIds[0] ?? 'job-000000000000') },
  fc.constant(null).map(() => jobIds[1] ?? 'job-000000000000'),
  hex(12).map((h) => `job-${h}`),
);
const nodeId = fc.oneof(
  fc.constant(null).map(() => volunteer?.nodeId ?? 'v0'),
  hex(16).map((h) => `v${h}`),
);
const seq = fc.oneof(fc.constantFrom('0', '1', '999999999', '1000000000'), fc.nat().map(String));
const numberText = fc.oneof(
  fc.nat({ max: 20_000 }).map(String),
  fc.double().map(String),
  fc.integer().map(String),
);

interface Route {
  readonly method: 'GET' | 'POST';
  /** `:name` segments are filled from `params`. */
  readonly path: string;
  readonly params?: Readonly<Record<string, fc.Arbitrary<string>>>;
  readonly query?: Readonly<Record<string, fc.Arbitrary<string>>>;
  readonly body?: fc.Arbitrary<Buffer | null>;
  readonly headers?: fc.Arbitrary<Record<string, string>>;
  /** The content type the route takes, sent most of the time. */
  readonly type?: string;
}

const binaryBody = fc.oneof(
  fc.uint8Array({ maxLength: 4096 }).map((b) => Buffer.from(b)),
  fc.constant(null),
  fc.constant(Buffer.alloc(600_000)),
);

const ROUTES: readonly Route[] = [
  { method: 'GET', path: '/healthz' },
  { method: 'GET', path: '/metrics' },
  { method: 'GET', path: '/api/auth' },
  { method: 'GET', path: '/api/nodes' },
  { method: 'GET', path: '/api/credit' },
  { method: 'GET', path: '/api/credit/:nodeId', params: { nodeId: fc.string({ maxLength: 80 }) } },
  { method: 'GET', path: '/api/jobs' },
  {
    method: 'POST',
    path: '/api/jobs',
    type: 'application/json',
    body: body(jobSpecSchema, { dataset: fc.constant('mnist') }),
  },
  { method: 'GET', path: '/api/jobs/:jobId', params: { jobId } },
  ...(['pause', 'resume', 'cancel'] as const).map((action): Route => ({
    method: 'POST',
    path: `/api/jobs/:jobId/${action}`,
    params: { jobId },
    body: body(null),
  })),
  {
    method: 'POST',
    path: '/api/jobs/:jobId/checkpoint-uploads/:requestId',
    params: { jobId, requestId: hex(16) },
    type: 'application/octet-stream',
    body: binaryBody,
  },
  { method: 'GET', path: '/api/jobs/:jobId/checkpoints', params: { jobId } },
  { method: 'GET', path: '/api/jobs/:jobId/parameters', params: { jobId } },
  { method: 'GET', path: '/api/jobs/:jobId/checkpoints/:seq', params: { jobId, seq } },
  { method: 'GET', path: '/api/jobs/:jobId/checkpoints/:seq/model.json', params: { jobId, seq } },
  { method: 'GET', path: '/api/jobs/:jobId/checkpoints/:seq/weights.bin', params: { jobId, seq } },
  { method: 'GET', path: '/api/jobs/:jobId/metrics', params: { jobId }, query: { since: numberText } },
  {
    method: 'GET',
    path: '/api/events',
    query: {
      jobId,
      kind: fc.constantFrom('join', 'leave', 'gone', 'join,leave', 'nope', ''),
      limit: numberText,
    },
  },
  { method: 'GET', path: '/api/jobs/:jobId/consensus', params: { jobId }, query: { limit: numberText } },
  { method: 'GET', path: '/api/jobs/:jobId/fedavg', params: { jobId } },
  {
    method: 'POST',
    path: '/api/jobs/:jobId/fedavg/uploads',
    params: { jobId },
    type: 'application/octet-stream',
    body: binaryBody,
    headers: fc
      .tuple(
        fc.oneof(
          fc.constant(null).map(() => `Bearer ${volunteer?.nodeId}.${volunteer?.peerjs.token}`),
          fc.tuple(nodeId, hex(32)).map(([n, t]) => `Bearer ${n}.${t}`),
        ),
        fc.oneof(numberText, fc.constantFrom('NaN', '-1', '1e9', 'Infinity')),
      )
      .map(([authorization, samples]) => ({ authorization, [FEDAVG_SAMPLES_HEADER]: samples })),
  },
  { method: 'GET', path: '/api/gossip/links' },
  { method: 'GET', path: '/api/gossip/links/:nodeId', params: { nodeId } },
  { method: 'GET', path: '/api/datasets' },
  {
    method: 'GET',
    path: '/api/datasets/uploads/:uploadId',
    params: { uploadId: fc.stringMatching(/^[A-Za-z0-9_-]{8,64}$/) },
  },
  { method: 'GET', path: '/api/datasets/:id', params: { id: fc.constantFrom('mnist', 'ds-0000') } },
  {
    method: 'GET',
    path: '/api/datasets/:id/samples',
    params: { id: fc.constant('mnist') },
    query: {
      split: fc.constantFrom('train', 'test', 'x'),
      start: fc.oneof(fc.nat({ max: 9_000 }).map(String), numberText),
      end: fc.oneof(fc.nat({ max: 9_000 }).map(String), numberText),
    },
    headers: fc
      .option(fc.constantFrom('*', 'W/"x"', '"a", "b"'), { nil: undefined })
      .map((tag) => (tag === undefined ? {} : { 'if-none-match': tag })),
  },
  {
    method: 'POST',
    path: '/api/datasets',
    type: 'text/csv',
    query: {
      format: fc.constantFrom('csv', 'binary', 'xml'),
      name: fc.string({ maxLength: 300 }),
      label: fc.string({ maxLength: 20 }),
      testFraction: numberText,
      seed: numberText,
      uploadId: fc.stringMatching(/^[A-Za-z0-9_-]{8,64}$/),
    },
    body: fc.oneof(
      body(null),
      fc
        .constantFrom('a,b,label\n1,2,0\n3,4,1\n', 'label\n', '', 'a,b\n1\n', '"unterminated\n')
        .map((s) => Buffer.from(s)),
    ),
  },
  { method: 'GET', path: '/api/:anything', params: { anything: fc.string({ maxLength: 20 }) } },
  { method: 'GET', path: `${PEERJS_PATH}/:key/id`, params: { key: fc.constantFrom('peerjs', 'x') } },
  { method: 'GET', path: `${PEERJS_PATH}/:key/peers`, params: { key: fc.constantFrom('peerjs', 'x') } },
];

function requestFor(route: Route): fc.Arbitrary<RawRequest> {
  const names = [...route.path.matchAll(/:([A-Za-z]+)/g)].map((m) => m[1] as string);
  const params = fc.tuple(...names.map((name) => segment(route.params?.[name] ?? fc.string())));
  return fc
    .record({
      params,
      query: route.query
        ? queryString(route.query)
        : fc.option(fc.constantFrom('?x=1', '?%zz', '?__proto__[a]=1'), { nil: '' }),
      auth: authHeader,
      type: route.type
        ? fc.oneof({ weight: 3, arbitrary: fc.constant(route.type) }, contentType)
        : contentType,
      encoding: contentEncoding,
      extra: route.headers ?? fc.constant({}),
      body: route.body ?? fc.oneof({ weight: 6, arbitrary: fc.constant(null) }, body(null)),
    })
    .map((r) => {
      let i = 0;
      const path = route.path.replace(/:([A-Za-z]+)/g, () => r.params[i++] ?? '');
      return {
        method: route.method,
        path: `${path}${r.query}`,
        headers: headersOf({ auth: r.auth, type: r.type, encoding: r.encoding, extra: r.extra }),
        body: r.body,
      };
    });
}

beforeAll(async () => {
  running = await startFuzzServer();
  for (const name of ['fuzz-a', 'fuzz-b']) {
    const created = await api<{ job: { id: string } }>(`${running.url}/api/jobs`, {
      body: { name, training: { batchSize: 100, localSteps: 10, epochs: 1000 } },
    });
    expect(created.status).toBe(201);
    jobIds.push(created.body.job.id);
  }
  await running.server.checkpoints().idle();
  // A volunteer, so node ids and FedAvg credentials can be real.
  const socket = io(`${running.url}${NAMESPACES.volunteer}`, {
    transports: ['websocket'],
    auth: { protocolVersion: PROTOCOL_VERSION },
    reconnection: false,
    forceNew: true,
  });
  const reply = (await socket
    .timeout(10_000)
    .emitWithAck('join', { protocolVersion: PROTOCOL_VERSION, capabilities })) as JoinAccepted & {
    ok: boolean;
  };
  expect(reply.ok).toBe(true);
  volunteer = reply;
  heapBefore = await heapAfterGc();
}, 180_000);

afterAll(async () => {
  closeAgent();
  await running?.close();
});

describe('REST fuzz', () => {
  for (const route of ROUTES) {
    it(
      `${route.method} ${route.path}: never a 5xx, every refusal coded, refusals change nothing`,
      { timeout: TIMEOUT },
      async () => {
        const statuses = new Map<number, number>();
        const started = performance.now();
        await fc.assert(
          fc.asyncProperty(requestFor(route), async (request) => {
            const before = stateSnapshot(running.server);
            const res = await send(running.url, request);
            // An accepted request may start background work (a new job's checkpoint 0 evaluated,
            // which can complete the job): let it settle, or a later refusal's snapshot sees it.
            if (res.status < 400) await running.server.checkpoints().idle();
            const errors = running.takeErrors();
            statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
            const what = `${request.method} ${request.path.slice(0, 300)} → ${res.status} ${res.body.subarray(0, 300).toString()}`;
            expect(res.status, what).toBeLessThan(500);
            expect(errors, what).toEqual([]);
            if (res.status >= 400) {
              if (!request.path.startsWith(PEERJS_PATH)) {
                const json = /application\/json/.test(res.headers['content-type'] ?? '')
                  ? (JSON.parse(res.body.toString()) as unknown)
                  : null;
                expect(isCodedError(json), what).toBe(true);
              }
              expect(stateSnapshot(running.server), what).toBe(before);
            }
            expect(guard.problems).toEqual([]);
          }),
          { numRuns: RUNS },
        );
        const ms = performance.now() - started;
        console.info(
          `fuzz ${route.method} ${route.path}: ${RUNS} cases in ${ms.toFixed(0)} ms (${(ms / RUNS).toFixed(2)} ms/case), statuses ${JSON.stringify(Object.fromEntries(statuses))}`,
        );
      },
    );
  }

  it('leaves no prototype polluted and the heap within bounds', async () => {
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).x).toBeUndefined();
    expect(guard.problems).toEqual([]);
    const heapAfter = await heapAfterGc();
    console.info(
      `fuzz REST heap: ${(heapBefore / 2 ** 20).toFixed(1)} MiB → ${(heapAfter / 2 ** 20).toFixed(1)} MiB`,
    );
    expect(heapAfter - heapBefore).toBeLessThan(96 * 2 ** 20);
  });
});
