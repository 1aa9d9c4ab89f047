/**
 * What the trainer tells the world: its status snapshot (for the page and the heartbeats) and its
 * event stream, kept together so every change is one `set` and one `emit`; plus the lease in
 * progress as the loop tracks it.
 */
import type { DownloadProgress } from '../download.ts';
import type { Health, JobInfo, LeaseGrantInfo } from '@tabswarm/protocol';
import type { TrainerErrorCode } from './errors.ts';
import { EventQueue } from './event-queue.ts';
import type { BackendInfo, Calibration, DatasetShape, StepProgress } from './types.ts';

export type TrainerPhase =
  | 'off'
  | 'starting'
  | 'loading'
  | 'calibrating'
  | 'idle'
  | 'training'
  | 'paused'
  | 'restarting'
  | 'stopped'
  | 'failed';

export interface LeaseProgress {
  readonly leaseId: string;
  readonly jobId: string;
  readonly epoch: number;
  readonly shard: number;
  readonly issuedAt: number;
  readonly deadline: number;
  readonly stepsDone: number;
  readonly steps: number;
}

export interface TrainerStatus {
  readonly phase: TrainerPhase;
  readonly backend: BackendInfo | null;
  readonly job: JobInfo | null;
  readonly dataset: (DatasetShape & { name: string }) | null;
  readonly lease: LeaseProgress | null;
  readonly shardsDone: number;
  readonly samplesDone: number;
  /** Effective throughput (device throughput × duty cycle): what requestLease reports. */
  readonly samplesPerSec: number | null;
  readonly stepTimeMs: number | null;
  readonly lastLoss: number | null;
  readonly calibration: Calibration | null;
  readonly tensors: number;
  readonly gpuBytes: number;
  readonly dutyCycle: number;
  readonly paused: boolean;
  /** Device time spent on training steps, summed. */
  readonly contributedMs: number;
  readonly restarts: number;
  readonly releasedLeases: number;
  readonly cancelledLeases: number;
  readonly checkpointsUploaded: number;
  readonly lastError: string | null;
  /** The model's parameters being downloaded (tens of MB for the larger presets), or null. */
  readonly download: DownloadProgress | null;
}

export type TrainerEvent =
  | { readonly type: 'backend'; readonly backend: BackendInfo }
  | { readonly type: 'job'; readonly job: JobInfo; readonly source: 'checkpoint' | 'snapshot' }
  | { readonly type: 'calibrated'; readonly jobId: string; readonly calibration: Calibration }
  /** The parameters' download advanced (a few times a second at most); null: it ended. */
  | { readonly type: 'download'; readonly jobId: string; readonly progress: DownloadProgress | null }
  | { readonly type: 'lease'; readonly lease: LeaseGrantInfo }
  | { readonly type: 'step'; readonly progress: StepProgress }
  | {
      readonly type: 'shard-done';
      readonly lease: LeaseGrantInfo;
      readonly loss: number;
      readonly samples: number;
      readonly durationMs: number;
      readonly counted: boolean;
      readonly duplicate: boolean;
    }
  | { readonly type: 'shard-released'; readonly lease: LeaseGrantInfo; readonly reason: string }
  | { readonly type: 'shard-cancelled'; readonly lease: LeaseGrantInfo; readonly reason: string }
  | { readonly type: 'no-work'; readonly retryAfterMs: number }
  | {
      readonly type: 'checkpoint';
      readonly jobId: string;
      readonly requestId: string;
      readonly ok: boolean;
      readonly message: string | null;
    }
  | {
      readonly type: 'restart';
      readonly code: TrainerErrorCode;
      readonly message: string;
      readonly restarts: number;
    }
  | { readonly type: 'paused'; readonly paused: boolean }
  | { readonly type: 'error'; readonly code: TrainerErrorCode; readonly message: string }
  | { readonly type: 'stopped' };

export const INITIAL_STATUS: TrainerStatus = {
  phase: 'off',
  backend: null,
  job: null,
  dataset: null,
  lease: null,
  shardsDone: 0,
  samplesDone: 0,
  samplesPerSec: null,
  stepTimeMs: null,
  lastLoss: null,
  calibration: null,
  tensors: 0,
  gpuBytes: 0,
  dutyCycle: 1,
  paused: false,
  contributedMs: 0,
  restarts: 0,
  releasedLeases: 0,
  cancelledLeases: 0,
  checkpointsUploaded: 0,
  lastError: null,
  download: null,
};

/** The status snapshot and the event stream (one consumer; per-step events are dropped first). */
export class TrainerState {
  readonly events = new EventQueue<TrainerEvent>(2000, (e) => e.type === 'step');
  #status: TrainerStatus;

  constructor(initial: Partial<TrainerStatus> = {}) {
    this.#status = { ...INITIAL_STATUS, ...initial };
  }

  get status(): TrainerStatus {
    return this.#status;
  }

  set(patch: Partial<TrainerStatus>): void {
    this.#status = { ...this.#status, ...patch };
  }

  emit(event: TrainerEvent): void {
    this.events.push(event);
  }

  close(): void {
    this.events.close();
  }
}

/** A lease the loop is working on. */
export interface ActiveLease {
  readonly grant: LeaseGrantInfo;
  readonly issuedAt: number;
  stepsDone: number;
  steps: number;
  /** The coordinator cancelled it: drop it without completing or releasing. */
  cancelled: string | null;
  /** Completed or released: nothing more to tell the coordinator. */
  settled: boolean;
  /** When the compute last reported a step (for the watchdog). */
  progressAt: number;
}

export function progressOf(lease: ActiveLease): LeaseProgress {
  return {
    leaseId: lease.grant.leaseId,
    jobId: lease.grant.jobId,
    epoch: lease.grant.epoch,
    shard: lease.grant.shard,
    issuedAt: lease.issuedAt,
    deadline: lease.grant.deadline,
    stepsDone: lease.stepsDone,
    steps: lease.steps,
  };
}

/** What every heartbeat carries (healthSchema), or null before a backend runs; values clamped. */
export function healthOf(s: TrainerStatus): Health | null {
  if (s.backend === null) return null;
  const metric = (v: number | null, max: number): number =>
    v === null || !Number.isFinite(v) ? 0 : Math.min(max, Math.max(0, v));
  return {
    backend: s.backend.backend,
    samplesPerSec: metric(s.samplesPerSec, 1e9),
    stepTimeMs: metric(s.stepTimeMs, 1e9),
    tensors: Math.round(metric(s.tensors, 1e9)),
    gpuBytes: metric(s.gpuBytes, 1e12),
    lastLoss: s.lastLoss === null || !Number.isFinite(s.lastLoss) ? null : metric(s.lastLoss, 1e9),
    shardsDone: Math.round(metric(s.shardsDone, 1e9)),
    lease:
      s.lease === null
        ? null
        : {
            leaseId: s.lease.leaseId,
            jobId: s.lease.jobId,
            issuedAt: metric(s.lease.issuedAt, 1e15),
            deadline: metric(s.lease.deadline, 1e15),
            stepsDone: Math.round(metric(s.lease.stepsDone, 1e9)),
            steps: Math.round(metric(s.lease.steps, 1e9)),
          },
    dutyCycle: Math.min(1, Math.max(0, s.dutyCycle)),
  };
}
