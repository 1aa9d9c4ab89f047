/** In-memory stand-ins for the trainer's ports, for the lease loop's unit tests. */
import type { ParameterFetch } from '../coordinator-api.ts';
import type { DownloadProgress } from '../download.ts';
import type {
  CheckpointRequest,
  JobInfo,
  LeaseCompletion,
  LeaseGrantInfo,
  LeaseRelease,
  SelfTestReport,
} from '@tabswarm/protocol';
import type { CoordinatorApi } from '../coordinator-api.ts';
import { TrainerError } from './errors.ts';
import type * as T from './types.ts';
import type { LeaseCoordinator } from './trainer-ports.ts';

export const DATASET: T.DatasetShape & { name: string } = { featureShape: [4], numClasses: 3, name: 'tiny' };

let leaseCounter = 0;
export function grant(jobId: string, shard = 0, extra: Partial<LeaseGrantInfo> = {}): LeaseGrantInfo {
  leaseCounter++;
  return {
    leaseId: `lease-${leaseCounter.toString(16).padStart(16, '0')}`,
    jobId,
    datasetId: 'tiny',
    epoch: 0,
    shard,
    start: shard * 8,
    end: shard * 8 + 8,
    deadline: Date.now() + 60_000,
    speculative: false,
    samplesUrl: `/api/datasets/tiny/samples?split=train&start=${shard * 8}&end=${shard * 8 + 8}`,
    ...extra,
  };
}

export class FakeCompute implements T.ComputePort {
  readonly failed: Promise<T.ComputeFailure>;
  readonly calls: string[] = [];
  readonly starts: T.StartOptions[] = [];
  readonly loaded: T.JobLoad[] = [];
  /** Every task train was given. */
  readonly tasks: T.ShardTask[] = [];
  readonly cancelled: string[] = [];
  paused = false;
  dutyCycle = 1;
  disposed = false;
  snapshot: T.ParameterSnapshot | null = null;
  /** What loadJobFromCoordinator downloads, by job (the compute's own downloads: parametersInCompute). */
  readonly checkpoints = new Map<string, Float32Array>();
  /** Checkpoint requests this compute uploaded itself. */
  readonly uploaded: string[] = [];
  /**
   * Where saveSnapshot keeps the parameters (Cache Storage in a browser): give every compute of one
   * trainer the same map, as a worker restarted by the same page finds what the last one kept.
   */
  kept = new Map<string, Float32Array>();
  /** How a train call goes; by default: every parameter +1, loss 0.5. */
  onTrain: (task: T.ShardTask, onStep?: (p: T.StepProgress) => void) => Promise<T.ShardOutcome> = (
    task,
    onStep,
  ) => this.defaultTrain(task, onStep);
  #fail: (f: T.ComputeFailure) => void = () => undefined;

