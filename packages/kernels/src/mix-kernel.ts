/**
 * Host side of shaders/mix.wgsl on GPUBuffers: validates, plans chunks and dispatches, keeps the
 * per-device resources (uniform slots, dummy and temporary buffers) and records the passes.
 */
import mixWgsl from '../../../shaders/mix.wgsl?raw';
import { flushTfjsCommands } from './gpu-device.ts';
import { planMix, type MixChunk } from './mix-plan.ts';
import { checkMixArguments, MIX_MAX_INPUTS } from './mix-reference.ts';
import { getKernelPipeline, type KernelPipeline, type KernelSpec } from './pipeline-cache.ts';

export interface MixBufferOptions {
  /** Invocations per workgroup (the shader's WORKGROUP_SIZE override); default 256. */
  readonly workgroupSize?: number;
  /** Caps the bytes bound per buffer below the device limit, to exercise chunking in tests. */
  readonly maxBindingBytes?: number;
  /** Caps workgroups per grid dimension below the device limit, to exercise 2-D grids. */
  readonly maxWorkgroupsPerDimension?: number;
}

const DEFAULT_WORKGROUP_SIZE = 256;
const PARAMS_BYTES = 48;
/** Dispatches per submission: the uniform slots are rewritten between submissions. */
const UNIFORM_SLOTS = 64;
/** When the output aliases a later input we mix through a temporary; chunks cap its size. */
const TEMP_MAX_BYTES = 16 * 1024 * 1024;
const DUMMY_BYTES = 16;

const MIX_SPEC: KernelSpec = {
  name: 'mix',
  wgsl: mixWgsl,
  entryPoint: 'main',
  bindGroupLayout: () => {
    const compute = GPUShaderStage.COMPUTE;
    const entries: GPUBindGroupLayoutEntry[] = [
      {
        binding: 0,
        visibility: compute,
        buffer: { type: 'uniform', hasDynamicOffset: true, minBindingSize: PARAMS_BYTES },
      },
      { binding: 1, visibility: compute, buffer: { type: 'storage' } },
    ];
    for (let k = 1; k < MIX_MAX_INPUTS; k++) {
      entries.push({ binding: k + 1, visibility: compute, buffer: { type: 'read-only-storage' } });
    }
    return { entries };
  },
};

interface MixDeviceState {
  readonly uniforms: GPUBuffer;
  readonly slotStride: number;
  /** CPU image of all uniform slots, written with one writeBuffer per submission. */
  readonly staging: ArrayBuffer;
  readonly stagingU32: Uint32Array;
  readonly stagingF32: Float32Array;
  /** Bound to the input slots beyond K: every binding needs some buffer. */
  readonly dummy: GPUBuffer;
  temp: GPUBuffer | null;
}

const states = new WeakMap<GPUDevice, MixDeviceState>();

/**
 * out[i] = Σₖ weights[k]·inputs[k][i] for i < length, on `device` (tfjs's or any other).
 * `out` may be inputs[0] (in place, no copy) or any other input (mixed through a pooled
 * temporary). Buffers need STORAGE; inputs[0] also COPY_SRC and `out` also COPY_DST unless
 * out === inputs[0]. Work is submitted to device.queue before this returns; GPU-side errors
 * surface through the device's error scopes as usual.
 */
export function mixBuffers(
  device: GPUDevice,
  inputs: readonly GPUBuffer[],
  weights: readonly number[],
  out: GPUBuffer,
  length: number,
  options: MixBufferOptions = {},
): void {
  checkMixArguments(inputs.length, weights);
  const x0 = inputs[0] as GPUBuffer;
  const mode =
    out === x0 && !inputs.slice(1).includes(out) ? 'in-place' : inputs.includes(out) ? 'temp' : 'copy';
  checkBuffers(inputs, out, length, mode);
  const workgroupSize = resolveWorkgroupSize(device, options.workgroupSize);
  const chunks = planMix(length, {
    maxBindingBytes: Math.min(
      device.limits.maxStorageBufferBindingSize,
      options.maxBindingBytes ?? Number.POSITIVE_INFINITY,
      mode === 'temp' ? TEMP_MAX_BYTES : Number.POSITIVE_INFINITY,
    ),
    offsetAlignmentBytes: device.limits.minStorageBufferOffsetAlignment,
    maxWorkgroupsPerDimension: Math.min(
      device.limits.maxComputeWorkgroupsPerDimension,
      options.maxWorkgroupsPerDimension ?? Number.POSITIVE_INFINITY,
    ),
    workgroupSize,
  });
  if (chunks.length === 0) return;

  const state = deviceState(device);
  const kernel = getKernelPipeline(device, MIX_SPEC, { WORKGROUP_SIZE: workgroupSize });
  const temp = mode === 'temp' ? tempBuffer(device, state, (chunks[0] as MixChunk).length * 4) : null;
  flushTfjsCommands(device);
  new MixRecorder(device, state, kernel, weights).record(chunks, inputs, out, temp, mode === 'copy');
}

