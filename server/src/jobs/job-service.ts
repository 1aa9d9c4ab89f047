/**
 * Jobs as the rest of the coordinator sees them: creation from an untrusted spec, lifecycle
 * controls, leases for volunteers, and the wire view (JobInfo) that dashboards and the REST API
 * show. The scheduler underneath owns the durable state; this layer adds datasets, metrics and
 * notifications.
 */
import {
  jobSpecSchema,
  modelSizeProblem,
  parsePayload,
  presetLayout,
  ProtocolError,
  type JobInfo,
  type LeaseCompletion,
  type LeaseGrantInfo,
  type ModelPreset,
  type PrivacySpec,
  type PrivacySpent,
  type TrainingAlarm,
} from '@tabswarm/protocol';
import { gaussianEpsilon } from '@tabswarm/core';
import type { Logger } from '../logger.ts';
import type { ServerMetrics } from '../metrics.ts';
import { WriteBatcher } from '../scheduler/write-batcher.ts';
import { isTerminal, type Scheduler } from '../scheduler/scheduler.ts';
import type {
  CompletionItem,
  CompletionOutcome,
  JobRecord,
  LeaseGrant,
  LeaseRequestItem,
  SchedulerEvent,
} from '../scheduler/types.ts';
import type { Checkpointing } from './checkpointing.ts';
import { ThroughputWindow } from './throughput.ts';
import type { TrainingHealthMonitor } from './training-health-monitor.ts';

/** Progress updates of one job reach dashboards at most this often. */
export const JOB_UPDATE_INTERVAL_MS = 250;

/** What jobs need to know of a dataset. */
export interface DatasetLookup {
  /** Resolves (preparing a built-in dataset on first use) or returns undefined for an unknown id. */
  resolve(id: string): Promise<DatasetInfo | undefined>;
}

export interface DatasetInfo {
  readonly id: string;
  readonly trainSize: number;
  readonly featureShape: readonly number[];
  readonly numClasses: number;
  /** Text windows: [context] labels per sample. */
  readonly labelShape?: readonly number[] | undefined;
}

export interface JobNotifier {
  leaseCancelled(nodeId: string, leaseId: string, reason: string): void;
  jobChanged(job: JobInfo): void;
}

/** A preset's parameter count on a dataset, or null when it does not fit (describeModel says why). */
function presetParameterCount(preset: ModelPreset, dataset: DatasetInfo): number | null {
  try {
    return presetLayout(preset, { inputShape: dataset.featureShape, numClasses: dataset.numClasses }).total;
  } catch {
    return null;
  }
}

/** Throws BAD_REQUEST at `field` for a model over MAX_MODEL_PARAMETERS. */
function refuseOversized(field: string, parameterCount: number | null): void {
  const problem = parameterCount === null ? null : modelSizeProblem(parameterCount);
  if (problem !== null) throw new ProtocolError('BAD_REQUEST', `${field}: ${problem}`);
}

/** How long a volunteer with no work waits before asking again. */
export const NO_WORK_RETRY_MS = 2_000;

export class JobService {
  private readonly throughput = new ThroughputWindow();
  /** Group commit: completions, and lease requests, that arrive together share one transaction. */
  private readonly completions: WriteBatcher<CompletionItem, CompletionOutcome>;
  private readonly leases: WriteBatcher<LeaseRequestItem, LeaseGrant | null>;
  private readonly pendingJobUpdates = new Map<string, NodeJS.Timeout>();
  private notifier: JobNotifier | undefined;
  private checkpoints: Checkpointing | undefined;
  private health: TrainingHealthMonitor | undefined;

  constructor(
    readonly scheduler: Scheduler,
    private readonly datasets: DatasetLookup,
    private readonly metrics: ServerMetrics,
    private readonly log: Logger,
  ) {
    scheduler.onEvent((event) => this.onSchedulerEvent(event));
    this.completions = new WriteBatcher(
      (items) => scheduler.completeLeases(items),
      (size) => metrics.completionBatchSize.observe(size),
    );
    this.leases = new WriteBatcher((items) => scheduler.requestLeases(items));
  }

  setNotifier(notifier: JobNotifier): void {
    this.notifier = notifier;
  }

  attachCheckpoints(checkpoints: Checkpointing): void {
    this.checkpoints = checkpoints;
  }

  attachHealth(health: TrainingHealthMonitor): void {
    this.health = health;
  }

