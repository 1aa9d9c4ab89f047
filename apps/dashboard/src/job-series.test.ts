import { describe, expect, it } from 'vitest';
import type { CheckpointSummary, ConsensusPoint, ConsensusSeries } from '@tabswarm/protocol';
import type { JobMetrics, TrainingPoint } from './api.ts';
import { consensusChart, JobSeries, MAX_NODE_SERIES, MEAN_WINDOW, RATE_WINDOW_MS } from './job-series.ts';

const T0 = 1_700_000_000_000;

function completion(i: number, nodeId = `v${i % 3}`, counted: number | boolean = 1): TrainingPoint {
  return { t: T0 + i * 1000, loss: 2 - i * 0.01, samples: 100, counted, nodeId };
}

function metrics(
  training: TrainingPoint[],
  checkpoints: CheckpointSummary[] = [],
  samplesPerSecond = 0,
): JobMetrics {
  return { training, checkpoints, samplesPerSecond };
}

describe('JobSeries', () => {
  it('builds training loss (mean and per node) and throughput columns', () => {
    const s = new JobSeries();
    const training = Array.from({ length: 6 }, (_, i) => completion(i));
    expect(s.ingest(metrics(training))).toBe(true);
    const c = s.charts();
    expect(c.nodeIds).toEqual(['v0', 'v1', 'v2']);
    expect(c.trainingLoss).toHaveLength(2 + 3);
    const [t, v0, v1, , mean] = c.trainingLoss;
    expect([...(t ?? [])]).toEqual(training.map((p) => p.t / 1000));
    expect(mean?.[0]).toBeCloseTo(2);
    expect(mean?.[5]).toBeCloseTo((2 + 1.99 + 1.98 + 1.97 + 1.96 + 1.95) / 6);
    expect(Array.from(v0 ?? [])).toEqual([2, null, null, 1.97, null, null]);
    expect(Array.from(v1 ?? [])).toEqual([null, 1.99, null, null, 1.96, null]);
    // 10 s window: the 6 counted completions of 100 samples within it.
    expect(c.throughput[1]?.[5]).toBeCloseTo(600 / (RATE_WINDOW_MS / 1000));
    expect(s.trainingPoints).toBe(6);
  });

  it('appends only the new tail of each reply, and reports no change for the same reply', () => {
    const s = new JobSeries();
    const training = Array.from({ length: 4 }, (_, i) => completion(i));
    s.ingest(metrics(training.slice(0, 2)));
    const v = s.version;
    expect(s.ingest(metrics(training.slice(0, 2)))).toBe(false);
    expect(s.version).toBe(v);
    expect(s.ingest(metrics(training))).toBe(true);
    expect(s.charts().trainingLoss[0]).toHaveLength(4);
    expect(s.nodeStats().find((n) => n.nodeId === 'v0')).toMatchObject({
      completions: 2,
      counted: 2,
      samples: 200,
    });
  });

  it('rebuilds when the server’s list no longer continues what it held', () => {
    const s = new JobSeries();
    s.ingest(metrics([completion(0), completion(1)]));
    s.ingest(metrics([completion(5), completion(6), completion(7)]));
    expect(Array.from(s.charts().trainingLoss[0] ?? [])).toEqual(
      [5, 6, 7].map((i) => (T0 + i * 1000) / 1000),
    );
  });

  it('keeps only the newest `capacity` completions for the charts', () => {
    const s = new JobSeries(5);
    s.ingest(metrics(Array.from({ length: 12 }, (_, i) => completion(i))));
    const t = s.charts().trainingLoss[0];
    expect(t).toHaveLength(5);
    expect(t?.[0]).toBe((T0 + 7000) / 1000);
    // Node totals still cover every completion.
    expect(s.nodeStats().reduce((sum, n) => sum + n.completions, 0)).toBe(12);
  });

  it('averages the mean over the last MEAN_WINDOW completions', () => {
    const s = new JobSeries();
    const training = Array.from({ length: MEAN_WINDOW + 5 }, (_, i) => ({ ...completion(i), loss: i }));
    s.ingest(metrics(training));
    const loss = s.charts().trainingLoss;
    const mean = loss[loss.length - 1];
    const last = MEAN_WINDOW + 4;
    expect(mean?.[last]).toBeCloseTo((last + (last - MEAN_WINDOW + 1)) / 2);
  });

  it('places checkpoints in time and by the samples trained before them; only evaluated ones are drawn', () => {
    const s = new JobSeries();
    const training = [completion(0), completion(1, 'v1', 0), completion(2), completion(3)];
    const checkpoints: CheckpointSummary[] = [
      { seq: 1, createdAt: T0 + 2500, shardsDone: 2, accuracy: 0.4, loss: 1.5 },
      { seq: 0, createdAt: T0 - 1000, shardsDone: 0, accuracy: 0.1, loss: 2.3 },
      { seq: 2, createdAt: T0 + 4000, shardsDone: 3, accuracy: null, loss: null },
    ];
    s.ingest(metrics(training, checkpoints, 12.5));
    const c = s.charts();
    expect(Array.from(c.testByTime[0] ?? [])).toEqual([(T0 - 1000) / 1000, (T0 + 2500) / 1000]);
    expect(Array.from(c.testByTime[1] ?? [])).toEqual([0.1, 0.4]);
    expect(Array.from(c.testBySamples[0] ?? [])).toEqual([0, 200]);
    expect(s.samplesAtShards(3)).toBe(300);
    expect(s.samplesAtShards(99)).toBe(300);
    expect(s.checkpoints.map((x) => x.seq)).toEqual([0, 1, 2]);
    expect(s.samplesPerSecond).toBe(12.5);
    // Checkpoint 2 is still being scored: the summary shows checkpoint 1's figures meanwhile.
    expect(s.latestScored?.seq).toBe(1);
    // The evaluation arriving later is a change.
    expect(
      s.ingest(
        metrics(
          training,
          checkpoints.map((x) => (x.seq === 2 ? { ...x, accuracy: 0.5, loss: 1.2 } : x)),
          12.5,
        ),
      ),
    ).toBe(true);
    expect(s.charts().testByTime[0]).toHaveLength(3);
    expect(s.latestScored?.seq).toBe(2);
  });

  it('draws at most MAX_NODE_SERIES per-node lines', () => {
    const s = new JobSeries();
    s.ingest(metrics(Array.from({ length: MAX_NODE_SERIES + 7 }, (_, i) => completion(i, `n${i}`))));
    const c = s.charts();
    expect(c.nodeIds).toHaveLength(MAX_NODE_SERIES);
    expect(c.trainingLoss).toHaveLength(2 + MAX_NODE_SERIES);
  });

  it('caches chart data until something changes', () => {
    const s = new JobSeries();
    s.ingest(metrics([completion(0)]));
    expect(s.charts()).toBe(s.charts());
    const before = s.charts();
    s.ingest(metrics([completion(0), completion(1)]));
    expect(s.charts()).not.toBe(before);
  });
});

