// Parameter downloads (issue 15 item 5): a model of tens of MB shows its progress as it comes, is
// kept in a checkpoint cache so that a reloaded tab or a restarted worker does not download it
// again, a cached frame that no longer decodes is fetched anew, and nothing reads past the largest
// model a job may have.
import { describe, expect, it } from 'vitest';
import { encodeFp32Frame } from '@tabswarm/protocol';
import { HttpCoordinatorApi } from './coordinator-api.ts';
import { MemoryShardCache } from './any/shard-cache.ts';
import { MAX_DOWNLOAD_BYTES, type DownloadProgress } from './download.ts';

const BASE = 'http://coordinator.test';
const JOB = 'job-0123456789ab';
const values = Float32Array.from({ length: 50_000 }, (_, i) => Math.sin(i));
const frame = encodeFp32Frame({ jobId: JOB, senderId: 'coordinator', round: 0, values });

/** A coordinator serving checkpoint `seq` in 16 KiB chunks; it counts what it serves. */
function coordinator(seq = 3) {
  const served: string[] = [];
  const fetch = (url: string | URL | Request): Promise<Response> => {
    const path = new URL(url instanceof Request ? url.url : url).pathname;
    served.push(path);
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let at = 0; at < frame.byteLength; at += 16 * 1024)
          controller.enqueue(frame.slice(at, at + 16 * 1024));
        controller.close();
      },
    });
    return Promise.resolve(
      new Response(body, {
        headers: { 'content-length': String(frame.byteLength), 'x-checkpoint-seq': String(seq) },
      }),
    );
  };
  return { fetch, served };
}

describe('parameter downloads', () => {
  it('report their progress up to the whole frame', async () => {
    const { fetch } = coordinator();
    const progress: DownloadProgress[] = [];
    const got = await new HttpCoordinatorApi(BASE, { fetch }).getParameters(JOB, {
      onProgress: (p) => progress.push(p),
    });
    expect(got.seq).toBe(3);
    expect(got.values).toEqual(values);
    expect(progress.length).toBeGreaterThan(5);
    expect(progress.every((p) => p.total === frame.byteLength)).toBe(true);
    expect(progress.map((p) => p.loaded)).toEqual([...progress.map((p) => p.loaded)].sort((a, b) => a - b));
    expect(progress.at(-1)?.loaded).toBe(frame.byteLength);
  });

  it('come from the cache the second time, for the checkpoint the job names', async () => {
    const { fetch, served } = coordinator();
    const cache = new MemoryShardCache();
    const api = new HttpCoordinatorApi(BASE, { fetch, cache });
    await api.getParameters(JOB, { latestSeq: 3 });
    expect(served).toEqual([`/api/jobs/${JOB}/parameters`]);
    // A reloaded tab: a new client on the same cache downloads nothing.
    const again = await new HttpCoordinatorApi(BASE, { fetch, cache }).getParameters(JOB, { latestSeq: 3 });
    expect(again).toEqual({ values, seq: 3 });
    expect(await new HttpCoordinatorApi(BASE, { fetch, cache }).getCheckpoint(JOB, 3)).toEqual(values);
    expect(served).toHaveLength(1);
    // A newer checkpoint is downloaded.
    await api.getParameters(JOB, { latestSeq: 4 });
    expect(served).toHaveLength(2);
  });

  it('fetch anew when the cached frame no longer decodes', async () => {
    const { fetch, served } = coordinator();
    const cache = new MemoryShardCache();
    const url = `${BASE}/api/jobs/${JOB}/checkpoints/3`;
    const corrupt = frame.slice();
    corrupt[corrupt.byteLength - 1] = (corrupt[corrupt.byteLength - 1] as number) ^ 0xff;
    await cache.put(url, corrupt);
    const got = await new HttpCoordinatorApi(BASE, { fetch, cache }).getParameters(JOB, { latestSeq: 3 });
    expect(got.values).toEqual(values);
    expect(served).toHaveLength(1);
    expect(await cache.get(url)).toEqual(frame); // replaced by the good one
  });

  it('refuse a body larger than the largest model a job may have', async () => {
    const fetch = (): Promise<Response> =>
      Promise.resolve(
        new Response(new Uint8Array(16), { headers: { 'content-length': String(MAX_DOWNLOAD_BYTES + 1) } }),
      );
    await expect(new HttpCoordinatorApi(BASE, { fetch }).getParameters(JOB)).rejects.toMatchObject({
      code: 'HTTP_FAILED',
    });
  });
});
