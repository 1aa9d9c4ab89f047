// Validated work (issue 16 part 2's acceptance): a lazy volunteer — it reports every shard done
// without training (lazy-compute.ts) — among three honest virtual volunteers against a real
// coordinator, on a job whose every shard is replicated (`validation.replication` 1). Each
// replicated lease starts from the checkpoint it names with a fresh optimizer, so two honest
// replicas agree to floating-point order; the lazy one's zero update agrees with nothing. Its
// first disagreement is settled by a third replica, it is outvoted, distrusted and loses its
// leases; the honest ones are never distrusted and earn credit. The control: the same swarm on a
// job without `validation` never judges anyone — the lazy volunteer's shards all count.
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryNetwork } from '@tabswarm/gossip';
import { presetTopology, type Contributor, type JobInfo, type NodeInfo } from '@tabswarm/protocol';
import type { UpdateStatistics } from '@tabswarm/core';
import type { ComputePort } from '@tabswarm/trainer';
import { lazyCompute, type LazyCounts } from './lazy-compute.ts';
import { mnistMlpJob } from './operator-client.ts';
import { until, useTestCoordinator } from './test-coordinator.ts';
import { VirtualVolunteer } from './virtual-volunteer.ts';

const coordinator = useTestCoordinator('validated-work');

const HONEST = 3;
/** The honest volunteer on the WebAssembly backend (the others run on TensorFlow.js's CPU backend). */
const WASM_LABEL = 'honest-1';

/** mnist-mlp without its hidden layer (softmax regression): four volunteers share this thread. */
function softmaxRegression(): Record<string, unknown> {
  const topology = presetTopology('mnist-mlp', { inputShape: [28, 28, 1], numClasses: 10 });
  topology.config.layers = topology.config.layers.filter((l) => l.config.name !== 'hidden');
  return topology;
}

async function get<T>(path: string): Promise<T> {
  const response = await fetch(`${coordinator.url}${path}`);
  expect(response.status).toBe(200);
  return (await response.json()) as T;
}

const credit = async (): Promise<Contributor[]> =>
  (await get<{ contributors: Contributor[] }>('/api/credit')).contributors;
const nodes = async (): Promise<NodeInfo[]> => (await get<{ nodes: NodeInfo[] }>('/api/nodes')).nodes;

/** Every honest replica's result, to measure how closely honest replicas agree. */
const honestResults: { shard: string; label: string; loss: number; update: UpdateStatistics }[] = [];

/** An honest compute whose replicated results are noted in honestResults. */
function recording(compute: ComputePort, label: string): ComputePort {
  return {
    ...compute,
    async train(task, onStep) {
      const outcome = await compute.train(task, onStep);
      if (outcome.ok && outcome.update !== undefined)
        honestResults.push({
          shard: `${task.lease.epoch}/${task.lease.shard}`,
          label,
          loss: outcome.loss,
          update: outcome.update,
        });
      return outcome;
    },
  };
}

/** The largest relative difference between two honest replicas of a shard (loss, norm, projections). */
function honestSpread(): { pairs: number; crossBackend: number; worst: number } {
  const byShard = new Map<string, typeof honestResults>();
  for (const r of honestResults) byShard.set(r.shard, [...(byShard.get(r.shard) ?? []), r]);
  let pairs = 0;
  let crossBackend = 0;
  let worst = 0;
  for (const results of byShard.values()) {
    for (let i = 0; i < results.length; i++)
      for (let j = i + 1; j < results.length; j++) {
        const a = results[i]!;
        const b = results[j]!;
        pairs++;
        if ((a.label === WASM_LABEL) !== (b.label === WASM_LABEL)) crossBackend++;
        const scale = Math.max(a.update.norm, b.update.norm);
        worst = Math.max(
          worst,
          Math.abs(a.loss - b.loss) / Math.max(a.loss, b.loss),
          Math.abs(a.update.norm - b.update.norm) / scale,
          ...a.update.projections.map((p, k) => Math.abs(p - b.update.projections[k]!) / scale),
        );
      }
  }
  return { pairs, crossBackend, worst };
}

let running: VirtualVolunteer[] = [];
afterEach(async () => {
  await Promise.allSettled(running.map((v) => v.stop()));
  running = [];
});

async function swarm(
  name: string,
  validation: { replication: number; tolerance: number } | null,
): Promise<{ job: JobInfo; lazy: VirtualVolunteer; honest: VirtualVolunteer[]; counts: LazyCounts }> {
  const job = await coordinator.operator.createJob({
    ...mnistMlpJob(name, { targetAccuracy: null, averaging: { mode: 'fedavg' } }),
    model: { kind: 'topology', topology: softmaxRegression() },
    // 10 steps of 32: 320 samples a shard, small enough for four volunteers on one thread.
    training: {
      optimizer: { type: 'adam' },
      learningRate: 0.01,
      batchSize: 32,
      localSteps: 10,
      epochs: 1,
      seed: 3,
    },
    ...(validation === null ? {} : { validation }),
  });
  const network = new MemoryNetwork();
  const counts: LazyCounts = { shards: 0, replicas: 0 };
  const make = (label: string, lazy: boolean, backend: 'cpu' | 'wasm' = 'cpu') =>
    new VirtualVolunteer({
      baseUrl: coordinator.url,
      network,
      backend,
      // One honest volunteer on the WebAssembly backend in its own thread: replicas must agree across backends.
      compute: backend === 'cpu' ? 'in-process' : 'thread',
      averaging: false,
      label,
      wrapCompute: lazy ? (c) => lazyCompute(c, counts) : (c) => recording(c, label),
    });
  const honest = Array.from({ length: HONEST }, (_, i) =>
    make(`honest-${i}`, false, i === 1 ? 'wasm' : 'cpu'),
  );
  const lazy = make('lazy', true);
  running = [...honest, lazy];
  await Promise.all(running.map((v) => v.start()));
  return { job, lazy, honest, counts };
}

