/**
 * The compute side of a volunteer in one JavaScript context: TensorFlow.js on the best backend, the
 * loaded job's LocalTrainer, the shard source, and the controls (pause, duty cycle, cancel). It is
 * what the Web Worker runs (behind worker-host.ts) and what tests run in-process.
 */
import * as tf from '@tensorflow/tfjs';
import { getTfjsDevice, runMixSelfTest } from '@tabswarm/kernels';
import {
  encodeFp32Frame,
  type Backend,
  type CheckpointRequest,
  type SelfTestReport,
} from '@tabswarm/protocol';
import { planBatches, shardSeed } from '@tabswarm/core';
import { checkpointCache, HttpCoordinatorApi } from '../coordinator-api.ts';
import type { DownloadProgress } from '../download.ts';
import { BACKEND_ORDER, memoryStats, startBackend, watchDeviceLoss, type BackendChoice } from './backend.ts';
import { TrainerError, asTrainerError, errorText } from './errors.ts';
import { LocalTrainer } from './local-trainer.ts';
import { PrivateRun } from './private-run.ts';
import { ReplicaRun } from './replica-run.ts';
import { MovingAverage, clampDutyCycle, restAfterStep, sleep } from './pacing.ts';
import { CacheStorageShardCache, MemoryShardCache, type ShardCache } from './shard-cache.ts';
import { ShardSource, type ShardSourceOptions } from './shard-source.ts';
import { newSnapshotOwner, snapshotStore, type SnapshotStore } from './snapshot-store.ts';
import type * as T from './types.ts';

/** Every backend but `only`, each with the reason the fallback report gives. */
function onlyBackend(only: Backend): Partial<Record<Backend, string>> {
  return Object.fromEntries(BACKEND_ORDER.filter((b) => b !== only).map((b) => [b, `pinned to ${only}`]));
}

export interface LocalComputeOptions {
  /** Overrides for the shard source (tests: a fake fetch, no retries' sleeping). */
  readonly shards?: Partial<Omit<ShardSourceOptions, 'baseUrl' | 'cache'>>;
  /** The shard cache; by default Cache Storage where it exists, else memory. */
  readonly cache?: ShardCache | null;
  /** Backends to skip and where the .wasm files are; the WebGPU opt-out comes from start(). */
  readonly backend?: Omit<BackendChoice, 'avoidWebGpu'>;
  /** Backend selection, e.g. to pin 'cpu' in tests; by default the best one (startBackend). */
  readonly startBackend?: (choice: BackendChoice) => Promise<T.BackendInfo>;
  /** Where restart snapshots are kept; by default Cache Storage where it exists, else memory. */
  readonly snapshots?: SnapshotStore;
}

/** Runs exclusive work one call at a time (loading, calibrating, training, replacing parameters). */
class Exclusive {
  #tail: Promise<unknown> = Promise.resolve();
  run<T>(task: () => Promise<T>): Promise<T> {
    const next = this.#tail.then(task, task);
    this.#tail = next.catch(() => undefined);
    return next;
  }
}

export class LocalCompute implements T.ComputePort {
  readonly failed: Promise<T.ComputeFailure>;
  readonly #options: LocalComputeOptions;
  readonly #exclusive = new Exclusive();
  readonly #cancelled = new Set<string>();
  readonly #stepTime = new MovingAverage(0.2);
  #fail: (failure: T.ComputeFailure) => void = () => undefined;
  #backend: T.BackendInfo | null = null;
  #trainer: LocalTrainer | null = null;
  #shards: ShardSource | null = null;
  #snapshots: SnapshotStore | null = null;
  /** Checkpoint downloads and uploads (loadJobFromCoordinator, uploadCheckpoint), to the coordinator start() was given. */
  #api: HttpCoordinatorApi | null = null;
  #paused = false;
  #resumed: (() => void)[] = [];
  #dutyCycle = 1;
  #batchSize = 1;
  #failure: T.ComputeFailure | null = null;
  #active: { readonly leaseId: string; readonly abort: AbortController } | null = null;
  #disposed = false;

  constructor(options: LocalComputeOptions = {}) {
    this.#options = options;
    this.failed = new Promise((resolve) => {
      this.#fail = (failure) => {
        if (this.#failure !== null) return;
        this.#failure = failure;
        resolve(failure);
      };
    });
  }

  get backend(): T.BackendInfo | null {
    return this.#backend;
  }

