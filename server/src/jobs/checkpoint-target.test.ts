/**
 * A job that reaches its target accuracy ends with the checkpoint that reached it: a checkpoint
 * round still in flight then (a later model, not necessarily as good) is dropped, and no round
 * starts after. Seen in CI: a gossip job completed at checkpoint 2 (0.903) and checkpoint 3
 * (0.8995), requested before, became its latest.
 *
 * The job is the mnist-mlp preset on a two-class CSV whose label is 1 on 95 % of the rows, so the
 * simulated volunteers can choose a checkpoint's accuracy through the output layer's biases (the
 * last two parameters): one that always answers 1 meets the 0.9 target, one that always answers 0
 * does not.
 */
import { describe, expect, it, vi } from 'vitest';
import type { CheckpointSummary, JobInfo } from '@tabswarm/protocol';
import { OPERATOR_TOKEN, api, closedAfterEach, startServer, type RunningServer } from '../test-support.ts';
import { useSimJobs } from './test-support.ts';

const { sim } = useSimJobs();
const track = closedAfterEach<RunningServer>();

/** 1,000 rows: one feature, label 1 except on every 20th row. */
function skewedCsv(): string {
  let body = 'f0,label\n';
  for (let r = 0; r < 1_000; r++) body += `${Math.sin(r * 12.9898).toFixed(4)},${r % 20 === 0 ? 0 : 1}\n`;
  return body;
}

/** The parameters with the output biases set to favour `label` by a wide margin. */
const answering =
  (label: 0 | 1) =>
  (latest: Float32Array): Float32Array => {
    const v = Float32Array.from(latest);
    v[v.length - 2] = label === 0 ? 4 : -4;
    v[v.length - 1] = label === 1 ? 4 : -4;
    return v;
  };

describe('a job that reaches its target accuracy', () => {
  it('keeps the checkpoint that reached it as its latest: a round in flight is dropped', async () => {
    const r = track(await startServer({ heartbeatTimeoutMs: 60_000, heartbeatIntervalMs: 1_000 }));
    const uploaded = await fetch(`${r.url}/api/datasets?label=label&name=skewed`, {
      method: 'POST',
      headers: { authorization: `Bearer ${OPERATOR_TOKEN}`, 'content-type': 'text/csv' },
      body: skewedCsv(),
    });
    expect(uploaded.status).toBe(201);
    const dataset = ((await uploaded.json()) as { dataset: { id: string } }).dataset.id;
    const created = await api<{ job: JobInfo }>(`${r.url}/api/jobs`, {
      body: {
        name: 'target',
        dataset,
        model: { kind: 'preset', preset: 'mnist-mlp' },
        training: { batchSize: 10, localSteps: 10, epochs: 1, targetAccuracy: 0.9 },
        checkpoint: { everyShards: 1, contributors: 2, uploadTimeoutMs: 5_000 },
      },
    });
    expect(created.status).toBe(201);
    const job = created.body.job;
    await r.server.checkpoints().idle();
    // The precondition: the untrained model does not already meet the target.
    expect(r.server.checkpoints().latest(job.id)?.accuracy).toBeLessThan(0.9);

    // Its first upload meets the target; every later one (a model that answers 0) does not.
    let calls = 0;
    const first = await sim(r.url, {
      parameters: (v) => (calls++ === 0 ? answering(1)(v) : answering(0)(v)),
    });
    const second = await sim(r.url, { parameters: answering(0) });
    const a = await first.lease();
    const b = await second.lease();
    if (!a || !b || a.jobId !== job.id || b.jobId !== job.id)
      throw new Error('expected two leases of the job');
    await first.complete(a); // round 1 asks `first` alone: the one that trained
    await vi.waitFor(() => expect(first.uploads).toHaveLength(1));
    // While round 1 is written and evaluated, `second` finishes its shard: round 2 is wanted, and
    // asks both volunteers for models that answer 0.
    await second.complete(b);
    await vi.waitFor(async () => {
      await r.server.checkpoints().idle();
      expect(r.server.jobs.list().find((j) => j.id === job.id)?.status).toBe('completed');
    }, 15_000);
    // Whatever round 2 was sent, let it end (its uploads are answered, or it times out).
    await Promise.all([...first.uploads, ...second.uploads]);
    await new Promise((resolve) => setTimeout(resolve, 500));
    await r.server.checkpoints().idle();

    const list = await api<{ checkpoints: CheckpointSummary[] }>(`${r.url}/api/jobs/${job.id}/checkpoints`);
    expect(list.body.checkpoints.map((c) => c.seq)).toEqual([0, 1]);
    const info = await api<{ job: JobInfo }>(`${r.url}/api/jobs/${job.id}`);
    expect(info.body.job.status).toBe('completed');
    expect(info.body.job.latestCheckpoint?.seq).toBe(1);
    expect(info.body.job.latestCheckpoint?.accuracy).toBeGreaterThanOrEqual(0.9);
  }, 60_000);
});
