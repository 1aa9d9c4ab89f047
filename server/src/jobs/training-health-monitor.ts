/**
 * Watches every job's training health: gathers what training-health.ts judges (checkpoint records,
 * reported training losses, DIVERGED releases, round and exchange outcomes), and turns changes in
 * its verdict into alarms that are visible: the event log, the pino log, /metrics and the job's
 * REST view (JobInfo.alarms, GET /api/jobs/:id/alarms). Raised and cleared alarms are both logged.
 *
 * Work happens when a checkpoint is written, evaluated or fails, when a volunteer releases a lease
 * as DIVERGED, and (cheaply, from a ring) when an exchange report changes the exchange verdict:
 * nothing here runs per lease completion.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import {
  TRAINING_ALARM_TITLES,
  type ExchangeOutcome,
  type TrainingAlarm,
  type TrainingAlarmKind,
} from '@tabswarm/protocol';
import type { EventLog } from '../event-log.ts';
import type { Logger } from '../logger.ts';
import type { ServerMetrics } from '../metrics.ts';
import type { Scheduler } from '../scheduler/scheduler.ts';
import type { CheckpointRecord, CheckpointRepository } from '../store/checkpoint-repository.ts';
import type { CheckpointChange } from './checkpoint-round.ts';
import type { JobService } from './job-service.ts';
import {
  EXCHANGE_WINDOW,
  HEALTH_WINDOW,
  majorityRate,
  parameterFingerprint,
  trainingAlarms,
  type ExchangeVerdict,
  type LeaseOutcome,
} from './training-health.ts';

export interface HealthMetrics {
  /** 1 while the alarm is active on the job, else 0. */
  readonly active: Gauge<'job' | 'alarm'>;
  readonly raised: Counter<'job' | 'alarm'>;
}

export function createHealthMetrics(registry: Registry): HealthMetrics {
  return {
    active: new Gauge({
      name: 'tabswarm_training_alarm',
      help: 'Training-health alarms: 1 while the alarm is active on the job, 0 once it cleared',
      labelNames: ['job', 'alarm'],
      registers: [registry],
    }),
    raised: new Counter({
      name: 'tabswarm_training_alarms_raised_total',
      help: 'Training-health alarms raised, by job and alarm',
      labelNames: ['job', 'alarm'],
      registers: [registry],
    }),
  };
}

export interface HealthMonitorDeps {
  /** A job's checkpoint records, ascending by seq. */
  readonly checkpoints: (jobId: string) => readonly CheckpointRecord[];
  /** A job's recorded lease completions, oldest first. */
  readonly completions: (jobId: string) => readonly { t: number; loss: number }[];
  /** Labels of the test split the job is evaluated on; null when unknown. */
  readonly testLabels: (jobId: string) => ArrayLike<number> | null;
  readonly jobIds: () => readonly string[];
  readonly metrics: HealthMetrics;
  readonly events: EventLog;
  readonly log: Logger;
  /** The job's alarms changed: tell dashboards. */
  readonly onChange: (jobId: string) => void;
  readonly now?: () => number;
}

/** Fingerprints kept per job: enough to compare the last N checkpoints with the one before. */
const FINGERPRINTS_KEPT = HEALTH_WINDOW + 2;
/** DIVERGED releases and failed rounds kept per job (their windows are shorter). */
const EVENTS_KEPT = 32;

interface JobHealth {
  readonly fingerprints: Map<number, number>;
  readonly diverged: number[];
  /** Rounds that accepted no upload: no checkpoint record says so. */
  readonly failedRounds: { seq: number; rejected: number }[];
  readonly exchanges: ExchangeVerdict[];
  exchangesRefused: boolean;
  majority: number | null | undefined;
  readonly active: Map<TrainingAlarmKind, TrainingAlarm>;
}

const VERDICTS: Partial<Record<ExchangeOutcome, ExchangeVerdict>> = {
  ok: 'ok',
  rejected: 'rejected',
  refused: 'refused',
};

export class TrainingHealthMonitor {
  private readonly jobs = new Map<string, JobHealth>();
  private readonly now: () => number;

