/**
 * A job's chart series, built from `GET /api/jobs/:id/metrics` and refreshed by re-fetching it:
 * completions are appended to a columnar ring (only the new tail of each reply), checkpoints are
 * small and rebuilt. Chart data (uPlot's aligned columns) is derived once per change and cached.
 * The consensus-distance series comes from `GET /api/jobs/:id/consensus` plus live `consensus`
 * points, merged by `consensusChart`.
 */
import type uPlot from 'uplot';
import type { CheckpointSummary, ConsensusPoint, ConsensusSeries } from '@tabswarm/protocol';
import type { JobMetrics, TrainingPoint } from './api.ts';
import { ColumnRing } from './ring-buffer.ts';

/** Completions kept for the charts; the CSV export always has them all. */
export const MAX_CHART_POINTS = 10_000;
/** Per-node training-loss lines drawn; the mean covers every node. */
export const MAX_NODE_SERIES = 50;
/** The "mean" training loss is over this many most recent completions. */
export const MEAN_WINDOW = 20;
/** Throughput is counted samples over this trailing window. */
export const RATE_WINDOW_MS = 10_000;

type Column = 't' | 'loss' | 'node' | 'mean' | 'samples' | 'rate';
const COLUMNS: readonly Column[] = ['t', 'loss', 'node', 'mean', 'samples', 'rate'];

export interface NodeTrainingStats {
  readonly nodeId: string;
  readonly completions: number;
  readonly counted: number;
  readonly samples: number;
  readonly lastLoss: number;
  readonly lastAt: number;
}

export interface JobCharts {
  readonly version: number;
  /** [time s, accuracy, loss] of evaluated checkpoints. */
  readonly testByTime: uPlot.AlignedData;
  /** [samples trained, accuracy, loss] of evaluated checkpoints. */
  readonly testBySamples: uPlot.AlignedData;
  /**
   * [time s, ...one column per node in `nodeIds` (null where that node did not report), mean loss]:
   * the mean last, so that it is drawn over the per-node lines.
   */
  readonly trainingLoss: uPlot.AlignedData;
  readonly nodeIds: readonly string[];
  /** [time s, samples/s over the trailing window]. */
  readonly throughput: uPlot.AlignedData;
}

const isCounted = (p: TrainingPoint): boolean => p.counted === true || p.counted === 1;
const sameCompletion = (a: TrainingPoint, b: TrainingPoint): boolean =>
  a.t === b.t && a.nodeId === b.nodeId && a.loss === b.loss && a.samples === b.samples;

export class JobSeries {
  readonly capacity: number;
  #ring: ColumnRing<Column>;
  #version = 0;
  #charts: JobCharts | null = null;
  #checkpoints: CheckpointSummary[] = [];
  #lastMetrics: JobMetrics | null = null;
  /** Completions consumed from the server's list, and the last of them (to detect a changed list). */
  #consumed = 0;
  #lastConsumed: TrainingPoint | null = null;
  /** Cumulative counted samples after the k-th counted completion (index 0 is 0). */
  #countedPrefix: number[] = [0];
  #window: number[] = [];
  #windowSum = 0;
  #rateQueue: { t: number; samples: number }[] = [];
  #rateSum = 0;
  #nodeIndex = new Map<string, number>();
  #nodeStats = new Map<string, NodeTrainingStats>();
  #samplesPerSecond = 0;

  constructor(capacity = MAX_CHART_POINTS) {
    this.capacity = capacity;
    this.#ring = new ColumnRing(COLUMNS, capacity);
  }

  get version(): number {
    return this.#version;
  }

  /** Completions held for the charts (at most `capacity`). */
  get trainingPoints(): number {
    return this.#ring.length;
  }

  get checkpoints(): readonly CheckpointSummary[] {
    return this.#checkpoints;
  }

  /** The newest checkpoint with figures: a newer one may still be being scored. */
  get latestScored(): CheckpointSummary | null {
    return this.#checkpoints.findLast((c) => c.accuracy !== null) ?? null;
  }

  /** The coordinator's own throughput figure from the last reply. */
  get samplesPerSecond(): number {
    return this.#samplesPerSecond;
  }

  /** The last reply, for the CSV export. */
  get lastMetrics(): JobMetrics | null {
    return this.#lastMetrics;
  }

