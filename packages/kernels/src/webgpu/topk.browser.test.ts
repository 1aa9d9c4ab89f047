// The top-k sparsifier (shaders/topk-*.wgsl) and its scatter-add on tfjs's GPUDevice: bit-exact
// against the reference, with the error-feedback invariant scatter(pairs) + residual' = x + residual.
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { atEveryTestSize, gpuDevice, onWebGPU } from './browser-setup.ts';
import { compareBits } from '../any/compare.ts';
import { topKDecodeTensor, topKScatterAddTensor, topKSparsifyTensors } from './compression-tensors.ts';
import { withGpu, type GpuFixture } from './gpu-test-fixture.ts';
import { EDGE_VALUES, sprinkle, vectors } from '../any/kernel-test-helpers.ts';
import type { KernelOptions } from './device-plan.ts';
import { topKDecodeBuffers, topKScatterAddBuffers, topKSparsifyBuffers } from './topk-kernels.ts';
import { TOPK_SENTINEL, topKScatterAddReference, topKSparsifyReference } from '../any/topk-reference.ts';

async function expectTopKMatches(
  gpu: GpuFixture,
  x: Float32Array,
  residual: Float32Array | null,
  k: number,
  options: KernelOptions = {},
): Promise<void> {
  const n = x.length;
  const label = JSON.stringify({ n, k, residual: residual !== null, ...options });
  const y = residual === null ? x : x.map((v, i) => v + (residual[i] as number));
  const refResidual = residual?.slice() ?? null;
  const ref = topKSparsifyReference(x, refResidual, k);

  const slots = Math.max(k, 1);
  const buffers = {
    x: gpu.upload(x),
    residual: residual === null ? null : gpu.upload(residual),
    indices: gpu.buffer(slots * 4),
    values: gpu.buffer(slots * 4),
    count: { buffer: gpu.buffer(256) },
  };
  topKSparsifyBuffers(gpu.device, buffers, n, k, options);
  const indices = new Uint32Array((await gpu.read(buffers.indices, k)).buffer);
  const values = await gpu.read(buffers.values, k);
  const count = new Uint32Array((await gpu.read(buffers.count.buffer, 1)).buffer)[0];
  expect(count, label).toBe(ref.count);
  expect(compareBits(indices, ref.indices, 'index').message, label).toBeNull();
  expect(compareBits(values, ref.values, 'value').message, label).toBeNull();
  if (buffers.residual !== null && refResidual !== null) {
    const after = await gpu.read(buffers.residual, n);
    expect(compareBits(after, refResidual, 'residual').message, label).toBeNull();
    // Error feedback loses nothing: the pairs scattered onto the residual give back y exactly.
    const restored = topKScatterAddReference(after.slice(), indices, values);
    expect(compareBits(restored, y, 'restored').message, label).toBeNull();
  }
  // Decode on the GPU: dense, and added onto an existing vector with a weight.
  const out = gpu.buffer(n * 4);
  topKDecodeBuffers(gpu.device, { indices: buffers.indices, values: buffers.values, out }, k, n, options);
  const dense = topKScatterAddReference(new Float32Array(n), ref.indices, ref.values);
  expect(compareBits(await gpu.read(out, n), dense, 'decoded').message, label).toBeNull();
  const base = gpu.upload(y);
  topKScatterAddBuffers(gpu.device, { indices: buffers.indices, values: buffers.values, out: base }, k, n, {
    ...options,
    alpha: -0.5,
  });
  const added = topKScatterAddReference(y.slice(), ref.indices, ref.values, -0.5);
  expect(compareBits(await gpu.read(base, n), added, 'added').message, label).toBeNull();
}

describe.skipIf(!onWebGPU)('top-k sparsification on WebGPU', () => {
  it('matches the reference bit for bit at every test size and several k', async () => {
    await atEveryTestSize(1, async (gpu, n, seed) => {
      const [x, r] = vectors(seed, 2, n) as [Float32Array, Float32Array];
      const residual = r.map((v) => v * 0.1);
      await expectTopKMatches(gpu, x, residual, Math.max(1, Math.floor(n / 100)));
      if (n < 100_000) {
        await expectTopKMatches(gpu, x, residual, 1);
        await expectTopKMatches(gpu, x, null, n);
        await expectTopKMatches(gpu, x, residual, n + 3);
      }
    });
  });

  it('takes ties in index order and never selects NaN, ±Inf or zeros', async () => {
    await withGpu(gpuDevice, async (gpu) => {
      const n = 10_000;
      // Magnitudes from a handful of values: the threshold falls inside a run of ties.
      const ties = new Float32Array(n).map((_, i) => [0, 1, -1, 2, -2, 0.5][(i * 7) % 6] as number);
      for (const k of [1, 1667, 1700, 5000, 9999]) await expectTopKMatches(gpu, ties, new Float32Array(n), k);
      const [x, r] = vectors(10, 2, n) as [Float32Array, Float32Array];
      await expectTopKMatches(gpu, sprinkle(x.slice(), EDGE_VALUES, 13), r, 2000);
      await expectTopKMatches(gpu, x, sprinkle(r.slice(), EDGE_VALUES, 13), n);
      await expectTopKMatches(gpu, new Float32Array(n), new Float32Array(n), 10);
      await expectTopKMatches(gpu, x, r, 0);
    });
  });

  it('chunks, spreads over 2-D grids, and runs one or many tiles per workgroup', async () => {
    await withGpu(gpuDevice, async (gpu) => {
      const [x, r] = vectors(20, 2, 30_011) as [Float32Array, Float32Array];
      await expectTopKMatches(gpu, x, r, 3001, { maxBindingBytes: 16_384 });
      await expectTopKMatches(gpu, x, r, 300, {
        maxBindingBytes: 20_000,
        maxWorkgroupsPerDimension: 3,
        workgroupSize: 64,
      });
      await expectTopKMatches(gpu, x, r, 3001, { unitsPerWorkgroup: 1 });
      await expectTopKMatches(gpu, x, null, 5, {
        unitsPerWorkgroup: 3,
        workgroupSize: 32,
        maxWorkgroupsPerDimension: 4,
      });
    });
  });

  it('tensor API: int32 indices with -1 for unused slots, a count, a new residual', async () => {
    await withGpu(gpuDevice, async () => {
      const [x, r] = vectors(30, 2, 2000) as [Float32Array, Float32Array];
      const [tx, tr] = [tf.tensor1d(x), tf.tensor1d(r)];
      const { indices, values, count, residual } = topKSparsifyTensors(tx, tr, 50);
      expect(indices.dtype).toBe('int32');
      expect((await count.data())[0]).toBe(50);
      const restored = topKScatterAddTensor(residual as tf.Tensor1D, indices, values);
      const y = x.map((v, i) => v + (r[i] as number));
      expect(compareBits(await restored.data<'float32'>(), y).message).toBeNull();
      const dense = topKDecodeTensor(indices, values, 2000);
      expect((await dense.data()).filter((v) => v !== 0)).toHaveLength(50);
      // More slots than non-zero values: the rest hold -1 and 0.
      const few = topKSparsifyTensors(tf.tensor1d([0, 3, 0, -4]), null, 3);
      expect(Array.from(await few.indices.data())).toEqual([1, 3, -1]);
      expect(Array.from(await few.values.data())).toEqual([3, -4, 0]);
      expect(TOPK_SENTINEL | 0).toBe(-1);
      tf.dispose([
        tx,
        tr,
        indices,
        values,
        count,
        residual as tf.Tensor,
        restored,
        dense,
        few.indices,
        few.values,
        few.count,
      ]);
    });
  });
});
