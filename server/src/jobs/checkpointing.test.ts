import { afterEach, describe, expect, it, vi } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { decodeFrame, encodeFp32Frame, type CheckpointSummary, type JobInfo } from '@tabswarm/protocol';
import { SimVolunteer } from '../sim/sim-volunteer.ts';
import { api, startServer, type RunningServer } from '../test-support.ts';

let running: RunningServer | undefined;
const sims: SimVolunteer[] = [];
afterEach(async () => {
  sims.splice(0).forEach((s) => s.close());
  await running?.close();
  running = undefined;
});

async function setup(spec: object): Promise<{ r: RunningServer; job: JobInfo }> {
  const r = await startServer({ heartbeatTimeoutMs: 60_000, heartbeatIntervalMs: 1_000 });
  running = r;
  const res = await api<{ job: JobInfo }>(`${r.url}/api/jobs`, { body: spec });
  expect(res.status).toBe(201);
  await r.server.checkpoints().idle();
  return { r, job: res.body.job };
}

async function sim(
  url: string,
  options?: ConstructorParameters<typeof SimVolunteer>[1],
): Promise<SimVolunteer> {
  const s = new SimVolunteer(url, options);
  sims.push(s);
  await s.join();
  return s;
}

const twoShards = {
  name: 'ckpt',
  training: { batchSize: 100, localSteps: 40, epochs: 1 },
  checkpoint: { everyShards: 1, contributors: 2, uploadTimeoutMs: 5_000 },
};

