/**
 * How one mix of `length` elements is cut into buffer-binding chunks and dispatches. Pure
 * arithmetic on device limits, so it is unit-tested without a GPU.
 */

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

const BYTES_PER_ELEMENT = 4;

export function planMix(length: number, limits: MixLimits): MixChunk[] {
  if (!Number.isSafeInteger(length) || length < 0) {
    throw new RangeError(`mix length must be a non-negative integer, got ${length}`);
  }
  const {
    maxBindingBytes,
    offsetAlignmentBytes,
    maxWorkgroupsPerDimension: maxGroups,
    workgroupSize,
  } = limits;
  if (!(maxGroups >= 1 && workgroupSize >= 1 && offsetAlignmentBytes >= BYTES_PER_ELEMENT)) {
    throw new RangeError(`invalid mix limits ${JSON.stringify(limits)}`);
  }
  const chunkElements = chunkSize(length, maxBindingBytes, offsetAlignmentBytes);
  // y ≤ maxGroups too, and keeping the grid ≤ 2^30 elements keeps the shader's u32 index far from
  // overflow (bindings are < 4 GiB, i.e. < 2^30 elements, so this only bites with tiny limits).
  const dispatchElements = Math.min(maxGroups * maxGroups * workgroupSize, 2 ** 30);
  const chunks: MixChunk[] = [];
  for (let start = 0; start < length; start += chunkElements) {
    const chunkLength = Math.min(chunkElements, length - start);
    const dispatches: MixDispatch[] = [];
    for (let base = 0; base < chunkLength; base += dispatchElements) {
      const count = Math.min(dispatchElements, chunkLength - base);
      dispatches.push({ base, count, ...grid(Math.ceil(count / workgroupSize), maxGroups) });
    }
    chunks.push({ start, length: chunkLength, dispatches });
  }
  return chunks;
}

function chunkSize(length: number, maxBindingBytes: number, alignmentBytes: number): number {
  if (length * BYTES_PER_ELEMENT <= maxBindingBytes) return Math.max(length, 1);
  // Chunks after the first are bound at byte offset start·4, which must be aligned.
  const alignElements = Math.ceil(alignmentBytes / BYTES_PER_ELEMENT);
  const chunk = Math.floor(maxBindingBytes / BYTES_PER_ELEMENT / alignElements) * alignElements;
  if (chunk < 1) {
    throw new RangeError(
      `max binding of ${maxBindingBytes} bytes is below the ${alignmentBytes}-byte offset alignment`,
    );
  }
  return chunk;
}

/** Fewest rows y, then x·y ≥ groups with x, y ≤ maxGroups (callers keep groups ≤ maxGroups²). */
function grid(groups: number, maxGroups: number): { x: number; y: number } {
  if (groups <= maxGroups) return { x: groups, y: 1 };
  const y = Math.ceil(groups / maxGroups);
  return { x: Math.ceil(groups / y), y };
}