  async start(options: T.StartOptions): Promise<T.BackendInfo> {
    if (this.#backend !== null) return this.#backend;
    let info: T.BackendInfo;
    try {
      info = await (this.#options.startBackend ?? startBackend)({
        ...this.#options.backend,
        ...(options.avoidWebGpu === undefined ? {} : { avoidWebGpu: options.avoidWebGpu }),
        ...(options.only === undefined ? {} : { skip: onlyBackend(options.only) }),
      });
    } catch (error) {
      throw new TrainerError('BACKEND_UNAVAILABLE', errorText(error));
    }
    this.#backend = info;
    if (info.backend === 'webgpu') watchDeviceLoss((message) => this.#fail({ code: 'DEVICE_LOST', message }));
    const cache =
      this.#options.cache !== undefined
        ? this.#options.cache
        : CacheStorageShardCache.available()
          ? new CacheStorageShardCache(
              options.shardCacheBytes === undefined ? {} : { maxBytes: options.shardCacheBytes },
            )
          : new MemoryShardCache(options.shardCacheBytes);
    this.#shards = new ShardSource({ ...this.#options.shards, baseUrl: options.baseUrl, cache });
    this.#snapshots = this.#options.snapshots ?? snapshotStore(options.snapshotOwner ?? newSnapshotOwner());
    const fetchOverride = this.#options.shards?.fetch;
    this.#api = new HttpCoordinatorApi(options.baseUrl, {
      ...(fetchOverride === undefined ? {} : { fetch: fetchOverride }),
      // The page's own cache too: a checkpoint downloaded once is not fetched again.
      cache: this.#options.cache === undefined ? checkpointCache() : undefined,
    });
    return info;
  }

  async selfTest(): Promise<SelfTestReport> {
    this.#requireStarted();
    return runMixSelfTest();
  }

  loadJob(job: T.JobLoad): Promise<T.JobLoaded> {
    return this.#exclusive.run(async () => {
      this.#requireStarted();
      this.#trainer?.dispose();
      this.#trainer = null;
      this.#stepTime.reset();
      this.#trainer = await LocalTrainer.create(job.jobId, job.spec, job.dataset, job.values);
      this.#batchSize = job.spec.training.batchSize;
      return { jobId: job.jobId, layout: this.#trainer.flat.layout };
    });
  }

  async loadJobFromCoordinator(
    job: T.JobDownload,
    onProgress?: (progress: DownloadProgress) => void,
  ): Promise<T.JobLoaded> {
    const { values } = await this.#requireApi().getParameters(job.jobId, {
      latestSeq: job.latestSeq,
      ...(onProgress === undefined ? {} : { onProgress }),
    });
    if (job.parameterCount !== null && values.length !== job.parameterCount) {
      throw new TrainerError(
        'PARAMETERS_INVALID',
        `job ${job.jobId} has ${job.parameterCount} parameters, the coordinator sent ${values.length}`,
      );
    }
    const { latestSeq: _seq, parameterCount: _count, ...load } = job;
    return this.loadJob({ ...load, values });
  }

  calibrate(steps: number): Promise<T.Calibration> {
    return this.#exclusive.run(async () => {
      const result = await this.#requireTrainer().calibrate(steps);
      this.#stepTime.reset();
      this.#stepTime.add(result.stepTimeMs);
      return result;
    });
  }

  train(task: T.ShardTask, onStep?: (progress: T.StepProgress) => void): Promise<T.ShardOutcome> {
    return this.#exclusive.run(() => this.#train(task, onStep));
  }

  cancel(leaseId: string): void {
    this.#cancelled.add(leaseId);
    if (this.#cancelled.size > 1000) this.#cancelled.delete(this.#cancelled.values().next().value as string);
    if (this.#active?.leaseId === leaseId) this.#active.abort.abort();
    this.#wake();
  }

  async parameters(): Promise<T.ParameterSnapshot | null> {
    const trainer = this.#trainer;
    if (trainer === null) return null;
    return { jobId: trainer.jobId, values: await trainer.flat.read() };
  }

  setParameters(snapshot: T.ParameterSnapshot): Promise<void> {
    return this.#exclusive.run(() => {
      const trainer = this.#requireTrainer();
      if (snapshot.jobId !== trainer.jobId) {
        throw new TrainerError('NO_JOB', `job ${snapshot.jobId} is not loaded (${trainer.jobId} is)`);
      }
      trainer.flat.setValues(snapshot.values);
      return Promise.resolve();
    });
  }

  async saveSnapshot(): Promise<T.SnapshotKept | null> {
    const trainer = this.#trainer;
    const store = this.#snapshots;
    if (trainer === null || store === null) return null;
    const values = await trainer.flat.read();
    await store.put(trainer.jobId, values);
    return { jobId: trainer.jobId, elements: values.length };
  }

  async loadJobFromSnapshot(job: T.JobFromSnapshot): Promise<T.JobLoaded | null> {
    this.#requireStarted();
    const values = await this.#snapshots?.get(job.jobId);
    if (values === undefined || values === null) return null;
    if (job.parameterCount !== null && values.length !== job.parameterCount) return null;
    const { parameterCount: _count, ...load } = job;
    return this.loadJob({ ...load, values });
  }

  async uploadCheckpoint(request: CheckpointRequest, senderId: string): Promise<boolean> {
    const api = this.#requireApi();
    const trainer = this.#trainer;
    const values =
      trainer !== null && trainer.jobId === request.jobId
        ? await trainer.flat.read()
        : ((await this.#snapshots?.get(request.jobId)) ?? null);
    if (values === null) return false;
    const frame = encodeFp32Frame({ jobId: request.jobId, senderId, round: 0, values });
    await api.uploadCheckpoint(request, frame);
    return true;
  }

  setPaused(paused: boolean): void {
    this.#paused = paused;
    if (!paused) this.#wake();
  }

  setDutyCycle(dutyCycle: number): void {
    this.#dutyCycle = clampDutyCycle(dutyCycle);
  }

  stats(): Promise<T.ComputeStats> {
    const step = this.#stepTime.value;
    return Promise.resolve({
      backend: this.#backend?.backend ?? null,
      jobId: this.#trainer?.jobId ?? null,
      ...(this.#backend === null ? { tensors: 0, bytes: 0, gpuBytes: 0 } : memoryStats()),
      stepTimeMs: step,
      samplesPerSec: step === null ? null : (this.#batchSize * 1000) / Math.max(step, 1e-3),
    });
  }

  simulateFault(kind: T.FaultKind): Promise<boolean> {
    if (kind === 'device-loss') {
      const device = getTfjsDevice();
      if (device === null) return Promise.resolve(false);
      device.destroy();
      return Promise.resolve(true);
    }
    // An uncaught error: in a worker, the page sees the worker's error event.
    setTimeout(() => {
      throw new Error('simulated trainer crash');
    }, 0);
    return Promise.resolve(true);
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#active?.abort.abort();
    this.#wake();
    // After the call in progress, which stops at its next step.
    void this.#exclusive.run(() => {
      this.#trainer?.dispose();
      this.#trainer = null;
      return Promise.resolve();
    });
    this.#fail({ code: 'WORKER_CRASHED', message: 'the compute was disposed' });
  }

  async #train(task: T.ShardTask, onStep?: (progress: T.StepProgress) => void): Promise<T.ShardOutcome> {
    const { lease } = task;
    const leaseId = lease.leaseId;
    const started = performance.now();
    const trainer = this.#trainer;
    if (trainer === null || trainer.jobId !== lease.jobId) {
      const message = `job ${lease.jobId} is not loaded`;
      return { ok: false, leaseId, code: 'NO_JOB', message };
    }
    const abort = new AbortController();
    if (this.#cancelled.has(leaseId) || this.#disposed) abort.abort();
    this.#active = { leaseId, abort };
    try {
      return await this.#trainShard(trainer, task, abort.signal, started, onStep);
    } finally {
      this.#active = null;
    }
  }

  async #trainShard(
    trainer: LocalTrainer,
    task: T.ShardTask,
    signal: AbortSignal,
    started: number,
    onStep?: (progress: T.StepProgress) => void,
  ): Promise<T.ShardOutcome> {
    const { lease } = task;
    const leaseId = lease.leaseId;
    const fail = (error: unknown): T.ShardOutcome => {
      const failure = this.#failure;
      const e = failure === null ? asTrainerError(error) : new TrainerError(failure.code, failure.message);
      return { ok: false, leaseId, code: e.code, message: e.message };
    };
    const shards = this.#shards as ShardSource;
    let loaded;
    try {
      loaded = await shards.load(lease.samplesUrl, signal);
    } catch (error) {
      return fail(error);
    }
    const { shard } = loaded;
    if (shard.split !== 'train' || shard.start !== lease.start || shard.count !== lease.end - lease.start) {
      return fail(
        new TrainerError(
          'SHARD_INVALID',
          `shard holds ${shard.split} samples [${shard.start}, ${shard.start + shard.count}); the lease is train [${lease.start}, ${lease.end})`,
        ),
      );
    }
    // A replicated lease named by its checkpoint: downloaded here (the page never holds it).
    let replicaStart: { values: Float32Array; seed: number } | undefined;
    if (task.replica !== undefined && 'checkpoint' in task.replica) {
      const { checkpoint, seed } = task.replica;
      try {
        replicaStart = { values: await this.#requireApi().getCheckpoint(lease.jobId, checkpoint), seed };
      } catch (error) {
        const e = asTrainerError(error, 'HTTP_FAILED');
        return fail(new TrainerError(e.code, `could not load checkpoint ${checkpoint}: ${e.message}`));
      }
    } else if (task.replica !== undefined) {
      replicaStart = task.replica;
    }
    const { training } = trainer.spec;
    const plan = planBatches(
      shard.count,
      training.batchSize,
      training.localSteps,
      shardSeed(training.seed, lease.epoch, lease.shard),
    );
    let data;
    try {
      data = trainer.upload(shard);
    } catch (error) {
      return fail(error);
    }
    // A replicated lease or a private shard: it trains with an optimizer of its own, and what the
    // model becomes afterwards is the run's to say. (A job never has both: the spec refuses it.)
    let replica: ReplicaRun | null = null;
    let priv: PrivateRun | null = null;
    try {
      if (replicaStart !== undefined) replica = await ReplicaRun.begin(trainer, replicaStart);
      else if (trainer.spec.privacy !== undefined)
        priv = await PrivateRun.begin(trainer, trainer.spec.privacy);
    } catch (error) {
      tf.dispose([data.x, data.y]);
      return fail(error);
    }
    const run = replica ?? priv;
    let lossSum = 0;
    let steps = 0;
    let stepTimeSum = 0;
    try {
      for await (const step of trainer.steps(data, plan, run?.optimizer)) {
        if (!Number.isFinite(step.loss)) {
          throw new TrainerError('DIVERGED', `the training loss became ${step.loss}`);
        }
        lossSum += step.loss;
        stepTimeSum += step.stepTimeMs;
        steps = step.step;
        const average = this.#stepTime.add((step.stepTimeMs * this.#batchSize) / Math.max(1, step.samples));
        onStep?.({
          leaseId,
          step: step.step,
          steps: step.steps,
          loss: step.loss,
          stepTimeMs: step.stepTimeMs,
          samplesPerSec: (this.#batchSize * 1000) / Math.max(average, 1e-3),
          ...memoryStats(),
        });
        if (signal.aborted) break;
        // Pacing, and a macrotask boundary even at 100 %: messages (cancel, parameters) get through.
        await sleep(restAfterStep(step.stepTimeMs, this.#dutyCycle), signal);
        await this.#whilePaused(signal);
        if (signal.aborted) break;
      }
    } catch (error) {
      run?.abort();
      return fail(error);
    } finally {
      tf.dispose([data.x, data.y]);
    }
    if (signal.aborted) {
      run?.abort();
      return fail(new TrainerError('CANCELLED', `work on lease ${leaseId} was stopped`));
    }
    const update = replica === null ? undefined : await replica.finish();
    if (priv !== null) {
      try {
        await priv.finish();
      } catch (error) {
        return fail(error);
      }
    }
    const stepTimeMs = stepTimeSum / Math.max(1, steps);
    return {
      ok: true,
      leaseId,
      loss: lossSum / Math.max(1, steps),
      samples: plan.samples,
      steps,
      durationMs: performance.now() - started,
      stepTimeMs,
      samplesPerSec: (this.#batchSize * 1000) / Math.max(this.#stepTime.value ?? stepTimeMs, 1e-3),
      ...(update === undefined ? {} : { update }),
    };
  }

  async #whilePaused(signal: AbortSignal): Promise<void> {
    while (this.#paused && !signal.aborted && !this.#disposed) {
      await new Promise<void>((resolve) => this.#resumed.push(resolve));
    }
  }

  #wake(): void {
    const waiting = this.#resumed;
    this.#resumed = [];
    for (const resolve of waiting) resolve();
  }

  #requireStarted(): void {
    this.#requireApi();
  }

  /** The coordinator's API, set by start(). */
  #requireApi(): HttpCoordinatorApi {
    if (this.#backend === null || this.#api === null)
      throw new TrainerError('BACKEND_UNAVAILABLE', 'start() the compute first');
    return this.#api;
  }

  #requireTrainer(): LocalTrainer {
    if (this.#trainer === null) throw new TrainerError('NO_JOB', 'no job is loaded');
    return this.#trainer;
  }
}
