/**
 * How one mix of `length` elements is cut into buffer-binding chunks and dispatches. Pure
 * arithmetic on device limits, so it is unit-tested without a GPU. The other kernels use the
 * general form in plan.ts.
 */
import { planChunks } from './plan.ts';

export interface MixLimits {
  /** Largest storage binding, bytes (device limit, or smaller to force chunking in tests). */
  readonly maxBindingBytes: number;
  /** minStorageBufferOffsetAlignment, bytes: every chunk starts at a multiple of it. */
  readonly offsetAlignmentBytes: number;
  /** Workgroups per grid dimension (device limit, or smaller to force a 2-D grid in tests). */
  readonly maxWorkgroupsPerDimension: number;
  readonly workgroupSize: number;
}

/** One dispatchWorkgroups(x, y) covering elements [base, base + count) of its chunk. */
export interface MixDispatch {
  readonly base: number;
  readonly count: number;
  readonly x: number;
  readonly y: number;
}

/** Elements [start, start + length) bound as one range of every buffer. */
export interface MixChunk {
  readonly start: number;
  readonly length: number;
  readonly dispatches: readonly MixDispatch[];
}

export function planMix(length: number, limits: MixLimits): MixChunk[] {
  if (!Number.isSafeInteger(length) || length < 0) {
    throw new RangeError(`mix length must be a non-negative integer, got ${length}`);
  }
  if (!(
    limits.maxWorkgroupsPerDimension >= 1 &&
    limits.workgroupSize >= 1 &&
    limits.offsetAlignmentBytes >= 4
  )) {
    throw new RangeError(`invalid mix limits ${JSON.stringify(limits)}`);
  }
  // One f32 per element in every buffer, one element per invocation: the general planner's defaults.
  return planChunks(length, limits);
}