  constructor(readonly backend: T.BackendInfo = { backend: 'webgpu', fallbackReason: null, adapter: null }) {
    this.failed = new Promise((resolve) => (this.#fail = resolve));
  }

  fail(failure: T.ComputeFailure): void {
    this.#fail(failure);
  }

  start(options: T.StartOptions): Promise<T.BackendInfo> {
    this.calls.push('start');
    this.starts.push(options);
    return Promise.resolve(
      options.avoidWebGpu === undefined
        ? this.backend
        : { backend: 'webgl', fallbackReason: `webgpu: ${options.avoidWebGpu}`, adapter: null },
    );
  }
  selfTest(): Promise<SelfTestReport> {
    return Promise.resolve({
      kernel: 'mix',
      passed: true,
      path: 'webgpu',
      elements: 1,
      maxAbsError: 0,
      durationMs: 1,
      error: null,
    });
  }
  loadJob(job: T.JobLoad): Promise<T.JobLoaded> {
    this.calls.push(`loadJob ${job.jobId}`);
    this.loaded.push(job);
    this.snapshot = { jobId: job.jobId, values: job.values.slice() };
    return Promise.resolve({
      jobId: job.jobId,
      layout: {
        entries: [{ name: 'w', shape: [job.values.length], offset: 0, size: job.values.length }],
        total: job.values.length,
      },
    });
  }
  async loadJobFromCoordinator(
    job: T.JobDownload,
    onProgress?: (progress: DownloadProgress) => void,
  ): Promise<T.JobLoaded> {
    this.calls.push(`download ${job.jobId}`);
    const values = this.checkpoints.get(job.jobId);
    if (values === undefined) throw new TrainerError('HTTP_FAILED', `no checkpoint of ${job.jobId}`);
    onProgress?.({ loaded: values.byteLength, total: values.byteLength });
    const { latestSeq: _seq, parameterCount: _count, ...load } = job;
    return this.loadJob({ ...load, values: values.slice() });
  }
  saveSnapshot(): Promise<T.SnapshotKept | null> {
    this.calls.push('saveSnapshot');
    const snapshot = this.snapshot;
    if (snapshot === null) return Promise.resolve(null);
    this.kept.clear();
    this.kept.set(snapshot.jobId, snapshot.values.slice());
    return Promise.resolve({ jobId: snapshot.jobId, elements: snapshot.values.length });
  }
  async loadJobFromSnapshot(job: T.JobFromSnapshot): Promise<T.JobLoaded | null> {
    this.calls.push(`fromSnapshot ${job.jobId}`);
    const values = this.kept.get(job.jobId);
    if (values === undefined) return null;
    const { parameterCount: _count, ...load } = job;
    return this.loadJob({ ...load, values: values.slice() });
  }
  uploadCheckpoint(request: CheckpointRequest): Promise<boolean> {
    if (this.snapshot?.jobId !== request.jobId && !this.kept.has(request.jobId))
      return Promise.resolve(false);
    this.uploaded.push(request.requestId);
    return Promise.resolve(true);
  }
  calibrate(steps: number): Promise<T.Calibration> {
    this.calls.push('calibrate');
    return Promise.resolve({ batchSize: 4, steps, stepTimeMs: 10, samplesPerSec: 400 });
  }
  train(task: T.ShardTask, onStep?: (p: T.StepProgress) => void): Promise<T.ShardOutcome> {
    this.calls.push(`train ${task.lease.leaseId}`);
    this.tasks.push(task);
    return this.onTrain(task, onStep);
  }
  async defaultTrain(task: T.ShardTask, onStep?: (p: T.StepProgress) => void): Promise<T.ShardOutcome> {
    const leaseId = task.lease.leaseId;
    if (this.snapshot === null || this.snapshot.jobId !== task.lease.jobId) {
      return { ok: false, leaseId, code: 'NO_JOB', message: 'not loaded' };
    }
    for (let step = 1; step <= 2; step++) {
      await new Promise((r) => setTimeout(r, 1));
      if (this.cancelled.includes(leaseId))
        return { ok: false, leaseId, code: 'CANCELLED', message: 'cancelled' };
      onStep?.({
        leaseId,
        step,
        steps: 2,
        loss: 0.5,
        stepTimeMs: 10,
        samplesPerSec: 400,
        tensors: 7,
        bytes: 0,
        gpuBytes: 100,
      });
    }
    this.snapshot = { jobId: this.snapshot.jobId, values: this.snapshot.values.map((v) => v + 1) };
    return {
      ok: true,
      leaseId,
      loss: 0.5,
      samples: 8,
      steps: 2,
      durationMs: 20,
      stepTimeMs: 10,
      samplesPerSec: 400,
    };
  }
  cancel(leaseId: string): void {
    this.cancelled.push(leaseId);
  }
  parameters(): Promise<T.ParameterSnapshot | null> {
    this.calls.push('parameters');
    return Promise.resolve(
      this.snapshot && { jobId: this.snapshot.jobId, values: this.snapshot.values.slice() },
    );
  }
  setParameters(snapshot: T.ParameterSnapshot): Promise<void> {
    this.calls.push('setParameters');
    this.snapshot = { jobId: snapshot.jobId, values: snapshot.values.slice() };
    return Promise.resolve();
  }
  setPaused(paused: boolean): void {
    this.paused = paused;
  }
  setDutyCycle(dutyCycle: number): void {
    this.dutyCycle = dutyCycle;
  }
  stats(): Promise<T.ComputeStats> {
    return Promise.resolve({
      backend: 'webgpu',
      jobId: this.snapshot?.jobId ?? null,
      tensors: 7,
      bytes: 0,
      gpuBytes: 100,
      samplesPerSec: 400,
      stepTimeMs: 10,
    });
  }
  simulateFault(kind: T.FaultKind): Promise<boolean> {
    this.fail({ code: kind === 'crash' ? 'WORKER_CRASHED' : 'DEVICE_LOST', message: `simulated ${kind}` });
    return Promise.resolve(true);
  }
  dispose(): void {
    this.disposed = true;
    this.fail({ code: 'WORKER_CRASHED', message: 'disposed' });
  }
}

export class FakeCoordinator implements LeaseCoordinator {
  readonly requests: { samplesPerSec?: number }[] = [];
  readonly completions: LeaseCompletion[] = [];
  readonly releases: LeaseRelease[] = [];
  /** Leases to hand out, in order; then none. */
  readonly script: (LeaseGrantInfo | 'unavailable')[] = [];
  completeFailures = 0;
  connected = true;

  attempts = 0;

  requestLease(request: { samplesPerSec?: number }): Promise<{ lease: unknown; retryAfterMs: number }> {
    this.attempts++;
    if (!this.connected) return Promise.reject(new TrainerError('COORDINATOR_UNAVAILABLE', 'offline'));
    this.requests.push(request);
    const next = this.script.shift();
    if (next === 'unavailable') return Promise.reject(new TrainerError('COORDINATOR_UNAVAILABLE', 'offline'));
    return Promise.resolve({ lease: next ?? null, retryAfterMs: 5 });
  }
  completeLease(completion: LeaseCompletion): Promise<{ counted: boolean; duplicate: boolean }> {
    if (this.completeFailures > 0) {
      this.completeFailures--;
      return Promise.reject(new TrainerError('COORDINATOR_UNAVAILABLE', 'timed out'));
    }
    const duplicate = this.completions.some((c) => c.leaseId === completion.leaseId);
    this.completions.push(completion);
    return Promise.resolve({ counted: !duplicate, duplicate });
  }
  releaseLease(release: LeaseRelease): Promise<void> {
    this.releases.push(release);
    return Promise.resolve();
  }
}

export class FakeApi implements CoordinatorApi {
  readonly jobs = new Map<string, { info: JobInfo; values: Float32Array }>();
  readonly uploads: { request: CheckpointRequest; frame: Uint8Array }[] = [];
  parameterFetches: string[] = [];
  /** getCheckpoint calls, as `job/seq` (a replicated lease's starting checkpoint). */
  readonly checkpointFetches: string[] = [];

  add(info: JobInfo, values: Float32Array): void {
    this.jobs.set(info.id, { info, values });
  }
  listJobs(): Promise<JobInfo[]> {
    return Promise.resolve([...this.jobs.values()].map((j) => j.info));
  }
  getJob(jobId: string): Promise<JobInfo> {
    const job = this.jobs.get(jobId);
    return job
      ? Promise.resolve(job.info)
      : Promise.reject(new TrainerError('HTTP_FAILED', `no job ${jobId}`));
  }
  getDataset(): Promise<T.DatasetShape & { name: string }> {
    return Promise.resolve(DATASET);
  }
  getParameters(
    jobId: string,
    options: ParameterFetch = {},
  ): Promise<{ values: Float32Array; seq: number | null }> {
    this.parameterFetches.push(jobId);
    const job = this.jobs.get(jobId);
    if (job === undefined) return Promise.reject(new TrainerError('HTTP_FAILED', `no job ${jobId}`));
    // A download in two halves, as the HTTP client reports it.
    const total = job.values.byteLength;
    options.onProgress?.({ loaded: total / 2, total });
    options.onProgress?.({ loaded: total, total });
    return Promise.resolve({ values: job.values.slice(), seq: 0 });
  }
  getCheckpoint(jobId: string, seq: number): Promise<Float32Array> {
    this.checkpointFetches.push(`${jobId}/${seq}`);
    const job = this.jobs.get(jobId);
    return job
      ? Promise.resolve(job.values.slice())
      : Promise.reject(new TrainerError('HTTP_FAILED', `no job ${jobId}`));
  }
  uploadCheckpoint(request: CheckpointRequest, frame: Uint8Array): Promise<void> {
    this.uploads.push({ request, frame });
    return Promise.resolve();
  }
}
