/**
 * Records dispatches, copies and clears in order into command encoders, batching them into as
 * few submissions as the per-device uniform slots allow.
 */
import { UNIFORM_SLOT_BYTES, type UniformDeclaration, type UniformValues } from '../any/uniforms.ts';
import { deviceResources, UNIFORM_SLOTS, type DeviceResources } from './device-resources.ts';
import { flushTfjsCommands } from './gpu-device.ts';
import type { KernelPipeline } from './pipeline-cache.ts';

/**
 * Each dispatch writes its kernel's Params into the next uniform slot. When the slots run out the
 * recorder submits what it has and starts over; `submit()` ends the batch. Pending tfjs work is
 * submitted before each of our submissions, so we see its writes.
 */
export class KernelRecorder {
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private slot = 0;
  private readonly state: DeviceResources;
  private readonly temps: GPUBuffer[] = [];

  constructor(
    readonly device: GPUDevice,
    private readonly label: string,
  ) {
    this.state = deviceResources(device);
    if (this.state.recording) throw new Error('a kernel recorder is already open on this device');
    this.state.recording = true;
  }

  /** A bind group for `kernel` with the uniform slot at binding 0 and `buffers` from binding 1. */
  bindGroup<D extends UniformDeclaration>(
    kernel: KernelPipeline<D>,
    buffers: readonly GPUBufferBinding[],
  ): GPUBindGroup {
    return this.device.createBindGroup({
      label: `tabswarm.${this.label}`,
      layout: kernel.bindGroupLayout,
      entries: [
        { binding: 0, resource: { buffer: this.state.uniforms, offset: 0, size: UNIFORM_SLOT_BYTES } },
        ...buffers.map((resource, i) => ({ binding: i + 1, resource })),
      ],
    });
  }

  /** dispatchWorkgroups(x, y) of `kernel` with `params` as its uniforms. */
  dispatch<D extends UniformDeclaration>(
    kernel: KernelPipeline<D>,
    bindGroup: GPUBindGroup,
    params: UniformValues<D>,
    x: number,
    y = 1,
  ): void {
    if (this.slot === UNIFORM_SLOTS) this.flush();
    const offset = this.slot * UNIFORM_SLOT_BYTES;
    kernel.shader.uniforms.write(this.state.stagingView, offset, params);
    const pass = this.computePass();
    pass.setPipeline(kernel.pipeline);
    pass.setBindGroup(0, bindGroup, [offset]);
    pass.dispatchWorkgroups(x, y);
    this.slot++;
    const name = kernel.shader.name;
    this.state.dispatches.set(name, (this.state.dispatches.get(name) ?? 0) + 1);
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

/** Runs `body` with a fresh recorder and submits; on an exception nothing is submitted. */
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
