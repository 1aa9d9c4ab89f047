import { describe, expect, it, vi } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { l2Norm, mulberry32, randomVector } from '@tabswarm/core';
import { decodeFrame, encodeFp32Frame, frameValues, type CheckpointSummary } from '@tabswarm/protocol';
import { api } from '../test-support.ts';
import { useSimJobs } from './test-support.ts';

const { setup, sim } = useSimJobs();

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
    }, 15_000); // evaluations are CPU-bound: seconds on a loaded machine
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

// ── Robust aggregation: one poisoner among honest contributors ──────────────────────────────────

/** 16 shards of 500 samples; rounds only when the test asks (everyShards is out of reach). */
const robustJob = {
  name: 'robust',
  training: { batchSize: 100, localSteps: 5, epochs: 1 },
  checkpoint: { everyShards: 1000, contributors: 4, uploadTimeoutMs: 10_000 },
};

const distance = (a: Float32Array, b: ArrayLike<number>): number => {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += ((a[i] as number) - (b[i] as number)) ** 2;
  return Math.sqrt(sum);
};

const mean = (vectors: readonly Float32Array[]): Float64Array => {
  const out = new Float64Array(vectors[0]?.length ?? 0);
  for (const v of vectors)
    for (let i = 0; i < v.length; i++) out[i] = (out[i] as number) + (v[i] as number) / vectors.length;
  return out;
};

/**
 * Honest volunteers keep training their own models: in round r, volunteer i holds
 * base + r·g + noiseᵢ,ᵣ, whatever the checkpoints became (‖g‖ = 5 % of the base model's norm,
 * ‖noise‖ about half of that). The attacker answers with `attack(latest checkpoint)`.
 */
async function poisonScenario(attack: (latest: Float32Array) => Float32Array, aggregation?: object) {
  const { r, job } = await setup(
    aggregation === undefined
      ? robustJob
      : { ...robustJob, checkpoint: { ...robustJob.checkpoint, aggregation } },
  );
  const baseFrame = await r.server.checkpoints().frame(job.id, 0);
  const decoded = baseFrame && decodeFrame(baseFrame);
  if (!decoded?.ok) throw new Error('checkpoint 0 does not decode');
  const base = frameValues(decoded).slice();
  const n = base.length;
  const unit = (seed: number, norm: number): Float32Array => {
    const v = randomVector(mulberry32(seed), n);
    const k = norm / l2Norm(v);
    return v.map((x) => x * k);
  };
  const g = unit(1, 0.05 * l2Norm(base));
  let round = 0;
  const honestModel = (i: number): Float32Array => {
    const noise = unit(100 + 10 * round + i, 0.025 * l2Norm(base));
    return base.map((b, j) => b + round * (g[j] as number) + (noise[j] as number));
  };
  const honest = [
    await sim(r.url, { parameters: () => honestModel(0) }),
    await sim(r.url, { parameters: () => honestModel(1) }),
    await sim(r.url, { parameters: () => honestModel(2) }),
  ];
  const attacker = await sim(r.url, { parameters: attack });
  const everyone = [...honest, attacker];
  /** One round: everyone trains a shard, the coordinator asks all four; the new checkpoint's record and values. */
  const play = async () => {
    round++;
    const before = everyone.map((s) => s.uploads.length);
    for (const s of everyone) {
      const lease = await s.lease();
      if (!lease) throw new Error('expected a lease');
      await s.complete(lease);
    }
    expect(r.server.checkpoints().request(job.id)).not.toBeNull();
    await vi.waitFor(() => everyone.forEach((s, i) => expect(s.uploads.length).toBe((before[i] ?? 0) + 1)));
    await Promise.all(everyone.flatMap((s) => s.uploads.slice(-1)));
    await vi.waitFor(() => expect(r.server.checkpoints().record(job.id, round)).toBeDefined(), {
      timeout: 15_000,
    });
    const record = r.server.checkpoints().record(job.id, round);
    const frame = await r.server.checkpoints().frame(job.id, round);
    const values = frame && decodeFrame(frame);
    if (!record || !values?.ok) throw new Error(`checkpoint ${round} is missing`);
    const honestMean = mean(honest.map((_, i) => honestModel(i)));
    return { record, values: frameValues(values), honestMean, step: l2Norm(g) };
  };
  return { r, job, honest, attacker, play };
}

