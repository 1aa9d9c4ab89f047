/**
 * The vector operations gossip needs, with the kernel library's signatures (packages/kernels):
 * the averaging step a committed exchange applies, norms, non-finite counts and distances for the
 * checks on receipt and the consensus metric, and the codecs' encoders and decoders. Injected, so
 * the same averager runs on the WGSL kernels in a trainer (kernel-library.ts), on the TypeScript
 * references in Node, and on `basicKernels` in a page that carries no TensorFlow.js and exchanges
 * fp32 only.
 */
import {
  countNonFiniteReference,
  l2NormReference,
  relativeDistanceReference,
} from '@tabswarm/kernels/reference';
import { averagingStepReference, differenceFrom, type AveragingStep } from './averaging-maths.ts';

export type Awaitable<T> = T | Promise<T>;

export interface Int8Payload {
  readonly packed: Uint32Array;
  readonly scales: Float32Array;
}

export interface SparsePayload {
  /** k slots; slots at and after `count` are unused. */
  readonly indices: Uint32Array;
  readonly values: Float32Array;
  readonly count: number;
}

export interface GossipKernels {
  /**
   * A committed exchange's arithmetic, in place (averaging-maths.ts): the pair step, the outer step,
   * the pending changes. Nothing is written before the whole step is computed, so a caller that
   * awaits it sees the old values or the new ones, never a mixture.
   */
  readonly averagingStep: (step: AveragingStep) => Awaitable<void>;
  /** x − reference (a copy of x without one): what a differential codec compresses. */
  readonly difference: (x: Float32Array, reference: Float32Array | undefined) => Awaitable<Float32Array>;
  /** ‖x‖ (NaN if any element is NaN, +Inf if any is infinite). */
  readonly l2Norm: (x: Float32Array) => Awaitable<number>;
  readonly countNonFinite: (x: Float32Array) => Awaitable<number>;
  /** ‖a − b‖ / ‖a‖. */
  readonly relativeDistance: (a: Float32Array, b: Float32Array) => Awaitable<number>;
  readonly fp16Pack?: (x: Float32Array) => Awaitable<Uint32Array>;
  /** The fp16 words as floats; with `into`, adds them to it in place and returns it (a pair reference's update). */
  readonly fp16Unpack?: (packed: Uint32Array, length: number, into?: Float32Array) => Awaitable<Float32Array>;
  readonly int8Quantize?: (
    x: Float32Array,
    residual: Float32Array | null,
    blockSize: number,
  ) => Awaitable<Int8Payload>;
  /** The int8 blocks as floats; with `into`, adds them to it in place and returns it (as fp16Unpack). */
  readonly int8Dequantize?: (
    packed: Uint32Array,
    scales: Float32Array,
    length: number,
    blockSize: number,
    into?: Float32Array,
  ) => Awaitable<Float32Array>;
  readonly topKSparsify?: (
    x: Float32Array,
    residual: Float32Array | null,
    k: number,
  ) => Awaitable<SparsePayload>;
  /** out[indices[j]] += alpha · values[j]; returns `out`. */
  readonly topKScatterAdd?: (
    out: Float32Array,
    indices: Uint32Array,
    values: Float32Array,
    alpha?: number,
  ) => Awaitable<Float32Array>;
}

/**
 * What an fp32 exchange needs — the averaging step, the difference and three reductions — as
 * TypeScript references (sums in float64, the semantics every GPU kernel is tested against), from
 * the entry point that carries no TensorFlow.js and no GPU code. For pages that do not load the
 * kernel library; compressed codecs need it.
 */
export const basicKernels: GossipKernels = {
  averagingStep: averagingStepReference,
  difference: differenceFrom,
  l2Norm: l2NormReference,
  countNonFinite: countNonFiniteReference,
  relativeDistance: relativeDistanceReference,
};
