/**
 * What the kernels keep per GPUDevice: the uniform slots that one recorder at a time fills, the
 * dummy buffers bound where a kernel leaves a binding unused, and the pool of temporaries.
 */
import { UNIFORM_SLOT_BYTES } from '../any/uniforms.ts';
import { BufferPool, type BufferPoolStats } from './buffer-pool.ts';

/** Uniform slots per device; a recorder that needs more submits and starts over. */
export const UNIFORM_SLOTS = 128;
const DUMMY_BYTES = 16;

export interface DeviceResources {
  readonly uniforms: GPUBuffer;
  /** CPU copy of the uniform slots, written by the recorder and uploaded before each submit. */
  readonly staging: ArrayBuffer;
  readonly stagingView: DataView;
  /** Bound where a kernel's optional read-only buffer is absent: every binding needs a buffer. */
  readonly dummy: GPUBuffer;
  /** The same for an unused writable binding (a buffer may not be both in one dispatch). */
  readonly dummyWritable: GPUBuffer;
  readonly pool: BufferPool;
  /** The uniform slots belong to one recorder at a time. */
  recording: boolean;
  /** Dispatches recorded per kernel (shader name), for callers that must show which kernels ran. */
  readonly dispatches: Map<string, number>;
}

const resources = new WeakMap<GPUDevice, DeviceResources>();

export function deviceResources(device: GPUDevice): DeviceResources {
  const existing = resources.get(device);
  if (existing !== undefined) return existing;
  const staging = new ArrayBuffer(UNIFORM_SLOT_BYTES * UNIFORM_SLOTS);
  const storage = (label: string) =>
    device.createBuffer({ label, size: DUMMY_BYTES, usage: GPUBufferUsage.STORAGE });
  const created: DeviceResources = {
    uniforms: device.createBuffer({
      label: 'tabswarm.kernels.params',
      size: staging.byteLength,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    }),
    staging,
    stagingView: new DataView(staging),
    dummy: storage('tabswarm.kernels.unused'),
    dummyWritable: storage('tabswarm.kernels.unused-writable'),
    pool: new BufferPool(device),
    recording: false,
    dispatches: new Map(),
  };
  resources.set(device, created);
  return created;
}

/** The pooled temporaries of `device` (zero before the first kernel call). */
export function kernelBufferPoolStats(device: GPUDevice): BufferPoolStats {
  return resources.get(device)?.pool.stats() ?? { buffers: 0, bytes: 0, inUse: 0 };
}

/** Dispatches of each of our kernels recorded on `device` so far, by shader name. */
export function kernelDispatchCounts(device: GPUDevice): Record<string, number> {
  return Object.fromEntries(resources.get(device)?.dispatches ?? []);
}

export function acquireTemp(device: GPUDevice, bytes: number, usage: GPUBufferUsageFlags, label: string) {
  return deviceResources(device).pool.acquire(bytes, usage, label);
}

export function releaseTemp(device: GPUDevice, buffer: GPUBuffer): void {
  deviceResources(device).pool.release(buffer);
}

/** A buffer to bind where a kernel does not use a binding: `writable` for read_write bindings. */
export function dummyBuffer(device: GPUDevice, writable = false): GPUBuffer {
  const state = deviceResources(device);
  return writable ? state.dummyWritable : state.dummy;
}

/** Reads `count` 32-bit words at `offset` of `buffer` (COPY_SRC) through a pooled staging buffer. */
export async function readWords(device: GPUDevice, buffer: GPUBuffer, offset: number, count: number) {
  const bytes = count * 4;
  const staging = acquireTemp(device, bytes, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, 'read');
  try {
    const encoder = device.createCommandEncoder({ label: 'tabswarm.read' });
    encoder.copyBufferToBuffer(buffer, offset, staging, 0, bytes);
    device.queue.submit([encoder.finish()]);
    await staging.mapAsync(GPUMapMode.READ, 0, bytes);
    const words = new Uint32Array(staging.getMappedRange(0, bytes).slice(0));
    staging.unmap();
    return words;
  } finally {
    releaseTemp(device, staging);
  }
}
