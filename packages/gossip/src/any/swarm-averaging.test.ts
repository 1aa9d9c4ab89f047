import { afterEach, describe, expect, it } from 'vitest';
import { averagingSpecSchema } from '@tabswarm/protocol';
import { MemoryNetwork } from './connector.ts';
import type { FedAvgPort } from './fedavg-client.ts';
import { basicKernels } from './kernels.ts';
import { MemoryCoordinator } from './memory-coordinator.ts';
import { GossipMesh } from './mesh.ts';
import { SwarmAveraging, type ShardParameterAccess } from './swarm-averaging.ts';

const meshes: GossipMesh[] = [];
afterEach(() => {
  for (const m of meshes.splice(0)) m.close();
});

/** A trainer's parameters held elsewhere (a worker): read gives a copy, write replaces; both counted. */
function held(
  jobId: string,
  values: number[],
): ShardParameterAccess & { values: Float32Array; reads: number; writes: number } {
  const store = { values: Float32Array.from(values), reads: 0, writes: 0 };
  return {
    jobId,
    get values() {
      return store.values;
    },
    get reads() {
      return store.reads;
    },
    get writes() {
      return store.writes;
    },
    read: () => {
      store.reads++;
      return Promise.resolve(store.values.slice());
    },
    write: (v) => {
      store.writes++;
      store.values = v.slice();
      return Promise.resolve();
    },
  };
}

const context = {
  lease: { jobId: 'job-000000000001', start: 0, end: 64 },
  signal: new AbortController().signal,
};

describe('SwarmAveraging (the trainer hook)', () => {
  it('gossip jobs: two tabs average through their meshes after their shards', async () => {
    const network = new MemoryNetwork();
    const coordinator = new MemoryCoordinator();
    const spec = averagingSpecSchema.parse({ exchangeTimeoutMs: 1_000 });
    const hooks = ['vaaaa', 'vbbbb'].map((id) => {
      const mesh = new GossipMesh({
        coordinator: coordinator.join(id),
        connector: network.connector(id),
        reportIntervalMs: 0,
      });
      meshes.push(mesh);
      return new SwarmAveraging({ mesh, kernels: basicKernels, averaging: () => spec });
    });
    const [a, b] = [held('job-000000000001', [0, 4]), held('job-000000000001', [2, 0])];
    // b has no averager yet (no shard done): a's request is refused at once, not timed out.
    const started = Date.now();
    await hooks[0]?.afterShard(a, context);
    expect(Date.now() - started).toBeLessThan(500);
    expect(Array.from(a.values)).toEqual([0, 4]);
    await hooks[1]?.afterShard(b, context);
    expect(Array.from(b.values)).toEqual([1, 2]);
    // a answered while its trainer held the parameters: the change reaches them at its next shard.
    expect(Array.from(a.values)).toEqual([0, 4]);
    await hooks[0]?.afterShard(a, context);
    expect(Array.from(a.values)).toEqual([1, 2]);
    for (const h of hooks) h?.close();
  });

  it('fedavg jobs: uploads weighted by the lease samples and applies the round average', async () => {
    const network = new MemoryNetwork();
    const coordinator = new MemoryCoordinator();
    const mesh = new GossipMesh({
      coordinator: coordinator.join('vaaaa'),
      connector: network.connector('vaaaa'),
      reportIntervalMs: 0,
    });
    meshes.push(mesh);
    const uploads: number[] = [];
    const port: FedAvgPort = {
      upload: (_frame, samples) => {
        uploads.push(samples);
        return Promise.resolve({ ok: true, round: 0, participants: 2, values: Float32Array.from([9, 9]) });
      },
    };
    const spec = averagingSpecSchema.parse({ mode: 'fedavg' });
    const hook = new SwarmAveraging({
      mesh,
      kernels: basicKernels,
      averaging: () => spec,
      fedAvgPort: () => port,
    });
    const p = held('job-000000000001', [1, 1]);
    await hook.afterShard(p, context);
    await new Promise((resolve) => setTimeout(resolve, 0));
    await hook.afterShard(p, context); // the average arrives with no local progress since: [9, 9]
    expect(uploads[0]).toBe(64);
    expect(Array.from(p.values)).toEqual([9, 9]);
  });

  it('with the outer optimizer, shards that change nothing leave the parameters where they are', async () => {
    const network = new MemoryNetwork();
    const coordinator = new MemoryCoordinator();
    const mesh = new GossipMesh({
      coordinator: coordinator.join('vaaaa'),
      connector: network.connector('vaaaa'),
      reportIntervalMs: 0,
    });
    meshes.push(mesh);
    const outer = { syncEvery: 3, learningRate: 1, momentum: 0 };
    const uploads: number[] = [];
    const port: FedAvgPort = {
      upload: (_frame, samples) => {
        uploads.push(samples);
        return Promise.resolve({ ok: true, round: 0, participants: 2, values: Float32Array.from([9, 9]) });
      },
    };
    for (const mode of ['gossip', 'fedavg'] as const) {
      const spec = averagingSpecSchema.parse({ mode, exchangeTimeoutMs: 1_000, outer });
      const hook = new SwarmAveraging({
        mesh,
        kernels: basicKernels,
        averaging: () => spec,
        fedAvgPort: () => port,
      });
      const p = held('job-000000000001', [1, 1]);
      const readsAfter: number[] = [];
      for (let shard = 1; shard <= 6; shard++) {
        await hook.afterShard(p, context);
        await new Promise((resolve) => setTimeout(resolve, 0));
        readsAfter.push(p.reads);
      }
      // Read at the first shard (the averaging starts from it) and at each synchronisation (3, 6);
      // FedAvg also at shard 4, where the round's average arrived.
      expect(readsAfter).toEqual(mode === 'gossip' ? [1, 1, 2, 2, 2, 3] : [1, 1, 2, 3, 3, 4]);
      expect(p.writes).toBe(p.reads);
      hook.close();
    }
    // FedAvg uploaded at shards 3 and 6 with the samples of the shards since the last upload.
    expect(uploads).toEqual([3 * 64, 3 * 64]);
  });
});
