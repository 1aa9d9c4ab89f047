// Differential privacy (issue 16 part 4) through a real coordinator and a virtual volunteer: on a
// job with `privacy`, every shard changes the volunteer's model by the clipped update plus noise —
// never more than the clip norm (and the noise) — and the job reports the ε it has spent for the
// releases its most leased shard made. The control, the same job without `privacy`, moves the model
// by the raw update, dozens of clip norms, and reports no privacy.
import { afterEach, describe, expect, it } from 'vitest';
import { gaussianEpsilon } from '@tabswarm/core';
import { MemoryNetwork } from '@tabswarm/gossip';
import { presetTopology, type JobInfo, type PrivacySpecInput } from '@tabswarm/protocol';
import type { ComputePort } from '@tabswarm/trainer';
import { mnistMlpJob } from './operator-client.ts';
import { until, useTestCoordinator } from './test-coordinator.ts';
import { VirtualVolunteer } from './virtual-volunteer.ts';

const coordinator = useTestCoordinator('privacy');

const CLIP = 0.01;
/** Small enough that the noise's norm (z·C·√n, n = 7,850) is a tenth of the clip norm. */
const NOISE = 1e-3;
const SHARDS = 4;

/** mnist-mlp without its hidden layer (softmax regression, 7,850 parameters). */
function softmaxRegression(): Record<string, unknown> {
  const topology = presetTopology('mnist-mlp', { inputShape: [28, 28, 1], numClasses: 10 });
  topology.config.layers = topology.config.layers.filter((l) => l.config.name !== 'hidden');
  return topology;
}

const distance = (a: Float32Array, b: Float32Array): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += ((a[i] as number) - (b[i] as number)) ** 2;
  return Math.sqrt(s);
};

/** A compute that notes how far each shard it trains moves the model. */
function measuring(compute: ComputePort, moves: number[]): ComputePort {
  return {
    ...compute,
    async train(task, onStep) {
      const before = await compute.parameters();
      const outcome = await compute.train(task, onStep);
      const after = await compute.parameters();
      if (outcome.ok && before !== null && after !== null) moves.push(distance(before.values, after.values));
      return outcome;
    },
  };
}

let running: VirtualVolunteer | null = null;
afterEach(async () => {
  await running?.stop();
  running = null;
});

async function train(
  name: string,
  privacy: PrivacySpecInput | null,
): Promise<{ job: JobInfo; moves: number[] }> {
  const created = await coordinator.operator.createJob({
    ...mnistMlpJob(name, { targetAccuracy: null, averaging: { mode: 'gossip' } }),
    model: { kind: 'topology', topology: softmaxRegression() },
    training: {
      optimizer: { type: 'adam' },
      learningRate: 0.01,
      batchSize: 32,
      localSteps: 10,
      epochs: 1,
      seed: 5,
    },
    ...(privacy === null ? {} : { privacy }),
  });
  const moves: number[] = [];
  running = new VirtualVolunteer({
    baseUrl: coordinator.url,
    network: new MemoryNetwork(),
    backend: 'cpu',
    compute: 'in-process',
    averaging: false,
    label: name,
    wrapCompute: (c) => measuring(c, moves),
  });
  await running.start();
  await until(`${SHARDS} shards`, 120_000, () => Promise.resolve(moves.length >= SHARDS ? true : null));
  await running.stop();
  running = null;
  const job = await coordinator.operator.getJob(created.id);
  // Cancelled, so that the next run's volunteer is not handed this job's shards.
  await coordinator.operator.jobAction(created.id, 'cancel');
  return { job, moves };
}

describe('a job with privacy', () => {
  it('moves the model by at most the clip norm (plus noise) a shard and reports ε; without it, by the raw update', async () => {
    const { job, moves } = await train('private', { clipNorm: CLIP, noiseMultiplier: NOISE });
    console.log(
      `[privacy] moves ${moves.map((m) => m.toFixed(5)).join(' ')}; spent ${JSON.stringify(job.privacy)}`,
    );
    // ‖clip(u)‖ = C, noise ‖·‖ ≈ z·C·√n ≈ 0.089 C, independent: √(C² + (0.089 C)²) ≈ 1.004 C.
    for (const m of moves) {
      expect(m).toBeGreaterThan(0.95 * CLIP);
      expect(m).toBeLessThan(1.1 * CLIP);
    }
    // Each shard was leased once at least: that many releases of its samples, and their ε.
    const spent = job.privacy;
    expect(spent).toBeDefined();
    expect(spent?.delta).toBe(1e-5);
    expect(spent?.releases).toBeGreaterThanOrEqual(1);
    expect(spent?.epsilon).toBeCloseTo(gaussianEpsilon(NOISE, spent?.releases ?? 0, 1e-5), 6);

    const control = await train('not private', null);
    console.log(`[privacy control] moves ${control.moves.map((m) => m.toFixed(4)).join(' ')}`);
    expect(control.job.privacy).toBeUndefined();
    expect(control.job.id).not.toBe(job.id);
    for (const m of control.moves) expect(m).toBeGreaterThan(10 * CLIP);
  }, 240_000);
});
