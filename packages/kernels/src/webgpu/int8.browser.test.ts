// shaders/int8-quantize.wgsl and shaders/int8-dequantize.wgsl on tfjs's GPUDevice against the
// reference, with the error-feedback invariant decoded + residual' = x + residual.
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { atEveryTestSize, gpuDevice, onWebGPU } from './browser-setup.ts';
import { compareWithin, F32_MIN_NORMAL } from '../any/compare.ts';
import { int8DequantizeTensor, int8QuantizeTensors } from './compression-tensors.ts';
import { withGpu, type GpuFixture } from './gpu-test-fixture.ts';
import { int8DequantizeBuffers, int8QuantizeBuffers, type Int8Options } from './int8-kernels.ts';
import {
  INT8_RELATIVE_TOLERANCE,
  int8Blocks,
  int8DequantizeReference,
  int8QuantizeReference,
  int8Words,
} from '../any/int8-reference.ts';
import { EDGE_VALUES, sprinkle, vectors } from '../any/kernel-test-helpers.ts';

const near = (expected: ArrayLike<number>) => (i: number) =>
  INT8_RELATIVE_TOLERANCE * Math.abs(expected[i] as number) + F32_MIN_NORMAL;

/**
 * Quantises x (+ residual) on the GPU and checks: scales as the reference's; every q within 1 of
 * the reference's and almost all equal (the GPU's division may round a tie the other way); the
 * error-feedback invariant; and the GPU decoder against the reference decoder.
 */
async function expectQuantizeMatches(
  gpu: GpuFixture,
  x: Float32Array,
  residual: Float32Array | null,
  options: Int8Options = {},
): Promise<void> {
  const n = x.length;
  const blockSize = options.blockSize ?? 256;
  const label = JSON.stringify({ n, residual: residual !== null, ...options });
  const y = residual === null ? x : x.map((v, i) => v + (residual[i] as number));
  const refResidual = residual?.slice() ?? null;
  const ref = int8QuantizeReference(x, refResidual, blockSize);

  const buffers = {
    x: gpu.upload(x),
    residual: residual === null ? null : gpu.upload(residual),
    packed: gpu.buffer(int8Words(n) * 4),
    scales: gpu.buffer(int8Blocks(n, blockSize) * 4),
  };
  int8QuantizeBuffers(gpu.device, buffers, n, options);
  const packed = new Uint32Array((await gpu.read(buffers.packed, int8Words(n))).buffer);
  const scales = await gpu.read(buffers.scales, int8Blocks(n, blockSize));
  expect(compareWithin(scales, ref.scales, near(ref.scales), 'scale').message, label).toBeNull();

  const [q, qRef] = [new Int8Array(packed.buffer, 0, n), new Int8Array(ref.packed.buffer, 0, n)];
  let differ = 0;
  for (let i = 0; i < n; i++) {
    const d = Math.abs((q[i] as number) - (qRef[i] as number));
    if (d > 1) expect.fail(`${label}: q[${i}] = ${q[i]}, reference ${qRef[i]}`);
    differ += d;
  }
  expect(differ, `${label}: q differing from the reference`).toBeLessThanOrEqual(1 + n * 1e-4);

  const decoded = int8DequantizeReference(packed, scales, n, blockSize);
  if (buffers.residual !== null) {
    const after = await gpu.read(buffers.residual, n);
    const sum = decoded.map((d, i) => d + (after[i] as number));
    const invariant = compareWithin(
      sum,
      y,
      (i) => 2 ** -23 * (Math.abs(y[i] as number) + Math.abs(decoded[i] as number)) + F32_MIN_NORMAL,
    );
    expect(invariant.message, `${label}: decoded + residual = x + residual before`).toBeNull();
  }
  const out = gpu.buffer(n * 4);
  int8DequantizeBuffers(gpu.device, { packed: buffers.packed, scales: buffers.scales, out }, n, options);
  expect(compareWithin(await gpu.read(out, n), decoded, near(decoded), 'decoded').message, label).toBeNull();
}

