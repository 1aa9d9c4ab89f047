/**
 * The trainer's compute port: what the lease loop asks of the thing that holds the model and the
 * GPU. One implementation runs in-process (LocalCompute, used inside the Web Worker and in tests),
 * the other proxies to a Web Worker (WorkerCompute); the loop cannot tell them apart.
 */
import type {
  AdapterInfo,
  CheckpointRequest,
  Backend,
  JobSpec,
  LeaseGrantInfo,
  ParamLayout,
  SelfTestReport,
} from '@tabswarm/protocol';
import type { UpdateStatistics } from '@tabswarm/core';
import type { DownloadProgress } from '../download.ts';
import type { TrainerErrorCode } from './errors.ts';

/** What a model needs to know about its dataset. */
export interface DatasetShape {
  /** One sample's feature shape, without the batch dimension. */
  readonly featureShape: readonly number[];
  readonly numClasses: number;
  /** Labels per sample beyond one: a text window's [context]. */
  readonly labelShape?: readonly number[] | undefined;
}

export interface BackendInfo {
  readonly backend: Backend;
  /** Why a better backend is not in use; null on WebGPU. */
  readonly fallbackReason: string | null;
  /** The WebGPU adapter, when there is one (also on a fallback after the device was lost). */
  readonly adapter: AdapterInfo | null;
}

export interface StartOptions {
  /** Origin that lease sample URLs are relative to. */
  readonly baseUrl: string;
  /** Skip WebGPU (e.g. after its device was lost repeatedly); the reason is reported. */
  readonly avoidWebGpu?: string;
  /** Only this backend, the others skipped (a page pinned by `?backend=`, for tests and simulations). */
  readonly only?: Backend;
  /** Size cap of the shard cache (Cache Storage), in bytes. */
  readonly shardCacheBytes?: number;
  /**
   * Whose restart snapshots this compute keeps (snapshot-store.ts): the same for every compute of
   * one trainer, so a restarted one finds what the last one kept. Default: a key of its own.
   */
  readonly snapshotOwner?: string;
}

export interface JobLoad {
  readonly jobId: string;
  readonly spec: JobSpec;
  readonly dataset: DatasetShape;
  /** The flat parameters to start from (the latest checkpoint, or the last local ones). */
  readonly values: Float32Array;
}

/** A job to load from the coordinator's latest checkpoint, downloaded by the compute itself. */
export interface JobDownload extends Omit<JobLoad, 'values'> {
  /** The latest checkpoint as last seen (served from the checkpoint cache when it is there). */
  readonly latestSeq: number | null;
  /** The job's parameter count, when the coordinator said: a download of another length is refused. */
  readonly parameterCount: number | null;
}

/** A job to load from the snapshot its trainer's last compute kept (saveSnapshot). */
export interface JobFromSnapshot extends Omit<JobLoad, 'values'> {
  /** The job's parameter count, when the coordinator said: a snapshot of another length is not used. */
  readonly parameterCount: number | null;
}

/** What saveSnapshot kept: the parameters stay where the compute runs. */
export interface SnapshotKept {
  readonly jobId: string;
  readonly elements: number;
}

export interface JobLoaded {
  readonly jobId: string;
  readonly layout: ParamLayout;
}

export interface Calibration {
  readonly batchSize: number;
  readonly steps: number;
  /** Mean time of one full local step (forward, backward, optimizer), warm. */
  readonly stepTimeMs: number;
  /** batchSize / stepTime: the device's throughput at 100 % duty cycle. */
  readonly samplesPerSec: number;
}

export interface ShardTask {
  readonly lease: LeaseGrantInfo;
  /**
   * A replicated lease (validated work): train from these parameters (its checkpoint) with a fresh
   * optimizer, report the update's statistics with this seed, then add the update to the model
   * the volunteer had (its own training goes on from there). The checkpoint is given as its values,
   * or as its number for the compute to download itself (parametersInCompute: its worker).
   */
  readonly replica?:
    | { readonly values: Float32Array; readonly seed: number }
    | { readonly checkpoint: number; readonly seed: number };
}

export interface MemoryStats {
  readonly tensors: number;
  readonly bytes: number;
  /** Bytes held on the GPU by tfjs (0 on the CPU backend). */
  readonly gpuBytes: number;
}

