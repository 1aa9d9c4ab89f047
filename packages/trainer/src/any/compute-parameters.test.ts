// A compute downloads the job's checkpoint and uploads its own (ComputePort.loadJobFromCoordinator,
// uploadCheckpoint): what the trainer's worker does so that the page never holds, decodes or
// encodes the vector. In-process here, on the cpu backend, against a stub of the coordinator.
import * as tf from '@tensorflow/tfjs';
import { decodeFrame, encodeFp32Frame, frameValues, presetLayout } from '@tabswarm/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalCompute } from './local-compute.ts';
import { MemoryShardCache } from './shard-cache.ts';
import { MemorySnapshotStore, type SnapshotStore } from './snapshot-store.ts';
import { jobSpec, makeShard } from './test-support.ts';
import { DATASET, grant } from './test-fakes.ts';

const spec = jobSpec({ training: { batchSize: 4, localSteps: 2 } });
const size = presetLayout('mnist-mlp', {
  inputShape: DATASET.featureShape,
  numClasses: DATASET.numClasses,
}).total;
const request = {
  jobId: 'job-a',
  requestId: '0123456789abcdef',
  uploadUrl: '/api/jobs/job-a/checkpoint-uploads/0123456789abcdef',
  token: 'upload-secret',
  deadline: Date.now() + 60_000,
};

interface Posted {
  readonly url: string;
  readonly authorization: string | null;
  readonly body: Uint8Array;
}

const computes: LocalCompute[] = [];
afterEach(() => {
  for (const c of computes.splice(0)) c.dispose();
});

/** The coordinator's latest checkpoint of job-a, as GET /api/jobs/job-a/parameters serves it. */
const checkpoint = Float32Array.from({ length: size }, (_, i) => ((i % 13) - 6) / 100);

/** Checkpoint 2 of job-a, where a replicated lease starts (GET /api/jobs/job-a/checkpoints/2). */
const checkpointTwo = Float32Array.from({ length: size }, (_, i) => ((i % 5) - 2) / 50);

async function loaded(status = 200, snapshots: SnapshotStore = new MemorySnapshotStore(), loadJob = true) {
  const posted: Posted[] = [];
  const gets: string[] = [];
  const fetchStub = (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    if ((init?.method ?? 'GET') === 'GET') {
      gets.push(new URL(url).pathname);
      if (url.includes('/samples?')) return Promise.resolve(new Response(makeShard(DATASET, 0, 8).slice()));
      if (/\/checkpoints\/\d+$/.test(url) && !url.endsWith('/checkpoints/2'))
        return Promise.resolve(
          new Response('{"code":"NOT_FOUND","message":"no such checkpoint"}', { status: 404 }),
        );
      const frame = encodeFp32Frame({
        jobId: 'job-a',
        senderId: 'coordinator',
        round: 0,
        values: url.endsWith('/checkpoints/2') ? checkpointTwo : checkpoint,
      });
      return Promise.resolve(
        new Response(frame.slice().buffer, {
          headers: { 'content-length': String(frame.byteLength), 'x-checkpoint-seq': '3' },
        }),
      );
    }
    const headers = new Headers(init?.headers);
    posted.push({
      url,
      authorization: headers.get('authorization'),
      body: new Uint8Array(init?.body as ArrayBuffer),
    });
    return Promise.resolve(
      status === 200
        ? new Response(null, { status: 204 })
        : new Response(JSON.stringify({ code: 'UPLOAD_REFUSED', message: 'no' }), { status }),
    );
  };
  const compute = new LocalCompute({
    cache: new MemoryShardCache(),
    shards: { fetch: fetchStub, attempts: 1 },
    snapshots,
    startBackend: async () => {
      await tf.setBackend('cpu');
      return { backend: 'cpu', fallbackReason: null, adapter: null };
    },
  });
  computes.push(compute);
  await compute.start({ baseUrl: 'http://coordinator.test:8080' });
  const progress: number[] = [];
  const job = { jobId: 'job-a', spec, dataset: DATASET, latestSeq: null };
  const layout = loadJob
    ? await compute.loadJobFromCoordinator({ ...job, parameterCount: size }, (p) => progress.push(p.loaded))
    : null;
  return { compute, posted, gets, values: checkpoint, layout, progress, job };
}

describe('a compute downloading the job it loads', () => {
  it('loads the latest checkpoint with its progress, and refuses one of another length', async () => {
    const { compute, layout, progress, job } = await loaded();
    expect(layout?.layout.total).toBe(size);
    expect((await compute.parameters())?.values).toEqual(checkpoint);
    expect(progress.at(-1)).toBe(servedFrameBytes());
    await expect(compute.loadJobFromCoordinator({ ...job, parameterCount: size + 1 })).rejects.toThrow(
      /has \d+ parameters, the coordinator sent \d+/,
    );
  });
});

