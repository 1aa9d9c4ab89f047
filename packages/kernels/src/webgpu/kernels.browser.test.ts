// The kernels together on tfjs's WebGPU backend: no leaks over 1,000 calls, pooled temporaries,
// cached pipelines, the debug switch, and results that never went through the CPU.
import * as tf from '@tensorflow/tfjs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { gpuDevice, onWebGPU } from './browser-setup.ts';
import {
  adamTensors,
  clipByNormTensor,
  COMMON_WGSL,
  countNonFiniteTensor,
  dotTensor,
  fp16PackTensor,
  fp16UnpackTensor,
  int8DequantizeTensor,
  int8QuantizeTensors,
  KERNEL_SHADERS,
  kernelBufferPoolStats,
  l2NormTensor,
  mixTensors,
  relativeDistanceTensor,
  setKernelDebug,
  sgdMomentumBuffers,
  sgdMomentumTensors,
  topKScatterAddTensor,
  topKSparsifyTensors,
} from '../index.ts';
import { withGpu } from './gpu-test-fixture.ts';
import { vectors } from '../any/kernel-test-helpers.ts';

/** Waits for the GPU by reading a value back (and disposes what it made). */
async function settle(x: tf.Tensor): Promise<void> {
  const total = tf.sum(x);
  await total.data();
  total.dispose();
}

/** One call of every tensor-level kernel; returns how many calls it made. */
function everyKernel(x: tf.Tensor1D, y: tf.Tensor1D, step: number): number {
  tf.dispose(
    sgdMomentumTensors({ param: x, grad: y, accumulation: y }, { learningRate: 0.1, momentum: 0.9 }),
  );
  tf.dispose(adamTensors({ param: x, grad: y, m: y, v: x }, { weightDecay: 0.01 }, step));
  tf.dispose([l2NormTensor(x), dotTensor(x, y), countNonFiniteTensor(x), relativeDistanceTensor(x, y)]);
  tf.dispose(clipByNormTensor(x, 1));
  const packed = fp16PackTensor(x);
  tf.dispose([packed, fp16UnpackTensor(packed, x.size)]);
  const int8 = int8QuantizeTensors(x, y);
  tf.dispose([
    int8.packed,
    int8.scales,
    int8.residual as tf.Tensor,
    int8DequantizeTensor(int8.packed, int8.scales, x.size),
  ]);
  const sparse = topKSparsifyTensors(x, y, 40);
  tf.dispose(topKScatterAddTensor(x, sparse.indices, sparse.values));
  tf.dispose([sparse.indices, sparse.values, sparse.count, sparse.residual as tf.Tensor]);
  tf.dispose(mixTensors([x, y], [0.5, 0.5]));
  return 18;
}

describe.skipIf(!onWebGPU)('the kernels on tfjs WebGPU tensors', () => {
  afterEach(() => {
    setKernelDebug(false);
    vi.restoreAllMocks();
  });

  it('1,000 calls leave tf.memory() and the buffer pool unchanged', async () => {
    const [a, b] = vectors(1, 2, 4099) as [Float32Array, Float32Array];
    const [x, y] = [tf.tensor1d(a), tf.tensor1d(b.map(Math.abs))];
    // Warm up: pipelines, tfjs's buffer pool and ours fill on the first calls.
    everyKernel(x, y, 1);
    await settle(x);
    await withGpu(gpuDevice, async () => {
      const memory = tf.memory() as tf.MemoryInfo & { numBytesInGPU: number };
      const pool = kernelBufferPoolStats(gpuDevice);
      let calls = 0;
      for (let step = 2; calls < 1000; step++) calls += everyKernel(x, y, step);
      await settle(x);
      const after = tf.memory() as tf.MemoryInfo & { numBytesInGPU: number };
      expect(after.numTensors).toBe(memory.numTensors);
      expect(after.numDataBuffers).toBe(memory.numDataBuffers);
      expect(after.numBytesInGPU).toBe(memory.numBytesInGPU);
      expect(kernelBufferPoolStats(gpuDevice)).toEqual(pool);
      expect(pool.inUse).toBe(0);
      expect(pool.buffers).toBeGreaterThan(0);
    });
    tf.dispose([x, y]);
  });

  it('results stay on the GPU: no tensor is read back while the kernels run', async () => {
    const [a, b] = vectors(2, 2, 10_000) as [Float32Array, Float32Array];
    const [x, y] = [tf.tensor1d(a), tf.tensor1d(b)];
    await settle(x); // uploads x
    const backend = tf.backend() as unknown as { getBufferData: (...args: unknown[]) => unknown };
    const readBack = vi.spyOn(backend, 'getBufferData');
    const dataSync = vi.spyOn(tf.Tensor.prototype, 'dataSync');
    const clipped = clipByNormTensor(x, 1);
    const int8 = int8QuantizeTensors(clipped.clipped, y);
    const sparse = topKSparsifyTensors(int8.residual as tf.Tensor1D, null, 100);
    const norm = l2NormTensor(sparse.values);
    expect(readBack).not.toHaveBeenCalled();
    expect(dataSync).not.toHaveBeenCalled();
    expect(Number.isFinite((await norm.data())[0])).toBe(true);
    tf.dispose([x, y, clipped.clipped, clipped.norm, int8.packed, int8.scales, int8.residual as tf.Tensor]);
    tf.dispose([sparse.indices, sparse.values, sparse.count, norm]);
  });

  it('prints the WGSL of each new pipeline when debugging, and caches pipelines', async () => {
    const info = vi.spyOn(console, 'info').mockImplementation(() => undefined);
    const createPipeline = vi.spyOn(gpuDevice, 'createComputePipeline');
    setKernelDebug(true);
    await withGpu(gpuDevice, (gpu) => {
      const [param, grad, accumulation] = [gpu.buffer(400), gpu.buffer(400), gpu.buffer(400)];
      for (let i = 0; i < 3; i++) {
        sgdMomentumBuffers(
          gpuDevice,
          { param, grad, accumulation },
          100,
          { learningRate: 1, momentum: 0 },
          { workgroupSize: 48 },
        );
      }
    });
    expect(createPipeline).toHaveBeenCalledTimes(1);
    const printed = info.mock.calls.map((args) => String(args[0]));
    // The composed source: the common header, the generated Params, then the kernel's own file.
    const source = KERNEL_SHADERS.sgdMomentum.source;
    expect(source).toContain(COMMON_WGSL);
    expect(source).toContain('struct Params {\n  base: u32,\n  count: u32,\n  nesterov: u32,');
    expect(printed.filter((s) => s.includes('tabswarm.sgd-momentum[WORKGROUP_SIZE=48]'))).toEqual([
      `[tabswarm kernels] pipeline tabswarm.sgd-momentum[WORKGROUP_SIZE=48]\n${source}`,
    ]);
  });
});
