/**
 * Exchange reports per job: the consensus curve. Each side of each exchange reports the relative
 * distance between the two models before averaging, the bytes it cost, its codec and outcome. A
 * bounded ring per job keeps the newest points; the series buckets them in time for the dashboard.
 */
import type {
  ConsensusBucket,
  ConsensusPoint,
  ConsensusSeries,
  ExchangeOutcome,
  ExchangeReport,
  GossipCodecName,
} from '@tabswarm/protocol';
import type { GossipMetrics } from './metrics.ts';

export interface ConsensusOptions {
  /** Points kept per job. */
  readonly capacity: number;
  /** Jobs kept (least recently reported dropped first). */
  readonly maxJobs: number;
  readonly bucketMs: number;
}

export const DEFAULT_CONSENSUS_OPTIONS: ConsensusOptions = { capacity: 20_000, maxJobs: 64, bucketMs: 5_000 };

interface JobLog {
  readonly points: ConsensusPoint[];
  exchanges: number;
  /** Exponentially weighted mean distance of successful exchanges: the /metrics gauge. */
  recentDistance: number | null;
  readonly byOutcome: Partial<Record<ExchangeOutcome, number>>;
  readonly bytesByCodec: Partial<Record<GossipCodecName, number>>;
}

type Listener = (point: ConsensusPoint) => void;

export class ConsensusLog {
  readonly #jobs = new Map<string, JobLog>();
  readonly #listeners = new Set<Listener>();
  readonly #options: ConsensusOptions;

  constructor(
    options: Partial<ConsensusOptions> = {},
    private readonly metrics?: GossipMetrics,
    private readonly now: () => number = Date.now,
  ) {
    this.#options = { ...DEFAULT_CONSENSUS_OPTIONS, ...options };
  }

  record(nodeId: string, report: ExchangeReport): ConsensusPoint {
    const point: ConsensusPoint = {
      jobId: report.jobId,
      at: this.now(),
      nodeId,
      partner: report.partner,
      role: report.role,
      outcome: report.outcome,
      codec: report.codec,
      distance: report.distance,
      bytes: report.bytesOut,
      durationMs: report.durationMs,
      link: report.link,
    };
    const log = this.#job(report.jobId);
    log.points.push(point);
    if (log.points.length > this.#options.capacity)
      log.points.splice(0, log.points.length - this.#options.capacity);
    log.exchanges++;
    log.byOutcome[point.outcome] = (log.byOutcome[point.outcome] ?? 0) + 1;
    log.bytesByCodec[point.codec] = (log.bytesByCodec[point.codec] ?? 0) + point.bytes;
    const m = this.metrics;
    if (m !== undefined) {
      m.exchanges.inc({ job: point.jobId, outcome: point.outcome, codec: point.codec });
      m.exchangeBytes.inc({ job: point.jobId, codec: point.codec }, point.bytes);
    }
    if (point.outcome === 'ok' && point.distance !== null) {
      log.recentDistance =
        log.recentDistance === null ? point.distance : 0.9 * log.recentDistance + 0.1 * point.distance;
      m?.consensusDistance.set({ job: point.jobId }, log.recentDistance);
    }
    for (const listener of this.#listeners) listener(point);
    return point;
  }

  onPoint(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The job's series: buckets over every kept point, and the newest `limit` points. */
  series(jobId: string, limit = 500): ConsensusSeries {
    const log = this.#jobs.get(jobId);
    const bucketMs = this.#options.bucketMs;
    if (log === undefined) {
      return {
        jobId,
        bucketMs,
        buckets: [],
        points: [],
        totals: { exchanges: 0, byOutcome: {}, bytesByCodec: {} },
      };
    }
    return {
      jobId,
      bucketMs,
      buckets: this.#buckets(log),
      points: log.points.slice(-Math.max(0, limit)),
      totals: {
        exchanges: log.exchanges,
        byOutcome: { ...log.byOutcome },
        bytesByCodec: { ...log.bytesByCodec },
      },
    };
  }

  #buckets(log: JobLog): ConsensusBucket[] {
    const bucketMs = this.#options.bucketMs;
    const out: ConsensusBucket[] = [];
    let current: {
      at: number;
      exchanges: number;
      ok: number;
      sum: number;
      n: number;
      max: number;
      bytes: number;
    } | null = null;
    const flush = (): void => {
      if (current === null) return;
      out.push({
        at: current.at,
        exchanges: current.exchanges,
        ok: current.ok,
        meanDistance: current.n > 0 ? current.sum / current.n : null,
        maxDistance: current.n > 0 ? current.max : null,
        bytes: current.bytes,
      });
    };
    for (const p of log.points) {
      const at = Math.floor(p.at / bucketMs) * bucketMs;
      if (current === null || current.at !== at) {
        flush();
        current = { at, exchanges: 0, ok: 0, sum: 0, n: 0, max: 0, bytes: 0 };
      }
      current.exchanges++;
      current.bytes += p.bytes;
      if (p.outcome === 'ok') current.ok++;
      if (p.outcome === 'ok' && p.distance !== null) {
        current.sum += p.distance;
        current.n++;
        current.max = Math.max(current.max, p.distance);
      }
    }
    flush();
    return out;
  }

  #job(jobId: string): JobLog {
    let log = this.#jobs.get(jobId);
    if (log === undefined) {
      log = { points: [], exchanges: 0, recentDistance: null, byOutcome: {}, bytesByCodec: {} };
      while (this.#jobs.size >= this.#options.maxJobs) {
        const oldest = this.#jobs.keys().next().value;
        if (oldest === undefined) break;
        this.#jobs.delete(oldest);
      }
    } else {
      this.#jobs.delete(jobId); // re-insert: the map's order is least recently reported first
    }
    this.#jobs.set(jobId, log);
    return log;
  }
}