describe('checkpoints with a poisoner among honest volunteers', () => {
  it('rejects an upload of −9.9 × the model as an outlier: the checkpoint stays the honest mean', async () => {
    const { r, job, honest, attacker, play } = await poisonScenario((latest) => latest.map((x) => -9.9 * x));
    const { record, values, honestMean, step } = await play();
    // Before the fix the attacker's upload was within 10× of the previous norm and was averaged in:
    // the checkpoint landed about 1.7 model norms from the honest mean.
    expect(distance(values, honestMean)).toBeLessThan(0.01 * step);
    expect(record.contributors.accepted.map((a) => a.nodeId).sort()).toEqual(
      honest.map((h) => h.nodeId).sort(),
    );
    expect(record.contributors.rejected).toEqual([
      expect.objectContaining({ nodeId: attacker.nodeId, reason: 'OUTLIER' }),
    ]);
    const metrics = await (await fetch(`${r.url}/metrics`)).text();
    expect(metrics).toContain(
      `tabswarm_validation_rejections_total{job="${job.id}",reason="checkpoint_outlier"} 1`,
    );
  });

  it('an upload of −3 × the model cannot collapse the checkpoint and lock the honest volunteers out', async () => {
    const { honest, attacker, play } = await poisonScenario((latest) => latest.map((x) => -3 * x));
    for (let round = 1; round <= 3; round++) {
      const { record, values, honestMean, step } = await play();
      // Before the fix: round 1 averaged the attacker in (the checkpoint's norm collapsed to a few
      // per cent of the model's), and from round 2 on every honest upload was refused as out of
      // norm range while the attacker's models became the checkpoints.
      expect(record.contributors.accepted.map((a) => a.nodeId).sort(), `round ${round}`).toEqual(
        honest.map((h) => h.nodeId).sort(),
      );
      expect(record.contributors.rejected.map((x) => [x.nodeId, x.reason])).toEqual([
        [attacker.nodeId, 'OUTLIER'],
      ]);
      expect(distance(values, honestMean), `round ${round}`).toBeLessThan(0.01 * step);
    }
  });

  it('an honest round is the plain mean of the uploads', async () => {
    // The fourth volunteer is honest here: it moved from the checkpoint as far as the others did.
    let fourth: Float32Array | undefined;
    const { play } = await poisonScenario((latest) => {
      const v = randomVector(mulberry32(7), latest.length);
      const k = (0.05 * l2Norm(latest)) / l2Norm(v);
      fourth = latest.map((x, i) => x + k * (v[i] as number));
      return fourth;
    });
    const { record, values, honestMean } = await play();
    expect(record.contributors.accepted).toHaveLength(4);
    expect(record.contributors.rejected).toEqual([]);
    const plain = honestMean.map((h, i) => (3 * h + (fourth?.[i] ?? Number.NaN)) / 4);
    // Equal up to the fp32 rounding of the written checkpoint.
    expect(distance(values, plain)).toBeLessThan(1e-6 * l2Norm(plain));
  });
});

describe("the job's aggregation rule, against a −9.9 × poisoner among 3 honest volunteers", () => {
  const poison = (latest: Float32Array) => latest.map((x) => -9.9 * x);

  it('mean (no protection): the poisoner drags the checkpoint many honest steps away', async () => {
    const { record, values, honestMean, step } = await (
      await poisonScenario(poison, { rule: 'mean' })
    ).play();
    expect(record.contributors.accepted).toHaveLength(4);
    expect(distance(values, honestMean)).toBeGreaterThan(20 * step);
  });

  it.each([
    [{ rule: 'median' }],
    [{ rule: 'trimmed-mean', trimFraction: 0.25 }],
    [{ rule: 'centered-clipping', iterations: 3 }],
  ])('%j keeps the checkpoint within one honest step of the honest mean', async (aggregation) => {
    const { record, values, honestMean, step } = await (await poisonScenario(poison, aggregation)).play();
    expect(record.contributors.accepted).toHaveLength(4);
    expect(distance(values, honestMean)).toBeLessThan(step);
  });
});

