import { afterEach, describe, expect, it } from 'vitest';
import { l2Norm, mulberry32, randomVector } from '@tabswarm/core';
import {
  aggregationSpecSchema,
  decodeFrame,
  encodeFp32Frame,
  FEDAVG_PARTICIPANTS_HEADER,
  FEDAVG_ROUND_HEADER,
  FEDAVG_SAMPLES_HEADER,
  fedAvgCredential,
  fedAvgUploadPath,
  frameValues,
} from '@tabswarm/protocol';
import { FEDAVG_JOB, startGossipServer, type GossipTestServer, type StubJob } from './test-support.ts';

let server: GossipTestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const N = 1000;
const filled = (v: number): Float32Array => new Float32Array(N).fill(v);

async function upload(
  s: GossipTestServer,
  who: { nodeId: string; token: string },
  values: Float32Array,
  samples: number,
  override: { sender?: string; auth?: string } = {},
) {
  const frame = encodeFp32Frame({
    jobId: FEDAVG_JOB,
    senderId: override.sender ?? who.nodeId,
    round: 0,
    values,
  });
  const res = await fetch(`${s.url}${fedAvgUploadPath(FEDAVG_JOB)}`, {
    method: 'POST',
    headers: {
      authorization: override.auth ?? fedAvgCredential(who.nodeId, who.token),
      'content-type': 'application/octet-stream',
      [FEDAVG_SAMPLES_HEADER]: String(samples),
    },
    body: frame.buffer as ArrayBuffer,
  });
  if (res.headers.get('content-type')?.includes('json')) {
    return { status: res.status, error: (await res.json()) as { code: string }, values: null, res };
  }
  const decoded = decodeFrame(new Uint8Array(await res.arrayBuffer()));
  return { status: res.status, error: null, values: decoded.ok ? frameValues(decoded) : null, res };
}

async function start(job: Partial<StubJob> = {}) {
  server = await startGossipServer({ job });
  return server;
}

