/** Public API of @tabswarm/kernels: our WGSL kernels on tfjs's GPUDevice, and their references. */
import { mixBuffers } from './mix-kernel.ts';
import { mixReference } from './mix-reference.ts';
import { mixTensors } from './mix-tensors.ts';
import { runMixSelfTest } from './self-test.ts';

export { setKernelDebug, isKernelDebug } from './debug.ts';
export { getTfjsDevice, getTfjsWebGPUBackend, flushTfjsCommands } from './gpu-device.ts';
export { MIX_MAX_INPUTS, mixReference } from './mix-reference.ts';
export {
  MIX_RELATIVE_TOLERANCE,
  MIX_ABSOLUTE_TOLERANCE,
  compareMix,
  type MixComparison,
} from './mix-compare.ts';
export { planMix, type MixChunk, type MixDispatch, type MixLimits } from './mix-plan.ts';
export { mixBuffers, type MixBufferOptions } from './mix-kernel.ts';
export { mixTensors } from './mix-tensors.ts';
export { runMixSelfTest, MIX_SELF_TEST_DEFAULT_ELEMENTS, type MixSelfTestOptions } from './self-test.ts';

/** Everything about shaders/mix.wgsl in one place, for callers that pick kernels by name. */
export const mixKernel = {
  name: 'mix',
  buffers: mixBuffers,
  tensors: mixTensors,
  reference: mixReference,
  selfTest: runMixSelfTest,
} as const;
