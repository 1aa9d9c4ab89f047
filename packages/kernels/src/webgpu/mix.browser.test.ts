// shaders/mix.wgsl on TensorFlow.js's own GPUDevice (headless Chromium, WebGPU on SwiftShader),
// compared with the TypeScript reference.
import * as tf from '@tensorflow/tfjs';
import { selfTestReportSchema } from '@tabswarm/protocol';
import { describe, expect, it } from 'vitest';
import { compareBits } from '../any/compare.ts';
import { compareMix } from '../any/mix-compare.ts';
import { planMix } from '../any/mix-plan.ts';
import { mixReference } from '../any/mix-reference.ts';
import { mulberry32 as createRng, randomVector } from '@tabswarm/core';
import { gpuDevice, onWebGPU } from './browser-setup.ts';
import { withGpu, type GpuFixture } from './gpu-test-fixture.ts';
import { mixBuffers, type MixBufferOptions } from './mix-kernel.ts';
import { mixTensors } from './mix-tensors.ts';
import { passingMixSelfTest } from '../any/kernel-test-helpers.ts';
import { runMixSelfTest } from './self-test.ts';

/** Index of the first element that differs bit for bit, or -1 (toEqual on a million floats takes seconds). */
const firstDifference = (a: Float32Array, b: Float32Array) => compareBits(a, b).worstIndex;

/** Weights of both signs, one of them surely negative, not summing to 1. */
function randomWeights(rng: () => number, k: number): number[] {
  const w = Array.from({ length: k }, () => (rng() * 2 - 1) * 1.5);
  w[k - 1] = -Math.abs(w[k - 1] as number) - 0.1;
  return w;
}

interface Case {
  readonly length: number;
  readonly k: number;
  readonly seed: number;
  /** Index of the input that is also the output, or null for a separate output buffer. */
  readonly outIs?: number | null;
  /** Inputs given by index into the generated vectors (repeats allowed); default 0..k-1. */
  readonly slots?: readonly number[];
  readonly options?: MixBufferOptions;
}

/** Runs one mix through mixBuffers and through the reference and compares them. */
async function expectMixMatches(gpu: GpuFixture, c: Case): Promise<void> {
  const rng = createRng(c.seed);
  const vectors = Array.from({ length: c.k }, () => randomVector(rng, c.length, 4));
  const slots = c.slots ?? vectors.map((_, i) => i);
  const weights = randomWeights(rng, slots.length);
  const inputs = slots.map((i) => vectors[i] as Float32Array);
  const expected = mixReference(inputs, weights);

  const buffers = vectors.map((v) => gpu.upload(v));
  const out = c.outIs == null ? gpu.buffer(c.length * 4) : (buffers[c.outIs] as GPUBuffer);
  mixBuffers(
    gpu.device,
    slots.map((i) => buffers[i] as GPUBuffer),
    weights,
    out,
    c.length,
    c.options,
  );
  const actual = await gpu.read(out, c.length);
  const cmp = compareMix(actual, expected, inputs, weights);
  expect(cmp.message, JSON.stringify({ ...c, weights })).toBeNull();
  // Inputs other than the output are untouched.
  for (const [i, v] of vectors.entries()) {
    if (buffers[i] !== out) {
      expect(firstDifference(await gpu.read(buffers[i] as GPUBuffer, c.length), v), `input ${i}`).toBe(-1);
    }
  }
}

