/**
 * How a kernel call is shaped on a given device: workgroup sizes checked against its limits, and
 * chunk plans under its binding and grid limits (tightened by the test options).
 */
import { planChunks, type Chunk, type ChunkLimits } from '../any/plan.ts';

/** Options every buffer-level kernel takes; the last three only exist to exercise edge cases in tests. */
export interface KernelOptions {
  /** Invocations per workgroup (the shader's WORKGROUP_SIZE override). */
  readonly workgroupSize?: number;
  /** Caps the bytes bound per buffer below the device limit, to exercise chunking. */
  readonly maxBindingBytes?: number;
  /** Caps workgroups per grid dimension below the device limit, to exercise 2-D grids. */
  readonly maxWorkgroupsPerDimension?: number;
  /**
   * Blocks or tiles per workgroup in the kernels with barriers (int8 quantisation, top-k); by
   * default 1 on GPUs and enough for CPU_BARRIER_WORKGROUPS workgroups on CPU-emulated adapters.
   */
  readonly unitsPerWorkgroup?: number;
}

/** The workgroup size to use: `requested` checked against the device, or `fallback` clamped to it. */
export function resolveWorkgroupSize(
  device: GPUDevice,
  requested: number | undefined,
  fallback = 256,
  powerOfTwo = false,
): number {
  const max = Math.min(
    device.limits.maxComputeInvocationsPerWorkgroup,
    device.limits.maxComputeWorkgroupSizeX,
  );
  if (requested === undefined) {
    let size = Math.min(fallback, max);
    if (powerOfTwo) size = 2 ** Math.floor(Math.log2(size));
    return size;
  }
  const isPowerOfTwo = (requested & (requested - 1)) === 0;
  if (!Number.isInteger(requested) || requested < 1 || requested > max || (powerOfTwo && !isPowerOfTwo)) {
    throw new RangeError(
      `workgroup size must be ${powerOfTwo ? 'a power of two' : 'an integer'} in 1..${max}, got ${requested}`,
    );
  }
  return requested;
}

/** Plans `length` elements on `device` under its limits, tightened by the test options. */
export function planOnDevice(
  device: GPUDevice,
  length: number,
  options: KernelOptions,
  shape: Omit<ChunkLimits, 'maxBindingBytes' | 'offsetAlignmentBytes' | 'maxWorkgroupsPerDimension'>,
): Chunk[] {
  return planChunks(length, {
    ...shape,
    maxBindingBytes: Math.min(
      device.limits.maxStorageBufferBindingSize,
      options.maxBindingBytes ?? Number.POSITIVE_INFINITY,
    ),
    offsetAlignmentBytes: device.limits.minStorageBufferOffsetAlignment,
    maxWorkgroupsPerDimension: Math.min(
      device.limits.maxComputeWorkgroupsPerDimension,
      options.maxWorkgroupsPerDimension ?? Number.POSITIVE_INFINITY,
    ),
  });
}

/** Element alignment of a chunk whose f32 buffers are bound at element offsets (64 for 256 bytes). */
export function f32Alignment(device: GPUDevice): number {
  return Math.ceil(device.limits.minStorageBufferOffsetAlignment / 4);
}