  async create(input: unknown): Promise<JobInfo> {
    const parsed = parsePayload(jobSpecSchema, input);
    if (!parsed.ok) throw new ProtocolError('BAD_REQUEST', parsed.message);
    const spec = parsed.value;
    const dataset = await this.datasets.resolve(spec.dataset);
    if (!dataset)
      throw new ProtocolError(
        'BAD_REQUEST',
        `dataset: no dataset "${spec.dataset}"; upload it first or use "mnist"`,
      );
    // A preset's size is arithmetic: refuse an oversized one before building it (tfjs allocates
    // every weight as it builds). A topology's size is known once built.
    const field = spec.model.kind === 'preset' ? 'model.preset' : 'model.topology';
    if (spec.model.kind === 'preset')
      refuseOversized(field, presetParameterCount(spec.model.preset, dataset));
    const model = await this.checkpoints?.describeModel(spec, dataset);
    if (model) refuseOversized(field, model.layout.total);
    const trainSize = Math.min(dataset.trainSize, spec.training.samplesPerEpoch ?? dataset.trainSize);
    const job = this.scheduler.createJob(spec, trainSize);
    if (model) await this.checkpoints?.initialize(job, model);
    this.log.info({ jobId: job.id, name: job.name, shards: job.shardCount }, 'job created');
    return this.info(job);
  }

  list(): JobInfo[] {
    return this.scheduler.listJobs().map((job) => this.info(job));
  }

  get(id: string): JobInfo {
    const job = this.scheduler.getJob(id);
    if (!job) throw new ProtocolError('UNKNOWN_JOB', `no job ${id}`);
    return this.info(job);
  }

  pause(id: string): JobInfo {
    this.get(id);
    return this.info(this.scheduler.pause(id));
  }

  resume(id: string): JobInfo {
    this.get(id);
    return this.info(this.scheduler.resume(id));
  }

  cancel(id: string): JobInfo {
    this.get(id);
    return this.info(this.scheduler.cancel(id));
  }

  /** Settles once the lease is committed, written with the other requests that arrived with it. */
  async lease(nodeId: string, samplesPerSec: number | undefined): Promise<LeaseGrantInfo | null> {
    const grant = await this.leases.submit({ nodeId, samplesPerSec });
    return grant && this.grantInfo(grant);
  }

  /** Settles once the completion is durable, written with the others that arrived with it. */
  async complete(
    nodeId: string,
    completion: LeaseCompletion,
  ): Promise<{ counted: boolean; duplicate: boolean }> {
    const lease = this.scheduler.getLease(completion.leaseId);
    if (lease) {
      const job = this.scheduler.getJob(lease.jobId);
      // A shard is trained once through: more samples than it holds is a bug or a lie.
      const expected = job ? Math.min(job.shardSize, job.trainSize - lease.shard * job.shardSize) : 0;
      if (completion.samples > expected) {
        this.metrics.validationRejections.inc({ job: lease.jobId, reason: 'samples' });
        throw new ProtocolError(
          'BAD_REQUEST',
          `samples: ${completion.samples} is more than the shard's ${expected}`,
        );
      }
    }
    const outcome = await this.completions.submit({
      leaseId: completion.leaseId,
      nodeId,
      result: completion,
    });
    return { counted: outcome.kind === 'counted', duplicate: outcome.kind === 'duplicate' };
  }

  /**
   * `reason` is the volunteer's own text: a DIVERGED one is a training-health signal. `cannotRun`:
   * the volunteer cannot run the job at all; it is offered the job's leases no more.
   */
  release(nodeId: string, leaseId: string, reason?: string, cannotRun = false): { jobId: string } {
    const lease = this.scheduler.releaseLease(leaseId, nodeId);
    this.health?.leaseReleased(lease.jobId, reason);
    if (cannotRun) this.scheduler.excludeJob(nodeId, lease.jobId);
    return { jobId: lease.jobId };
  }

  info(job: JobRecord): JobInfo {
    return {
      id: job.id,
      name: job.name,
      spec: job.spec,
      status: job.status,
      statusReason: job.statusReason,
      createdAt: job.createdAt,
      startedAt: job.startedAt,
      finishedAt: job.finishedAt,
      trainSize: job.trainSize,
      shardSize: job.shardSize,
      shardCount: job.shardCount,
      totalShards: job.shardCount * job.spec.training.epochs,
      epochsOpened: job.epochsOpened,
      shardsDone: job.shardsDone,
      samplesDone: job.samplesDone,
      activeLeases: isTerminal(job.status) ? 0 : this.scheduler.activeLeaseCount(job.id),
      samplesPerSecond: this.throughput.rate(job.id),
      parameterCount: this.checkpoints?.parameterCount(job.id) ?? null,
      latestCheckpoint: this.checkpoints?.latest(job.id) ?? null,
      alarms: this.health?.alarms(job.id) ?? [],
      ...(job.spec.privacy !== undefined && { privacy: this.privacySpent(job.id, job.spec.privacy) }),
    };
  }

