/** Typed failures of the trainer: a string code a caller can act on, and a message for people. */
import { CodedError } from '@tabswarm/protocol';

export const TRAINER_ERROR_CODES = [
  /** The shard could not be downloaded, even after retries. */
  'SHARD_UNAVAILABLE',
  /** The shard's bytes do not decode, or do not fit the job's model. */
  'SHARD_INVALID',
  /** The job's model cannot be built, or does not fit its dataset. */
  'MODEL_INVALID',
  /**
   * The job's model needs an operation this backend lacks (TensorFlow.js: "Kernel 'X' not
   * registered for backend 'Y'", e.g. Conv2DBackpropFilter on WebAssembly): every lease of the
   * job fails the same way on this volunteer.
   */
  'UNSUPPORTED_BY_BACKEND',
  /** The parameters from the coordinator do not fit the job's model. */
  'PARAMETERS_INVALID',
  /** A coordinator HTTP request failed. */
  'HTTP_FAILED',
  /** The coordinator could not be reached over the control plane (not connected, timed out). */
  'COORDINATOR_UNAVAILABLE',
  /** The coordinator answered a control-plane request with an error. */
  'COORDINATOR_REFUSED',
  /** Work on a lease was stopped: the coordinator cancelled it, or the volunteer stopped. */
  'CANCELLED',
  /** The GPU device was lost (driver reset, destroy(), or the browser reclaimed it). */
  'DEVICE_LOST',
  /** The trainer's worker died or stopped answering. */
  'WORKER_CRASHED',
  /** No TensorFlow.js backend could start. */
  'BACKEND_UNAVAILABLE',
  /** The training loss stopped being finite: the local model is unusable. */
  'DIVERGED',
  /** A call needs a loaded job and there is none. */
  'NO_JOB',
  /** Anything else: a bug. */
  'INTERNAL',
] as const;
export type TrainerErrorCode = (typeof TRAINER_ERROR_CODES)[number];

export class TrainerError extends CodedError<TrainerErrorCode> {
  constructor(code: TrainerErrorCode, message: string) {
    super(code, message, 'TrainerError');
  }
}

export const errorText = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** Any thrown value as a TrainerError (unknown ones become INTERNAL). */
const MISSING_KERNEL = /Kernel '[^']+' not registered for backend/;

export function asTrainerError(error: unknown, fallback: TrainerErrorCode = 'INTERNAL'): TrainerError {
  if (error instanceof TrainerError) return error;
  const text = errorText(error);
  return new TrainerError(MISSING_KERNEL.test(text) ? 'UNSUPPORTED_BY_BACKEND' : fallback, text);
}

export function isTrainerErrorCode(value: unknown): value is TrainerErrorCode {
  return typeof value === 'string' && (TRAINER_ERROR_CODES as readonly string[]).includes(value);
}
