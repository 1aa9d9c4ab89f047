// Training-health alarms through a real coordinator: a job whose checkpoints never change raises
// "checkpoint-unchanged" (REST, job info, /metrics, event log) and clears it once they move; a job
// whose volunteers really learn raises nothing.
import { describe, expect, it, vi } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { getFlatWeights, setFlatWeights, topologyFor } from '@tabswarm/core';
import {
  decodeFrame,
  decodeShard,
  frameValues,
  jobAlarmsResponseSchema,
  type JobInfo,
  type LogEvent,
} from '@tabswarm/protocol';
import { buildModel } from '../checkpoints/model-factory.ts';
import type { SimVolunteer } from '../sim/sim-volunteer.ts';
import { api, request, type RunningServer } from '../test-support.ts';
import { useSimJobs } from './test-support.ts';
import { FAILED_ROUND_WINDOW, HEALTH_WINDOW } from './training-health.ts';

const jobs = useSimJobs();

// 8,000 mnist training samples in shards of 500: 16 shards, a checkpoint after each.
const spec = {
  name: 'health',
  training: { batchSize: 50, localSteps: 10, epochs: 1 },
  checkpoint: { everyShards: 1, contributors: 1, uploadTimeoutMs: 5_000 },
};

const setup = () => jobs.setup(spec);

/** A simulated volunteer; `parameters` makes what it uploads from the latest checkpoint. */
const sim = (url: string, parameters?: (latest: Float32Array) => Float32Array): Promise<SimVolunteer> =>
  jobs.sim(url, parameters && { parameters });

/** One shard done, then waits for its checkpoint to be written and evaluated. */
async function trainOneCheckpoint(r: RunningServer, jobId: string, volunteer: SimVolunteer): Promise<void> {
  const before = r.server.checkpoints().list(jobId).length;
  const lease = await volunteer.lease(1000);
  if (!lease) throw new Error('expected a lease');
  await volunteer.complete(lease, 0.5);
  await vi.waitFor(
    async () => {
      await r.server.checkpoints().idle();
      const list = r.server.checkpoints().list(jobId);
      expect(list).toHaveLength(before + 1);
      expect(list.at(-1)?.accuracy).not.toBeNull();
    },
    { timeout: 20_000, interval: 50 },
  );
}

async function alarmsOf(url: string, jobId: string) {
  const res = await api(`${url}/api/jobs/${jobId}/alarms`);
  expect(res.status).toBe(200);
  return jobAlarmsResponseSchema.parse(res.body).alarms;
}

