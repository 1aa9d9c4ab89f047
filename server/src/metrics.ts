/** Prometheus metrics on a registry per server instance, so tests can run several servers. */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export interface ServerMetrics {
  readonly registry: Registry;
  readonly volunteersConnected: Gauge;
  readonly volunteersActive: Gauge;
  readonly dashboardsConnected: Gauge;
  readonly socketEvents: Counter<'namespace' | 'event' | 'outcome'>;
  readonly requestSeconds: Histogram<'namespace' | 'request'>;
  // Job metrics are labelled by job, never by volunteer: label sets stay bounded.
  readonly leases: Counter<'job' | 'event'>;
  readonly shardsDone: Counter<'job'>;
  readonly samplesPerSecond: Gauge<'job'>;
  readonly checkpointSeconds: Histogram<'job'>;
  readonly validationRejections: Counter<'job' | 'reason'>;
  /**
   * Bytes the volunteers' averaging sent and received, by job, mode (gossip, fedavg) and direction
   * (sent, received: the volunteer's side): gossip as each side reports its exchanges, FedAvg as
   * the coordinator takes uploads and serves averages. Per volunteer: the dashboard's node table.
   */
  readonly averagingBytes: Counter<'job' | 'mode' | 'direction'>;
  /** Completions per group commit (CompletionBatcher). */
  readonly completionBatchSize: Histogram;
  /** Validated work: replica results judged, by job and verdict (valid, invalid, inconclusive). */
  readonly replicaVerdicts: Counter<'job' | 'verdict'>;
  readonly volunteersDistrusted: Counter<'job'>;
  /** Requests refused by a rate limit (rate-limit.ts), by limit. */
  readonly rateLimited: Counter<'limit'>;
}

/** Upper bounds of the request-latency histogram's buckets (a quantile is known to this resolution). */
export const REQUEST_BUCKETS_SECONDS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

export function createMetrics(): ServerMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'tabswarm_' });
  return {
    registry,
    volunteersConnected: new Gauge({
      name: 'tabswarm_volunteers_connected',
      help: 'Volunteer sockets currently connected',
      registers: [registry],
    }),
    volunteersActive: new Gauge({
      name: 'tabswarm_volunteers_active',
      help: 'Volunteers currently marked active (heard from within the heartbeat timeout)',
      registers: [registry],
    }),
    dashboardsConnected: new Gauge({
      name: 'tabswarm_dashboards_connected',
      help: 'Dashboard sockets currently connected',
      registers: [registry],
    }),
    socketEvents: new Counter({
      name: 'tabswarm_socket_events_total',
      help: 'socket.io events received, by namespace, event and outcome (ok or the error code)',
      labelNames: ['namespace', 'event', 'outcome'],
      registers: [registry],
    }),
    requestSeconds: new Histogram({
      name: 'tabswarm_request_duration_seconds',
      help: 'Time from a socket.io request arriving to its ack being sent, by namespace and request',
      labelNames: ['namespace', 'request'],
      // Fine at the low end, where a healthy coordinator answers, and up to the 10 s a swarm of
      // thousands can push a lease round trip to.
      buckets: REQUEST_BUCKETS_SECONDS,
      registers: [registry],
    }),
    leases: new Counter({
      name: 'tabswarm_leases_total',
      help: 'Lease events by job: issued, completed, expired, reissued, speculative, released, cancelled, late',
      labelNames: ['job', 'event'],
      registers: [registry],
    }),
    shardsDone: new Counter({
      name: 'tabswarm_shards_done_total',
      help: 'Shards counted done, by job',
      labelNames: ['job'],
      registers: [registry],
    }),
    samplesPerSecond: new Gauge({
      name: 'tabswarm_samples_per_second',
      help: 'Training samples per second over the last minute of counted completions, by job',
      labelNames: ['job'],
      registers: [registry],
    }),
    checkpointSeconds: new Histogram({
      name: 'tabswarm_checkpoint_duration_seconds',
      help: 'Time from a checkpoint request to its file written and evaluated, by job',
      labelNames: ['job'],
      buckets: [0.5, 1, 2, 5, 10, 30, 60, 120],
      registers: [registry],
    }),
    validationRejections: new Counter({
      name: 'tabswarm_validation_rejections_total',
      help: 'Rejected lease completions, checkpoint uploads and FedAvg uploads, by job and reason',
      labelNames: ['job', 'reason'],
      registers: [registry],
    }),
    averagingBytes: new Counter({
      name: 'tabswarm_averaging_bytes_total',
      help: "Bytes volunteers' averaging sent and received (gossip exchanges as reported, FedAvg uploads and averages), by job, mode and direction",
      labelNames: ['job', 'mode', 'direction'],
      registers: [registry],
    }),
    completionBatchSize: new Histogram({
      name: 'tabswarm_completion_batch_size',
      help: 'Lease completions written in one transaction and one disk flush (group commit)',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
      registers: [registry],
    }),
    replicaVerdicts: new Counter({
      name: 'tabswarm_replica_verdicts_total',
      help: 'Replicated results judged (validated work), by job and verdict: valid, invalid (outvoted), inconclusive',
      labelNames: ['job', 'verdict'],
      registers: [registry],
    }),
    volunteersDistrusted: new Counter({
      name: 'tabswarm_volunteers_distrusted_total',
      help: 'Volunteers distrusted (their replicated work was outvoted), by the job whose shard decided it',
      labelNames: ['job'],
      registers: [registry],
    }),
    rateLimited: new Counter({
      name: 'tabswarm_rate_limited_total',
      help: 'Connections, socket events and HTTP writes refused by a rate limit, by limit',
      labelNames: ['limit'],
      registers: [registry],
    }),
  };
}