const JOB = 'job-000000000001';

function point(at: number, distance: number | null, overrides: Partial<ConsensusPoint> = {}): ConsensusPoint {
  return {
    jobId: JOB,
    at,
    nodeId: 'a',
    partner: 'b',
    role: 'initiator',
    outcome: distance === null ? 'timeout' : 'ok',
    codec: 'fp32',
    distance,
    bytes: 1000,
    durationMs: 20,
    link: 'direct',
    ...overrides,
  };
}

function consensusSeries(points: ConsensusPoint[], bucketMs = 5_000): ConsensusSeries {
  const buckets = new Map<number, { exchanges: number; ok: number; sum: number }>();
  for (const p of points) {
    const at = Math.floor(p.at / bucketMs) * bucketMs;
    const b = buckets.get(at) ?? { exchanges: 0, ok: 0, sum: 0 };
    b.exchanges += 1;
    if (p.outcome === 'ok' && p.distance !== null) {
      b.ok += 1;
      b.sum += p.distance;
    }
    buckets.set(at, b);
  }
  return {
    jobId: JOB,
    bucketMs,
    buckets: [...buckets].map(([at, b]) => ({
      at,
      exchanges: b.exchanges,
      ok: b.ok,
      meanDistance: b.ok > 0 ? b.sum / b.ok : null,
      maxDistance: null,
      bytes: 0,
    })),
    points,
    totals: { exchanges: points.length, byOutcome: {}, bytesByCodec: {} },
  };
}

describe('consensusChart', () => {
  it('is empty without a reply or live points, and for a job with no exchanges', () => {
    expect(consensusChart(null, [], JOB)).toEqual({ data: [[], []], exchanges: 0, measured: 0 });
    expect(consensusChart(consensusSeries([]), [], JOB).data).toEqual([[], []]);
  });

  it('draws the mean distance of each bucket’s successful exchanges, in seconds', () => {
    const chart = consensusChart(
      consensusSeries([point(T0, 0.4), point(T0 + 1000, 0.2), point(T0 + 2000, null), point(T0 + 6000, 0.1)]),
      [],
      JOB,
    );
    expect(chart.data[0]).toEqual([T0 / 1000, (T0 + 5000) / 1000]);
    expect(chart.data[1][0]).toBeCloseTo(0.3);
    expect(chart.data[1][1]).toBeCloseTo(0.1);
    expect(chart.exchanges).toBe(4);
    expect(chart.measured).toBe(3);
  });

  it('folds in live points the reply does not hold, once, and only of this job', () => {
    const held = point(T0, 0.4);
    const series = consensusSeries([held]);
    const live = [
      held, // already in the reply
      point(T0 - 60_000, 0.9), // older than the reply's points: covered by its buckets
      point(T0 + 1000, 0.2),
      point(T0 + 1000, 0.2), // the same report twice
      point(T0 + 11_000, 0.05, { jobId: 'job-000000000002' }),
      point(T0 + 12_000, null),
    ];
    const chart = consensusChart(series, live, JOB);
    expect(chart.data[0]).toEqual([T0 / 1000]);
    expect(chart.data[1][0]).toBeCloseTo(0.3);
    expect(chart.exchanges).toBe(3);
    expect(chart.measured).toBe(2);
  });

  it('draws live points alone before the reply comes', () => {
    const chart = consensusChart(null, [point(T0, 0.5), point(T0 + 7000, 0.25)], JOB);
    expect(chart.data).toEqual([
      [T0 / 1000, (T0 + 5000) / 1000],
      [0.5, 0.25],
    ]);
  });
});
