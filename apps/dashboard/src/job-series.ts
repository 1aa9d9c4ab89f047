/**
 * A job's chart series, built from `GET /api/jobs/:id/metrics` and refreshed by re-fetching it:
 * completions are appended to a columnar ring (only the new tail of each reply), checkpoints are
 * small and rebuilt. Chart data (uPlot's aligned columns) is derived once per change and cached.
 */
import type uPlot from 'uplot';
import type { CheckpointSummary } from '@tabswarm/protocol';
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
