// shaders/reduce.wgsl and shaders/clip-by-norm.wgsl on tfjs's GPUDevice against the references.
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { atEveryTestSize, gpuDevice, onWebGPU } from './browser-setup.ts';
import {
  CLIP_RELATIVE_TOLERANCE,
  clipByNormBuffer,
  clipByNormReference,
  clipByNormTensor,
  compareWithin,
  countNonFinite,
  countNonFiniteBuffer,
  countNonFiniteReference,
  countNonFiniteTensor,
  dot,
  DOT_RELATIVE_TOLERANCE,
  dotReference,
  dotTensor,
  F32_MIN_NORMAL,
  l2Norm,
  l2NormReference,
  l2NormTensor,
  NORM_RELATIVE_TOLERANCE,
  relativeDistance,
  relativeDistanceReference,
  relativeDistanceTensor,
  type KernelOptions,
} from '../index.ts';
import { withGpu, type GpuFixture } from './gpu-test-fixture.ts';
import { EDGE_VALUES, FINITE_EDGE_VALUES, sprinkle, vectors } from '../any/kernel-test-helpers.ts';

const F32_MAX = 3.4028234663852886e38;

/** |actual − expected| within the norm tolerance, NaN and infinities exactly. */
function expectNear(actual: number, expected: number, scale: number, rel: number, label: string): void {
  const cmp = compareWithin([actual], [expected], () => rel * scale + F32_MIN_NORMAL);
  expect(cmp.message, label).toBeNull();
}

async function expectReductionsMatch(
  gpu: GpuFixture,
  a: Float32Array,
  b: Float32Array,
  options: KernelOptions = {},
) {
  const n = a.length;
  const label = JSON.stringify({ n, ...options });
  const [ga, gb] = [gpu.upload(a), gpu.upload(b)];
  const norm = l2NormReference(a);
  expectNear(await l2Norm(gpu.device, ga, n, options), norm, norm, NORM_RELATIVE_TOLERANCE, `norm ${label}`);
  let absDot = 0;
  for (let i = 0; i < n; i++) absDot += Math.abs((a[i] as number) * (b[i] as number));
  const gpuDot = await dot(gpu.device, ga, gb, n, options);
  if (absDot <= F32_MAX || Number.isNaN(absDot)) {
    expectNear(gpuDot, dotReference(a, b), absDot, DOT_RELATIVE_TOLERANCE, `dot ${label}`);
  } else {
    // Partial sums may overflow in f32 (to ±Inf, or NaN when both signs do), where the float64
    // reference does not: only non-finiteness is promised then.
    expect(Number.isFinite(gpuDot), `dot ${label} overflows`).toBe(false);
  }
  expect(await countNonFinite(gpu.device, ga, n, options), `non-finite ${label}`).toBe(
    countNonFiniteReference(a),
  );
  const distance = relativeDistanceReference(a, b);
  expectNear(
    await relativeDistance(gpu.device, ga, gb, n, options),
    distance,
    distance,
    NORM_RELATIVE_TOLERANCE,
    `distance ${label}`,
  );
}

async function expectClipMatches(
  gpu: GpuFixture,
  x: Float32Array,
  maxNorm: number,
  options: KernelOptions = {},
) {
  const n = x.length;
  const buffer = gpu.upload(x);
  const normOut = gpu.buffer(256);
  clipByNormBuffer(gpu.device, buffer, n, maxNorm, { ...options, norm: { buffer: normOut } });
  const gpuNorm = (await gpu.read(normOut, 1))[0] as number;
  const norm = l2NormReference(x);
  expectNear(gpuNorm, norm, norm, NORM_RELATIVE_TOLERANCE, `clip norm n=${n}`);
  // Scale with the GPU's norm, so that the comparison isolates the scaling from the reduction.
  const expected = x.slice();
  clipByNormReference(expected, maxNorm, gpuNorm);
  const actual = await gpu.read(buffer, n);
  const cmp = compareWithin(
    actual,
    expected,
    (i) => CLIP_RELATIVE_TOLERANCE * Math.abs(expected[i] as number) + F32_MIN_NORMAL,
  );
  expect(cmp.message, `clip n=${n} maxNorm=${maxNorm}`).toBeNull();
}

