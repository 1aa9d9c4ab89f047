import { afterEach, describe, expect, it, vi } from 'vitest';
import { Api, ApiError } from './api.ts';

/** Every request, fetch or XHR, answers `body` as JSON with `status`. */
function answerAll(body: unknown, status = 200): void {
  const text = JSON.stringify(body);
  vi.stubGlobal('fetch', () => Promise.resolve(new Response(text, { status })));
  vi.stubGlobal(
    'XMLHttpRequest',
    class {
      status = 0;
      responseText = '';
      upload = {};
      onload: (() => void) | null = null;
      open(): void {}
      setRequestHeader(): void {}
      send(): void {
        this.status = status;
        this.responseText = text;
        setTimeout(() => this.onload?.(), 0);
      }
    },
  );
}

afterEach(() => {
  vi.unstubAllGlobals();
});

/** The ApiError a call ends in. */
async function failure(call: () => Promise<unknown>): Promise<ApiError> {
  const error: unknown = await call().then(
    () => null,
    (e: unknown) => e,
  );
  if (!(error instanceof ApiError)) throw new Error(`expected an ApiError, got ${String(error)}`);
  return error;
}

const api = new Api();
const file = new Blob(['x1,label\n1,a\n']);
/** Each client call and the route whose reply it parses. */
const CALLS: [string, () => Promise<unknown>][] = [
  ['GET /api/jobs', () => api.jobs()],
  ['GET /api/jobs/:jobId', () => api.job('job-0123456789ab')],
  ['GET /api/jobs/:jobId/metrics', () => api.metrics('job-0123456789ab')],
  ['GET /api/gossip/links', () => api.links()],
  ['GET /api/jobs/:jobId/consensus', () => api.consensus('job-0123456789ab')],
  ['GET /api/events', () => api.events()],
  ['GET /api/datasets', () => api.datasets()],
  ['GET /api/datasets/uploads/:uploadId', () => api.uploadStatus('upload-0001')],
  ['POST /api/jobs', () => api.submitJob({ name: 'x' }, 'token')],
  ['POST /api/jobs/:jobId/:action', () => api.control('job-0123456789ab', 'pause', 'token')],
  [
    'POST /api/datasets',
    () => api.uploadDataset(file, { format: 'csv', uploadId: 'upload-0001' }, 'token', () => undefined),
  ],
];

describe('the dashboard’s REST client', () => {
  it('rejects a malformed reply of every call with BAD_PAYLOAD naming the route, never casting it through', async () => {
    for (const body of [{}, { jobs: [{ id: 'job-1' }], job: { id: 'x' }, nodes: 'none', ok: true }]) {
      answerAll(body);
      for (const [route, call] of CALLS) {
        const error = await failure(call);
        expect(error.code, route).toBe('BAD_PAYLOAD');
        expect(error.message.startsWith(`${route}: `), error.message).toBe(true);
      }
    }
  });

  it('reads error bodies with the REST error schema, and stands in when there is none', async () => {
    answerAll({ ok: false, code: 'NOT_FOUND', message: 'no such job' }, 404);
    expect(await failure(() => api.job('job-0123456789ab'))).toMatchObject({
      status: 404,
      code: 'NOT_FOUND',
    });
    answerAll({ code: 42 }, 500);
    expect(await failure(() => api.job('job-0123456789ab'))).toMatchObject({ status: 500, code: 'HTTP_500' });
  });

  it('accepts a well-formed reply', async () => {
    answerAll({
      events: [{ seq: 1, at: 1, kind: 'join', level: 'info', jobId: null, nodeId: null, message: 'hi' }],
    });
    expect(await api.events()).toHaveLength(1);
  });
});

describe('the dataset upload', () => {
  it('sends the CSV preprocessing choices as ?numeric= and ?columns=, and keeps the column summary', async () => {
    const opened: string[] = [];
    const summary = [
      { name: 'age', kind: 'numeric', preprocessing: 'none', min: 1, max: 90, mean: 40, std: 12 },
    ];
    const dataset = {
      id: 'ds-0123456789ab',
      name: 'people',
      source: 'csv',
      featureShape: [1],
      numClasses: 2,
    };
    const reply = JSON.stringify({
      ok: true,
      uploadId: 'upload-0001',
      dataset: { ...dataset, trainSize: 8, testSize: 2, columnSummary: summary },
    });
    vi.stubGlobal(
      'XMLHttpRequest',
      class {
        status = 0;
        responseText = '';
        upload = {};
        onload: (() => void) | null = null;
        open(_method: string, url: string): void {
          opened.push(url);
        }
        setRequestHeader(): void {}
        send(): void {
          this.status = 201;
          this.responseText = reply;
          setTimeout(() => this.onload?.(), 0);
        }
      },
    );
    const uploaded = await api.uploadDataset(
      file,
      { format: 'csv', uploadId: 'upload-0001', numeric: 'none', columns: ' {"id":"drop"} ' },
      'token',
      () => undefined,
    );
    const params = new URL(opened[0] ?? '', 'http://x').searchParams;
    expect(params.get('numeric')).toBe('none');
    expect(params.get('columns')).toBe('{"id":"drop"}');
    expect(uploaded.columnSummary).toEqual(summary);
  });
});
