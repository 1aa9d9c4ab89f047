import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { encodeBinaryDataset } from './binary.ts';
import type { DatasetManifest } from './layout.ts';
import { datasetRoutes } from './routes.ts';
import { decodeShard } from './shard.ts';
import { datasetDirEntries, useDatasetServer } from './test-support.ts';

const TOKEN = 'test-operator-token';
const MAX_UPLOAD = 256 * 1024;
const served = useDatasetServer((app, registry) => {
  app.use(
    '/api/datasets',
    datasetRoutes(registry, TOKEN, { maxUploadBytes: MAX_UPLOAD, maxShardSamples: 4096 }),
  );
  app.use('/tight', datasetRoutes(registry, TOKEN, { maxShardBytes: 10_000 }));
});

const auth = { authorization: `Bearer ${TOKEN}` };
const CSV = `x1,x2,label\n${Array.from({ length: 20 }, (_, i) => `${i},${i * 2},${i % 2 === 0 ? 'even' : 'odd'}`).join('\n')}\n`;

async function upload(
  body: string | Uint8Array,
  contentType: string,
  query = '',
  headers: Record<string, string> = auth,
) {
  const res = await fetch(`${served.base}${query}`, {
    method: 'POST',
    headers: { 'content-type': contentType, ...headers },
    body: typeof body === 'string' ? body : new Uint8Array(body),
  });
  return { status: res.status, headers: res.headers, json: (await res.json()) as Record<string, unknown> };
}

function expectError(
  result: { status: number; json: Record<string, unknown> },
  status: number,
  code: string,
  message?: RegExp,
) {
  expect(result.status).toBe(status);
  expect(result.json).toMatchObject({ ok: false, code });
  if (message) expect(result.json.message).toMatch(message);
}

