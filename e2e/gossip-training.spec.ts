/**
 * Averaging in the volunteer page's training loop, end to end: a real coordinator and separate
 * Chromium instances that train mnist-mlp on leased shards and average after every shard — by
 * gossip over WebRTC, surviving a volunteer that vanishes mid-job, until the coordinator's
 * checkpoint evaluation reaches the target accuracy. (FedAvg: scenario-fedavg.spec.ts.)
 */
import { expect, test, type Browser, type Page } from '@playwright/test';
import type { JobInfo, JobSpecInput } from '@tabswarm/protocol';
import { mnistMlpJob, startVolunteer, trainerState, useSwarm } from './swarm-fixture.ts';

const EXCHANGE_TIMEOUT_MS = 5_000;
/** What an exchange may take beyond its timeout: the report's own bookkeeping on a busy machine. */
const EXCHANGE_SLACK_MS = 2_000;

const swarm = useSwarm({ heartbeatIntervalMs: 1_000, heartbeatTimeoutMs: 10_000 });
const { consensus, createJob, getJob } = swarm;

/**
 * 92 %, not 90 %: mnist-mlp's averaged checkpoint is past 90 % after four or five shards, which
 * can be before the vanished volunteer's absence is noticed — the job would complete and leave
 * nothing for the survivors to keep going on (a CI run failed that way).
 */
const TARGET_ACCURACY = 0.92;

const mnistJob = (name: string, averaging: JobSpecInput['averaging']): JobSpecInput =>
  mnistMlpJob(name, {
    averaging,
    checkpoint: { everyShards: 2, contributors: 2 },
    targetAccuracy: TARGET_ACCURACY,
    epochs: 8,
  });

interface Volunteer {
  readonly browser: Browser;
  readonly page: Page;
  readonly nodeId: string;
}

async function openVolunteer(label: string): Promise<Volunteer> {
  const { browser, page } = await swarm.openVolunteerPage({ label });
  return { browser, page, nodeId: await startVolunteer(page) };
}

const shardsDone = async (v: Volunteer): Promise<number> => (await trainerState(v.page))?.shardsDone ?? 0;

const untilTrained = (jobId: string): Promise<JobInfo> => swarm.untilTrained(jobId, 300_000, TARGET_ACCURACY);

test('three volunteers gossip-average mnist-mlp to 92 %, and keep going when one vanishes', async () => {
  test.setTimeout(480_000);
  const started = Date.now();
  // Compressed updates and the outer optimizer on the live path (issue 13): int8 codes, exchanged
  // after every shard, applied with an outer Nesterov step. Every shard, not every second: the job
  // reaches its target in about nine shards on a fast machine, and a fresh-clone run with syncEvery
  // 2 finished with three exchange attempts (two busy, one with the vanished volunteer) and none
  // applied, which this test must see.
  const job = await createJob(
    mnistJob('e2e gossip mnist-mlp', {
      mode: 'gossip',
      exchangeTimeoutMs: EXCHANGE_TIMEOUT_MS,
      codec: 'int8',
      outer: { syncEvery: 1 },
    }),
  );
  const volunteers = await Promise.all(['a', 'b', 'c'].map((label) => openVolunteer(label)));
  const [a, b, c] = volunteers as [Volunteer, Volunteer, Volunteer];
  try {
    // The first exchange between peers reported to the coordinator.
    await expect
      .poll(async () => (await consensus(job.id)).points.length, { timeout: 150_000, intervals: [1_000] })
      .toBeGreaterThan(0);
    console.log(`[gossip] first exchange after ${((Date.now() - started) / 1000).toFixed(1)} s`);

    // One volunteer vanishes mid-job (no goodbye): the others keep completing shards.
    const before = await Promise.all([shardsDone(a), shardsDone(b)]);
    const closedAt = Date.now();
    await c.browser.close();
    expect((await getJob(job.id)).status).toBe('running');
    await expect.poll(() => shardsDone(a), { timeout: 90_000 }).toBeGreaterThan(before[0]);
    await expect.poll(() => shardsDone(b), { timeout: 90_000 }).toBeGreaterThan(before[1]);

    const latest = await untilTrained(job.id);
    const series = await consensus(job.id);
    console.log(
      `[gossip] job ${latest.status} after ${((Date.now() - started) / 1000).toFixed(1)} s: ${latest.shardsDone} shards, checkpoint ${latest.latestCheckpoint?.seq} accuracy ${latest.latestCheckpoint?.accuracy}; exchanges ${JSON.stringify(series.totals)}`,
    );
    expect(series.points.length).toBeGreaterThan(0);
    expect(series.points.some((p) => p.outcome === 'ok')).toBe(true);
    // Nobody waited on the vanished volunteer (or anyone) for longer than one exchange timeout.
    const longest = Math.max(...series.points.map((p) => p.durationMs));
    const afterClose = series.points.filter((p) => p.at >= closedAt);
    console.log(
      `[gossip] longest exchange ${longest.toFixed(0)} ms; ${afterClose.length} reports after the close: ${JSON.stringify(afterClose.map((p) => [p.nodeId, p.partner, p.outcome, Math.round(p.durationMs)]))}`,
    );
    expect(longest).toBeLessThanOrEqual(EXCHANGE_TIMEOUT_MS + EXCHANGE_SLACK_MS);
  } finally {
    await Promise.allSettled(volunteers.map((v) => v.browser.close()));
  }
});