describe('training-health alarms (coordinator)', () => {
  it('raises checkpoint-unchanged when checkpoints stay identical, over REST and /metrics, and clears it', async () => {
    const { r, job } = await setup();
    // Uploads the latest checkpoint unchanged: what a saturated model's volunteers send.
    const stuck = await sim(r.url);
    for (let i = 0; i < HEALTH_WINDOW - 1; i++) await trainOneCheckpoint(r, job.id, stuck);
    expect((await alarmsOf(r.url, job.id)).map((a) => a.kind)).not.toContain('checkpoint-unchanged');
    await trainOneCheckpoint(r, job.id, stuck);

    const alarms = await alarmsOf(r.url, job.id);
    const unchanged = alarms.find((a) => a.kind === 'checkpoint-unchanged');
    expect(unchanged?.seq).toBe(HEALTH_WINDOW);
    expect(unchanged?.advice).toMatch(/[Ss]tandardise/);
    expect(unchanged?.observed).toContain(`checkpoints 1–${HEALTH_WINDOW} are bit-identical to checkpoint 0`);
    const info = await api<{ job: JobInfo }>(`${r.url}/api/jobs/${job.id}`);
    expect(info.body.job.alarms?.map((a) => a.kind)).toContain('checkpoint-unchanged');
    const metrics = await (await fetch(`${r.url}/metrics`)).text();
    expect(metrics).toContain(`tabswarm_training_alarm{job="${job.id}",alarm="checkpoint-unchanged"} 1`);
    expect(metrics).toContain(
      `tabswarm_training_alarms_raised_total{job="${job.id}",alarm="checkpoint-unchanged"} 1`,
    );
    const events = await api<{ events: LogEvent[] }>(`${r.url}/api/events?jobId=${job.id}&kind=alarm`);
    const raised = events.body.events.find((e) => e.message.startsWith('checkpoints unchanged: '));
    expect(raised).toMatchObject({ kind: 'alarm', level: 'warn' });
    expect(raised?.message).toContain('Try: ');

    // The checkpoints move again: the alarm clears, and that is logged too.
    stuck.close();
    const moving = await sim(r.url, (v) => v.map((x) => x * 1.01));
    await trainOneCheckpoint(r, job.id, moving);
    expect((await alarmsOf(r.url, job.id)).map((a) => a.kind)).not.toContain('checkpoint-unchanged');
    const after = await (await fetch(`${r.url}/metrics`)).text();
    expect(after).toContain(`tabswarm_training_alarm{job="${job.id}",alarm="checkpoint-unchanged"} 0`);
    const cleared = await api<{ events: LogEvent[] }>(`${r.url}/api/events?jobId=${job.id}&kind=alarm`);
    expect(cleared.body.events.at(-1)).toMatchObject({
      level: 'info',
      message: 'cleared: checkpoints unchanged',
    });
  }, 120_000);

  it('raises contributions-rejected when rounds accept no upload, and training-loss-diverging on DIVERGED releases', async () => {
    const { r, job } = await setup();
    const poisoned = await sim(r.url, (v) => v.map((x, i) => (i === 0 ? Number.NaN : x)));
    for (let round = 1; round <= FAILED_ROUND_WINDOW; round++) {
      const lease = await poisoned.lease(1000);
      if (!lease) throw new Error('expected a lease');
      await poisoned.complete(lease, 0.5);
      await vi.waitFor(async () => {
        const events = await api<{ events: LogEvent[] }>(
          `${r.url}/api/events?jobId=${job.id}&kind=rejected-update`,
        );
        expect(events.body.events.filter((e) => e.message.includes('accepted no upload'))).toHaveLength(
          round,
        );
      });
    }
    const rejected = (await alarmsOf(r.url, job.id)).find((a) => a.kind === 'contributions-rejected');
    expect(rejected?.observed).toContain(
      'the last 3 checkpoint rounds accepted no upload (3 refused or missing)',
    );
    expect(r.server.checkpoints().list(job.id)).toHaveLength(1); // only checkpoint 0

    // A tab whose loss became NaN gives its lease back as DIVERGED; twice in ten shards is an alarm.
    for (let i = 0; i < 2; i++) {
      const lease = await poisoned.lease(1000);
      if (!lease) throw new Error('expected a lease');
      const reason = 'DIVERGED: the training loss became NaN';
      expect((await request(poisoned.socket, 'releaseLease', { leaseId: lease.leaseId, reason })).ok).toBe(
        true,
      );
    }
    const diverging = (await alarmsOf(r.url, job.id)).find((a) => a.kind === 'training-loss-diverging');
    expect(diverging?.observed).toContain('2 of the last 5 shards ended with a non-finite training loss');
  }, 60_000);

  it('raises nothing on a job whose volunteers learn', async () => {
    const { r, job } = await setup();
    const trained = await trainedParameters(r.url, job);
    // Each upload moves the latest checkpoint 30 % of the way to a model trained on the job's data.
    const learner = await sim(r.url, (latest) =>
      latest.map((x, i) => x + 0.3 * ((trained[i] as number) - x)),
    );
    for (let i = 0; i < HEALTH_WINDOW + 2; i++) await trainOneCheckpoint(r, job.id, learner);
    const list = r.server.checkpoints().list(job.id);
    expect(list.at(-1)?.accuracy).toBeGreaterThan(0.5);
    expect(await alarmsOf(r.url, job.id)).toEqual([]);
    const metrics = await (await fetch(`${r.url}/metrics`)).text();
    expect(metrics).not.toContain(`tabswarm_training_alarm{job="${job.id}"`);
  }, 120_000);
});

/** The job's model, from its checkpoint 0, trained for 2 epochs on 1,000 training samples. */
async function trainedParameters(url: string, job: JobInfo): Promise<Float32Array> {
  const dataset = await api<{ dataset: { featureShape: number[]; numClasses: number } }>(
    `${url}/api/datasets/${job.spec.dataset}`,
  );
  const shard = decodeShard(
    new Uint8Array(
      await (
        await fetch(`${url}/api/datasets/${job.spec.dataset}/samples?split=train&start=0&end=1000`)
      ).arrayBuffer(),
    ),
  );
  const initial = decodeFrame(
    new Uint8Array(await (await fetch(`${url}/api/jobs/${job.id}/parameters`)).arrayBuffer()),
  );
  if (!initial.ok) throw new Error(initial.message);
  const model = await buildModel(topologyFor(job.spec.model, dataset.body.dataset));
  try {
    setFlatWeights(model, frameValues(initial).slice());
    model.compile({ optimizer: tf.train.adam(1e-3), loss: 'sparseCategoricalCrossentropy' });
    const x = tf.tensor(shard.x, [shard.count, ...dataset.body.dataset.featureShape]);
    const y = tf.tensor(shard.y, [shard.count], 'float32');
    await model.fit(x, y, { epochs: 2, batchSize: 50, verbose: 0 });
    tf.dispose([x, y]);
    return getFlatWeights(model);
  } finally {
    model.dispose();
  }
}