describe('dataset uploads', () => {
  it('needs the operator token: 401 without, 403 when wrong, and nothing is stored', async () => {
    expectError(await upload(CSV, 'text/csv', '', {}), 401, 'UNAUTHORIZED');
    expectError(await upload(CSV, 'text/csv', '', { authorization: 'Bearer wrong' }), 403, 'FORBIDDEN');
    expect(served.registry.list()).toEqual([]);
  });

  it('imports a CSV and reports the upload by its id', async () => {
    const res = await upload(
      CSV,
      'text/csv; charset=utf-8',
      '?name=parity&testFraction=0.25&seed=3&uploadId=upload-0001',
    );
    expect(res.status).toBe(201);
    const dataset = res.json.dataset as DatasetManifest;
    expect(dataset).toMatchObject({
      name: 'parity',
      trainSize: 15,
      testSize: 5,
      classNames: ['even', 'odd'],
      split: { seed: 3 },
    });
    expect(res.json.uploadId).toBe('upload-0001');

    const list = (await (await fetch(served.base)).json()) as { datasets: DatasetManifest[] };
    expect(list.datasets.map((d) => d.id)).toContain(dataset.id);
    const one = (await (await fetch(`${served.base}/${dataset.id}`)).json()) as { dataset: DatasetManifest };
    expect(one.dataset).toEqual(dataset);

    const progress = (await (await fetch(`${served.base}/uploads/upload-0001`)).json()) as { upload: object };
    expect(progress.upload).toMatchObject({
      phase: 'done',
      receivedBytes: Buffer.byteLength(CSV),
      totalBytes: Buffer.byteLength(CSV),
      datasetId: dataset.id,
    });
    expect((await fetch(`${served.base}/uploads/unknown-upload`)).status).toBe(404);
  });

  it('imports the binary layout, whatever the label column says', async () => {
    const file = encodeBinaryDataset(
      { name: 'tiny', featureShape: [2], dtype: 'uint8', numClasses: 2, trainSize: 2, testSize: 1 },
      {
        trainX: Buffer.from([1, 2, 3, 4]),
        trainY: Buffer.from([0, 1]),
        testX: Buffer.from([5, 6]),
        testY: Buffer.from([1]),
      },
    );
    const res = await upload(file, 'application/octet-stream');
    expect(res.status).toBe(201);
    expect(res.json.dataset).toMatchObject({ name: 'tiny', source: 'binary', trainSize: 2 });
    expectError(
      await upload(file, 'application/octet-stream', '?label=y'),
      400,
      'BAD_REQUEST',
      /apply to CSV uploads/,
    );
  });

  it('answers bad uploads with row and column, and leaves nothing behind', async () => {
    const before = datasetDirEntries(served.dataDir);
    const bad = CSV.replace('3,6,odd', '3,six,odd');
    const res = await upload(bad, 'text/csv', '?uploadId=upload-0002');
    expectError(
      res,
      400,
      'BAD_REQUEST',
      /^row 5, column 2 \("x2"\): "six" is not a number, but the column held numbers from row 2 on/,
    );
    const progress = (await (await fetch(`${served.base}/uploads/upload-0002`)).json()) as { upload: object };
    expect(progress.upload).toMatchObject({ phase: 'failed', error: { code: 'BAD_REQUEST' } });
    expect(datasetDirEntries(served.dataDir)).toEqual(before);

    // An error early in a large body still arrives as JSON: the rest of the body is read first.
    const large = `x,label\n1,a\nbad,b\n${'1,a\n'.repeat(50_000)}`;
    const early = await upload(large, 'text/csv');
    expectError(early, 400, 'BAD_REQUEST', /row 3, column 1 \("x"\)/);
    expect(early.headers.get('connection')).not.toBe('close');
    expect(datasetDirEntries(served.dataDir)).toEqual(before);
  });

  it('leaves nothing behind when the client goes away mid-upload', async () => {
    const before = datasetDirEntries(served.dataDir);
    const { port } = served.server.address() as AddressInfo;
    const req = http.request({
      host: '127.0.0.1',
      port,
      method: 'POST',
      path: '/api/datasets?uploadId=upload-abort',
      headers: { 'content-type': 'text/csv', 'content-length': '100000', ...auth },
    });
    req.on('error', () => undefined);
    req.write('a,label\n1,x\n2,y\n');
    await expect
      .poll(
        async () =>
          ((await (await fetch(`${served.base}/uploads/upload-abort`)).json()) as { upload?: object }).upload,
      )
      .toMatchObject({ phase: 'receiving', receivedBytes: 16 });
    req.destroy();
    await expect
      .poll(
        async () =>
          ((await (await fetch(`${served.base}/uploads/upload-abort`)).json()) as { upload: object }).upload,
      )
      .toMatchObject({ phase: 'failed', error: { code: 'ABORTED' } });
    expect(datasetDirEntries(served.dataDir)).toEqual(before);
  });

  it('refuses unknown content types, bad parameters and empty bodies', async () => {
    expectError(
      await upload(CSV, 'application/x-www-form-urlencoded'),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
      /text\/csv/,
    );
    expect((await upload(CSV, 'application/x-www-form-urlencoded', '?format=csv')).status).toBe(201);
    expectError(
      await upload(CSV, 'text/csv', '?testFraction=abc'),
      400,
      'BAD_REQUEST',
      /testFraction must be a number/,
    );
    expectError(
      await upload(CSV, 'text/csv', '?testFraction=1'),
      400,
      'BAD_REQUEST',
      /testFraction must be between 0 and 1/,
    );
    expectError(await upload(CSV, 'text/csv', '?name=a&name=b'), 400, 'BAD_REQUEST', /"name" once/);
    expectError(await upload(CSV, 'text/csv', '?uploadId=x'), 400, 'BAD_REQUEST', /uploadId/);
    expectError(await upload('', 'text/csv'), 400, 'BAD_REQUEST', /empty/);
  });

  it('refuses an oversized upload with 413: early from Content-Length, or while counting a chunked body', async () => {
    const before = datasetDirEntries(served.dataDir);
    const big = Buffer.alloc(MAX_UPLOAD + 1, 0x31);
    const declared = await upload(big, 'text/csv');
    expectError(
      declared,
      413,
      'PAYLOAD_TOO_LARGE',
      new RegExp(`is ${MAX_UPLOAD + 1} bytes; the limit is ${MAX_UPLOAD} bytes`),
    );
    expect(declared.headers.get('connection')).toBe('close');

    const header = Buffer.from('a,label\n');
    const row = Buffer.from('1,x\n'.repeat(4096));
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(header);
        for (let sent = 0; sent <= MAX_UPLOAD; sent += row.length) controller.enqueue(row);
        controller.close();
      },
    });
    const res = await fetch(served.base, {
      method: 'POST',
      headers: { 'content-type': 'text/csv', ...auth },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', message: /larger than the limit/ });
    expect(datasetDirEntries(served.dataDir)).toEqual(before);
  });
});