describe('checkpoint uploads that fail in transport', () => {
  it('lets the volunteer retry a truncated or corrupted frame a bounded number of times', async () => {
    const { r, job } = await setup({
      ...robustJob,
      checkpoint: { ...robustJob.checkpoint, contributors: 3 },
    });
    const requests = new Map<string, { requestId: string; token: string; uploadUrl: string }>();
    const volunteers = [
      await sim(r.url, { answerCheckpoints: false }),
      await sim(r.url, { answerCheckpoints: false }),
      await sim(r.url, { answerCheckpoints: false }),
    ];
    for (const v of volunteers) {
      v.socket.on('checkpointRequest', (req) => requests.set(v.nodeId, req));
      const lease = await v.lease();
      if (!lease) throw new Error('expected a lease');
      await v.complete(lease);
    }
    expect(r.server.checkpoints().request(job.id)).not.toBeNull();
    await vi.waitFor(() => expect(requests.size).toBe(3));
    const post = async (nodeId: string, frame: Uint8Array) => {
      const request = requests.get(nodeId);
      if (!request) throw new Error('no request');
      const res = await fetch(`${r.url}${request.uploadUrl}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${request.token}`, 'content-type': 'application/octet-stream' },
        body: Buffer.from(frame),
        signal: AbortSignal.timeout(10_000),
      });
      return { status: res.status, body: (await res.json()) as { code?: string; accepted?: boolean } };
    };
    const good = (nodeId: string) =>
      encodeFp32Frame({
        jobId: job.id,
        senderId: nodeId,
        round: 0,
        values: new Float32Array(101_770).fill(0.01),
      });
    const truncated = (nodeId: string) => good(nodeId).subarray(0, 1000);
    const corrupted = (nodeId: string) => {
      const frame = good(nodeId).slice();
      frame[frame.length - 1] = (frame[frame.length - 1] as number) ^ 0xff;
      return frame;
    };
    const [a, b, c] = volunteers.map((v) => v.nodeId) as [string, string, string];
    // A: a truncated frame, a corrupted one, then the valid retry is accepted.
    expect(await post(a, truncated(a))).toMatchObject({ status: 422, body: { code: 'FRAME_TRUNCATED' } });
    expect(await post(a, corrupted(a))).toMatchObject({ status: 422, body: { code: 'FRAME_BAD_CHECKSUM' } });
    expect(await post(a, good(a))).toEqual({ status: 200, body: { ok: true, accepted: true } });
    // B: the first attempt and three retries fail; after that it is done for the round (which C keeps open).
    for (let attempt = 0; attempt < 4; attempt++)
      expect(await post(b, truncated(b))).toMatchObject({ status: 422, body: { code: 'FRAME_TRUNCATED' } });
    expect(await post(b, good(b))).toMatchObject({ status: 422, body: { code: 'ALREADY_UPLOADED' } });
    expect(await post(c, good(c))).toEqual({ status: 200, body: { ok: true, accepted: true } });
    await vi.waitFor(() => expect(r.server.checkpoints().record(job.id, 1)).toBeDefined(), {
      timeout: 10_000,
    });
    const record = r.server.checkpoints().record(job.id, 1);
    expect(record?.contributors.accepted.map((x) => x.nodeId).sort()).toEqual([a, c].sort());
    expect(record?.contributors.rejected).toEqual([
      expect.objectContaining({ nodeId: b, reason: 'FRAME_TRUNCATED' }),
    ]);
    const metrics = await (await fetch(`${r.url}/metrics`)).text();
    // Every failed attempt is counted.
    expect(metrics).toContain(
      `tabswarm_validation_rejections_total{job="${job.id}",reason="checkpoint_frame_truncated"} 5`,
    );
  });
});