describe('validated work', () => {
  it('catches a lazy volunteer on its replicated shards and takes its leases; honest ones keep their trust', async () => {
    const { job, lazy, honest, counts } = await swarm('validated', { replication: 1, tolerance: 0.05 });
    const lazyId = await until(
      'the lazy volunteer joined',
      20_000,
      () => Promise.resolve(lazy.runtime.nodeId ?? null),
      { pollMs: 250 },
    );
    // Distrusted: node info says so, and the coordinator refuses it leases.
    const distrusted = await until(
      'the lazy volunteer is distrusted',
      60_000,
      async () => {
        const node = (await nodes()).find((n) => n.id === lazyId);
        return node?.trust?.standing === 'distrusted' ? node : null;
      },
      { pollMs: 250 },
    );
    expect(distrusted.trust?.valid).toBe(0);
    const shardsAtDistrust = counts.shards;
    // The honest volunteers keep training meanwhile; the lazy one gets nothing more.
    const honestBefore = honest.reduce((s, v) => s + v.trainer.status.shardsDone, 0);
    await until(
      'honest volunteers trained on',
      60_000,
      () =>
        Promise.resolve(
          honest.reduce((s, v) => s + v.trainer.status.shardsDone, 0) >= honestBefore + 3 ? true : null,
        ),
      { pollMs: 250 },
    );
    // A lease granted before the verdict may have been in flight: at most one more, then none.
    expect(counts.shards).toBeLessThanOrEqual(shardsAtDistrust + 1);
    expect(lazy.trainer.heldLeaseIds).toEqual([]);

    // The WebAssembly volunteer starts last (its thread loads the backend): wait for one of its replicas.
    await until(
      'a shard replicated across backends',
      60_000,
      () => Promise.resolve(honestSpread().crossBackend > 0 ? true : null),
      { pollMs: 250 },
    );
    console.log(`shards done: ${honest.map((v) => `${v.label} ${v.trainer.status.shardsDone}`).join(', ')}`);
    const contributors = await credit();
    const mine = contributors.find((c) => c.nodeId === lazyId);
    const judged = (mine?.valid ?? 0) + (mine?.invalid ?? 0) + (mine?.inconclusive ?? 0);
    console.log(
      `lazy: ${counts.shards} shards reported, ${counts.replicas} replicated, ${judged} judged, ` +
        `${mine?.invalid ?? 0} outvoted; honest: ${contributors
          .filter((c) => c.nodeId !== lazyId)
          .map(
            (c) => `${c.valid} valid / ${c.invalid} invalid, trust ${c.trust.toFixed(2)}, credit ${c.credit}`,
          )
          .join('; ')}`,
    );
    const spread = honestSpread();
    console.log(
      `honest replicas: ${spread.pairs} pairs of the same shard (${spread.crossBackend} wasm–cpu), worst relative difference ${spread.worst.toExponential(2)}`,
    );
    expect(spread.pairs).toBeGreaterThan(0);
    expect(spread.worst).toBeLessThan(0.05);
    expect(judged).toBeGreaterThan(0);
    expect((mine?.invalid ?? 0) / judged).toBeGreaterThanOrEqual(0.99);
    expect(mine?.credit).toBe(0);
    const honestIds = new Set(honest.map((v) => v.runtime.nodeId));
    const honestCredit = contributors.filter((c) => honestIds.has(c.nodeId));
    expect(honestCredit.length).toBeGreaterThanOrEqual(2);
    for (const c of honestCredit) {
      expect(c.standing).not.toBe('distrusted');
      expect(c.invalid).toBe(0);
    }
    expect(honestCredit.some((c) => c.credit > 0)).toBe(true);
    for (const node of (await nodes()).filter((n) => honestIds.has(n.id)))
      expect(node.trust?.standing).not.toBe('distrusted');
    await coordinator.operator.jobAction(job.id, 'cancel').catch(() => undefined); // done already
  }, 150_000);

  it("control: without validation nobody is judged and the lazy volunteer's shards count", async () => {
    const { job, lazy, counts } = await swarm('unvalidated', null);
    const lazyId = await until(
      'the lazy volunteer joined',
      20_000,
      () => Promise.resolve(lazy.runtime.nodeId ?? null),
      { pollMs: 250 },
    );
    await until(
      'the lazy volunteer reported shards',
      60_000,
      () => Promise.resolve(counts.shards >= 3 ? true : null),
      { pollMs: 250 },
    );
    expect(counts.replicas).toBe(0);
    // Its completions were accepted like anyone's.
    expect(lazy.trainer.status.shardsDone).toBeGreaterThanOrEqual(3);
    expect((await credit()).find((c) => c.nodeId === lazyId)).toBeUndefined();
    expect((await nodes()).find((n) => n.id === lazyId)?.trust).toBeUndefined();
    await coordinator.operator.jobAction(job.id, 'cancel').catch(() => undefined); // done already
  }, 90_000);
});
