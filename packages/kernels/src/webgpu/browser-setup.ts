/**
 * Shared start of the kernels' browser tests: tfjs on its WebGPU backend (headless Chromium,
 * SwiftShader here), and whether that worked. Set VITE_TABSWARM_ALLOW_NO_WEBGPU=1 to let GPU
 * tests skip on a machine without an adapter; shaders.browser.test.ts fails otherwise.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-webgpu';
import { TEST_SIZES } from '../any/kernel-test-helpers.ts';
import { getTfjsDevice } from './gpu-device.ts';
import { withGpu, type GpuFixture } from './gpu-test-fixture.ts';

export const allowNoWebGPU = import.meta.env.VITE_TABSWARM_ALLOW_NO_WEBGPU === '1';

// Small tensors would otherwise run on tfjs's CPU path and never touch the GPU.
tf.env().set('WEBGPU_CPU_FORWARD', false);
export const adapter = 'gpu' in navigator ? await navigator.gpu.requestAdapter() : null;

export const onWebGPU = adapter !== null && (await tf.setBackend('webgpu')) && tf.getBackend() === 'webgpu';
export const gpuDevice = getTfjsDevice() as GPUDevice;

/** Runs `body` at each of TEST_SIZES in a GPU fixture of its own, with seeds from `firstSeed` on. */
export async function atEveryTestSize(
  firstSeed: number,
  body: (gpu: GpuFixture, n: number, seed: number) => Promise<void> | void,
): Promise<void> {
  for (const [i, n] of TEST_SIZES.entries()) await withGpu(gpuDevice, (gpu) => body(gpu, n, firstSeed + i));
}
