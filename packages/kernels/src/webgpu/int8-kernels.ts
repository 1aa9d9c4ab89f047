/**
 * Host side of shaders/int8-quantize.wgsl and shaders/int8-dequantize.wgsl on GPUBuffers:
 * block-wise int8 quantisation with an optional error-feedback residual, and its decoding.
 */
import { checkBlockSize, INT8_DEFAULT_BLOCK_SIZE, int8Blocks, int8Words } from '../any/int8-reference.ts';
import { KERNEL_SHADERS } from '../any/kernel-shaders.ts';
import { lcm } from '../any/plan.ts';
import { checkBuffer, checkDistinct, checkLength } from './argument-checks.ts';
import { f32Alignment, planOnDevice, resolveWorkgroupSize, type KernelOptions } from './device-plan.ts';
import { isCpuEmulated, unitsPerWorkgroup } from './heuristics.ts';
import { dummyBuffer } from './device-resources.ts';
import { getKernelPipeline } from './pipeline-cache.ts';
import { record } from './recorder.ts';

export interface Int8Options extends KernelOptions {
  /** Elements per scale: a multiple of 4 up to 2048 (the shader's BLOCK_SIZE); default 256. */
  readonly blockSize?: number;
}

export interface Int8QuantizeBuffers {
  readonly x: GPUBuffer;
  /** Error feedback: y = x + residual is quantised and residual becomes y − decoded. Or null. */
  readonly residual: GPUBuffer | null;
  /** ceil(length / 4) words of int8 (four per word, little-endian). */
  readonly packed: GPUBuffer;
  /** ceil(length / blockSize) f32 scales. */
  readonly scales: GPUBuffer;
}

export interface Int8DequantizeBuffers {
  readonly packed: GPUBuffer;
  readonly scales: GPUBuffer;
  readonly out: GPUBuffer;
}

export function int8QuantizeBuffers(
  device: GPUDevice,
  buffers: Int8QuantizeBuffers,
  length: number,
  options: Int8Options = {},
): void {
  const blockSize = checkedBlockSize(options, length, 'int8-quantize');
  const { x, residual, packed, scales } = buffers;
  checkDistinct({ x, residual, packed, scales });
  const { STORAGE } = GPUBufferUsage;
  checkBuffer(x, length * 4, STORAGE, 'int8-quantize x');
  if (residual !== null) checkBuffer(residual, length * 4, STORAGE, 'int8-quantize residual');
  checkBuffer(packed, int8Words(length) * 4, STORAGE, 'int8-quantize packed');
  checkBuffer(scales, int8Blocks(length, blockSize) * 4, STORAGE, 'int8-quantize scales');
  if (length === 0) return;

  // No point in more invocations than words in a block. Where the GPU is emulated on the CPU,
  // each barrier switches between the workgroup's invocations, so fewer of them is faster.
  const workgroupSize = resolveWorkgroupSize(
    device,
    options.workgroupSize,
    Math.min(isCpuEmulated(device) ? 16 : 64, 2 ** Math.ceil(Math.log2(blockSize / 4))),
    true,
  );
  const blocksPerGroup = unitsPerWorkgroup(device, int8Blocks(length, blockSize), options);
  const chunks = planOnDevice(device, length, options, {
    workgroupSize,
    elementsPerWorkgroup: blockSize * blocksPerGroup,
    alignElements: alignment(device, blockSize),
  });
  const kernel = getKernelPipeline(device, KERNEL_SHADERS.int8Quantize, {
    WORKGROUP_SIZE: workgroupSize,
    BLOCK_SIZE: blockSize,
  });
  const unused = dummyBuffer(device, true);
  record(device, 'int8-quantize', (rec) => {
    for (const chunk of chunks) {
      const floats = { offset: chunk.start * 4, size: chunk.length * 4 };
      const bindGroup = rec.bindGroup(kernel, [
        { buffer: x, ...floats },
        residual === null ? { buffer: unused } : { buffer: residual, ...floats },
        { buffer: packed, offset: chunk.start, size: int8Words(chunk.length) * 4 },
        {
          buffer: scales,
          offset: (chunk.start / blockSize) * 4,
          size: int8Blocks(chunk.length, blockSize) * 4,
        },
      ]);
      for (const { base, count, x: gx, y: gy } of chunk.dispatches) {
        const params = {
          base,
          count,
          use_residual: residual === null ? 0 : 1,
          blocks_per_group: blocksPerGroup,
        };
        rec.dispatch(kernel, bindGroup, params, gx, gy);
      }
    }
  });
}

/** out[i] = q[i] · scales[i / blockSize] for i < length (blockSize as when quantising). */
export function int8DequantizeBuffers(
  device: GPUDevice,
  buffers: Int8DequantizeBuffers,
  length: number,
  options: Int8Options = {},
): void {
  const blockSize = checkedBlockSize(options, length, 'int8-dequantize');
  const { packed, scales, out } = buffers;
  checkDistinct({ packed, scales, out });
  const { STORAGE } = GPUBufferUsage;
  checkBuffer(packed, int8Words(length) * 4, STORAGE, 'int8-dequantize packed');
  checkBuffer(scales, int8Blocks(length, blockSize) * 4, STORAGE, 'int8-dequantize scales');
  checkBuffer(out, length * 4, STORAGE, 'int8-dequantize out');
  if (length === 0) return;

  const workgroupSize = resolveWorkgroupSize(device, options.workgroupSize);
  const chunks = planOnDevice(device, length, options, {
    workgroupSize,
    elementsPerWorkgroup: 4 * workgroupSize,
    alignElements: alignment(device, blockSize),
  });
  const kernel = getKernelPipeline(device, KERNEL_SHADERS.int8Dequantize, {
    WORKGROUP_SIZE: workgroupSize,
    BLOCK_SIZE: blockSize,
  });
  record(device, 'int8-dequantize', (rec) => {
    for (const chunk of chunks) {
      const bindGroup = rec.bindGroup(kernel, [
        { buffer: packed, offset: chunk.start, size: int8Words(chunk.length) * 4 },
        {
          buffer: scales,
          offset: (chunk.start / blockSize) * 4,
          size: int8Blocks(chunk.length, blockSize) * 4,
        },
        { buffer: out, offset: chunk.start * 4, size: chunk.length * 4 },
      ]);
      for (const { base, count, x, y } of chunk.dispatches)
        rec.dispatch(kernel, bindGroup, { base, count }, x, y);
    }
  });
}

/** The block size of `options`, checked, after checking `length`. */
function checkedBlockSize(options: Int8Options, length: number, what: string): number {
  const blockSize = options.blockSize ?? INT8_DEFAULT_BLOCK_SIZE;
  checkBlockSize(blockSize);
  checkLength(length, what);
  return blockSize;
}

/** Chunk starts that align the f32, the int8 (1 byte) and the scale (1 per block) bindings. */
function alignment(device: GPUDevice, blockSize: number): number {
  const bytes = device.limits.minStorageBufferOffsetAlignment;
  return lcm(f32Alignment(device), bytes, blockSize * f32Alignment(device));
}
