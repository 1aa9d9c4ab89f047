/**
 * Host machinery shared by the kernels after mix: per-device uniform slots and a pool of
 * temporary buffers, a recorder that batches dispatches and copies into as few submissions as the
 * uniform slots allow, and the helpers that turn device limits and test options into chunk plans.
 */
import { flushTfjsCommands } from './gpu-device.ts';
import { planChunks, type Chunk, type ChunkLimits } from '../any/plan.ts';
import type { KernelPipeline, KernelSpec } from './pipeline-cache.ts';

/** Options every buffer-level kernel takes; the last two only exist to exercise edge cases in tests. */
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

/** Where a reduction writes its one 32-bit result: `offset` bytes into `buffer` (STORAGE). */
export interface ResultTarget {
  readonly buffer: GPUBuffer;
  /** Byte offset, a multiple of minStorageBufferOffsetAlignment (256); default 0. */
  readonly offset?: number;
}

/** Every Params struct fits one slot; slots are bound with a dynamic offset. */
export const UNIFORM_SLOT_BYTES = 256;
const UNIFORM_SLOTS = 128;
const DUMMY_BYTES = 16;
const POOL_MIN_BYTES = 256;

/** How a binding of a kernel is declared; binding 0 is always the Params uniform. */
export type StorageAccess = 'read' | 'read_write';

/** A kernel whose layout is binding 0 = dynamic-offset uniform, then storage buffers in order. */
export interface StorageKernelSpec extends KernelSpec {
  readonly storage: readonly StorageAccess[];
}

export function storageKernelSpec(
  name: string,
  wgsl: string,
  storage: readonly StorageAccess[],
): StorageKernelSpec {
  return {
    name,
    wgsl,
    storage,
    entryPoint: 'main',
    bindGroupLayout: () => ({
      entries: [
        {
          binding: 0,
          visibility: GPUShaderStage.COMPUTE,
          buffer: { type: 'uniform', hasDynamicOffset: true },
        },
        ...storage.map((access, i): GPUBindGroupLayoutEntry => ({
          binding: i + 1,
          visibility: GPUShaderStage.COMPUTE,
          buffer: { type: access === 'read' ? 'read-only-storage' : 'storage' },
        })),
      ],
    }),
  };
}

/** Size and count of the pooled temporaries of one device, for leak tests. */
export interface BufferPoolStats {
  readonly buffers: number;
  readonly bytes: number;
  readonly inUse: number;
}

/**
 * Temporaries (partial sums, histograms, staging, scratch) reused across calls, keyed by usage
 * and power-of-two size, so that a steady stream of calls allocates nothing. A buffer released
 * after its commands were submitted may be handed out again at once: later submissions run after.
 */
class BufferPool {
  private readonly free = new Map<string, GPUBuffer[]>();
  private readonly busy = new Set<GPUBuffer>();
  private count = 0;
  private bytes = 0;

  constructor(private readonly device: GPUDevice) {}

  acquire(bytes: number, usage: GPUBufferUsageFlags, label: string): GPUBuffer {
    let size = POOL_MIN_BYTES;
    while (size < bytes) size *= 2;
    const key = `${size}:${usage}`;
    let buffer = this.free.get(key)?.pop();
    if (buffer === undefined) {
      buffer = this.device.createBuffer({ label: `tabswarm.pool.${label}`, size, usage });
      this.count++;
      this.bytes += size;
    }
    this.busy.add(buffer);
    return buffer;
  }

  release(buffer: GPUBuffer): void {
    if (!this.busy.delete(buffer)) throw new Error('buffer is not an acquired pool buffer');
    const key = `${buffer.size}:${buffer.usage}`;
    const list = this.free.get(key);
    if (list === undefined) this.free.set(key, [buffer]);
    else list.push(buffer);
  }

  stats(): BufferPoolStats {
    return { buffers: this.count, bytes: this.bytes, inUse: this.busy.size };
  }
}

interface RuntimeState {
  readonly uniforms: GPUBuffer;
  readonly staging: ArrayBuffer;
  readonly u32: Uint32Array;
  readonly f32: Float32Array;
  /** Bound where a kernel's optional read-only buffer is absent: every binding needs a buffer. */
  readonly dummy: GPUBuffer;
  /** The same for an unused writable binding (a buffer may not be both in one dispatch). */
  readonly dummyWritable: GPUBuffer;
  readonly pool: BufferPool;
  /** The uniform slots belong to one recorder at a time. */
  recording: boolean;
}

const states = new WeakMap<GPUDevice, RuntimeState>();