describe('dataset reads and shards', () => {
  it('404s an unknown dataset', async () => {
    for (const url of [
      `${served.base}/ds-000000000000`,
      `${served.base}/ds-000000000000/samples?start=0&end=1`,
      `${served.base}/..%2Fetc`,
    ]) {
      const res = await fetch(url);
      expect(res.status).toBe(404);
      expect(await res.json()).toMatchObject({ ok: false, code: 'NOT_FOUND' });
    }
  });

  it('prepares mnist on first GET, then lists it', async () => {
    const res = await fetch(`${served.base}/mnist`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { dataset: DatasetManifest }).dataset).toMatchObject({
      id: 'mnist',
      trainSize: 8000,
    });
    const list = (await (await fetch(served.base)).json()) as { datasets: DatasetManifest[] };
    expect(list.datasets.filter((d) => d.id === 'mnist')).toHaveLength(1);
  });

  it('serves a shard as immutable binary equal to readRaw, with a strong ETag and 304', async () => {
    const url = `${served.base}/mnist/samples?split=test&start=100&end=356`;
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/octet-stream');
    expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    const etag = res.headers.get('etag');
    expect(etag).toMatch(/^"[0-9a-f]{40}"$/);
    const bytes = Buffer.from(await res.arrayBuffer());
    expect(bytes.equals(served.registry.readRaw('mnist', 'test', 100, 356))).toBe(true);
    expect(decodeShard(bytes)).toMatchObject({ count: 256, featureCount: 784, start: 100, split: 'test' });

    for (const inm of [etag as string, `W/${etag}`, `"other", ${etag}`]) {
      const again = await fetch(url, { headers: { 'if-none-match': inm } });
      expect(again.status).toBe(304);
      expect(again.headers.get('etag')).toBe(etag);
    }
    expect((await fetch(url, { headers: { 'if-none-match': '"other"' } })).status).toBe(200);
    const other = await fetch(`${served.base}/mnist/samples?split=train&start=100&end=356`);
    expect(other.headers.get('etag')).not.toBe(etag);
  });

  it('refuses bad ranges with the reason', async () => {
    const cases: [string, RegExp][] = [
      ['start=0', /give the sample range/],
      ['start=a&end=2', /start must be a whole number, got "a"/],
      ['start=1.5&end=2', /start must be a whole number/],
      ['start=-1&end=2', /start must be a whole number/],
      ['start=5&end=5', /end must be greater than start/],
      ['start=0&end=8001', /end 8001 is past the end of the train split \(8000 samples\)/],
      ['split=test&start=0&end=2001', /past the end of the test split/],
      ['split=validation&start=0&end=1', /split must be "train" or "test"/],
      ['start=0&end=5000', /at most 4096 samples/],
    ];
    for (const [query, message] of cases) {
      const res = await fetch(`${served.base}/mnist/samples?${query}`);
      expect(res.status, query).toBe(400);
      expect(res.headers.get('cache-control'), query).toBeNull();
      expect(await res.json()).toMatchObject({ ok: false, code: 'BAD_REQUEST', message });
    }
    const tight = await fetch(
      `${served.base.replace('/api/datasets', '/tight')}/mnist/samples?start=0&end=13`,
    );
    expect(tight.status).toBe(400);
    expect(await tight.json()).toMatchObject({
      message:
        'a shard is at most 10000 bytes; 13 samples of this dataset are 10245 bytes (ask for at most 12)',
    });
    expect(
      (await fetch(`${served.base.replace('/api/datasets', '/tight')}/mnist/samples?start=0&end=12`)).status,
    ).toBe(200);
  });
});