  /** Per node, over every completion of the job (not only those still in the ring). */
  nodeStats(): NodeTrainingStats[] {
    return [...this.#nodeStats.values()];
  }

  /** Counted samples trained when a checkpoint with this many shards done was taken. */
  samplesAtShards(shardsDone: number): number {
    const prefix = this.#countedPrefix;
    return prefix[Math.min(Math.max(0, shardsDone), prefix.length - 1)] ?? 0;
  }

  /** Takes a fresh /metrics reply; returns true when anything changed. */
  ingest(metrics: JobMetrics): boolean {
    this.#lastMetrics = metrics;
    let changed = metrics.samplesPerSecond !== this.#samplesPerSecond;
    this.#samplesPerSecond = metrics.samplesPerSecond;

    const training = metrics.training;
    const previous = this.#consumed > 0 ? training[this.#consumed - 1] : undefined;
    const continues =
      training.length >= this.#consumed &&
      (this.#consumed === 0 ||
        (previous !== undefined &&
          this.#lastConsumed !== null &&
          sameCompletion(previous, this.#lastConsumed)));
    if (!continues) {
      this.#reset();
      changed = true;
    }
    for (let i = this.#consumed; i < training.length; i++) {
      const point = training[i];
      if (point !== undefined) this.#append(point);
    }
    if (training.length > this.#consumed) changed = true;
    this.#consumed = training.length;
    this.#lastConsumed = training[training.length - 1] ?? null;

    const checkpoints = [...metrics.checkpoints].sort((a, b) => a.seq - b.seq);
    if (!sameCheckpoints(checkpoints, this.#checkpoints)) {
      this.#checkpoints = checkpoints;
      changed = true;
    }
    if (changed) {
      this.#version += 1;
      this.#charts = null;
    }
    return changed;
  }

  charts(): JobCharts {
    this.#charts ??= this.#buildCharts();
    return this.#charts;
  }

  #reset(): void {
    this.#ring = new ColumnRing(COLUMNS, this.capacity);
    this.#consumed = 0;
    this.#lastConsumed = null;
    this.#countedPrefix = [0];
    this.#window = [];
    this.#windowSum = 0;
    this.#rateQueue = [];
    this.#rateSum = 0;
    this.#nodeIndex = new Map();
    this.#nodeStats = new Map();
  }

  #append(point: TrainingPoint): void {
    const counted = isCounted(point);
    if (counted) {
      this.#countedPrefix.push((this.#countedPrefix[this.#countedPrefix.length - 1] ?? 0) + point.samples);
    }
    this.#window.push(point.loss);
    this.#windowSum += point.loss;
    if (this.#window.length > MEAN_WINDOW) this.#windowSum -= this.#window.shift() ?? 0;

    if (counted) {
      this.#rateQueue.push({ t: point.t, samples: point.samples });
      this.#rateSum += point.samples;
    }
    while ((this.#rateQueue[0]?.t ?? Infinity) <= point.t - RATE_WINDOW_MS) {
      this.#rateSum -= this.#rateQueue.shift()?.samples ?? 0;
    }

    let node = this.#nodeIndex.get(point.nodeId);
    if (node === undefined) {
      node = this.#nodeIndex.size;
      this.#nodeIndex.set(point.nodeId, node);
    }
    const stats = this.#nodeStats.get(point.nodeId);
    this.#nodeStats.set(point.nodeId, {
      nodeId: point.nodeId,
      completions: (stats?.completions ?? 0) + 1,
      counted: (stats?.counted ?? 0) + (counted ? 1 : 0),
      samples: (stats?.samples ?? 0) + (counted ? point.samples : 0),
      lastLoss: point.loss,
      lastAt: point.t,
    });

    this.#ring.push({
      t: point.t / 1000,
      loss: point.loss,
      node,
      mean: this.#windowSum / this.#window.length,
      samples: this.#countedPrefix[this.#countedPrefix.length - 1] ?? 0,
      rate: this.#rateSum / (RATE_WINDOW_MS / 1000),
    });
  }

  #buildCharts(): JobCharts {
    const evaluated = this.#checkpoints.filter(
      (c): c is CheckpointSummary & { accuracy: number; loss: number } =>
        c.accuracy !== null && c.loss !== null,
    );
    const n = evaluated.length;
    const time = new Float64Array(n);
    const samples = new Float64Array(n);
    const accuracy = new Float64Array(n);
    const loss = new Float64Array(n);
    evaluated.forEach((c, i) => {
      time[i] = c.createdAt / 1000;
      samples[i] = this.samplesAtShards(c.shardsDone);
      accuracy[i] = c.accuracy;
      loss[i] = c.loss;
    });

    const ring = this.#ring;
    const t = ring.column('t');
    const nodeOf = ring.column('node');
    const lossCol = ring.column('loss');
    const nodeIds = [...this.#nodeIndex.keys()].slice(0, MAX_NODE_SERIES);
    const perNode = nodeIds.map(() => new Array<number | null>(t.length).fill(null));
    for (let i = 0; i < t.length; i++) {
      const column = perNode[nodeOf[i] ?? -1];
      if (column !== undefined) column[i] = lossCol[i] ?? null;
    }
    return {
      version: this.#version,
      testByTime: [time, accuracy, loss],
      testBySamples: [samples, accuracy.slice(), loss.slice()],
      trainingLoss: [t, ...perNode, ring.column('mean')],
      nodeIds,
      throughput: [t.slice(), ring.column('rate')],
    };
  }
}

function sameCheckpoints(a: readonly CheckpointSummary[], b: readonly CheckpointSummary[]): boolean {
  return (
    a.length === b.length &&
    a.every((c, i) => {
      const o = b[i];
      return (
        o !== undefined &&
        o.seq === c.seq &&
        o.accuracy === c.accuracy &&
        o.loss === c.loss &&
        o.shardsDone === c.shardsDone &&
        o.createdAt === c.createdAt
      );
    })
  );
}

/** What the consensus-distance chart draws, and what its empty state says. */
export interface ConsensusChart {
  /** [time s, mean relative distance of the successful exchanges in each bucket]. */
  readonly data: [number[], number[]];
  /** Exchanges reported for the job (any outcome), fetched and live. */
  readonly exchanges: number;
  /** Successful exchanges with a distance, fetched and live. */
  readonly measured: number;
}

/** Identifies one side's report of one exchange, to tell live points already in a reply. */
const pointKey = (p: ConsensusPoint): string => `${p.at}|${p.nodeId}|${p.partner}|${p.role}|${p.outcome}`;

/** Default bucket width when there is no reply yet (the coordinator's default). */
export const CONSENSUS_BUCKET_MS = 5_000;

/**
 * The job's consensus curve: the reply's buckets (mean distance of each bucket's successful
 * exchanges), with live points of this job that the reply does not hold yet folded into their
 * buckets. A live point is taken as already counted when the reply lists it, or when it is older
 * than the reply's oldest listed point (the reply's buckets cover everything before that).
 */
export function consensusChart(
  series: ConsensusSeries | null,
  live: readonly ConsensusPoint[],
  jobId: string,
): ConsensusChart {
  const bucketMs = series !== null && series.bucketMs > 0 ? series.bucketMs : CONSENSUS_BUCKET_MS;
  const buckets = new Map<number, { sum: number; n: number }>();
  let exchanges = series?.totals.exchanges ?? 0;
  let measured = 0;
  for (const b of series?.buckets ?? []) {
    if (b.meanDistance === null || b.ok <= 0) continue;
    buckets.set(b.at, { sum: b.meanDistance * b.ok, n: b.ok });
    measured += b.ok;
  }
  const listed = new Set((series?.points ?? []).map(pointKey));
  const listedFrom = series?.points[0]?.at ?? -Infinity;
  for (const p of live) {
    if (p.jobId !== jobId) continue;
    if (series !== null && (p.at < listedFrom || listed.has(pointKey(p)))) continue;
    listed.add(pointKey(p));
    exchanges += 1;
    if (p.outcome !== 'ok' || p.distance === null) continue;
    const at = Math.floor(p.at / bucketMs) * bucketMs;
    const bucket = buckets.get(at) ?? { sum: 0, n: 0 };
    bucket.sum += p.distance;
    bucket.n += 1;
    buckets.set(at, bucket);
    measured += 1;
  }
  const times = [...buckets.keys()].sort((a, b) => a - b);
  return {
    data: [
      times.map((t) => t / 1000),
      times.map((t) => {
        const b = buckets.get(t);
        return b === undefined ? 0 : b.sum / b.n;
      }),
    ],
    exchanges,
    measured,
  };
}
