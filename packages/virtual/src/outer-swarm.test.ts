// The outer optimizer on the live path (issue 13 parts 2 and 3): three virtual volunteers against a
// real coordinator train the same gossip job (mnist-mlp, two epochs of shards of 5 × 64 samples, so
// that each volunteer trains enough shards to synchronise several times) twice: once with plain
// fp32 averaging after every shard (the reference) and once with the outer optimizer (syncEvery 4)
// and int8 codes. The outer run ends within a point of the reference's accuracy on the
// coordinator's evaluation, puts a fraction of its bytes on the wire per sample trained, and its
// volunteers exchanged only every fourth shard. A FedAvg job with the outer optimizer trains too,
// uploading every fourth shard.
import { describe, expect, it } from 'vitest';
import type { AveragingSpec, JobInfo, JobSpecInput } from '@tabswarm/protocol';
import { mnistMlpJob } from './operator-client.ts';
import { until, useTestCoordinator } from './test-coordinator.ts';

const LOCAL_STEPS = 5;
const SAMPLES_PER_SHARD = 64 * LOCAL_STEPS;

const coordinator = useTestCoordinator('outer-swarm');

interface RunFigures {
  readonly accuracy: number;
  readonly shards: number;
  readonly bytesPer1000Samples: number;
  /** Per volunteer: the rounds it initiated exchanges in, and the shards its averaging counted. */
  readonly initiatedRounds: number[];
  readonly shardsCounted: number[];
  readonly syncs: number[];
}

/** The job once it completed and the checkpoint taken at its end was evaluated. */
const completed = (what: string, jobId: string): Promise<JobInfo> =>
  until<JobInfo>(what, 220_000, async () => {
    const latest = await coordinator.operator.getJob(jobId);
    const last = latest.latestCheckpoint;
    const final = last !== null && last.shardsDone >= latest.totalShards && typeof last.accuracy === 'number';
    return latest.status === 'completed' && final ? latest : null;
  });

async function run(name: string, averaging: JobSpecInput['averaging']): Promise<RunFigures> {
  const job = await coordinator.operator.createJob(
    mnistMlpJob(name, {
      targetAccuracy: null,
      epochs: 2,
      localSteps: LOCAL_STEPS,
      averaging: { mode: 'gossip', exchangeTimeoutMs: 5_000, ...averaging },
      checkpoint: { everyShards: 10, contributors: 3 },
    }),
  );
  const volunteers = coordinator.wasmSwarm(['a', 'b', 'c']);
  try {
    await Promise.all(volunteers.map((v) => v.start()));
    // Both runs are compared after every shard.
    const trained = await completed(`${name} to complete`, job.id);
    // Every byte each side put on the wire for its exchanges (frames, chunk headers, control).
    const results = volunteers.flatMap((v) => v.averaging().results);
    const bytes = results.reduce((sum, r) => sum + r.bytesOut, 0);
    const shards = volunteers.reduce((sum, v) => sum + v.trainer.status.shardsDone, 0);
    const figures: RunFigures = {
      accuracy: trained.latestCheckpoint?.accuracy ?? 0,
      shards,
      bytesPer1000Samples: (1000 * bytes) / (shards * SAMPLES_PER_SHARD),
      initiatedRounds: volunteers.map(
        (v) =>
          new Set(
            v
              .averaging()
              .results.filter((r) => r.role === 'initiator')
              .map((r) => r.round),
          ).size,
      ),
      shardsCounted: volunteers.map((v) => v.averager?.outer?.shards ?? v.trainer.status.shardsDone),
      syncs: volunteers.map((v) => v.averager?.outer?.syncs ?? 0),
    };
    console.log(
      `[outer swarm] ${name}: ${JSON.stringify(figures)} checkpoint ${JSON.stringify(trained.latestCheckpoint)}`,
    );
    return figures;
  } finally {
    await Promise.allSettled(volunteers.map((v) => v.stop()));
  }
}

describe('the outer optimizer with int8 codes on virtual volunteers', () => {
  it('ends within a point of the plain job’s accuracy with a fraction of its bytes per sample, exchanging every 4th shard', async () => {
    const plain = await run('plain fp32', { codec: 'fp32' });
    const outerSpec: Partial<AveragingSpec> = {
      codec: 'int8',
      outer: { syncEvery: 4, learningRate: 1, momentum: 0.5 },
    };
    const outer = await run('outer int8', outerSpec);

    expect(plain.accuracy).toBeGreaterThan(0.85);
    expect(outer.accuracy).toBeGreaterThanOrEqual(plain.accuracy - 0.01);
    // int8 is about a quarter of fp32 and syncEvery 4 a quarter of the exchanges: ~1/16 in theory.
    const ratio = outer.bytesPer1000Samples / plain.bytesPer1000Samples;
    console.log(`[outer swarm] bytes per 1,000 samples: outer int8 / plain fp32 = ${ratio.toFixed(4)}`);
    expect(ratio).toBeLessThan(1 / 8);
    // The outer optimizer was used: each volunteer initiated at most one exchange per 4 shards its
    // averaging counted, and synchronised (an exchange it took part in) at least once.
    outer.initiatedRounds.forEach((rounds, i) => {
      expect(rounds).toBeLessThanOrEqual(Math.floor((outer.shardsCounted[i] ?? 0) / 4));
    });
    expect(outer.syncs.every((s) => s > 0)).toBe(true);
    // The reference exchanged after (nearly) every shard.
    expect(plain.initiatedRounds.reduce((a, b) => a + b, 0)).toBeGreaterThan(plain.shards / 2);
  }, 480_000);

  it('FedAvg with the outer optimizer uploads every 4th shard and trains', async () => {
    const job = await coordinator.operator.createJob(
      mnistMlpJob('outer fedavg', {
        targetAccuracy: null,
        epochs: 2,
        localSteps: LOCAL_STEPS,
        averaging: { mode: 'fedavg', roundDeadlineMs: 5_000, outer: { syncEvery: 4 } },
        checkpoint: { everyShards: 10, contributors: 3 },
      }),
    );
    const volunteers = coordinator.wasmSwarm(['a', 'b', 'c']);
    try {
      await Promise.all(volunteers.map((v) => v.start()));
      const trained = await completed('outer fedavg to complete', job.id);
      const metrics = await (await fetch(`${coordinator.url}/metrics`)).text();
      const sent = Number(
        metrics
          .split('\n')
          .find((l) =>
            l.startsWith(`tabswarm_averaging_bytes_total{job="${job.id}",mode="fedavg",direction="sent"}`),
          )
          ?.split(' ')
          .at(-1) ?? 0,
      );
      // Each upload is one fp32 frame of the model (and a header of a few dozen bytes).
      const uploads = Math.round(sent / (4 * (trained.parameterCount ?? 1)));
      const shards = volunteers.map((v) => v.trainer.status.shardsDone);
      console.log(
        `[outer swarm] fedavg outer: accuracy ${trained.latestCheckpoint?.accuracy}, shards ${shards.join('/')}, uploads ${uploads} (${sent} bytes)`,
      );
      expect(trained.latestCheckpoint?.accuracy).toBeGreaterThan(0.85);
      expect(uploads).toBeGreaterThanOrEqual(3);
      expect(uploads).toBeLessThanOrEqual(shards.reduce((sum, n) => sum + Math.floor(n / 4), 0));
    } finally {
      await Promise.allSettled(volunteers.map((v) => v.stop()));
    }
  }, 300_000);
});
