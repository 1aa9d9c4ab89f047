/**
 * Host side of shaders/fp16-pack.wgsl and shaders/fp16-unpack.wgsl on GPUBuffers: f32 vectors to
 * IEEE binary16 pairs (u32 words) and back, chunked like every other kernel.
 */
import { fp16Words } from '../any/fp16-reference.ts';
import { KERNEL_SHADERS } from '../any/kernel-shaders.ts';
import { lcm } from '../any/plan.ts';
import { checkBuffer, checkLength } from './argument-checks.ts';
import { f32Alignment, planOnDevice, resolveWorkgroupSize, type KernelOptions } from './device-plan.ts';
import { getKernelPipeline } from './pipeline-cache.ts';
import { record } from './recorder.ts';

type Fp16Shader = typeof KERNEL_SHADERS.fp16Pack;

/** packed[w] = f16(x[2w]) | f16(x[2w + 1]) << 16 for the first `length` floats of x. */
export function fp16PackBuffers(
  device: GPUDevice,
  x: GPUBuffer,
  packed: GPUBuffer,
  length: number,
  options: KernelOptions = {},
): void {
  checkLength(length, 'fp16-pack');
  checkBuffer(x, length * 4, GPUBufferUsage.STORAGE, 'fp16-pack input');
  checkBuffer(packed, fp16Words(length) * 4, GPUBufferUsage.STORAGE, 'fp16-pack output');
  if (x === packed) throw new RangeError('fp16-pack cannot pack in place');
  run(device, KERNEL_SHADERS.fp16Pack, x, packed, length, options, 'floats-first');
}

/** The inverse: `length` floats into out from ceil(length / 2) words of packed halves. */
export function fp16UnpackBuffers(
  device: GPUDevice,
  packed: GPUBuffer,
  out: GPUBuffer,
  length: number,
  options: KernelOptions = {},
): void {
  checkLength(length, 'fp16-unpack');
  checkBuffer(packed, fp16Words(length) * 4, GPUBufferUsage.STORAGE, 'fp16-unpack input');
  checkBuffer(out, length * 4, GPUBufferUsage.STORAGE, 'fp16-unpack output');
  if (out === packed) throw new RangeError('fp16-unpack cannot unpack in place');
  run(device, KERNEL_SHADERS.fp16Unpack, packed, out, length, options, 'halves-first');
}

function run(
  device: GPUDevice,
  shader: Fp16Shader,
  input: GPUBuffer,
  output: GPUBuffer,
  length: number,
  options: KernelOptions,
  order: 'floats-first' | 'halves-first',
): void {
  if (length === 0) return;
  const workgroupSize = resolveWorkgroupSize(device, options.workgroupSize);
  const chunks = planOnDevice(device, length, options, {
    workgroupSize,
    elementsPerWorkgroup: 2 * workgroupSize,
    // The halves are bound at byte offset start · 2, which must be aligned too.
    alignElements: lcm(f32Alignment(device), 2 * f32Alignment(device)),
  });
  const kernel = getKernelPipeline(device, shader, { WORKGROUP_SIZE: workgroupSize });
  record(device, shader.name, (rec) => {
    for (const chunk of chunks) {
      const floats = { offset: chunk.start * 4, size: chunk.length * 4 };
      const halves = { offset: chunk.start * 2, size: fp16Words(chunk.length) * 4 };
      const bindGroup = rec.bindGroup(
        kernel,
        order === 'floats-first'
          ? [
              { buffer: input, ...floats },
              { buffer: output, ...halves },
            ]
          : [
              { buffer: input, ...halves },
              { buffer: output, ...floats },
            ],
      );
      for (const d of chunk.dispatches) {
        const params = { base_word: d.base / 2, words: fp16Words(d.count), elements: chunk.length };
        rec.dispatch(kernel, bindGroup, params, d.x, d.y);
      }
    }
  });
}