describe('FedAvg rounds', () => {
  it('averages the round weighted by the samples the coordinator counted (W = Σ nₖ/N · Wₖ), whatever is declared', async () => {
    // Measured from a checkpoint at 3: both moved as far (2), so the average is the plain weighted one.
    const s = await start({ expected: 2, reference: filled(3) });
    const [a, b] = [await s.volunteer(100), await s.volunteer(300)];
    // a declares 10^9 samples and b 1: before the fix, a's model was the average.
    const [ra, rb] = await Promise.all([upload(s, a, filled(1), 1e9), upload(s, b, filled(5), 1)]);
    expect(ra.status).toBe(200);
    expect(rb.status).toBe(200);
    expect(ra.values?.[0]).toBeCloseTo(4, 6); // (100·1 + 300·5) / 400
    expect(Array.from(rb.values ?? [])).toEqual(Array.from(ra.values ?? []));
    expect(ra.res.headers.get(FEDAVG_PARTICIPANTS_HEADER)).toBe('2');
    expect(ra.res.headers.get(FEDAVG_ROUND_HEADER)).toBe('0');
    // The next uploads open round 1, weighted by the work counted since each one's last upload:
    // a did 300 more samples, b 100 more (both 400 in all).
    s.job.counted.set(a.nodeId, 400);
    s.job.counted.set(b.nodeId, 400);
    const [rc] = await Promise.all([upload(s, a, filled(2), 1), upload(s, b, filled(6), 1e9)]);
    expect(rc.res.headers.get(FEDAVG_ROUND_HEADER)).toBe('1');
    expect(rc.values?.[0]).toBeCloseTo(3, 6); // (300·2 + 100·6) / 400
    // Nothing counted since: nothing to contribute.
    expect(await upload(s, a, filled(2), 1)).toMatchObject({ status: 409, error: { code: 'NO_NEW_WORK' } });
  });

  it('refuses an upload from a volunteer with no counted work on the job, and counts it', async () => {
    const s = await start({ expected: 2 });
    const [a, outsider] = [await s.volunteer(), await s.volunteer(0)];
    expect(await upload(s, outsider, filled(1), 1000)).toMatchObject({
      status: 403,
      error: { code: 'NO_COUNTED_WORK' },
    });
    // It did not join the round: a's upload alone is the quorum (1 of 2) and its own average.
    expect((await upload(s, a, filled(3), 1)).values?.[0]).toBeCloseTo(3, 6);
    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    expect(metrics).toContain(
      `tabswarm_validation_rejections_total{job="${FEDAVG_JOB}",reason="fedavg_no_counted_work"} 1`,
    );
  });

  it('refuses every upload of a volunteer that validated work distrusted, and counts it', async () => {
    const s = await start({ expected: 2 });
    const [a, outvoted] = [await s.volunteer(), await s.volunteer()];
    s.job.distrusted.add(outvoted.nodeId);
    expect(await upload(s, outvoted, filled(100), 1)).toMatchObject({
      status: 403,
      error: { code: 'DISTRUSTED' },
    });
    // It is not part of the round: a's upload is the round's average on its own.
    expect((await upload(s, a, filled(3), 1)).values?.[0]).toBeCloseTo(3, 6);
    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    expect(metrics).toContain(
      `tabswarm_validation_rejections_total{job="${FEDAVG_JOB}",reason="fedavg_distrusted"} 1`,
    );
  });

  it('closes on quorum after a grace, without waiting for a vanished volunteer', async () => {
    const s = await start({
      expected: 3,
      reference: filled(2),
      averaging: { mode: 'fedavg', roundDeadlineMs: 5_000, quorum: 0.5, maxNormRatio: 10 },
    });
    const [a, b] = [await s.volunteer(), await s.volunteer()];
    const started = Date.now();
    const [ra] = await Promise.all([upload(s, a, filled(1), 1), upload(s, b, filled(3), 1)]);
    expect(ra.values?.[0]).toBeCloseTo(2, 6);
    expect(Date.now() - started).toBeLessThan(2_000); // the grace (deadline / 10), not the deadline
  });

  it('fails the round without a quorum by the deadline: everyone keeps their own model', async () => {
    const s = await start({
      expected: 4,
      averaging: { mode: 'fedavg', roundDeadlineMs: 1_000, quorum: 0.75, maxNormRatio: 10 },
    });
    const a = await s.volunteer();
    const r = await upload(s, a, filled(1), 1);
    expect(r).toMatchObject({ status: 409, error: { code: 'NO_QUORUM' } });
  });

  it('authenticates the volunteer and validates the upload', async () => {
    const s = await start({ expected: 2 });
    const [a, b] = [await s.volunteer(), await s.volunteer()];
    expect((await upload(s, a, filled(1), 1, { auth: 'Bearer nope' })).status).toBe(401);
    expect((await upload(s, a, filled(1), 1, { auth: fedAvgCredential(a.nodeId, b.token) })).status).toBe(
      403,
    );
    expect(await upload(s, a, filled(1), 1, { sender: b.nodeId })).toMatchObject({
      status: 422,
      error: { code: 'WRONG_SENDER' },
    });
    expect(await upload(s, a, new Float32Array(N - 1), 1)).toMatchObject({
      status: 422,
      error: { code: 'LENGTH' },
    });
    const nan = filled(1);
    nan[5] = Number.NaN;
    expect(await upload(s, a, nan, 1)).toMatchObject({ status: 422, error: { code: 'NON_FINITE' } });
    expect(await upload(s, a, filled(1), 0)).toMatchObject({ status: 400 });
    // Measured from the last average (1): an upload that moved 10,000× as far as the other one is
    // refused as an outlier and keeps its own model; the other gets the average without it.
    await Promise.all([upload(s, a, filled(1), 1), upload(s, b, filled(1), 1)]);
    s.job.counted.set(a.nodeId, 2000);
    s.job.counted.set(b.nodeId, 2000);
    const [far, near] = await Promise.all([upload(s, a, filled(1000), 1), upload(s, b, filled(1.1), 1)]);
    expect(far).toMatchObject({ status: 422, error: { code: 'OUTLIER' } });
    expect(near.values?.[0]).toBeCloseTo(1.1, 6);
    expect(near.res.headers.get(FEDAVG_PARTICIPANTS_HEADER)).toBe('1');
  });

  it('refuses a second upload in the same round and uploads to a gossip job', async () => {
    const s = await start({
      expected: 3,
      averaging: { mode: 'fedavg', roundDeadlineMs: 1_000, quorum: 1, maxNormRatio: 10 },
    });
    const a = await s.volunteer();
    const first = upload(s, a, filled(1), 1);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await upload(s, a, filled(1), 1)).toMatchObject({
      status: 409,
      error: { code: 'ALREADY_UPLOADED' },
    });
    expect((await first).status).toBe(409);
    s.job.averaging = { ...s.job.averaging, mode: 'gossip' };
    expect(await upload(s, a, filled(1), 1)).toMatchObject({ status: 409, error: { code: 'NOT_FEDAVG' } });
  });
});

