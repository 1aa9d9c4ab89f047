/**
 * Messages between the page and the trainer's Web Worker: calls with ids and replies, one-way
 * controls, step progress for a running call, and a fatal notice when the worker's compute is gone.
 */
import type { CheckpointRequest, SelfTestReport } from '@tabswarm/protocol';
import type { DownloadProgress } from '../download.ts';
import type { TrainerErrorCode } from './errors.ts';
import type * as T from './types.ts';

/** Each call's argument and result. */
export interface WorkerCalls {
  start: { args: T.StartOptions; result: T.BackendInfo };
  selfTest: { args: null; result: SelfTestReport };
  loadJob: { args: T.JobLoad; result: T.JobLoaded };
  loadJobFromCoordinator: { args: T.JobDownload; result: T.JobLoaded };
  calibrate: { args: number; result: T.Calibration };
  train: { args: T.ShardTask; result: T.ShardOutcome };
  parameters: { args: null; result: T.ParameterSnapshot | null };
  setParameters: { args: T.ParameterSnapshot; result: null };
  saveSnapshot: { args: null; result: T.SnapshotKept | null };
  loadJobFromSnapshot: { args: T.JobFromSnapshot; result: T.JobLoaded | null };
  uploadCheckpoint: { args: { request: CheckpointRequest; senderId: string }; result: boolean };
  stats: { args: null; result: T.ComputeStats };
  fault: { args: T.FaultKind; result: boolean };
}
export type WorkerCallName = keyof WorkerCalls;

export type PageToWorker =
  | { readonly kind: 'call'; readonly id: number; readonly name: WorkerCallName; readonly args: unknown }
  | { readonly kind: 'cancel'; readonly leaseId: string }
  | { readonly kind: 'paused'; readonly paused: boolean }
  | { readonly kind: 'dutyCycle'; readonly dutyCycle: number };

export type WorkerToPage =
  | { readonly kind: 'result'; readonly id: number; readonly ok: true; readonly value: unknown }
  | {
      readonly kind: 'result';
      readonly id: number;
      readonly ok: false;
      readonly code: TrainerErrorCode;
      readonly message: string;
    }
  | { readonly kind: 'step'; readonly id: number; readonly progress: T.StepProgress }
  | { readonly kind: 'download'; readonly id: number; readonly progress: DownloadProgress }
  | { readonly kind: 'fatal'; readonly code: T.FatalCode; readonly message: string };

/** The parts of a worker scope (or a MessagePort) the host needs. */
export interface MessageEndpoint {
  postMessage(message: unknown, transfer?: Transferable[]): void;
  addEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
}

/** The buffers worth transferring instead of copying: parameter vectors. */
export function transferablesOf(value: unknown): Transferable[] {
  if (typeof value !== 'object' || value === null) return [];
  const values = (value as { values?: unknown }).values;
  return values instanceof Float32Array &&
    values.byteOffset === 0 &&
    values.byteLength === values.buffer.byteLength
    ? [values.buffer as ArrayBuffer]
    : [];
}