describe.skipIf(!onWebGPU)('mix.wgsl on WebGPU', () => {
  it('matches the reference for lengths 1, 255, 257, 1,000,003 and K = 1, 3, 8', async () => {
    let seed = 100;
    for (const length of [1, 255, 257, 1_000_003]) {
      for (const k of [1, 3, 8]) {
        await withGpu(gpuDevice, (gpu) => expectMixMatches(gpu, { length, k, seed: seed++ }));
      }
    }
  });

  it('mixes in place into x0, and through a temporary when out is a later input', async () => {
    await withGpu(gpuDevice, async (gpu) => {
      await expectMixMatches(gpu, { length: 1001, k: 3, seed: 1, outIs: 0 });
      await expectMixMatches(gpu, { length: 1001, k: 8, seed: 2, outIs: 5 });
      // The same buffer as x0, x2 and out; and one buffer repeated among read-only inputs.
      await expectMixMatches(gpu, { length: 1001, k: 2, seed: 3, slots: [0, 1, 0], outIs: 0 });
      await expectMixMatches(gpu, { length: 1001, k: 2, seed: 4, slots: [1, 0, 0, 1] });
    });
  });

  it('chunks at aligned binding offsets when a binding cannot hold the vector', async () => {
    const options = { maxBindingBytes: 1024 };
    const chunks = planMix(10_007, {
      maxBindingBytes: options.maxBindingBytes,
      offsetAlignmentBytes: gpuDevice.limits.minStorageBufferOffsetAlignment,
      maxWorkgroupsPerDimension: gpuDevice.limits.maxComputeWorkgroupsPerDimension,
      workgroupSize: 256,
    });
    expect(chunks.length).toBeGreaterThan(30);
    await withGpu(gpuDevice, async (gpu) => {
      await expectMixMatches(gpu, { length: 10_007, k: 3, seed: 5, options });
      await expectMixMatches(gpu, { length: 10_007, k: 8, seed: 6, options, outIs: 0 });
      await expectMixMatches(gpu, { length: 10_007, k: 4, seed: 7, options, outIs: 2 });
    });
  });

  it('covers long vectors with a 2-D grid and with several dispatches per chunk', async () => {
    const limits = {
      maxBindingBytes: gpuDevice.limits.maxStorageBufferBindingSize,
      offsetAlignmentBytes: gpuDevice.limits.minStorageBufferOffsetAlignment,
      workgroupSize: 64,
    };
    const twoD = { maxWorkgroupsPerDimension: 64, workgroupSize: 64 };
    expect(planMix(100_003, { ...limits, ...twoD })[0]?.dispatches).toEqual([
      { base: 0, count: 100_003, x: 63, y: 25 },
    ]);
    // 4 × 4 workgroups of 64 per dispatch: 98 dispatches, more than one batch of uniform slots.
    const tiny = { maxWorkgroupsPerDimension: 4, workgroupSize: 64 };
    expect(planMix(100_003, { ...limits, ...tiny })[0]?.dispatches).toHaveLength(98);
    await withGpu(gpuDevice, async (gpu) => {
      await expectMixMatches(gpu, { length: 100_003, k: 3, seed: 8, options: twoD });
      await expectMixMatches(gpu, { length: 100_003, k: 3, seed: 9, options: tiny, outIs: 0 });
      await expectMixMatches(gpu, {
        length: 5_003,
        k: 5,
        seed: 10,
        options: { ...tiny, maxBindingBytes: 4096 },
      });
    });
  });

  it('honours the workgroup size override', async () => {
    await withGpu(gpuDevice, async (gpu) => {
      for (const workgroupSize of [1, 64, 128]) {
        await expectMixMatches(gpu, { length: 1025, k: 3, seed: 11, options: { workgroupSize } });
      }
    });
  });

  it('rejects bad arguments before touching the GPU', async () => {
    await withGpu(gpuDevice, (gpu) => {
      const x = gpu.buffer(64);
      const small = gpu.buffer(16);
      const noCopy = gpu.buffer(64, GPUBufferUsage.STORAGE);
      expect(() =>
        mixBuffers(gpuDevice, Array<GPUBuffer>(9).fill(x), Array<number>(9).fill(0), x, 16),
      ).toThrow(/1 to 8 input vectors/);
      expect(() => mixBuffers(gpuDevice, [x, small], [1, 1], x, 16)).toThrow(/input 1 has 16 bytes/);
      expect(() => mixBuffers(gpuDevice, [x], [1], noCopy, 16)).toThrow(/COPY_DST/);
      expect(() => mixBuffers(gpuDevice, [x], [1], x, 16, { workgroupSize: 100_000 })).toThrow(
        /workgroup size/,
      );
      expect(() => mixBuffers(gpuDevice, [x], [1], x, 16, { maxBindingBytes: 8 })).toThrow(
        /offset alignment/,
      );
      expect(() => mixBuffers(gpuDevice, [x], [Number.POSITIVE_INFINITY], x, 16)).toThrow(/not finite/);
    });
  });

  describe('mixTensors', () => {
    it('matches the reference, leaves its inputs alone and sees pending tfjs work', async () => {
      await withGpu(gpuDevice, async () => {
        const rng = createRng(13);
        for (const length of [1, 999, 65_537]) {
          const arrays = Array.from({ length: 3 }, () => randomVector(rng, length));
          const weights = randomWeights(rng, 3);
          const inputs = arrays.map((a) => tf.tensor1d(a));
          const out = mixTensors(inputs, weights);
          expect(out.shape).toEqual([length]);
          expect(out.dtype).toBe('float32');
          const cmp = compareMix(await out.data(), mixReference(arrays, weights), arrays, weights);
          expect(cmp.message, `length ${length}`).toBeNull();
          for (const [k, t] of inputs.entries()) {
            expect(firstDifference(await t.data<'float32'>(), arrays[k] as Float32Array), `input ${k}`).toBe(
              -1,
            );
          }
          tf.dispose([out, ...inputs]);
        }
        // A 1-D view of a matrix: tfjs keeps the matrix's shape with the data.
        const matrix = tf.tensor2d(randomVector(rng, 6 * 7), [6, 7]);
        const flat = tf.reshape<tf.Rank.R1>(matrix, [-1]);
        const mixed = mixTensors([flat, flat], [0.5, 0.5]);
        expect(mixed.shape).toEqual([42]);
        expect(firstDifference(await mixed.data<'float32'>(), await flat.data<'float32'>())).toBe(-1);
        tf.dispose([matrix, flat, mixed]);
        // An input that tfjs has computed but not yet submitted.
        const a = tf.tensor1d(randomVector(rng, 4096));
        const doubled = tf.mul<tf.Tensor1D>(a, 2);
        const out = mixTensors([doubled, a], [0.5, -1]);
        const values = await out.data();
        expect(Math.max(...Array.from(values, Math.abs))).toBe(0);
        tf.dispose([a, doubled, out]);
      });
    });

    it('leaks neither tensors nor GPU memory over 200 calls', async () => {
      const rng = createRng(14);
      const inputs = Array.from({ length: 3 }, () => tf.tensor1d(randomVector(rng, 4099)));
      const weights = [0.25, 0.5, 0.25];
      // Warm up: the first call creates the pipeline and fills tfjs's buffer pool.
      mixTensors(inputs, weights).dispose();
      await withGpu(gpuDevice, async () => {
        const tensors = tf.memory().numTensors;
        const bytes = (tf.memory() as { numBytesInGPU?: number }).numBytesInGPU;
        for (let i = 0; i < 200; i++) mixTensors(inputs, weights).dispose();
        const last = mixTensors(inputs, weights);
        await last.data();
        last.dispose();
        expect(tf.memory().numTensors).toBe(tensors);
        expect((tf.memory() as { numBytesInGPU?: number }).numBytesInGPU).toBe(bytes);
      });
      tf.dispose(inputs);
    });
  });

  it('runMixSelfTest passes on the WebGPU path', async () => {
    const report = await runMixSelfTest();
    expect(selfTestReportSchema.parse(report)).toEqual(report);
    expect(report).toMatchObject(passingMixSelfTest('webgpu', 65_537));
    expect(report.maxAbsError).toBeLessThan(1e-5);
  });
});
