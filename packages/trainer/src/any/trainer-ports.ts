/**
 * The volunteer trainer's ports and options: what the lease loop asks of the coordinator, where
 * model averaging plugs in, and how it is configured. Types only; the loop is volunteer-trainer.ts.
 */
import type {
  LeaseCompletion,
  LeaseGrantInfo,
  LeaseRelease,
  LeaseRequest,
  ParamLayout,
} from '@tabswarm/protocol';
import type { CoordinatorApi } from '../coordinator-api.ts';
import type { ComputePort } from './types.ts';

/** The control-plane calls the loop makes (socket.io on the page). Throw TrainerErrors. */
export interface LeaseCoordinator {
  /** The raw grant: the trainer validates it. Throws COORDINATOR_UNAVAILABLE when not connected. */
  requestLease(request: LeaseRequest): Promise<{ lease: unknown; retryAfterMs: number }>;
  completeLease(completion: LeaseCompletion): Promise<{ counted: boolean; duplicate: boolean }>;
  releaseLease(release: LeaseRelease): Promise<void>;
}

/** The parameters after a shard, wherever they live (a worker's GPU buffer, usually). */
export interface ShardParameters {
  readonly jobId: string;
  readonly layout: ParamLayout;
  /** A copy of the current flat parameters. */
  read(): Promise<Float32Array>;
  /** Replaces them (e.g. with an average); the optimizer state is kept. */
  write(values: Float32Array): Promise<void>;
}

/** Where model averaging plugs in: called after every completed shard, before the next lease. */
export interface AveragingHook {
  afterShard(
    params: ShardParameters,
    context: { readonly lease: LeaseGrantInfo; readonly shardsDone: number; readonly signal: AbortSignal },
  ): Promise<void>;
}

export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

export interface VolunteerTrainerOptions {
  /** The coordinator's origin (shard and API URLs are relative to it). */
  readonly baseUrl: string;
  readonly api: CoordinatorApi;
  readonly coordinator: LeaseCoordinator;
  /** A new compute (a new Web Worker on the page); called again after every crash. */
  readonly createCompute: () => ComputePort;
  /** This volunteer's node id once joined: the sender of checkpoint frames. */
  readonly nodeId: () => string | null;
  readonly averaging?: AveragingHook;
  /** Timed steps of the calibration (after one warm-up step). Default 3. */
  readonly calibrationSteps?: number;
  /**
   * The compute downloads the job's checkpoint, uploads checkpoints and keeps the restart snapshot
   * after each shard itself (ComputePort.loadJobFromCoordinator, uploadCheckpoint, saveSnapshot):
   * in the trainer's worker, so the page neither holds nor decodes/encodes the vector. Off by
   * default: an in-process compute gains nothing, and the caller's `api` (a simulation's
   * adversary, a test's fake) would be bypassed.
   */
  readonly parametersInCompute?: boolean;
  readonly dutyCycle?: number;
  readonly shardCacheBytes?: number;
  /** Waits between restarts of a failing compute, by consecutive failure. */
  readonly restartDelaysMs?: readonly number[];
  /** Waits before each attempt to report a completion. */
  readonly completionDelaysMs?: readonly number[];
  /** A compute that reports no step for this long while training is restarted. Default 5 minutes. */
  readonly stallTimeoutMs?: number;
  /** Wait after a control-plane request failed before the loop tries again. */
  readonly retryMs?: number;
  /** Coordinator time (epoch ms), for lease timestamps. */
  readonly now?: () => number;
  readonly sleep?: Sleep;
}
