// shaders/sgd-momentum.wgsl and shaders/adam.wgsl on tfjs's GPUDevice against the references,
// and against tfjs's own optimizers on the same backend.
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { atEveryTestSize, gpuDevice, onWebGPU } from './browser-setup.ts';
import { compareWithin } from '../any/compare.ts';
import { withGpu, type GpuFixture } from './gpu-test-fixture.ts';
import {
  EDGE_VALUES,
  adamTolerance,
  sgdMomentumTolerance,
  sprinkle,
  vectors,
} from '../any/kernel-test-helpers.ts';
import type { KernelOptions } from './device-plan.ts';
import { adamBuffers, sgdMomentumBuffers } from './optimizer-kernels.ts';
import {
  adamReference,
  sgdMomentumReference,
  type AdamConfig,
  type SgdMomentumConfig,
} from '../any/optimizer-reference.ts';
import { adamTensors, sgdMomentumTensors } from './optimizer-tensors.ts';

async function expectSgdMatches(
  gpu: GpuFixture,
  [param, grad, accumulation]: Float32Array[],
  config: SgdMomentumConfig,
  options: KernelOptions = {},
): Promise<void> {
  const p = param as Float32Array;
  const g = grad as Float32Array;
  const a = accumulation as Float32Array;
  const tol = sgdMomentumTolerance({ param: p, grad: g, accumulation: a }, config);
  const buffers = { param: gpu.upload(p), grad: gpu.upload(g), accumulation: gpu.upload(a) };
  const [expectedParam, expectedAcc] = [p.slice(), a.slice()];
  sgdMomentumReference(expectedParam, g, expectedAcc, config);
  sgdMomentumBuffers(gpu.device, buffers, p.length, config, options);
  const label = JSON.stringify({ n: p.length, ...config, ...options });
  expect(
    compareWithin(await gpu.read(buffers.param, p.length), expectedParam, tol.param).message,
    label,
  ).toBeNull();
  expect(
    compareWithin(await gpu.read(buffers.accumulation, p.length), expectedAcc, tol.accumulation).message,
    label,
  ).toBeNull();
}

async function expectAdamMatches(
  gpu: GpuFixture,
  [param, grad, m, v]: Float32Array[],
  config: AdamConfig,
  step: number,
  options: KernelOptions = {},
): Promise<void> {
  const [p, g, m0, v0] = [param, grad, m, v] as [Float32Array, Float32Array, Float32Array, Float32Array];
  const tol = adamTolerance({ param: p, grad: g, m: m0, v: v0 }, config, step);
  const buffers = { param: gpu.upload(p), grad: gpu.upload(g), m: gpu.upload(m0), v: gpu.upload(v0) };
  const [ep, em, ev] = [p.slice(), m0.slice(), v0.slice()];
  adamReference(ep, g, em, ev, config, step);
  adamBuffers(gpu.device, buffers, p.length, config, step, options);
  const label = JSON.stringify({ n: p.length, step, ...config, ...options });
  expect(compareWithin(await gpu.read(buffers.m, p.length), em, tol.m).message, label).toBeNull();
  expect(compareWithin(await gpu.read(buffers.v, p.length), ev, tol.v).message, label).toBeNull();
  expect(compareWithin(await gpu.read(buffers.param, p.length), ep, tol.param).message, label).toBeNull();
}

/** Adam state after a few steps: m of both signs, v ≥ 0. */
function adamInputs(seed: number, n: number): Float32Array[] {
  const [p, g, m, v] = vectors(seed, 4, n) as [Float32Array, Float32Array, Float32Array, Float32Array];
  for (let i = 0; i < n; i++) {
    m[i] = (m[i] as number) * 0.1;
    v[i] = Math.fround(((v[i] as number) * 0.1) ** 2);
  }
  return [p, g, m, v];
}