  constructor(private readonly deps: HealthMonitorDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** The job's active alarms, in the order they were raised. */
  alarms(jobId: string): TrainingAlarm[] {
    return [...(this.jobs.get(jobId)?.active.values() ?? [])];
  }

  /** Checkpointing's onCheckpoint. */
  checkpoint(jobId: string, change: CheckpointChange): void {
    const health = this.job(jobId);
    if (change.kind === 'written') return;
    if (change.kind === 'evaluated') {
      health.fingerprints.set(change.seq, parameterFingerprint(change.values));
      for (const seq of [...health.fingerprints.keys()].sort((a, b) => a - b).slice(0, -FINGERPRINTS_KEPT))
        health.fingerprints.delete(seq);
    } else {
      const reasons = [...new Set(change.rejected.map((r) => r.reason))].join(', ') || 'none invited';
      this.deps.log.warn(
        { jobId, seq: change.seq, rejected: change.rejected },
        'checkpoint failed: no upload was accepted',
      );
      this.deps.events.add(
        'rejected-update',
        `checkpoint round ${change.seq} accepted no upload (${change.rejected.length} refused or missing: ${reasons})`,
        { jobId, level: 'warn' },
      );
      push(health.failedRounds, { seq: change.seq, rejected: change.rejected.length }, EVENTS_KEPT);
    }
    this.check(jobId);
  }

  /** A volunteer gave a lease back; `reason` is its own (untrusted) text, e.g. "DIVERGED: …". */
  leaseReleased(jobId: string, reason: string | undefined): void {
    if (reason === undefined || !reason.startsWith('DIVERGED')) return;
    push(this.job(jobId).diverged, this.now(), EVENTS_KEPT);
    this.check(jobId);
  }

  /** An exchange report: re-judged only when the exchange verdict flips. */
  exchange(jobId: string, outcome: ExchangeOutcome): void {
    const verdict = VERDICTS[outcome];
    if (verdict === undefined) return;
    const health = this.job(jobId);
    push(health.exchanges, verdict, EXCHANGE_WINDOW);
    const refused = health.exchanges.length === EXCHANGE_WINDOW && health.exchanges.every((e) => e !== 'ok');
    if (refused === health.exchangesRefused) return;
    health.exchangesRefused = refused;
    this.check(jobId);
  }

  /** Judges every job (at start, from what the store holds). */
  checkAll(): void {
    for (const jobId of this.deps.jobIds()) this.check(jobId);
  }

  /** Judges the job now: raises, updates and clears its alarms. */
  check(jobId: string): void {
    const health = this.job(jobId);
    const records = this.deps.checkpoints(jobId);
    const checkpoints = records.map((r) => ({
      seq: r.seq,
      norm: r.norm,
      fingerprint: health.fingerprints.get(r.seq) ?? null,
      accuracy: r.status === 'evaluated' ? r.accuracy : null,
      loss: r.status === 'evaluated' ? r.loss : null,
    }));
    const evaluatedAfterZero = checkpoints.filter((c) => c.seq > 0 && c.accuracy !== null).length;
    if (health.majority === undefined && evaluatedAfterZero >= HEALTH_WINDOW) {
      const labels = this.deps.testLabels(jobId);
      health.majority = labels === null ? null : majorityRate(labels);
    }
    const verdicts = trainingAlarms({
      checkpoints,
      leases: this.leaseOutcomes(jobId, health),
      rounds: [
        ...records
          .filter((r) => r.seq > 0)
          .map((r) => ({
            seq: r.seq,
            order: 1,
            accepted: r.contributors.accepted.length,
            rejected: r.contributors.rejected.length,
          })),
        // A failed round's seq is taken again by the next round: it came before that record.
        ...health.failedRounds.map((f) => ({ seq: f.seq, order: 0, accepted: 0, rejected: f.rejected })),
      ].sort((a, b) => a.seq - b.seq || a.order - b.order),
      exchanges: health.exchanges,
      majorityRate: health.majority ?? null,
    });
    this.apply(jobId, health, verdicts);
  }

  private apply(jobId: string, health: JobHealth, verdicts: ReturnType<typeof trainingAlarms>): void {
    let changed = false;
    const seen = new Set<TrainingAlarmKind>();
    for (const v of verdicts) {
      seen.add(v.kind);
      const current = health.active.get(v.kind);
      if (current?.observed === v.observed) continue;
      changed = true;
      health.active.set(v.kind, { ...v, since: current?.since ?? this.now() });
      if (current !== undefined) continue;
      this.deps.metrics.active.set({ job: jobId, alarm: v.kind }, 1);
      this.deps.metrics.raised.inc({ job: jobId, alarm: v.kind });
      this.deps.log.warn({ jobId, alarm: v.kind, observed: v.observed }, 'training-health alarm raised');
      this.deps.events.add('alarm', `${TRAINING_ALARM_TITLES[v.kind]}: ${v.observed}. Try: ${v.advice}`, {
        jobId,
        level: 'warn',
      });
    }
    for (const kind of [...health.active.keys()]) {
      if (seen.has(kind)) continue;
      changed = true;
      health.active.delete(kind);
      this.deps.metrics.active.set({ job: jobId, alarm: kind }, 0);
      this.deps.log.info({ jobId, alarm: kind }, 'training-health alarm cleared');
      this.deps.events.add('alarm', `cleared: ${TRAINING_ALARM_TITLES[kind]}`, { jobId, level: 'info' });
    }
    if (changed) this.deps.onChange(jobId);
  }

  /** Completions and DIVERGED releases, merged by time. */
  private leaseOutcomes(jobId: string, health: JobHealth): LeaseOutcome[] {
    const outcomes: { t: number; loss: LeaseOutcome['loss'] }[] = this.deps
      .completions(jobId)
      .map((c) => ({ t: c.t, loss: c.loss }));
    if (health.diverged.length === 0) return outcomes;
    outcomes.push(...health.diverged.map((t) => ({ t, loss: 'diverged' as const })));
    return outcomes.sort((a, b) => a.t - b.t);
  }

  private job(jobId: string): JobHealth {
    let health = this.jobs.get(jobId);
    if (health === undefined) {
      health = {
        fingerprints: new Map(),
        diverged: [],
        failedRounds: [],
        exchanges: [],
        exchangesRefused: false,
        majority: undefined,
        active: new Map(),
      };
      this.jobs.set(jobId, health);
    }
    return health;
  }
}

/** The monitor over the coordinator's scheduler, checkpoint store and test sets (create-server wires it). */
export function trainingHealth(
  scheduler: Pick<Scheduler, 'getJob' | 'listJobs' | 'completions'>,
  repo: Pick<CheckpointRepository, 'list'>,
  testSet: (datasetId: string) => { readonly y: ArrayLike<number> },
  ctx: {
    readonly metrics: ServerMetrics;
    readonly events: EventLog;
    readonly log: Logger;
    readonly jobs: Pick<JobService, 'changed'>;
  },
  now?: () => number,
): TrainingHealthMonitor {
  return new TrainingHealthMonitor({
    checkpoints: (jobId) => repo.list(jobId),
    completions: (jobId) => scheduler.completions(jobId),
    testLabels: (jobId) => {
      const job = scheduler.getJob(jobId);
      if (job === undefined) return null;
      try {
        return testSet(job.spec.dataset).y;
      } catch (error) {
        ctx.log.warn({ err: error, jobId }, 'training health: no test labels for the majority-class rate');
        return null;
      }
    },
    jobIds: () => scheduler.listJobs().map((j) => j.id),
    metrics: createHealthMetrics(ctx.metrics.registry),
    events: ctx.events,
    log: ctx.log,
    onChange: (jobId) => ctx.jobs.changed(jobId),
    ...(now !== undefined && { now }),
  });
}

function push<T>(ring: T[], item: T, capacity: number): void {
  ring.push(item);
  if (ring.length > capacity) ring.splice(0, ring.length - capacity);
}
