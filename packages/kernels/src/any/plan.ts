/**
 * How a kernel over `length` elements is cut into buffer-binding chunks and dispatches: the
 * general form of the mix planner, for kernels whose buffers hold other than one f32 per element
 * (fp16 and int8 packing, per-block scales) or whose workgroups cover more than one element each
 * (blocks, tiles). Pure arithmetic on device limits, unit-tested without a GPU.
 */
import type { MixChunk, MixDispatch, MixLimits } from './mix-plan.ts';

export type Chunk = MixChunk;
export type Dispatch = MixDispatch;

export interface ChunkLimits extends MixLimits {
  /** Elements one workgroup covers; grids are counted in these. Default: workgroupSize. */
  readonly elementsPerWorkgroup?: number;
  /**
   * Chunks start at multiples of this many elements, so that every buffer's binding offset is
   * aligned (an int8 buffer needs 256 elements, a per-block scale buffer 64 blocks) and no block or
   * tile straddles two chunks. Default: offsetAlignmentBytes / 4.
   */
  readonly alignElements?: number;
  /** Bytes per element in the widest buffer bound per chunk; the binding cap counts these. Default 4. */
  readonly bytesPerElement?: number;
}

/** Greatest common divisor and least common multiple of positive integers. */
export function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

export function lcm(...values: readonly number[]): number {
  return values.reduce((acc, v) => (acc / gcd(acc, v)) * v, 1);
}

/**
 * Chunks cover [0, length) in order, each at most maxBindingBytes / bytesPerElement elements and
 * starting at a multiple of alignElements; within a chunk, dispatches cover consecutive ranges
 * whose bases are multiples of elementsPerWorkgroup, on grids of at most maxWorkgroupsPerDimension
 * per dimension.
 */
export function planChunks(length: number, limits: ChunkLimits): Chunk[] {
  if (!Number.isSafeInteger(length) || length < 0) {
    throw new RangeError(`length must be a non-negative integer, got ${length}`);
  }
  const {
    maxBindingBytes,
    offsetAlignmentBytes,
    maxWorkgroupsPerDimension: maxGroups,
    workgroupSize,
  } = limits;
  const perGroup = limits.elementsPerWorkgroup ?? workgroupSize;
  const bytesPerElement = limits.bytesPerElement ?? 4;
  const align = limits.alignElements ?? Math.ceil(offsetAlignmentBytes / 4);
  const valid =
    maxGroups >= 1 &&
    workgroupSize >= 1 &&
    offsetAlignmentBytes >= 4 &&
    Number.isInteger(perGroup) &&
    perGroup >= 1 &&
    Number.isInteger(align) &&
    align >= 1 &&
    bytesPerElement > 0;
  if (!valid) throw new RangeError(`invalid kernel limits ${JSON.stringify(limits)}`);

  const chunkElements = chunkSize(length, maxBindingBytes, bytesPerElement, align, offsetAlignmentBytes);
  // Keeping a grid ≤ 2^30 elements keeps every u32 index in the shaders far from overflow; it is
  // rounded down to whole workgroups so that dispatch bases stay block- and tile-aligned.
  const cap = Math.min(maxGroups * maxGroups * perGroup, 2 ** 30);
  const dispatchElements = Math.max(perGroup, Math.floor(cap / perGroup) * perGroup);
  const chunks: Chunk[] = [];
  for (let start = 0; start < length; start += chunkElements) {
    const chunkLength = Math.min(chunkElements, length - start);
    const dispatches: Dispatch[] = [];
    for (let base = 0; base < chunkLength; base += dispatchElements) {
      const count = Math.min(dispatchElements, chunkLength - base);
      dispatches.push({ base, count, ...grid(Math.ceil(count / perGroup), maxGroups) });
    }
    chunks.push({ start, length: chunkLength, dispatches });
  }
  return chunks;
}

function chunkSize(
  length: number,
  maxBindingBytes: number,
  bytesPerElement: number,
  align: number,
  alignmentBytes: number,
): number {
  if (length * bytesPerElement <= maxBindingBytes) return Math.max(length, 1);
  const chunk = Math.floor(maxBindingBytes / bytesPerElement / align) * align;
  if (chunk < 1) {
    throw new RangeError(
      `max binding of ${maxBindingBytes} bytes is below the ${alignmentBytes}-byte offset alignment ` +
        `(${align} elements of ${bytesPerElement} bytes)`,
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
