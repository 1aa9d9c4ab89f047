// shaders/fp16-pack.wgsl and shaders/fp16-unpack.wgsl on tfjs's GPUDevice: bit-exact against
// the reference, which is itself checked exhaustively in fp16-reference.test.ts.
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { atEveryTestSize, gpuDevice, onWebGPU } from './browser-setup.ts';
import { compareBits } from '../any/compare.ts';
import { fp16PackBuffers, fp16UnpackBuffers } from './fp16-kernels.ts';
import { fp16PackReference, fp16UnpackReference, fp16Words } from '../any/fp16-reference.ts';
import { fp16PackTensor, fp16UnpackTensor } from './compression-tensors.ts';
import { withGpu, type GpuFixture } from './gpu-test-fixture.ts';
import { EDGE_VALUES, sprinkle, vectors } from '../any/kernel-test-helpers.ts';
import type { KernelOptions } from './device-plan.ts';

async function expectRoundTrip(gpu: GpuFixture, x: Float32Array, options: KernelOptions = {}): Promise<void> {
  const n = x.length;
  const label = JSON.stringify({ n, ...options });
  const packed = gpu.buffer(fp16Words(n) * 4);
  fp16PackBuffers(gpu.device, gpu.upload(x), packed, n, options);
  const words = new Uint32Array((await gpu.read(packed, fp16Words(n))).buffer);
  const expectedWords = fp16PackReference(x);
  expect(compareBits(words, expectedWords, 'word').message, label).toBeNull();
  const out = gpu.buffer(n * 4);
  fp16UnpackBuffers(gpu.device, gpu.upload(new Float32Array(words.buffer)), out, n, options);
  expect(
    compareBits(await gpu.read(out, n), fp16UnpackReference(expectedWords, n)).message,
    label,
  ).toBeNull();
}

/** Every binary16 bit pattern as a float, plus the midpoints between neighbours (rounding ties). */
function allHalvesAndTies(): Float32Array {
  const halves = new Uint32Array(32_768);
  for (let h = 0; h < 65_536; h += 2) halves[h / 2] = h | ((h + 1) << 16);
  const values = fp16UnpackReference(halves, 65_536);
  const ties = new Float32Array(65_535);
  for (let h = 0; h < 65_535; h++) ties[h] = ((values[h] as number) + (values[h + 1] as number)) / 2;
  const out = new Float32Array(values.length + ties.length);
  out.set(values);
  out.set(ties, values.length);
  return out;
}

describe.skipIf(!onWebGPU)('fp16 pack and unpack on WebGPU', () => {
  it('match the reference bit for bit at every test size, with edge values', async () => {
    await atEveryTestSize(1, (gpu, n, seed) =>
      expectRoundTrip(gpu, sprinkle(vectors(seed, 1, n, 70_000)[0] as Float32Array, EDGE_VALUES, 17)),
    );
  });

  it('round every half and every tie between neighbours like the reference', async () => {
    await withGpu(gpuDevice, (gpu) => expectRoundTrip(gpu, allHalvesAndTies()));
  });

  it('chunk at aligned offsets and spread over 2-D grids', async () => {
    await withGpu(gpuDevice, async (gpu) => {
      const [x] = vectors(10, 1, 10_007, 100) as [Float32Array];
      await expectRoundTrip(gpu, x, { maxBindingBytes: 1024 });
      await expectRoundTrip(gpu, x, {
        maxBindingBytes: 2048,
        maxWorkgroupsPerDimension: 3,
        workgroupSize: 32,
      });
    });
  });

  it('tensor API: int32 words and floats that round-trip', async () => {
    await withGpu(gpuDevice, async () => {
      const [x] = vectors(11, 1, 1001) as [Float32Array];
      const t = tf.tensor1d(x);
      const packed = fp16PackTensor(t);
      expect(packed.dtype).toBe('int32');
      expect(packed.shape).toEqual([501]);
      const words = new Uint32Array((await packed.data<'int32'>()).buffer);
      expect(compareBits(words, fp16PackReference(x)).message).toBeNull();
      const back = fp16UnpackTensor(packed, 1001);
      expect(compareBits(await back.data<'float32'>(), fp16UnpackReference(words, 1001)).message).toBeNull();
      tf.dispose([t, packed, back]);
    });
  });
});
