/**
 * Messages between the page and the trainer's Web Worker: calls with ids and replies, one-way
 * controls, step progress for a running call, and a fatal notice when the worker's compute is gone.
 */
import type { SelfTestReport } from '@tabswarm/protocol';
import type { TrainerErrorCode } from './errors.ts';
import type {
  BackendInfo,
  Calibration,
  ComputeStats,
  FatalCode,
  FaultKind,
  JobLoad,
  JobLoaded,
  ParameterSnapshot,
  ShardOutcome,
  ShardTask,
  StartOptions,
  StepProgress,
} from './types.ts';

/** Each call's argument and result. */
export interface WorkerCalls {
  start: { args: StartOptions; result: BackendInfo };
  selfTest: { args: null; result: SelfTestReport };
  loadJob: { args: JobLoad; result: JobLoaded };
  calibrate: { args: number; result: Calibration };
  train: { args: ShardTask; result: ShardOutcome };
  parameters: { args: null; result: ParameterSnapshot | null };
  setParameters: { args: ParameterSnapshot; result: null };
  stats: { args: null; result: ComputeStats };
  fault: { args: FaultKind; result: boolean };
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
  | { readonly kind: 'step'; readonly id: number; readonly progress: StepProgress }
  | { readonly kind: 'fatal'; readonly code: FatalCode; readonly message: string };

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