/** Records chunks into command encoders, submitting whenever the uniform slots run out. */
class MixRecorder {
  private encoder: GPUCommandEncoder | null = null;
  private slot = 0;

  constructor(
    private readonly device: GPUDevice,
    private readonly state: MixDeviceState,
    private readonly kernel: KernelPipeline,
    private readonly weights: readonly number[],
  ) {}

  record(
    chunks: readonly MixChunk[],
    inputs: readonly GPUBuffer[],
    out: GPUBuffer,
    temp: GPUBuffer | null,
    copyX0: boolean,
  ): void {
    const x0 = inputs[0] as GPUBuffer;
    for (const chunk of chunks) {
      const offset = chunk.start * 4;
      const bytes = chunk.length * 4;
      let encoder = this.currentEncoder();
      if (temp !== null) encoder.copyBufferToBuffer(x0, offset, temp, 0, bytes);
      else if (copyX0) encoder.copyBufferToBuffer(x0, offset, out, offset, bytes);
      const bindGroup = this.bindGroup(inputs, temp ?? out, temp === null ? offset : 0, offset, bytes);
      let pass = this.beginPass(encoder);
      for (const d of chunk.dispatches) {
        if (this.slot === UNIFORM_SLOTS) {
          pass.end();
          this.submit();
          encoder = this.currentEncoder();
          pass = this.beginPass(encoder);
        }
        this.writeParams(d.base, d.count, inputs.length);
        pass.setBindGroup(0, bindGroup, [this.slot * this.state.slotStride]);
        pass.dispatchWorkgroups(d.x, d.y);
        this.slot++;
      }
      pass.end();
      if (temp !== null) encoder.copyBufferToBuffer(temp, 0, out, offset, bytes);
    }
    this.submit();
  }

  private currentEncoder(): GPUCommandEncoder {
    this.encoder ??= this.device.createCommandEncoder({ label: 'tabswarm.mix' });
    return this.encoder;
  }

  private beginPass(encoder: GPUCommandEncoder): GPUComputePassEncoder {
    const pass = encoder.beginComputePass({ label: 'tabswarm.mix' });
    pass.setPipeline(this.kernel.pipeline);
    return pass;
  }

  private bindGroup(
    inputs: readonly GPUBuffer[],
    acc: GPUBuffer,
    accOffset: number,
    offset: number,
    bytes: number,
  ): GPUBindGroup {
    const entries: GPUBindGroupEntry[] = [
      { binding: 0, resource: { buffer: this.state.uniforms, offset: 0, size: PARAMS_BYTES } },
      { binding: 1, resource: { buffer: acc, offset: accOffset, size: bytes } },
    ];
    for (let k = 1; k < MIX_MAX_INPUTS; k++) {
      const x = inputs[k];
      entries.push({
        binding: k + 1,
        resource: x === undefined ? { buffer: this.state.dummy } : { buffer: x, offset, size: bytes },
      });
    }
    return this.device.createBindGroup({
      label: 'tabswarm.mix',
      layout: this.kernel.bindGroupLayout,
      entries,
    });
  }

