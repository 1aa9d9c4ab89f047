// A fleet's view of its volunteers' gossip averagers (averaging) and exchange rounds without
// training (averageIdle), over the fleet's IPC: two virtual volunteers in one host process train a
// 8-shard job against a real coordinator, then average idle until their models are one.
import { describe, expect, it } from 'vitest';
import type { JobInfo } from '@tabswarm/protocol';
import { startVirtualFleet } from './fleet.ts';
import { useTestCoordinator } from './test-coordinator.ts';
import { MAX_REPORTED_EXCHANGES } from './fleet-protocol.ts';

const coordinator = useTestCoordinator('fleet-averaging');

async function until(what: string, timeoutMs: number, probe: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** mnist-mlp, one epoch of 8 shards (250 × 4 of the 8,000 training digits). */
const smallJob = (name: string): Promise<JobInfo> =>
  coordinator.operator.createJob({
    name,
    model: { kind: 'preset', preset: 'mnist-mlp' },
    dataset: 'mnist',
    training: { optimizer: { type: 'adam' }, learningRate: 0.003, batchSize: 250, localSteps: 4, epochs: 1 },
    averaging: { mode: 'gossip', exchangeTimeoutMs: 5_000 },
    checkpoint: { everyShards: 4, contributors: 1 },
  });

const equal = (a: Float32Array, b: Float32Array): boolean =>
  a.length === b.length && a.every((v, i) => v === b[i]);

describe('a fleet reports its volunteers’ averagers and runs idle exchange rounds', () => {
  it('averaging() gives round, model and exchanges; averageIdle() makes two idle models one', async () => {
    const started = Date.now();
    const job = await smallJob('fleet averaging');
    const fleet = await startVirtualFleet({
      baseUrl: coordinator.url,
      count: 2,
      backend: 'cpu',
      processes: 1,
    });
    try {
      const labels = [...fleet.labels()];
      await until(
        'the job to complete',
        100_000,
        async () => (await coordinator.operator.getJob(job.id)).status === 'completed',
      );
      await until('both idle', 20_000, async () =>
        (await fleet.snapshot()).every((s) => s.status === 'idle'),
      );
      const snapshot = await fleet.snapshot();
      console.log(
        `[fleet averaging] job over after ${Date.now() - started} ms; shards ${snapshot.map((s) => s.shardsDone).join('/')}`,
      );
      // Both trained (a lease at a time each), so both have made their averager.
      for (const s of snapshot) expect(s.shardsDone).toBeGreaterThanOrEqual(1);
      const before = await Promise.all(labels.map((l) => fleet.averaging(l)));
      for (const [i, a] of before.entries()) {
        if (a === null) throw new Error(`${labels[i]} has no averager`);
        expect(a.jobId).toBe(job.id);
        expect(a.parameters).toHaveLength((await coordinator.operator.getJob(job.id)).parameterCount ?? -1);
        expect(a.round).toBeGreaterThanOrEqual(snapshot[i]?.shardsDone ?? Infinity);
        expect(a.exchanges.length).toBe(Math.min(a.exchangesTotal, MAX_REPORTED_EXCHANGES));
        expect(a.exchanges.filter((e) => e.outcome === 'ok').length).toBe(snapshot[i]?.exchangesApplied);
      }

      // Two idle rounds each, one volunteer after the other: with two members every round pairs
      // them, and both sides take the same average.
      expect(await fleet.averageIdle(labels)).toEqual([true, true]);
      expect(await fleet.averageIdle(labels)).toEqual([true, true]);
      const after = await Promise.all(labels.map((l) => fleet.averaging(l)));
      const [a, b] = after;
      if (a === null || b === null || a === undefined || b === undefined) throw new Error('no averager');
      expect(a.round).toBe((before[0]?.round ?? 0) + 2);
      expect(b.round).toBe((before[1]?.round ?? 0) + 2);
      expect(equal(a.parameters, b.parameters)).toBe(true);
      expect(equal(a.parameters, before[0]?.parameters ?? new Float32Array())).toBe(false);
      // The last initiator wrote its average into its compute (what its next shard trains).
      const lastModel = await fleet.parameters(labels[1] as string);
      expect(lastModel !== null && equal(lastModel, b.parameters)).toBe(true);
      const idle = b.exchanges.slice(-2);
      expect(idle.map((e) => [e.role, e.outcome])).toEqual([
        ['responder', 'ok'],
        ['initiator', 'ok'],
      ]);
    } finally {
      await fleet.stop();
    }
  }, 150_000);
});