describe('FedAvg rounds with a poisoner', () => {
  const distance = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
    let sum = 0;
    for (let i = 0; i < a.length; i++) sum += ((a[i] as number) - (b[i] as number)) ** 2;
    return Math.sqrt(sum);
  };
  const direction = (seed: number, norm: number): Float32Array => {
    const v = randomVector(mulberry32(seed), N);
    const k = norm / l2Norm(v);
    return v.map((x) => x * k);
  };

  it('one volunteer of four cannot collapse the average and lock the honest ones out', async () => {
    // The latest checkpoint (‖base‖ ≈ 27); honest volunteers move 5 % of it per round, plus noise.
    const base = randomVector(mulberry32(1), N, 1.5);
    const s = await start({
      expected: 4,
      reference: base,
      averaging: { mode: 'fedavg', roundDeadlineMs: 5_000, quorum: 1, maxNormRatio: 10 },
    });
    const honest = [await s.volunteer(), await s.volunteer(), await s.volunteer()];
    const attacker = await s.volunteer();
    const g = direction(2, 0.05 * l2Norm(base));
    let lastAverage: Float32Array = base;
    for (let round = 1; round <= 3; round++) {
      for (const v of [...honest, attacker]) s.job.counted.set(v.nodeId, 1000 * round);
      const models = honest.map((_, i) => {
        const noise = direction(100 + 10 * round + i, 0.025 * l2Norm(base));
        return base.map((b, j) => b + round * (g[j] as number) + (noise[j] as number));
      });
      const results = await Promise.all([
        ...honest.map((v, i) => upload(s, v, models[i] as Float32Array, 1000)),
        upload(
          s,
          attacker,
          lastAverage.map((x) => -3 * x),
          1000,
        ),
      ]);
      const honestMean = models[0]?.map((_, j) => models.reduce((sum, m) => sum + (m[j] as number), 0) / 3);
      // Before the fix: round 1 averaged the attacker in (the average's norm fell to a few per cent
      // of the model's), and from round 2 on every honest upload was refused as out of norm range.
      for (const r of results.slice(0, 3)) {
        expect(r.status, `round ${round}`).toBe(200);
        expect(distance(r.values ?? [], honestMean ?? []), `round ${round}`).toBeLessThan(0.01 * l2Norm(g));
      }
      expect(results[3], `round ${round}`).toMatchObject({ status: 422, error: { code: 'OUTLIER' } });
      lastAverage = results[0]?.values ?? base;
    }
    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    expect(metrics).toContain(
      `tabswarm_validation_rejections_total{job="${FEDAVG_JOB}",reason="fedavg_outlier"} 3`,
    );
  });
  it.each([
    ['mean', 1001 / 3],
    ['median', 2],
  ] as const)("averages a round with the job's aggregation rule (%s)", async (rule, expected) => {
    const s = await start({
      expected: 3,
      reference: filled(0),
      averaging: {
        mode: 'fedavg',
        roundDeadlineMs: 5_000,
        quorum: 1,
        maxNormRatio: 10,
        aggregation: aggregationSpecSchema.parse({ rule }),
      },
    });
    const [a, b, c] = [await s.volunteer(), await s.volunteer(), await s.volunteer()];
    const results = await Promise.all([
      upload(s, a, filled(1), 1),
      upload(s, b, filled(2), 1),
      upload(s, c, filled(998), 1),
    ]);
    for (const r of results) expect(r.values?.[0]).toBeCloseTo(expected, 3);
  });

  it.each([
    [0, 2, 'the median of the three'],
    [256, 1.5, 'the median of the two that scored near each other'],
  ] as const)(
    'the loss screen (lossScreenSamples %i): a near upload that scores far worse is refused, %s',
    async (lossScreenSamples, expected, _what) => {
      const s = await start({
        expected: 3,
        reference: filled(0),
        averaging: {
          mode: 'fedavg',
          roundDeadlineMs: 5_000,
          quorum: 1,
          maxNormRatio: 10,
          aggregation: aggregationSpecSchema.parse({ rule: 'median', lossScreenSamples }),
        },
        // The coordinator's scores stood in for: the upload at 3 trained on the wrong labels.
        loss: (values) => (values[0] === 3 ? 2.3 : 0.4),
      });
      const [a, b, c] = [await s.volunteer(), await s.volunteer(), await s.volunteer()];
      const [ra, rb, rc] = await Promise.all([
        upload(s, a, filled(1), 1),
        upload(s, b, filled(2), 1),
        upload(s, c, filled(3), 1),
      ]);
      expect(ra?.values?.[0]).toBeCloseTo(expected, 3);
      expect(rb?.values?.[0]).toBeCloseTo(expected, 3);
      if (lossScreenSamples === 0) expect(rc?.values?.[0]).toBeCloseTo(expected, 3);
      else expect(rc).toMatchObject({ status: 422, error: { code: 'LOSS_OUTLIER' } });
    },
  );
});