  /** Fills slot `this.slot` with the shader's Params struct. */
  private writeParams(base: number, count: number, k: number): void {
    const at = (this.slot * this.state.slotStride) / 4;
    const { stagingU32: u32, stagingF32: f32 } = this.state;
    u32[at] = base;
    u32[at + 1] = count;
    u32[at + 2] = k;
    u32[at + 3] = 0;
    for (let j = 0; j < MIX_MAX_INPUTS; j++) f32[at + 4 + j] = this.weights[j] ?? 0;
  }

  private submit(): void {
    if (this.encoder === null) return;
    // writeBuffer is ordered with submissions on the queue, so reusing the slots for the next
    // batch cannot change what this batch reads.
    if (this.slot > 0) {
      this.device.queue.writeBuffer(
        this.state.uniforms,
        0,
        this.state.staging,
        0,
        this.slot * this.state.slotStride,
      );
    }
    this.device.queue.submit([this.encoder.finish()]);
    this.encoder = null;
    this.slot = 0;
  }
}

function checkBuffers(
  inputs: readonly GPUBuffer[],
  out: GPUBuffer,
  length: number,
  mode: 'in-place' | 'temp' | 'copy',
): void {
  if (!Number.isSafeInteger(length) || length < 0) {
    throw new RangeError(`mix length must be a non-negative integer, got ${length}`);
  }
  const bytes = length * 4;
  const need = (buffer: GPUBuffer, what: string, usage: number, usageName: string) => {
    if (buffer.size < bytes)
      throw new RangeError(`${what} has ${buffer.size} bytes, mixing ${length} floats needs ${bytes}`);
    if ((buffer.usage & usage) !== usage) throw new TypeError(`${what} needs usage ${usageName}`);
  };
  const { STORAGE, COPY_SRC, COPY_DST } = GPUBufferUsage;
  for (const [k, x] of inputs.entries()) {
    need(
      x,
      `mix input ${k}`,
      k === 0 && mode !== 'in-place' ? STORAGE | COPY_SRC : STORAGE,
      k === 0 && mode !== 'in-place' ? 'STORAGE | COPY_SRC' : 'STORAGE',
    );
  }
  if (mode === 'in-place') need(out, 'mix output', STORAGE, 'STORAGE');
  else if (mode === 'copy') need(out, 'mix output', STORAGE | COPY_DST, 'STORAGE | COPY_DST');
  else need(out, 'mix output', COPY_DST, 'COPY_DST');
}

function resolveWorkgroupSize(device: GPUDevice, requested: number | undefined): number {
  const max = Math.min(
    device.limits.maxComputeInvocationsPerWorkgroup,
    device.limits.maxComputeWorkgroupSizeX,
  );
  if (requested === undefined) return Math.min(DEFAULT_WORKGROUP_SIZE, max);
  if (!Number.isInteger(requested) || requested < 1 || requested > max) {
    throw new RangeError(`workgroup size must be an integer in 1..${max}, got ${requested}`);
  }
  return requested;
}

function deviceState(device: GPUDevice): MixDeviceState {
  const existing = states.get(device);
  if (existing !== undefined) return existing;
  const align = device.limits.minUniformBufferOffsetAlignment;
  const slotStride = Math.ceil(PARAMS_BYTES / align) * align;
  const staging = new ArrayBuffer(slotStride * UNIFORM_SLOTS);
  const state: MixDeviceState = {
    uniforms: device.createBuffer({
      label: 'tabswarm.mix.params',
      size: staging.byteLength,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    }),
    slotStride,
    staging,
    stagingU32: new Uint32Array(staging),
    stagingF32: new Float32Array(staging),
    dummy: device.createBuffer({
      label: 'tabswarm.mix.unused',
      size: DUMMY_BYTES,
      usage: GPUBufferUsage.STORAGE,
    }),
    temp: null,
  };
  states.set(device, state);
  return state;
}

/** A temporary of at least `bytes`, kept for the next call; grown (never shrunk) on demand. */
function tempBuffer(device: GPUDevice, state: MixDeviceState, bytes: number): GPUBuffer {
  if (state.temp !== null && state.temp.size >= bytes) return state.temp;
  // destroy() waits for submitted work that still uses the buffer, so this is safe mid-stream.
  state.temp?.destroy();
  state.temp = device.createBuffer({
    label: 'tabswarm.mix.temp',
    size: bytes,
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
  });
  return state.temp;
}