export interface StepProgress extends MemoryStats {
  readonly leaseId: string;
  readonly step: number;
  readonly steps: number;
  readonly loss: number;
  readonly stepTimeMs: number;
  /** Moving average of the device's throughput at 100 % duty cycle. */
  readonly samplesPerSec: number;
}

export type ShardOutcome =
  | {
      readonly ok: true;
      readonly leaseId: string;
      /** Mean training loss over the shard's steps. */
      readonly loss: number;
      readonly samples: number;
      readonly steps: number;
      readonly durationMs: number;
      readonly stepTimeMs: number;
      readonly samplesPerSec: number;
      /** A replicated lease's update statistics (core's updateStatistics). */
      readonly update?: UpdateStatistics;
    }
  | {
      readonly ok: false;
      readonly leaseId: string;
      readonly code: TrainerErrorCode;
      readonly message: string;
    };

export interface ParameterSnapshot {
  readonly jobId: string;
  readonly values: Float32Array;
}

export interface ComputeStats extends MemoryStats {
  readonly backend: Backend | null;
  readonly jobId: string | null;
  readonly samplesPerSec: number | null;
  readonly stepTimeMs: number | null;
}

export type FatalCode = 'DEVICE_LOST' | 'WORKER_CRASHED';

export interface ComputeFailure {
  readonly code: FatalCode;
  readonly message: string;
}

export type FaultKind = 'device-loss' | 'crash';

export interface ComputePort {
  /** Starts TensorFlow.js on the best backend available. */
  start(options: StartOptions): Promise<BackendInfo>;
  /** The WGSL mix kernel against its reference (the coordinator's join self-test). */
  selfTest(): Promise<SelfTestReport>;
  /** Builds the job's model, loads `values` into it and resets the optimizer state. */
  loadJob(job: JobLoad): Promise<JobLoaded>;
  /**
   * loadJob from the job's latest checkpoint, downloaded (and decoded, checked) where the compute
   * runs — in the trainer's worker the page never holds the vector — with the download's progress.
   */
  loadJobFromCoordinator?(
    job: JobDownload,
    onProgress?: (progress: DownloadProgress) => void,
  ): Promise<JobLoaded>;
  /** Times a few steps on random data; parameters and optimizer state are left as they were. */
  calibrate(steps: number): Promise<Calibration>;
  /** Trains the lease's shard: localSteps batches, then the outcome (never throws for shard problems). */
  train(task: ShardTask, onStep?: (progress: StepProgress) => void): Promise<ShardOutcome>;
  /** Stops work on a lease at the next step. */
  cancel(leaseId: string): void;
  /** A copy of the current flat parameters, or null when no job is loaded. */
  parameters(): Promise<ParameterSnapshot | null>;
  /** Replaces the flat parameters of the loaded job (e.g. with an average). */
  setParameters(snapshot: ParameterSnapshot): Promise<void>;
  /**
   * Keeps the loaded job's parameters where a restarted compute of the same trainer (the same
   * `snapshotOwner`) finds them — in the trainer's worker, Cache Storage — instead of handing them
   * to the page. Null when no job is loaded.
   */
  saveSnapshot?(): Promise<SnapshotKept | null>;
  /** loadJob from the kept snapshot (saveSnapshot); null, with nothing loaded, when there is none. */
  loadJobFromSnapshot?(job: JobFromSnapshot): Promise<JobLoaded | null>;
  /**
   * Encodes the loaded job's current parameters as an fp32 frame from `senderId` and uploads it
   * where `request` says, from where the compute runs (in the trainer's worker the page never
   * holds the vector, nor spends a task encoding it) — or, when another job or none is loaded
   * (a restart), its kept snapshot of `request.jobId`. False, with nothing sent, when it holds
   * neither; an upload that fails throws.
   */
  uploadCheckpoint?(request: CheckpointRequest, senderId: string): Promise<boolean>;
  setPaused(paused: boolean): void;
  setDutyCycle(dutyCycle: number): void;
  stats(): Promise<ComputeStats>;
  /** Settles when the compute is gone for good: its GPU device was lost, its worker died, or it was disposed. */
  readonly failed: Promise<ComputeFailure>;
  /** Test hook: destroys the GPU device, or crashes the worker. True when it did something. */
  simulateFault(kind: FaultKind): Promise<boolean>;
  dispose(): void;
}
