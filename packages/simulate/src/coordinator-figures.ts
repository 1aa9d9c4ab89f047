/**
 * The coordinator's side of a simulation's summary, read from its Prometheus /metrics text: lease
 * latency (a histogram, so quantiles are known to a bucket), shards re-issued, completions not
 * counted because the shard was already done, frames volunteers rejected, bytes exchanged.
 * Counters start again at zero when the coordinator restarts: read before each restart and
 * `mergeFigures` the readings.
 */

/** A Prometheus histogram: cumulative counts per upper bound (seconds), +Infinity last. */
export interface HistogramFigures {
  readonly buckets: readonly { readonly le: number; readonly count: number }[];
  readonly count: number;
  readonly sum: number;
}

export interface CoordinatorFigures {
  /** requestLease on the volunteer namespace: arrival to ack. */
  readonly leaseLatency: HistogramFigures;
  /** p50 and p99 of leaseLatency as bucket upper bounds (see quantileMs). */
  readonly leaseLatencyMs: { readonly p50: number | null; readonly p99: number | null };
  readonly leasesIssued: number;
  readonly shardsReissued: number;
  readonly leasesExpired: number;
  readonly shardsDone: number;
  /** Completions recorded but not counted: another copy of the shard finished first (or the job had ended). */
  readonly duplicatesRejected: number;
  /** Completions refused outright (more samples than the shard, bad checkpoint uploads). */
  readonly validationRejections: number;
  readonly rejectedFrames: number;
  /** Bytes volunteers put on the wire for gossip exchanges (one side each). */
  readonly exchangeBytes: number;
  readonly exchanges: number;
  readonly relayBytes: number;
}

interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** Prometheus text exposition format 0.0.4, the sample lines only (comments and types skipped). */
export function parsePrometheusText(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\d+)?$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    const body = m[3] ?? '';
    for (const l of body.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[l[1] ?? ''] = (l[2] ?? '').replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    }
    const value = parseValue(m[4] ?? '');
    if (value !== null) samples.push({ name: m[1] ?? '', labels, value });
  }
  return samples;
}

function parseValue(text: string): number | null {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  const n = Number(text);
  return Number.isNaN(n) ? null : n;
}

const EMPTY_HISTOGRAM: HistogramFigures = { buckets: [], count: 0, sum: 0 };

/** The figures in a /metrics text; with `jobId`, job-labelled counters count that job only. */
export function coordinatorFiguresFrom(text: string, jobId?: string): CoordinatorFigures {
  const samples = parsePrometheusText(text);
  const sum = (name: string, match: Record<string, string> = {}): number =>
    samples
      .filter(
        (s) =>
          s.name === name &&
          Object.entries(match).every(([k, v]) => s.labels[k] === v) &&
          (jobId === undefined || s.labels.job === undefined || s.labels.job === jobId),
      )
      .reduce((total, s) => total + s.value, 0);
  const lease = { namespace: 'volunteer', request: 'requestLease' };
  const bucketSamples = samples.filter(
    (s) =>
      s.name === 'tabswarm_request_duration_seconds_bucket' &&
      s.labels.namespace === lease.namespace &&
      s.labels.request === lease.request,
  );
  const leaseLatency: HistogramFigures =
    bucketSamples.length === 0
      ? EMPTY_HISTOGRAM
      : {
          buckets: bucketSamples
            .map((s) => ({ le: parseValue(s.labels.le ?? '') ?? Infinity, count: s.value }))
            .sort((a, b) => a.le - b.le),
          count: sum('tabswarm_request_duration_seconds_count', lease),
          sum: sum('tabswarm_request_duration_seconds_sum', lease),
        };
  return {
    leaseLatency,
    leaseLatencyMs: latencyQuantiles(leaseLatency),
    leasesIssued: sum('tabswarm_leases_total', { event: 'issued' }),
    shardsReissued: sum('tabswarm_leases_total', { event: 'reissued' }),
    leasesExpired: sum('tabswarm_leases_total', { event: 'expired' }),
    shardsDone: sum('tabswarm_shards_done_total'),
    duplicatesRejected: sum('tabswarm_leases_total', { event: 'late' }),
    validationRejections: sum('tabswarm_validation_rejections_total'),
    rejectedFrames: sum('tabswarm_gossip_rejected_frames_total'),
    exchangeBytes: sum('tabswarm_gossip_exchange_bytes_total'),
    exchanges: sum('tabswarm_gossip_exchanges_total'),
    relayBytes: sum('tabswarm_relay_bytes_total'),
  };
}

