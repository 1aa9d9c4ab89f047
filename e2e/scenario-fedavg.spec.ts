/**
 * FedAvg through the coordinator, end to end: three WebGPU browsers train mnist-mlp with FedAvg
 * rounds instead of gossip, to 90 % on the coordinator's evaluation (what the former gossip-training
 * spec checked), and the rounds were real averages: the coordinator averaged rounds of at least
 * two participants (each upload's reply is the round's average, which the volunteer applies).
 */
import { expect, test } from '@playwright/test';
import { mnistMlpJob, openBrowsers, operatorOf, untilTargetReached, useSwarm } from './swarm-fixture.ts';
import { readReply } from '@tabswarm/protocol';

const TARGET = 0.9;

const swarm = useSwarm({ heartbeatIntervalMs: 1_000, heartbeatTimeoutMs: 10_000 });

/** The coordinator's "FedAvg round averaged" log lines (pino JSON) for one job. */
function averagedRounds(log: string, jobId: string): { round: number; participants: number }[] {
  return log
    .split('\n')
    .filter((line) => line.includes('"FedAvg round averaged"') && line.includes(jobId))
    .map((line) => JSON.parse(line.slice(line.indexOf('{'))) as { round: number; participants: number });
}

test('three browsers train mnist-mlp with FedAvg to 90 %, in rounds of two or more', async () => {
  test.setTimeout(360_000);
  const operator = operatorOf(swarm);
  const started = Date.now();
  const job = await operator.createJob(
    mnistMlpJob('scenario fedavg', {
      targetAccuracy: TARGET,
      averaging: { mode: 'fedavg' },
      checkpoint: { everyShards: 2, contributors: 2 },
    }),
  );
  const browsers = openBrowsers(swarm);
  try {
    await Promise.all([1, 2, 3].map((i) => browsers.add(`browser-${i}`)));
    const { job: latest, best } = await untilTargetReached(operator, job.id, 300_000);
    const state = readReply(
      'GET /api/jobs/:jobId/fedavg',
      await operator.api('GET', `/api/jobs/${job.id}/fedavg`),
    );
    const rounds = averagedRounds(swarm.coordinator.output(), job.id);
    console.log(
      `[fedavg] ${((Date.now() - started) / 1000).toFixed(0)} s: ${latest.shardsDone} shards, best ${best}; state ${JSON.stringify(state)}; rounds ${JSON.stringify(rounds.map((r) => r.participants))}`,
    );
    expect(best).toBeGreaterThanOrEqual(TARGET);
    // Averages of several volunteers, not one volunteer's own model sent back. How many rounds
    // close before the target is met depends on the machine (one CI run met it after two), so
    // the floor is one: with averaging broken there are none.
    const shared = rounds.filter((r) => r.participants >= 2);
    expect(shared.length).toBeGreaterThanOrEqual(1);
    expect(state.round).toBeGreaterThanOrEqual(shared.length);
  } finally {
    await browsers.stop();
  }
});
