import { describe, expect, it } from 'vitest';
import { decodeFrame, frameValues } from '@tabswarm/protocol';
import { FedAvgClient, type FedAvgPort, type FedAvgResult } from './fedavg-client.ts';

/** A coordinator stand-in: answers each upload with a fixed "average" after `delayMs`. */
function port(average: (values: Float32Array) => Float32Array, delayMs = 0) {
  const uploads: { values: Float32Array; samples: number }[] = [];
  const fake: FedAvgPort = {
    async upload(frame, samples): Promise<FedAvgResult> {
      const decoded = decodeFrame(frame);
      if (!decoded.ok) return { ok: false, code: decoded.code, message: decoded.message };
      const values = frameValues(decoded).slice();
      uploads.push({ values, samples });
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      return { ok: true, round: uploads.length, participants: 2, values: average(values) };
    },
  };
  return { fake, uploads };
}

describe('FedAvg client', () => {
  it('waits for the round when overlap is off and takes the average', async () => {
    const { fake, uploads } = port((v) => v.map((x) => x / 2));
    const client = new FedAvgClient({ port: fake, jobId: 'job-1', nodeId: 'v1', overlap: false });
    const params = Float32Array.from([2, 4]);
    await client.afterShard(params, 64);
    expect(Array.from(params)).toEqual([1, 2]);
    expect(uploads[0]?.samples).toBe(64);
  });

  it('overlaps: keeps training, then applies average + local progress since the upload', async () => {
    const { fake, uploads } = port(() => Float32Array.from([10, 10]), 20);
    const client = new FedAvgClient({ port: fake, jobId: 'job-1', nodeId: 'v1' });
    const params = Float32Array.from([1, 1]);
    await client.afterShard(params, 32); // uploads [1, 1]
    params[0] = 1.5; // the next shard trained meanwhile
    await client.afterShard(params, 32); // round not closed yet: nothing applied, no second upload
    expect(Array.from(params)).toEqual([1.5, 1]);
    await client.settle();
    await client.afterShard(params, 32);
    expect(Array.from(params)).toEqual([10.5, 10]);
    // The second upload carries the samples of both shards trained since the first.
    expect(uploads.map((u) => u.samples)).toEqual([32, 64]);
  });

  it('with the outer optimizer uploads every syncEvery shards and steps from the round average', async () => {
    const { fake, uploads } = port(() => Float32Array.from([0, 0]));
    const outer = { syncEvery: 2, learningRate: 0.5, momentum: 0.9 };
    const client = new FedAvgClient({ port: fake, jobId: 'job-1', nodeId: 'v1', overlap: false, outer });
    // θ starts at the first shard's model [4, 4]; each "shard" adds nothing, so the local model
    // stays where averaging left it.
    const params = Float32Array.from([4, 4]);
    await client.afterShard(params, 10);
    expect(uploads.length).toBe(0);
    await client.afterShard(params, 10);
    // One upload, of both shards' samples; x̄ = 0, so g = θ − x̄ = 4 and v = 4:
    // θ ← 4 − 0.5·(4 + 0.9·4) = 0.2.
    expect(uploads.map((u) => u.samples)).toEqual([20]);
    expect(params[0]).toBeCloseTo(0.2, 6);
    expect(client.outer?.syncs).toBe(1);
    for (let shard = 0; shard < 3; shard++) await client.afterShard(params, 10);
    expect(uploads.length).toBe(2);
    // g = 0.2, v = 0.9·4 + 0.2 = 3.8: θ ← 0.2 − 0.5·(0.2 + 0.9·3.8) = −1.61 (momentum overshoots).
    expect(params[0]).toBeCloseTo(-1.61, 5);
    expect(client.bytesOut).toBeGreaterThan(2 * 8);
    expect(client.bytesIn).toBe(2 * 8);
  });

  it('with η = 1 and μ = 0 takes the round average exactly (plain FedAvg every syncEvery shards)', async () => {
    const { fake } = port((v) => v.map((x) => x / 2));
    const outer = { syncEvery: 1, learningRate: 1, momentum: 0 };
    const client = new FedAvgClient({ port: fake, jobId: 'job-1', nodeId: 'v1', overlap: false, outer });
    const params = Float32Array.from([2, 4]);
    await client.afterShard(params, 64);
    expect(Array.from(params)).toEqual([1, 2]);
  });
});
