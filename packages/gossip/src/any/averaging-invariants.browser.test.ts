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
/** Pair references updated by a decode (fp16, int8) with `into`: the add must be a mix dispatch too. */
let updates = 0;
let updatesOffGpu = 0;
/** Runs `call`, counting it as off the GPU when it dispatched no mix kernel (see above). */
function watchMix<T>(call: () => T, offGpu: () => void): T {
  const mixBefore = dispatches()['mix'] ?? 0;
  const done = call();
  if ((dispatches()['mix'] ?? 0) === mixBefore) offGpu();
  return done;
}
const { fp16Unpack, int8Dequantize } = tensorKernels;
if (fp16Unpack === undefined || int8Dequantize === undefined)
  throw new Error('the WGSL kernels lack a codec');
const counted: GossipKernels = {
  ...tensorKernels,
  averagingStep: (step) => {
    steps++;
    return watchMix(
      () => tensorKernels.averagingStep(step),
      () => stepsOffGpu++,
    );
  },
  fp16Unpack: (packed, length, into) => {
    if (into === undefined) return fp16Unpack(packed, length);
    updates++;
    return watchMix(
      () => fp16Unpack(packed, length, into),
      () => updatesOffGpu++,
    );
  },
  int8Dequantize: (packed, scales, length, blockSize, into) => {
    if (into === undefined) return int8Dequantize(packed, scales, length, blockSize);
    updates++;
    return watchMix(
      () => int8Dequantize(packed, scales, length, blockSize, into),
      () => updatesOffGpu++,
    );
  },
};

let before = total(dispatches());
if (onWebGPU)
  averagingInvariants('the WGSL kernels (WebGPU)', counted, () => {
    const [previous, now] = [before, total(dispatches())];
    before = now;
    // The checks on receipt ran on the GPU in every test…
    expect(now).toBeGreaterThan(previous);
    // …and every averaging step did, and every update of a pair reference.
    const offGpu = [stepsOffGpu, updatesOffGpu];
    [stepsOffGpu, updatesOffGpu] = [0, 0];
    expect(offGpu).toEqual([0, 0]);
  });

// Every commit above went through the kernels' averaging step (4 × 6 steps per mean test, about
// 2 × 100 per error-feedback test): the averager does no averaging arithmetic of its own.
test('the averaging steps above ran through the kernels', () => {
  if (!onWebGPU) return;
  expect(steps).toBeGreaterThan(400);
  // fp16 and int8 exchanges update both pair references through the decode kernels.
  expect(updates).toBeGreaterThan(400);
});