describe('checkpoints', () => {
  it('writes and evaluates checkpoint 0 from the seeded initial model when a job is created', async () => {
    const { r, job } = await setup(twoShards);
    expect(job.parameterCount).toBe(101_770);
    const list = await api<{ checkpoints: CheckpointSummary[] }>(`${r.url}/api/jobs/${job.id}/checkpoints`);
    expect(list.body.checkpoints).toHaveLength(1);
    const [zero] = list.body.checkpoints;
    expect(zero).toMatchObject({ seq: 0, shardsDone: 0 });
    // An untrained 10-class model is near chance.
    expect(zero?.accuracy).toBeGreaterThan(0);
    expect(zero?.accuracy).toBeLessThan(0.3);
    const params = await fetch(`${r.url}/api/jobs/${job.id}/parameters`);
    expect(params.status).toBe(200);
    expect(params.headers.get('x-checkpoint-seq')).toBe('0');
  });

  it('asks the volunteers that trained for their parameters, averages the accepted ones, and rejects the rest', async () => {
    const { r, job } = await setup(twoShards);
    const honest = await sim(r.url, { parameters: (v) => v.map((x) => x * 1.01) });
    const poisoned = await sim(r.url, { parameters: (v) => v.map((x, i) => (i === 5 ? Number.NaN : x)) });
    const first = await honest.lease();
    const second = await poisoned.lease();
    if (!first || !second) throw new Error('expected two leases');
    await honest.complete(first); // shard 1 of 2: a checkpoint round starts (everyShards = 1)
    await vi.waitFor(() => expect(honest.uploads.length + poisoned.uploads.length).toBeGreaterThan(0));
    const results = await Promise.all([...honest.uploads, ...poisoned.uploads]);
    // Only the honest volunteer had completed work when the round began.
    expect(results).toEqual([{ status: 200, body: { ok: true, accepted: true } }]);
    await poisoned.complete(second); // job completes: a final round asks both
    await vi.waitFor(() => expect(poisoned.uploads).toHaveLength(1), { timeout: 10_000 });
    const rejected = await poisoned.uploads[0];
    expect(rejected).toMatchObject({ status: 422, body: { ok: false, code: 'NON_FINITE' } });
    await vi.waitFor(async () => {
      await r.server.checkpoints().idle();
      const list = r.server.checkpoints().list(job.id);
      expect(list.map((c) => c.seq)).toEqual([0, 1, 2]);
      expect(list.every((c) => c.accuracy !== null)).toBe(true);
    });
    const record = r.server.checkpoints().record(job.id, 2);
    expect(record?.contributors.accepted.map((a) => a.nodeId)).toEqual([honest.nodeId]);
    expect(record?.contributors.rejected).toEqual([
      expect.objectContaining({ nodeId: poisoned.nodeId, reason: 'NON_FINITE' }),
    ]);
    const metrics = await (await fetch(`${r.url}/metrics`)).text();
    expect(metrics).toContain(
      `tabswarm_validation_rejections_total{job="${job.id}",reason="checkpoint_non_finite"} 1`,
    );
    expect(metrics).toMatch(new RegExp(`tabswarm_checkpoint_duration_seconds_count\\{job="${job.id}"\\} 2`));
  });

  it('refuses uploads that are not invited, too large, mislabelled or malformed', async () => {
    const { r, job } = await setup({
      ...twoShards,
      checkpoint: { ...twoShards.checkpoint, contributors: 1 },
    });
    const silent = await sim(r.url, { answerCheckpoints: false });
    let request: { requestId: string; token: string; uploadUrl: string } | undefined;
    silent.socket.on('checkpointRequest', (req) => (request = req));
    const lease = await silent.lease();
    if (!lease) throw new Error('expected a lease');
    await silent.complete(lease);
    await vi.waitFor(() => expect(request).toBeDefined());
    if (!request) return;
    const url = `${r.url}${request.uploadUrl}`;
    const good = encodeFp32Frame({
      jobId: job.id,
      senderId: silent.nodeId,
      round: 0,
      values: new Float32Array(101_770).fill(0.01),
    });
    const post = (body: Uint8Array | string, headers: Record<string, string>) =>
      fetch(url, { method: 'POST', headers, body: typeof body === 'string' ? body : Buffer.from(body) });
    const bin = { 'content-type': 'application/octet-stream' };
    const auth = { ...bin, authorization: `Bearer ${request.token}` };
    expect((await post(good, bin)).status).toBe(401); // no token
    expect((await post(good, { ...bin, authorization: 'Bearer nope' })).status).toBe(403);
    expect(
      (await post('{}', { 'content-type': 'application/json', authorization: auth.authorization })).status,
    ).toBe(415);
    expect((await post(new Uint8Array(101_770 * 4 + 2048), auth)).status).toBe(413);
    expect(
      (
        await fetch(`${r.url}/api/jobs/${job.id}/checkpoint-uploads/0000000000000000`, {
          method: 'POST',
          headers: auth,
          body: Buffer.from(good),
        })
      ).status,
    ).toBe(404);
    // Nothing above was recorded as this volunteer's contribution: a valid upload is still accepted.
    const wrongSender = encodeFp32Frame({
      jobId: job.id,
      senderId: 'vsomeoneelse',
      round: 0,
      values: new Float32Array(101_770),
    });
    const res = await post(wrongSender, auth);
    expect(res.status).toBe(422);
    expect(await res.json()).toMatchObject({ code: 'WRONG_SENDER' });
    // One upload per volunteer per round.
    expect((await post(good, auth)).status).toBeGreaterThanOrEqual(400);
  });

  it('exports a checkpoint as a TensorFlow.js model that loads and predicts', async () => {
    const { r, job } = await setup(twoShards);
    await tf.setBackend('cpu');
    const model = await tf.loadLayersModel(`${r.url}/api/jobs/${job.id}/checkpoints/0/model.json`);
    const out = model.predict(tf.zeros([2, 28, 28, 1])) as tf.Tensor;
    expect(out.shape).toEqual([2, 10]);
    const sums = (await out.sum(1).data()) as Float32Array;
    expect(Math.abs((sums[0] ?? 0) - 1)).toBeLessThan(1e-4);
    tf.dispose([out]);
    model.dispose();
    expect((await fetch(`${r.url}/api/jobs/${job.id}/checkpoints/99/model.json`)).status).toBe(404);
    const raw = await fetch(`${r.url}/api/jobs/${job.id}/checkpoints/0`);
    expect(raw.status).toBe(200);
    expect(decodeFrame(new Uint8Array(await raw.arrayBuffer())).ok).toBe(true);
    for (const path of [
      'checkpoints',
      'parameters',
      'metrics',
      'checkpoints/0',
      'checkpoints/0/model.json',
    ]) {
      expect((await fetch(`${r.url}/api/jobs/job-000000000000/${path}`)).status, path).toBe(404);
    }
    expect((await fetch(`${r.url}/api/jobs/${job.id}/checkpoints/-1/weights.bin`)).status).toBe(404);
  });
});
