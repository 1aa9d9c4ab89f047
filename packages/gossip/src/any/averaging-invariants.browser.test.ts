// The averaging invariants (averaging-invariants.ts) on the WGSL kernels: TensorFlow.js on its
// WebGPU backend in headless Chromium (SwiftShader here), the averaging step as shaders/mix.wgsl
// dispatches, the checks as the reduction kernels, the codecs as theirs. The kernels' own dispatch
// counts show that the GPU did the work: every averaging step dispatched the mix kernel (one that
// fell back to the TypeScript reference dispatches nothing), and each test dispatched kernels.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-webgpu';
import { getTfjsDevice, kernelDispatchCounts } from '@tabswarm/kernels';
import { expect, test } from 'vitest';
import { averagingInvariants } from './averaging-invariants.ts';
import { tensorKernels } from './kernel-library.ts';
import type { GossipKernels } from './kernels.ts';

// As in the kernels' browser tests: VITE_TABSWARM_ALLOW_NO_WEBGPU=1 lets a machine without an adapter skip.
const env = (import.meta as { env?: Record<string, string | undefined> }).env;
const allowNoWebGPU = env?.['VITE_TABSWARM_ALLOW_NO_WEBGPU'] === '1';
// Small tensors would otherwise run on tfjs's CPU path and never touch the GPU.
tf.env().set('WEBGPU_CPU_FORWARD', false);
const adapter = 'gpu' in navigator ? await navigator.gpu.requestAdapter() : null;
const onWebGPU = adapter !== null && (await tf.setBackend('webgpu')) && tf.getBackend() === 'webgpu';
if (!onWebGPU && !allowNoWebGPU) throw new Error('no WebGPU adapter: the WGSL path cannot be tested here');

const dispatches = (): Record<string, number> => {
  const device = getTfjsDevice();
  return device === null ? {} : kernelDispatchCounts(device);
};
const total = (counts: Record<string, number>): number => Object.values(counts).reduce((a, b) => a + b, 0);

/**
 * Averaging steps, and those that dispatched no mix kernel. The GPU step records all its
 * dispatches before its first await (only the read-back is awaited), so the count taken around
 * the call is this step's alone, whatever other nodes of the swarm do meanwhile.
 */
let steps = 0;
let stepsOffGpu = 0;
const counted: GossipKernels = {
  ...tensorKernels,
  averagingStep: (step) => {
    const mixBefore = dispatches()['mix'] ?? 0;
    const done = tensorKernels.averagingStep(step);
    steps++;
    if ((dispatches()['mix'] ?? 0) === mixBefore) stepsOffGpu++;
    return done;
  },
};

let before = total(dispatches());
if (onWebGPU)
  averagingInvariants('the WGSL kernels (WebGPU)', counted, () => {
    const [previous, now] = [before, total(dispatches())];
    before = now;
    // The checks on receipt ran on the GPU in every test…
    expect(now).toBeGreaterThan(previous);
    // …and every averaging step did.
    const offGpu = stepsOffGpu;
    stepsOffGpu = 0;
    expect(offGpu).toBe(0);
  });

// Every commit above went through the kernels' averaging step (4 × 6 steps per mean test, about
// 2 × 100 per error-feedback test): the averager does no averaging arithmetic of its own.
test('the averaging steps above ran through the kernels', () => {
  if (!onWebGPU) return;
  expect(steps).toBeGreaterThan(400);
});
