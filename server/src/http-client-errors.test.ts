/**
 * Client mistakes on every route are 4xx with a code, never a 500, and never logged as server
 * errors: bad percent-encoding in a path parameter, a compressed body that does not decompress,
 * and a job spec too deeply nested to check.
 */
import zlib from 'node:zlib';
import { describe, expect, it, vi } from 'vitest';
import type { JobInfo } from '@tabswarm/protocol';
import { OPERATOR_TOKEN, api, closedAfterEach, startServer, type RunningServer } from './test-support.ts';

const track = closedAfterEach<RunningServer>();

interface Case {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly headers?: Record<string, string>;
  readonly body?: string | Uint8Array<ArrayBuffer>;
  readonly status: number;
  readonly code: string;
  readonly message?: RegExp;
}

const operator = { authorization: `Bearer ${OPERATOR_TOKEN}` };
const json = { ...operator, 'content-type': 'application/json' };
const octets = { 'content-type': 'application/octet-stream' };

/** A topology whose config nests `depth` arrays; under the 512 KiB body limit at 100,000. */
const deepSpec = (depth: number): string =>
  `{"name":"deep","model":{"kind":"topology","topology":{"class_name":"Sequential","config":${'['.repeat(depth)}${']'.repeat(depth)}}}}`;

function cases(jobId: string): Case[] {
  const badParam = (method: 'GET' | 'POST', path: string, headers: Record<string, string> = {}): Case => ({
    method,
    path,
    headers,
    status: 400,
    code: 'BAD_REQUEST',
    message: /percent-encoding/,
  });
  return [
    badParam('GET', '/api/jobs/%zz'),
    badParam('GET', '/api/jobs/%E0%A4%A'),
    badParam('POST', '/api/jobs/%zz/pause', operator),
    badParam('POST', '/api/jobs/%zz/cancel'),
    badParam('GET', `/api/jobs/${jobId}/checkpoints/%zz`),
    badParam('GET', `/api/jobs/${jobId}/checkpoints/%zz/model.json`),
    badParam('GET', `/api/jobs/${jobId}/checkpoints/%zz/weights.bin`),
    badParam('POST', `/api/jobs/${jobId}/checkpoint-uploads/%zz`, octets),
    badParam('GET', '/api/jobs/%zz/parameters'),
    badParam('GET', '/api/jobs/%zz/metrics'),
    badParam('GET', '/api/jobs/%zz/consensus'),
    badParam('GET', '/api/jobs/%zz/fedavg'),
    badParam('POST', '/api/jobs/%zz/fedavg/uploads', octets),
    badParam('GET', '/api/datasets/%zz'),
    badParam('GET', '/api/datasets/%zz/samples?split=train&start=0&end=1'),
    badParam('GET', '/api/datasets/uploads/%zz'),
    badParam('GET', '/api/gossip/links/%zz'),
    ...(['gzip', 'deflate', 'br'] as const).map((encoding): Case => ({
      method: 'POST',
      path: '/api/jobs',
      headers: { ...json, 'content-encoding': encoding },
      body: 'this is not compressed data',
      status: 400,
      code: 'BAD_REQUEST',
      message: new RegExp(`not valid ${encoding} data`),
    })),
    {
      method: 'POST',
      path: '/api/jobs',
      headers: { ...json, 'content-encoding': 'gzip' },
      body: new Uint8Array(zlib.gzipSync(JSON.stringify({ name: 'x' })).subarray(0, 12)),
      status: 400,
      code: 'BAD_REQUEST',
      message: /not valid gzip data/,
    },
    {
      method: 'POST',
      path: '/api/jobs',
      headers: { ...json, 'content-encoding': 'zstd' },
      body: 'x',
      status: 415,
      code: 'UNSUPPORTED_MEDIA_TYPE',
    },
    {
      method: 'POST',
      path: '/api/jobs',
      headers: json,
      body: deepSpec(100_000),
      status: 400,
      code: 'BAD_REQUEST',
      message: /^model\.topology: .*nested deeper than/,
    },
  ];
}

describe('client errors on every route', () => {
  it('are 4xx with a code, change nothing, and are not logged as server errors', async () => {
    const running = track(await startServer());
    const created = await api<{ job: JobInfo }>(`${running.url}/api/jobs`, { body: { name: 'x' } });
    expect(created.status).toBe(201);
    await running.server.checkpoints().idle();
    const errors = vi.spyOn(running.server.log, 'error');
    const before = JSON.stringify(running.server.jobs.list());

    for (const c of cases(created.body.job.id)) {
      const res = await fetch(`${running.url}${c.path}`, {
        method: c.method,
        headers: c.headers ?? {},
        ...(c.body !== undefined && { body: c.body }),
      });
      const what = `${c.method} ${c.path} ${JSON.stringify(c.headers ?? {}).slice(0, 80)}`;
      const text = await res.text();
      expect(res.status, `${what}: ${text.slice(0, 200)}`).toBe(c.status);
      const body = JSON.parse(text) as { ok: boolean; code: string; message: string };
      expect(body, what).toMatchObject({ ok: false, code: c.code });
      if (c.message) expect(body.message, what).toMatch(c.message);
    }

    expect(errors).not.toHaveBeenCalled();
    expect(JSON.stringify(running.server.jobs.list())).toBe(before);
    // Still serving: nothing above broke the process or the routers.
    expect((await api(`${running.url}/api/jobs/${created.body.job.id}`, { token: null })).status).toBe(200);
  });

  it('a well-formed gzip body still works', async () => {
    const running = track(await startServer());
    const res = await fetch(`${running.url}/api/jobs`, {
      method: 'POST',
      headers: { ...json, 'content-encoding': 'gzip' },
      body: zlib.gzipSync(JSON.stringify({ name: 'gzipped' })),
    });
    expect(res.status).toBe(201);
  });
});