function runtimeState(device: GPUDevice): RuntimeState {
  const existing = states.get(device);
  if (existing !== undefined) return existing;
  const staging = new ArrayBuffer(UNIFORM_SLOT_BYTES * UNIFORM_SLOTS);
  const state: RuntimeState = {
    uniforms: device.createBuffer({
      label: 'tabswarm.kernels.params',
      size: staging.byteLength,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    }),
    staging,
    u32: new Uint32Array(staging),
    f32: new Float32Array(staging),
    dummy: device.createBuffer({
      label: 'tabswarm.kernels.unused',
      size: DUMMY_BYTES,
      usage: GPUBufferUsage.STORAGE,
    }),
    dummyWritable: device.createBuffer({
      label: 'tabswarm.kernels.unused-writable',
      size: DUMMY_BYTES,
      usage: GPUBufferUsage.STORAGE,
    }),
    pool: new BufferPool(device),
    recording: false,
  };
  states.set(device, state);
  return state;
}

/** The pooled temporaries of `device` (zero before the first kernel call). */
export function kernelBufferPoolStats(device: GPUDevice): BufferPoolStats {
  return states.get(device)?.pool.stats() ?? { buffers: 0, bytes: 0, inUse: 0 };
}

export function acquireTemp(device: GPUDevice, bytes: number, usage: GPUBufferUsageFlags, label: string) {
  return runtimeState(device).pool.acquire(bytes, usage, label);
}

export function releaseTemp(device: GPUDevice, buffer: GPUBuffer): void {
  runtimeState(device).pool.release(buffer);
}