describe.skipIf(!onWebGPU)('optimizer steps on WebGPU', () => {
  it('SGD with momentum (classic and Nesterov) matches the reference at every test size', async () => {
    await atEveryTestSize(1, async (gpu, n, seed) => {
      const config = { learningRate: 0.05, momentum: 0.9, useNesterov: n % 2 === 1 };
      await expectSgdMatches(gpu, vectors(seed, 3, n), config);
    });
  });

  it('Adam and AdamW match the reference at every test size', async () => {
    await atEveryTestSize(10, async (gpu, n, seed) => {
      const step = (seed % 5) + 1;
      const weightDecay = n % 2 === 1 ? 0.01 : 0;
      await expectAdamMatches(gpu, adamInputs(seed, n), { learningRate: 0.01, weightDecay }, step);
    });
  });

  it('propagates NaN and ±Inf and keeps zeros, extremes and subnormals like the reference', async () => {
    await withGpu(gpuDevice, async (gpu) => {
      const n = 4099;
      for (const [k, which] of [0, 1, 2].entries()) {
        const inputs = vectors(20 + k, 3, n);
        sprinkle(inputs[which] as Float32Array, EDGE_VALUES, 5, k);
        await expectSgdMatches(gpu, inputs, { learningRate: 0.1, momentum: 0.5, useNesterov: k === 1 });
      }
      for (const [k, which] of [0, 1, 2, 3].entries()) {
        const inputs = adamInputs(30 + k, n);
        // v must stay ≥ 0 (it is a sum of squares): give it the non-negative edge values only.
        const values = which === 3 ? EDGE_VALUES.filter((v) => !(v < 0)) : EDGE_VALUES;
        sprinkle(inputs[which] as Float32Array, values, 5, k);
        await expectAdamMatches(gpu, inputs, { learningRate: 0.001, weightDecay: k * 0.1 }, k + 1);
      }
    });
  });

  it('chunks at aligned offsets and spreads dispatches over 2-D grids', async () => {
    await withGpu(gpuDevice, async (gpu) => {
      const chunked = { maxBindingBytes: 1024 };
      const grid = { maxWorkgroupsPerDimension: 4, workgroupSize: 64 };
      await expectSgdMatches(gpu, vectors(40, 3, 10_007), { learningRate: 0.1, momentum: 0.9 }, chunked);
      await expectSgdMatches(gpu, vectors(41, 3, 100_003), { learningRate: 0.1, momentum: 0.9 }, grid);
      await expectAdamMatches(gpu, adamInputs(42, 10_007), {}, 3, chunked);
      await expectAdamMatches(gpu, adamInputs(43, 100_003), { weightDecay: 0.05 }, 7, {
        ...grid,
        maxBindingBytes: 8192,
      });
    });
  });

  it('rejects bad arguments before touching the GPU', async () => {
    await withGpu(gpuDevice, (gpu) => {
      const a = gpu.buffer(64);
      const b = gpu.buffer(64);
      const c = gpu.buffer(64);
      const d = gpu.buffer(64);
      const sgd = { learningRate: 0.1, momentum: 0.9 };
      expect(() => sgdMomentumBuffers(gpuDevice, { param: a, grad: b, accumulation: a }, 16, sgd)).toThrow(
        /param and accumulation must be different/,
      );
      expect(() => sgdMomentumBuffers(gpuDevice, { param: a, grad: b, accumulation: c }, 17, sgd)).toThrow(
        /64 bytes, needs 68/,
      );
      expect(() =>
        sgdMomentumBuffers(gpuDevice, { param: a, grad: b, accumulation: c }, 16, {
          ...sgd,
          learningRate: NaN,
        }),
      ).toThrow(/learningRate must be finite/);
      expect(() => adamBuffers(gpuDevice, { param: a, grad: b, m: c, v: d }, 16, { beta1: 1 }, 1)).toThrow(
        /beta1 must be in \[0, 1\)/,
      );
      expect(() => adamBuffers(gpuDevice, { param: a, grad: b, m: c, v: d }, 16, {}, 0)).toThrow(
        /step must be/,
      );
    });
  });

  describe('against tfjs optimizers on the same backend', () => {
    const n = 2053;

    /** Runs `steps` tfjs optimizer steps on a variable; returns its values after each. */
    async function tfjsSteps(optimizer: tf.Optimizer, p0: Float32Array, grads: Float32Array[]) {
      const variable = tf.variable(tf.tensor1d(p0), true, `p${Math.random()}`);
      const after: Float32Array[] = [];
      for (const g of grads) {
        const grad = tf.tensor1d(g);
        optimizer.applyGradients({ [variable.name]: grad });
        grad.dispose();
        after.push(await variable.data<'float32'>());
      }
      variable.dispose();
      optimizer.dispose();
      return after;
    }

    it('momentum and Nesterov momentum follow tf.train.momentum', async () => {
      for (const useNesterov of [false, true]) {
        const [p0, ...grads] = vectors(50, 4, n) as [Float32Array, ...Float32Array[]];
        const config = { learningRate: 0.1, momentum: 0.9, useNesterov };
        const expected = await tfjsSteps(tf.train.momentum(0.1, 0.9, useNesterov), p0, grads);
        let param = tf.tensor1d(p0);
        let accumulation = tf.zeros<tf.Rank.R1>([n]);
        for (const [s, g] of grads.entries()) {
          const grad = tf.tensor1d(g);
          const next = sgdMomentumTensors({ param, grad, accumulation }, config);
          tf.dispose([param, grad, accumulation]);
          ({ param, accumulation } = next);
          const actual = await param.data<'float32'>();
          const want = expected[s] as Float32Array;
          expect(
            compareWithin(actual, want, (i) => 1e-6 * (1 + Math.abs(want[i] as number))).message,
          ).toBeNull();
        }
        tf.dispose([param, accumulation]);
      }
    });

    it('Adam follows tf.train.adam, epsilon and bias correction included', async () => {
      const [p0, ...grads] = vectors(51, 6, n) as [Float32Array, ...Float32Array[]];
      const config = { learningRate: 0.01, beta1: 0.8, beta2: 0.95 };
      const expected = await tfjsSteps(tf.train.adam(0.01, 0.8, 0.95), p0, grads);
      let param = tf.tensor1d(p0);
      let m = tf.zeros<tf.Rank.R1>([n]);
      let v = tf.zeros<tf.Rank.R1>([n]);
      for (const [s, g] of grads.entries()) {
        const grad = tf.tensor1d(g);
        const next = adamTensors({ param, grad, m, v }, config, s + 1);
        tf.dispose([param, grad, m, v]);
        ({ param, m, v } = next);
        const actual = await param.data<'float32'>();
        const want = expected[s] as Float32Array;
        // Each step moves p by about lr; tfjs and we may differ by a few ulp of that per step.
        expect(
          compareWithin(actual, want, (i) => 1e-6 * Math.abs(want[i] as number) + 1e-7).message,
        ).toBeNull();
      }
      tf.dispose([param, m, v]);
    });
  });
});
