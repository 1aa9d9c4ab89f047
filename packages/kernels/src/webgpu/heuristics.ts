/**
 * Heuristics for GPUs emulated on the CPU (SwiftShader), where barriers are expensive: how many
 * blocks or tiles each workgroup of a kernel with barriers takes.
 */
import type { KernelOptions } from './device-plan.ts';

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