/** A buffer to bind where a kernel does not use a binding: `writable` for read_write bindings. */
export function dummyBuffer(device: GPUDevice, writable = false): GPUBuffer {
  const state = runtimeState(device);
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

/**
 * Records dispatches, copies and clears in order into command encoders. Each dispatch takes its
 * Params from the next uniform slot: write them at `params()` and then call `dispatch`. When the
 * slots run out the recorder submits what it has and starts over; `submit()` ends the batch.
 * Pending tfjs work is submitted before each of our submissions, so we see its writes.
 */
export class KernelRecorder {
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private slot = 0;
  private paramsSlot = -1;
  private readonly state: RuntimeState;
  private readonly temps: GPUBuffer[] = [];
  readonly u32: Uint32Array;
  readonly f32: Float32Array;

  constructor(
    readonly device: GPUDevice,
    private readonly label: string,
  ) {
    this.state = runtimeState(device);
    if (this.state.recording) throw new Error('a kernel recorder is already open on this device');
    this.state.recording = true;
    this.u32 = this.state.u32;
    this.f32 = this.state.f32;
  }

  /** A bind group for `kernel` with the uniform slot at binding 0 and `buffers` from binding 1. */
  bindGroup(kernel: KernelPipeline, buffers: readonly GPUBufferBinding[]): GPUBindGroup {
    return this.device.createBindGroup({
      label: `tabswarm.${this.label}`,
      layout: kernel.bindGroupLayout,
      entries: [
        { binding: 0, resource: { buffer: this.state.uniforms, offset: 0, size: UNIFORM_SLOT_BYTES } },
        ...buffers.map((resource, i) => ({ binding: i + 1, resource })),
      ],
    });
  }

  /** Index into u32/f32 of the Params for the next dispatch; zeroed, ready to fill. */
  params(): number {
    if (this.slot === UNIFORM_SLOTS) this.flush();
    this.paramsSlot = this.slot;
    const at = (this.slot * UNIFORM_SLOT_BYTES) / 4;
    this.u32.fill(0, at, at + UNIFORM_SLOT_BYTES / 4);
    return at;
  }

  dispatch(kernel: KernelPipeline, bindGroup: GPUBindGroup, x: number, y = 1): void {
    if (this.paramsSlot !== this.slot) throw new Error('call params() before each dispatch');
    const pass = this.computePass();
    pass.setPipeline(kernel.pipeline);
    pass.setBindGroup(0, bindGroup, [this.slot * UNIFORM_SLOT_BYTES]);
    pass.dispatchWorkgroups(x, y);
    this.slot++;
  }

  copy(
    source: GPUBuffer,
    sourceOffset: number,
    target: GPUBuffer,
    targetOffset: number,
    bytes: number,
  ): void {
    if (bytes === 0) return;
    this.endPass();
    this.commandEncoder().copyBufferToBuffer(source, sourceOffset, target, targetOffset, bytes);
  }

  clear(buffer: GPUBuffer, offset = 0, bytes?: number): void {
    this.endPass();
    this.commandEncoder().clearBuffer(buffer, offset, bytes);
  }

  /** A pooled temporary that goes back to the pool when this recorder submits. */
  temp(bytes: number, usage: GPUBufferUsageFlags, label: string): GPUBuffer {
    const buffer = this.state.pool.acquire(bytes, usage, label);
    this.temps.push(buffer);
    return buffer;
  }

  /** Submits everything recorded and releases the uniform slots to the next recorder. */
  submit(): void {
    this.flush();
    this.release();
  }

  /** Gives the slots back without submitting (after an exception while recording). */
  abandon(): void {
    this.pass?.end();
    this.pass = null;
    this.encoder = null;
    this.slot = 0;
    this.release();
  }

  private release(): void {
    for (const buffer of this.temps.splice(0)) this.state.pool.release(buffer);
    this.state.recording = false;
  }

  private flush(): void {
    this.endPass();
    if (this.encoder === null) return;
    // writeBuffer is ordered with submissions on the queue, so overwriting the slots for the next
    // batch cannot change what this batch reads.
    if (this.slot > 0) {
      this.device.queue.writeBuffer(
        this.state.uniforms,
        0,
        this.state.staging,
        0,
        this.slot * UNIFORM_SLOT_BYTES,
      );
    }
    flushTfjsCommands(this.device);
    this.device.queue.submit([this.encoder.finish()]);
    this.encoder = null;
    this.slot = 0;
    this.paramsSlot = -1;
  }

  private commandEncoder(): GPUCommandEncoder {
    this.encoder ??= this.device.createCommandEncoder({ label: `tabswarm.${this.label}` });
    return this.encoder;
  }

  private computePass(): GPUComputePassEncoder {
    this.pass ??= this.commandEncoder().beginComputePass({ label: `tabswarm.${this.label}` });
    return this.pass;
  }

  private endPass(): void {
    this.pass?.end();
    this.pass = null;
  }
}

/** Runs `record` with a fresh recorder and submits; on an exception nothing is submitted. */
export function record(device: GPUDevice, label: string, body: (recorder: KernelRecorder) => void): void {
  const recorder = new KernelRecorder(device, label);
  try {
    body(recorder);
  } catch (error) {
    recorder.abandon();
    throw error;
  }
  recorder.submit();
}

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

/** Workgroups for barrier kernels on a CPU-emulated device: a few per core. */
export const CPU_BARRIER_WORKGROUPS = 16;

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

export function checkLength(length: number, what: string): void {
  if (!Number.isSafeInteger(length) || length < 0 || length >= 2 ** 32) {
    throw new RangeError(`${what} length must be an integer in 0..2^32-1, got ${length}`);
  }
}

/** Throws unless `buffer` has `bytes` bytes and the usage bits in `usage`. */
export function checkBuffer(
  buffer: GPUBuffer,
  bytes: number,
  usage: GPUBufferUsageFlags,
  what: string,
): void {
  if (buffer.size < bytes) throw new RangeError(`${what} has ${buffer.size} bytes, needs ${bytes}`);
  if ((buffer.usage & usage) !== usage) throw new TypeError(`${what} needs usage ${usageName(usage)}`);
}

export function checkDistinct(buffers: Readonly<Record<string, GPUBuffer | null>>): void {
  const seen = new Map<GPUBuffer, string>();
  for (const [name, buffer] of Object.entries(buffers)) {
    if (buffer === null) continue;
    const other = seen.get(buffer);
    if (other !== undefined) throw new RangeError(`${other} and ${name} must be different buffers`);
    seen.set(buffer, name);
  }
}

export function checkResultTarget(device: GPUDevice, target: ResultTarget, what: string): number {
  const offset = target.offset ?? 0;
  const align = device.limits.minStorageBufferOffsetAlignment;
  if (!Number.isSafeInteger(offset) || offset < 0 || offset % align !== 0) {
    throw new RangeError(`${what} offset must be a multiple of ${align}, got ${offset}`);
  }
  checkBuffer(target.buffer, offset + 4, GPUBufferUsage.STORAGE, what);
  return offset;
}

function usageName(usage: GPUBufferUsageFlags): string {
  const names: [number, string][] = [
    [GPUBufferUsage.STORAGE, 'STORAGE'],
    [GPUBufferUsage.COPY_SRC, 'COPY_SRC'],
    [GPUBufferUsage.COPY_DST, 'COPY_DST'],
  ];
  return names
    .filter(([bit]) => (usage & bit) !== 0)
    .map(([, name]) => name)
    .join(' | ');
}