/** Reads the coordinator's /metrics (no token: the endpoint is open, like a Prometheus scrape). */
export async function readCoordinatorFigures(
  baseUrl: string,
  options: { readonly jobId?: string; readonly signal?: AbortSignal } = {},
): Promise<CoordinatorFigures> {
  const res = await fetch(`${baseUrl.replace(/\/+$/, '')}/metrics`, {
    ...(options.signal !== undefined && { signal: options.signal }),
  });
  if (!res.ok) throw new Error(`GET ${baseUrl}/metrics answered ${res.status}`);
  return coordinatorFiguresFrom(await res.text(), options.jobId);
}

/** The figures of two coordinator lifetimes (before and after a restart) added up. */
export function mergeFigures(a: CoordinatorFigures, b: CoordinatorFigures): CoordinatorFigures {
  const les = [...new Set([...a.leaseLatency.buckets, ...b.leaseLatency.buckets].map((x) => x.le))].sort(
    (x, y) => x - y,
  );
  const at = (h: HistogramFigures, le: number): number =>
    // Cumulative: the count at the largest bound ≤ le (buckets are the same on both sides in practice).
    h.buckets.filter((x) => x.le <= le).at(-1)?.count ?? 0;
  const leaseLatency: HistogramFigures = {
    buckets: les.map((le) => ({ le, count: at(a.leaseLatency, le) + at(b.leaseLatency, le) })),
    count: a.leaseLatency.count + b.leaseLatency.count,
    sum: a.leaseLatency.sum + b.leaseLatency.sum,
  };
  return {
    leaseLatency,
    leaseLatencyMs: latencyQuantiles(leaseLatency),
    leasesIssued: a.leasesIssued + b.leasesIssued,
    shardsReissued: a.shardsReissued + b.shardsReissued,
    leasesExpired: a.leasesExpired + b.leasesExpired,
    shardsDone: a.shardsDone + b.shardsDone,
    duplicatesRejected: a.duplicatesRejected + b.duplicatesRejected,
    validationRejections: a.validationRejections + b.validationRejections,
    rejectedFrames: a.rejectedFrames + b.rejectedFrames,
    exchangeBytes: a.exchangeBytes + b.exchangeBytes,
    exchanges: a.exchanges + b.exchanges,
    relayBytes: a.relayBytes + b.relayBytes,
  };
}

/**
 * The q-quantile as the upper bound of the bucket it falls in, in milliseconds: the true value is
 * at most this and above the bucket below. Null with no observations; Infinity past the last
 * finite bound.
 */
export function quantileMs(h: HistogramFigures, q: number): number | null {
  if (h.count === 0) return null;
  const rank = q * h.count;
  const bucket = h.buckets.find((b) => b.count >= rank);
  return bucket === undefined ? Infinity : bucket.le * 1000;
}

function latencyQuantiles(h: HistogramFigures): { p50: number | null; p99: number | null } {
  return { p50: quantileMs(h, 0.5), p99: quantileMs(h, 0.99) };
}

/** The finite bucket bounds in milliseconds, to say what resolution a quantile has. */
export function bucketBoundsMs(h: HistogramFigures): number[] {
  return h.buckets.filter((b) => Number.isFinite(b.le)).map((b) => b.le * 1000);
}