describe.skipIf(!onWebGPU)('int8 quantisation on WebGPU', () => {
  it('matches the reference at every test size, with and without error feedback', async () => {
    await atEveryTestSize(1, async (gpu, n, seed) => {
      const [x, r] = vectors(seed, 2, n) as [Float32Array, Float32Array];
      await expectQuantizeMatches(
        gpu,
        x,
        r.map((v) => v * 0.01),
      );
      if (n < 100_000) await expectQuantizeMatches(gpu, x, null);
    });
  });

  it('keeps NaN and ±Inf out of the scales and in the residual, and zero blocks at zero', async () => {
    await withGpu(gpuDevice, async (gpu) => {
      const [x, r] = vectors(10, 2, 5003) as [Float32Array, Float32Array];
      await expectQuantizeMatches(gpu, sprinkle(x.slice(), EDGE_VALUES, 19), r);
      await expectQuantizeMatches(gpu, x, sprinkle(r.slice(), EDGE_VALUES, 23));
      // A block of zeros, a block of subnormals, a block below the smallest scalable max.
      const small = new Float32Array(768);
      small.fill(1e-40, 256, 512);
      small.fill(1e-37, 512, 768);
      await expectQuantizeMatches(gpu, small, new Float32Array(768));
    });
  });

  it('takes any block size that is a multiple of 4, chunks, and runs one or many blocks per workgroup', async () => {
    await withGpu(gpuDevice, async (gpu) => {
      const [x, r] = vectors(20, 2, 20_011) as [Float32Array, Float32Array];
      for (const blockSize of [4, 36, 100, 2048]) await expectQuantizeMatches(gpu, x, r, { blockSize });
      await expectQuantizeMatches(gpu, x, r, { blockSize: 4, maxBindingBytes: 2048 });
      await expectQuantizeMatches(gpu, x, r, {
        blockSize: 32,
        maxBindingBytes: 40_000,
        maxWorkgroupsPerDimension: 5,
      });
      await expectQuantizeMatches(gpu, x, r, { unitsPerWorkgroup: 1, maxWorkgroupsPerDimension: 16 });
      await expectQuantizeMatches(gpu, x, r, { unitsPerWorkgroup: 7, workgroupSize: 16 });
      expect(() =>
        int8QuantizeBuffers(
          gpuDevice,
          { x: gpu.buffer(64), residual: null, packed: gpu.buffer(64), scales: gpu.buffer(64) },
          16,
          { blockSize: 6 },
        ),
      ).toThrow(/multiple of 4/);
    });
  });

  it('tensor API: packed words, scales and a new residual; the inputs unchanged', async () => {
    await withGpu(gpuDevice, async () => {
      const [x, r] = vectors(30, 2, 3001) as [Float32Array, Float32Array];
      const [tx, tr] = [tf.tensor1d(x), tf.tensor1d(r)];
      const { packed, scales, residual } = int8QuantizeTensors(tx, tr, { blockSize: 64 });
      expect(packed.shape).toEqual([751]);
      expect(scales.shape).toEqual([47]);
      const decoded = int8DequantizeTensor(packed, scales, 3001, { blockSize: 64 });
      const sum = await tf.add(decoded, residual as tf.Tensor1D).data<'float32'>();
      const y = x.map((v, i) => v + (r[i] as number));
      expect(
        compareWithin(sum, y, (i) => 2 ** -22 * Math.abs(y[i] as number) + F32_MIN_NORMAL).message,
      ).toBeNull();
      expect(Array.from(await tr.data())).toEqual(Array.from(r));
      const withoutFeedback = int8QuantizeTensors(tx, null);
      expect(withoutFeedback.residual).toBeNull();
      tf.dispose([
        tx,
        tr,
        packed,
        scales,
        residual as tf.Tensor,
        decoded,
        withoutFeedback.packed,
        withoutFeedback.scales,
      ]);
    });
  });
});
