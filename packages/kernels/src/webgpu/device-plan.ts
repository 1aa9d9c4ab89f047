/**
 * How a kernel call is shaped on a given device: workgroup sizes checked against its limits,
 * chunk plans under its binding and grid limits (tightened by test options), and the heuristics
 * for GPUs emulated on the CPU.
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

/** Workgroups for barrier kernels on a CPU-emulated device: a few per core. */
export const CPU_BARRIER_WORKGROUPS = 16;

/**
 * Whether `device` emulates a GPU on the CPU (SwiftShader: a "fallback adapter"). There, a
 * workgroup whose shader has barriers costs about a millisecond to start (its invocations run as
 * coroutines), so kernels with barriers use a few long-running workgroups instead of thousands.
 */
export function isCpuEmulated(device: GPUDevice): boolean {
  const info = (device as Partial<Pick<GPUDevice, 'adapterInfo'>>).adapterInfo;
  return info !== undefined && (info.isFallbackAdapter || info.architecture === 'swiftshader');
}

/** How many of `units` (blocks, tiles) each workgroup of a barrier kernel takes on `device`. */
export function unitsPerWorkgroup(device: GPUDevice, units: number, options: KernelOptions = {}): number {
  const requested = options.unitsPerWorkgroup;
  if (requested !== undefined) {
    if (!Number.isSafeInteger(requested) || requested < 1) {
      throw new RangeError(`unitsPerWorkgroup must be a positive integer, got ${requested}`);
    }
    return requested;
  }
  return isCpuEmulated(device) ? Math.max(1, Math.ceil(units / CPU_BARRIER_WORKGROUPS)) : 1;
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
