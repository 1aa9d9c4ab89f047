// 100 leases through the real lease loop and the real in-process compute (TensorFlow.js on WebGPU
// here): the tensor count stays flat across leases, job switches, cancellations, failed shards and
// checkpoint uploads. The same harness with a leaking averaging hook shows the check has teeth.
import * as tf from '@tensorflow/tfjs';
import { presetLayout, type LeaseGrantInfo } from '@tabswarm/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { mulberry32 as seededRandom } from '@tabswarm/core';
import { LocalCompute } from './local-compute.ts';
import { sleep } from './pacing.ts';
import { MemoryShardCache } from './shard-cache.ts';
import { jobInfo, jobSpec, makeShard } from './test-support.ts';
import { DATASET, FakeApi, FakeCoordinator, grant } from './test-fakes.ts';
import type { AveragingHook } from './trainer-ports.ts';
import type { TrainerEvent } from './trainer-status.ts';
import { VolunteerTrainer } from './volunteer-trainer.ts';

const BASE = location.origin;
const spec = jobSpec({ training: { batchSize: 4, localSteps: 2, learningRate: 0.01 } });
const size = presetLayout('mnist-mlp', {
  inputShape: DATASET.featureShape,
  numClasses: DATASET.numClasses,
}).total;

function initial(seed: number): Float32Array {
  const random = seededRandom(seed);
  return Float32Array.from({ length: size }, () => (random() - 0.5) * 0.2);
}

/** Shards over a fake fetch: 404 for shard 999, else 8 synthetic samples. */
const shardFetch = (input: string | URL | Request): Promise<Response> => {
  const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
  const start = Number(url.searchParams.get('start'));
  if (start === 999 * 8) return Promise.resolve(new Response('{}', { status: 404 }));
  return Promise.resolve(new Response(makeShard(DATASET, start, 8).slice().buffer));
};

const trainers: VolunteerTrainer[] = [];
afterEach(async () => {
  await Promise.all(trainers.splice(0).map((t) => t.stop()));
});

function setup(averaging?: AveragingHook) {
  const coordinator = new FakeCoordinator();
  const api = new FakeApi();
  api.add(jobInfo('job-a', spec, size), initial(1));
  api.add(jobInfo('job-b', spec, size), initial(2));
  const trainer = new VolunteerTrainer({
    baseUrl: BASE,
    api,
    coordinator,
    createCompute: () =>
      new LocalCompute({ cache: new MemoryShardCache(), shards: { fetch: shardFetch, attempts: 1 } }),
    nodeId: () => 'vleaktest',
    calibrationSteps: 1,
    retryMs: 1,
    ...(averaging ? { averaging } : {}),
  });
  trainers.push(trainer);
  return { coordinator, api, trainer };
}

/** Runs until `done` shards are reported; returns tf.memory().numTensors at each completion. */
async function tensorsPerShard(trainer: VolunteerTrainer, done: number, onEvent?: (e: TrainerEvent) => void) {
  const counts: number[] = [];
  trainer.run();
  for await (const event of trainer.events) {
    onEvent?.(event);
    if (event.type === 'shard-done') {
      counts.push(tf.memory().numTensors);
      if (counts.length === done) break;
    }
  }
  return counts;
}

describe('memory across leases', () => {
  it('tf.memory().numTensors stays flat across 100 leases', async () => {
    const { coordinator, api, trainer } = setup();
    const script: LeaseGrantInfo[] = [];
    for (let i = 0; i < 100; i++) script.push(grant(i >= 50 && i < 60 ? 'job-b' : 'job-a', i % 20));
    // Faults along the way: a shard that cannot be downloaded, and a lease the coordinator cancels.
    const missing = grant('job-a', 999);
    const cancelled = grant('job-a', 3);
    script.splice(30, 0, missing);
    script.splice(70, 0, cancelled);
    coordinator.script.push(...script);
    await trainer.start();
    const counts = await tensorsPerShard(trainer, 100, (event) => {
      if (event.type === 'lease' && event.lease.leaseId === cancelled.leaseId) {
        trainer.leaseCancelled({ leaseId: cancelled.leaseId, reason: 'test' });
      }
      if (event.type === 'shard-done' && (event.lease.shard === 5 || event.lease.shard === 15)) {
        trainer.checkpointRequested({
          jobId: event.lease.jobId,
          requestId: '0123456789abcdef',
          uploadUrl: `/api/jobs/${event.lease.jobId}/checkpoint-uploads/0123456789abcdef`,
          token: 't',
          deadline: Date.now() + 10_000,
        });
      }
    });
    expect(counts).toHaveLength(100);
    expect(coordinator.releases.map((r) => r.leaseId)).toEqual([missing.leaseId]);
    expect(trainer.status.cancelledLeases).toBe(1);
    expect(api.uploads.length).toBeGreaterThan(0);
    // Same job loaded at lease 10 and lease 100 (job-b ran in between): the same number of tensors.
    const settled = counts.slice(9);
    expect(
      new Set(settled.filter((_, i) => i + 9 < 49 || i + 9 >= 61)).size,
      `tensor counts: ${counts.join(' ')}`,
    ).toBe(1);
    expect(counts[99]).toBe(counts[9]);
    console.log(
      `100 leases on ${trainer.status.backend?.backend}: ${counts[9]} tensors after lease 10, ${counts[99]} after lease 100`,
    );
  });

  it('the same check catches a leak (a hook that keeps one tensor per shard)', async () => {
    const kept: tf.Tensor[] = [];
    const { coordinator, trainer } = setup({
      afterShard: () => {
        kept.push(tf.tensor1d([1, 2, 3]));
        return sleep(0);
      },
    });
    for (let i = 0; i < 12; i++) coordinator.script.push(grant('job-a', i));
    await trainer.start();
    const counts = await tensorsPerShard(trainer, 12);
    tf.dispose(kept);
    expect(counts[11]).toBeGreaterThan(counts[1] as number);
  });
});