/** The byte length of the served frame (what the download's last progress says it loaded). */
function servedFrameBytes(): number {
  return encodeFp32Frame({ jobId: 'job-a', senderId: 'coordinator', round: 0, values: checkpoint })
    .byteLength;
}

describe('a compute uploading its own checkpoint', () => {
  it('encodes its current parameters as an fp32 frame from the node and posts it with the request token', async () => {
    const { compute, posted, values } = await loaded();
    expect(await compute.uploadCheckpoint(request, 'vnode1')).toBe(true);
    expect(posted).toHaveLength(1);
    expect(posted[0]?.url).toBe(
      'http://coordinator.test:8080/api/jobs/job-a/checkpoint-uploads/0123456789abcdef',
    );
    expect(posted[0]?.authorization).toBe('Bearer upload-secret');
    const frame = decodeFrame(posted[0]?.body ?? new Uint8Array());
    if (!frame.ok) throw new Error(frame.message);
    expect(frame.header.senderId).toBe('vnode1');
    expect(frame.header.jobId).toBe('job-a');
    expect(frameValues(frame)).toEqual(values);
  });

  it('sends nothing for a job it does not hold, and throws on a refused upload', async () => {
    const { compute, posted } = await loaded();
    expect(await compute.uploadCheckpoint({ ...request, jobId: 'job-b' }, 'vnode1')).toBe(false);
    expect(posted).toHaveLength(0);
    const refused = await loaded(409);
    await expect(refused.compute.uploadCheckpoint(request, 'vnode1')).rejects.toThrow(/HTTP 409/);
  });
});

describe('a compute keeping its restart snapshot', () => {
  it('keeps its parameters where the next compute of the trainer loads them, and answers checkpoint requests from them', async () => {
    const store = new MemorySnapshotStore(); // Cache Storage in a browser: it outlives the worker
    const first = await loaded(200, store);
    const trained = Float32Array.from({ length: size }, (_, i) => (i % 3) / 10);
    await first.compute.setParameters({ jobId: 'job-a', values: trained });
    expect(await first.compute.saveSnapshot()).toEqual({ jobId: 'job-a', elements: size });
    first.compute.dispose();
    const next = await loaded(200, store);
    const job = { jobId: 'job-a', spec, dataset: DATASET, parameterCount: size };
    expect(await next.compute.loadJobFromSnapshot({ ...job, parameterCount: size + 1 })).toBeNull();
    expect(await next.compute.loadJobFromSnapshot({ ...job, jobId: 'job-b' })).toBeNull();
    expect(await next.compute.loadJobFromSnapshot(job)).toMatchObject({ jobId: 'job-a' });
    expect((await next.compute.parameters())?.values).toEqual(trained);
    // A compute that holds no job (just restarted) answers a checkpoint request from the snapshot.
    const bare = await loaded(200, store, false);
    expect(await bare.compute.uploadCheckpoint({ ...request, jobId: 'job-b' }, 'vnode1')).toBe(false);
    expect(await bare.compute.uploadCheckpoint(request, 'vnode1')).toBe(true);
    const frame = decodeFrame(bare.posted[0]?.body ?? new Uint8Array());
    if (!frame.ok) throw new Error(frame.message);
    expect(frameValues(frame)).toEqual(trained);
  });
});

describe('a compute training a replicated lease named by its checkpoint', () => {
  it('downloads the checkpoint itself and trains from it', async () => {
    const { compute, gets } = await loaded();
    const outcome = await compute.train({ lease: grant('job-a', 0), replica: { checkpoint: 2, seed: 7 } });
    expect(outcome.ok, outcome.ok ? '' : outcome.message).toBe(true);
    expect(gets).toContain('/api/jobs/job-a/checkpoints/2');
    // The update's statistics: what a replicated lease reports for validation.
    expect(outcome.ok && outcome.update?.norm).toBeGreaterThan(0);
  });

  it('fails the shard, saying which checkpoint, when it cannot be downloaded', async () => {
    const { compute } = await loaded();
    const outcome = await compute.train({ lease: grant('job-a', 0), replica: { checkpoint: 9, seed: 7 } });
    expect(outcome.ok).toBe(false);
    expect(outcome.ok ? '' : outcome.message).toMatch(/^could not load checkpoint 9: /);
  });
});
