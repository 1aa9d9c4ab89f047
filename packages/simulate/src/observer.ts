/**
 * Watches a running simulation every second or two: the coordinator (job progress, evaluated
 * checkpoints, consensus distance, event log, node statuses) and the volunteers (the pages' test
 * API, the fleet's snapshot), appended to the record. A poll that fails (the coordinator is being
 * restarted) is skipped, not fatal.
 */
import { readReply, type ConsensusSeries, type JobInfo } from '@tabswarm/protocol';
import type { OperatorClient } from '@tabswarm/virtual';
import { jobProgress } from './job.ts';
import type { RecordBuilder } from './record-builder.ts';
import type { Swarm } from './swarm.ts';

/** Exchange points asked for per poll: enough for a second or two of a large swarm's exchanges. */
const CONSENSUS_POINTS = 2_000;

export class Observer {
  readonly #operator: OperatorClient;
  readonly #jobId: string;
  readonly #record: RecordBuilder;
  readonly #swarm: Swarm;
  readonly #seenEvents = new Set<number>();
  readonly #seenCheckpoints = new Set<number>();
  readonly #seenExchanges = new Set<string>();
  /** Peer-exchange bytes per node id, from the coordinator's exchange reports. */
  readonly #bytes = new Map<string, { out: number; in: number }>();
  #job: JobInfo | null = null;
  #consensus: number | null = null;

  constructor(operator: OperatorClient, jobId: string, record: RecordBuilder, swarm: Swarm) {
    this.#operator = operator;
    this.#jobId = jobId;
    this.#record = record;
    this.#swarm = swarm;
  }

  /** The job as last seen. */
  get job(): JobInfo | null {
    return this.#job;
  }

  get progress(): number {
    return this.#job === null ? 0 : jobProgress(this.#job);
  }

  get consensusDistance(): number | null {
    return this.#consensus;
  }

  /** Mean over volunteers of peer-exchange bytes sent + received. */
  bytesPerVolunteer(): number {
    const volunteers = Math.max(1, this.#record.nodes.length);
    let total = 0;
    for (const b of this.#bytes.values()) total += b.out + b.in;
    return total / volunteers;
  }

  /** One observation of everything; never throws. */
  async poll(): Promise<void> {
    await Promise.allSettled([this.#pollCoordinator(), this.#pollVolunteers()]);
    const job = this.#job;
    this.#record.samples.push({
      t: this.#record.t(),
      progress: this.progress,
      samplesSeen: job?.samplesDone ?? 0,
      shardsDone: job?.shardsDone ?? 0,
      alive: this.#swarm.counts(),
      consensusDistance: this.#consensus,
    });
  }

  async #pollCoordinator(): Promise<void> {
    const op = this.#operator;
    const id = this.#jobId;
    const [job, checkpoints, consensus, events] = await Promise.allSettled([
      op.getJob(id),
      op
        .api('GET', `/api/jobs/${id}/checkpoints`)
        .then((r) => readReply('GET /api/jobs/:jobId/checkpoints', r)),
      op.api<ConsensusSeries>('GET', `/api/jobs/${id}/consensus?limit=${CONSENSUS_POINTS}`),
      op.api('GET', '/api/events?limit=2000').then((r) => readReply('GET /api/events', r)),
    ]);
    if (job.status === 'fulfilled') this.#job = job.value;
    if (checkpoints.status === 'fulfilled') {
      for (const c of checkpoints.value.checkpoints) {
        if (this.#seenCheckpoints.has(c.seq) || c.accuracy === null) continue;
        this.#seenCheckpoints.add(c.seq);
        this.#record.checkpoints.push({
          t: this.#record.t(c.createdAt),
          round: c.seq,
          samplesSeen: this.#job?.samplesDone ?? 0,
          accuracy: c.accuracy,
          loss: c.loss,
        });
      }
    }
    if (consensus.status === 'fulfilled') this.#readConsensus(consensus.value);
    if (events.status === 'fulfilled') {
      for (const e of [...events.value.events].sort((a, b) => a.seq - b.seq)) {
        if (this.#seenEvents.has(e.seq)) continue;
        this.#seenEvents.add(e.seq);
        this.#record.events.push({
          t: this.#record.t(e.at),
          kind: e.kind,
          message: e.message,
          ...(e.nodeId === null ? {} : { nodeId: e.nodeId }),
        });
      }
    }
  }

  #readConsensus(series: ConsensusSeries): void {
    // The newest bucket with a distance: the last one may hold only failed exchanges.
    const last = series.buckets.findLast((b) => b.ok > 0 && b.meanDistance !== null);
    if (last !== undefined) this.#consensus = last.meanDistance;
    for (const p of series.points) {
      const key = `${p.nodeId}/${p.partner}/${p.at}/${p.role}`;
      if (this.#seenExchanges.has(key)) continue;
      this.#seenExchanges.add(key);
      // A point's bytes are what its reporter put on the wire: sent by it, received by its partner.
      this.#addBytes(p.nodeId, p.bytes, 0);
      this.#addBytes(p.partner, 0, p.bytes);
    }
  }

  #addBytes(nodeId: string, out: number, received: number): void {
    const b = this.#bytes.get(nodeId) ?? { out: 0, in: 0 };
    b.out += out;
    b.in += received;
    this.#bytes.set(nodeId, b);
  }

  async #pollVolunteers(): Promise<void> {
    const t = this.#record.t();
    const bytesOf = (ids: readonly string[]): { out: number; in: number } =>
      ids.reduce(
        (sum, id) => {
          const b = this.#bytes.get(id);
          return b === undefined ? sum : { out: sum.out + b.out, in: sum.in + b.in };
        },
        { out: 0, in: 0 },
      );
    const browsers = this.#swarm.browsers;
    if (browsers !== null) {
      await Promise.all(
        browsers.volunteers.map(async (v) => {
          const seen = await browsers.observe(v.label);
          const bytes = bytesOf(v.nodeIds);
          this.#record.nodePoint(v.label, 'browser', seen?.nodeId ?? null, {
            t,
            status: seen === null ? 'gone' : `${seen.connection}/${seen.phase}`,
            samplesPerSec: seen?.samplesPerSec ?? null,
            bytesSent: bytes.out,
            bytesReceived: bytes.in,
          });
        }),
      );
    }
    await this.#swarm.refresh();
    for (const m of this.#swarm.members) {
      this.#record.nodePoint(m.label, 'virtual', m.nodeId, {
        t,
        status: m.status,
        samplesPerSec: m.samplesPerSec,
        bytesSent: m.bytesSent,
        bytesReceived: m.bytesReceived,
      });
    }
  }
}