  /** ε at the job's δ after the most releases any one training sample is in. */
  privacySpent(jobId: string, privacy: PrivacySpec): PrivacySpent {
    const releases = this.scheduler.mostLeasesOfOneShard(jobId);
    const epsilon = gaussianEpsilon(privacy.noiseMultiplier, releases, privacy.delta);
    return { epsilon: Number.isFinite(epsilon) ? epsilon : null, delta: privacy.delta, releases };
  }

  /** The job's active training-health alarms. */
  alarms(id: string): TrainingAlarm[] {
    this.get(id);
    return this.health?.alarms(id) ?? [];
  }

  samplesPerSecond(jobId: string): number {
    return this.throughput.rate(jobId);
  }

  private grantInfo(grant: LeaseGrant): LeaseGrantInfo {
    const job = this.scheduler.getJob(grant.jobId);
    const datasetId = job?.spec.dataset ?? 'mnist';
    return {
      leaseId: grant.id,
      jobId: grant.jobId,
      datasetId,
      epoch: grant.epoch,
      shard: grant.shard,
      start: grant.start,
      end: grant.end,
      deadline: grant.deadline,
      speculative: grant.speculative,
      samplesUrl: `/api/datasets/${datasetId}/samples?split=train&start=${grant.start}&end=${grant.end}`,
      ...(grant.replica == null ? {} : { replica: grant.replica }),
    };
  }

  private onSchedulerEvent(event: SchedulerEvent): void {
    const m = this.metrics;
    switch (event.type) {
      case 'issued':
        m.leases.inc({ job: event.lease.jobId, event: 'issued' });
        if (event.lease.speculative) m.leases.inc({ job: event.lease.jobId, event: 'speculative' });
        if (event.lease.reissue) m.leases.inc({ job: event.lease.jobId, event: 'reissued' });
        break;
      case 'completed':
        m.leases.inc({ job: event.lease.jobId, event: event.counted ? 'completed' : 'late' });
        if (event.counted) {
          m.shardsDone.inc({ job: event.lease.jobId });
          this.throughput.record(event.lease.jobId, event.samples);
          m.samplesPerSecond.set({ job: event.lease.jobId }, this.throughput.rate(event.lease.jobId));
          const job = this.scheduler.getJob(event.lease.jobId);
          if (job) {
            this.jobChangedSoon(job.id);
            this.checkpoints?.maybeRequest(job);
          }
        }
        break;
      case 'expired':
        m.leases.inc({ job: event.lease.jobId, event: 'expired' });
        this.log.info(
          { jobId: event.lease.jobId, leaseId: event.lease.id, nodeId: event.lease.nodeId },
          'lease expired',
        );
        break;
      case 'released':
        m.leases.inc({ job: event.lease.jobId, event: 'released' });
        break;
      case 'cancelled':
        m.leases.inc({ job: event.lease.jobId, event: 'cancelled' });
        this.notifier?.leaseCancelled(event.lease.nodeId, event.lease.id, event.reason);
        break;
      case 'job':
        this.notifier?.jobChanged(this.info(event.job));
        break;
    }
  }

  /**
   * Tells dashboards about a job's progress at most every JOB_UPDATE_INTERVAL_MS, with its state
   * at that time: a swarm completing thousands of shards a second would otherwise send every
   * dashboard thousands of job updates a second (status changes still go out at once).
   */
  private jobChangedSoon(jobId: string): void {
    if (this.pendingJobUpdates.has(jobId)) return;
    const timer = setTimeout(() => {
      this.pendingJobUpdates.delete(jobId);
      const job = this.scheduler.getJob(jobId);
      if (job) this.notifier?.jobChanged(this.info(job));
    }, JOB_UPDATE_INTERVAL_MS);
    timer.unref();
    this.pendingJobUpdates.set(jobId, timer);
  }

  /** Stops the pending progress updates (the server is closing). */
  close(): void {
    for (const timer of this.pendingJobUpdates.values()) clearTimeout(timer);
    this.pendingJobUpdates.clear();
  }

  /** Tells dashboards about a job whose checkpoints changed. */
  changed(jobId: string): void {
    const job = this.scheduler.getJob(jobId);
    if (job) this.notifier?.jobChanged(this.info(job));
  }
}