describe.skipIf(!onWebGPU)('reductions on WebGPU', () => {
  it('norm, dot, non-finite count and distance match the references at every test size', async () => {
    await atEveryTestSize(1, async (gpu, n, seed) => {
      const [a, noise] = vectors(seed, 2, n) as [Float32Array, Float32Array];
      // b close to a, as two models after averaging are.
      const b = a.map((v, i) => v + 0.01 * (noise[i] as number));
      await expectReductionsMatch(gpu, a, b);
    });
  });

  it('handles NaN, ±Inf, zeros, huge and subnormal values', async () => {
    await withGpu(gpuDevice, async (gpu) => {
      const n = 3001;
      const [a, b] = vectors(10, 2, n) as [Float32Array, Float32Array];
      // Finite extremes: the scaled sum of squares must neither overflow nor underflow.
      await expectReductionsMatch(gpu, sprinkle(a.slice(), FINITE_EDGE_VALUES, 11), b);
      const huge = new Float32Array(n).fill(3e38);
      const tiny = new Float32Array(n).fill(1e-30);
      expectNear(
        await l2Norm(gpuDevice, gpu.upload(huge), n),
        l2NormReference(huge),
        l2NormReference(huge),
        1e-5,
        'huge',
      );
      expect(l2NormReference(huge)).toBe(Number.POSITIVE_INFINITY); // 3e38 · sqrt(3001) > f32 max
      const big = new Float32Array(n).fill(1e36);
      expectNear(
        await l2Norm(gpuDevice, gpu.upload(big), n),
        l2NormReference(big),
        l2NormReference(big),
        1e-5,
        'big',
      );
      expectNear(
        await l2Norm(gpuDevice, gpu.upload(tiny), n),
        l2NormReference(tiny),
        l2NormReference(tiny),
        1e-5,
        'tiny',
      );
      // Every edge value, NaN and infinities included.
      await expectReductionsMatch(gpu, sprinkle(a.slice(), EDGE_VALUES, 13), b);
      await expectReductionsMatch(gpu, a, sprinkle(b.slice(), EDGE_VALUES, 13));
      const infOnly = a.slice();
      infOnly[5] = Number.NEGATIVE_INFINITY;
      expect(await l2Norm(gpuDevice, gpu.upload(infOnly), n)).toBe(Number.POSITIVE_INFINITY);
      expect(await countNonFinite(gpuDevice, gpu.upload(infOnly), n)).toBe(1);
      // Zero vectors: norm 0, distance 0 from itself, +Inf from anything else.
      const zeros = new Float32Array(n);
      expect(await l2Norm(gpuDevice, gpu.upload(zeros), n)).toBe(0);
      expect(await relativeDistance(gpuDevice, gpu.upload(zeros), gpu.upload(zeros), n)).toBe(0);
      expect(await relativeDistance(gpuDevice, gpu.upload(zeros), gpu.upload(a), n)).toBe(
        Number.POSITIVE_INFINITY,
      );
      expect(await relativeDistance(gpuDevice, gpu.upload(a), gpu.upload(a), n)).toBe(0);
      // a − b overflowing f32 gives an infinite distance, as in f32 arithmetic.
      const [p, q] = [new Float32Array([3e38, 1]), new Float32Array([-3e38, 1])];
      expect(await relativeDistance(gpuDevice, gpu.upload(p), gpu.upload(q), 2)).toBe(
        relativeDistanceReference(p, q),
      );
    });
  });

  it('chunks, and covers a length of 0', async () => {
    await withGpu(gpuDevice, async (gpu) => {
      const [a, b] = vectors(20, 2, 10_007) as [Float32Array, Float32Array];
      await expectReductionsMatch(gpu, sprinkle(a, EDGE_VALUES, 101), b, { maxBindingBytes: 1024 });
      await expectReductionsMatch(gpu, b, a, {
        maxBindingBytes: 4096,
        maxWorkgroupsPerDimension: 2,
        workgroupSize: 32,
      });
      // The workgroup size GPUs get by default (CPU-emulated adapters get 16).
      await expectReductionsMatch(gpu, a, b, { workgroupSize: 256 });
      const empty = gpu.buffer(4);
      expect(await l2Norm(gpuDevice, empty, 0)).toBe(0);
      expect(await dot(gpuDevice, empty, empty, 0)).toBe(0);
      expect(await countNonFinite(gpuDevice, empty, 0)).toBe(0);
    });
  });

  it('clips by norm on the GPU at every test size, and leaves small or non-finite norms alone', async () => {
    await atEveryTestSize(30, async (gpu, n, seed) => {
      const [x] = vectors(seed, 1, n) as [Float32Array];
      const norm = l2NormReference(x);
      await expectClipMatches(gpu, x, norm / 3);
      await expectClipMatches(gpu, x, norm * 2);
    });
    await withGpu(gpuDevice, async (gpu) => {
      const [x] = vectors(40, 1, 10_007) as [Float32Array];
      await expectClipMatches(gpu, x, 1, { maxBindingBytes: 2048, maxWorkgroupsPerDimension: 3 });
      await expectClipMatches(gpu, sprinkle(x.slice(), FINITE_EDGE_VALUES, 97), 1);
      await expectClipMatches(gpu, sprinkle(x.slice(), EDGE_VALUES, 97), 1);
      await expectClipMatches(gpu, x, 0);
    });
  });

  it('rejects bad targets', async () => {
    await withGpu(gpuDevice, (gpu) => {
      const x = gpu.buffer(64);
      expect(() => countNonFiniteBuffer(gpuDevice, x, 16, { buffer: gpu.buffer(512), offset: 4 })).toThrow(
        /multiple of 256/,
      );
      expect(() => countNonFiniteBuffer(gpuDevice, x, 16, { buffer: x })).toThrow(/into an input/);
      expect(() => clipByNormBuffer(gpuDevice, x, 16, -1)).toThrow(/maxNorm/);
    });
  });

  it('tensor API: scalars on the GPU, equal to the buffer results', async () => {
    await withGpu(gpuDevice, async () => {
      const [a, b] = vectors(50, 2, 5000) as [Float32Array, Float32Array];
      sprinkle(b, [Number.NaN, Number.POSITIVE_INFINITY], 1000);
      const [ta, tb] = [tf.tensor1d(a), tf.tensor1d(b)];
      const norm = l2NormTensor(ta);
      const product = dotTensor(ta, ta);
      const bad = countNonFiniteTensor(tb);
      const distance = relativeDistanceTensor(ta, ta);
      const { clipped, norm: before } = clipByNormTensor(ta, 1);
      expect(norm.shape).toEqual([]);
      expect(bad.dtype).toBe('int32');
      const expectedNorm = l2NormReference(a);
      expectNear(
        (await norm.data())[0] as number,
        expectedNorm,
        expectedNorm,
        NORM_RELATIVE_TOLERANCE,
        'norm',
      );
      expectNear((await product.data())[0] as number, expectedNorm ** 2, expectedNorm ** 2, 1e-5, 'dot');
      expect((await bad.data())[0]).toBe(countNonFiniteReference(b));
      expect((await distance.data())[0]).toBe(0);
      expect((await before.data())[0]).toBe((await norm.data())[0]);
      expectNear(l2NormReference(await clipped.data<'float32'>()), 1, 1, 1e-5, 'clipped norm');
      // The input is unchanged.
      expect(l2NormReference(await ta.data<'float32'>())).toBe(expectedNorm);
      tf.dispose([ta, tb, norm, product, bad, distance, clipped, before]);
    });
  });
});
