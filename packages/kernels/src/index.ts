/** Public API of @tabswarm/kernels: our WGSL kernels on tfjs's GPUDevice, and their references. */
import {
  fp16PackTensor,
  fp16UnpackTensor,
  int8DequantizeTensor,
  int8QuantizeTensors,
  topKDecodeTensor,
  topKScatterAddTensor,
  topKSparsifyTensors,
} from './webgpu/compression-tensors.ts';
import { fp16PackBuffers, fp16UnpackBuffers } from './webgpu/fp16-kernels.ts';
import { fp16PackReference, fp16UnpackReference } from './any/fp16-reference.ts';
import { int8DequantizeBuffers, int8QuantizeBuffers } from './webgpu/int8-kernels.ts';
import { int8DequantizeReference, int8QuantizeReference } from './any/int8-reference.ts';
import { mixBuffers } from './webgpu/mix-kernel.ts';
import { mixReference } from './any/mix-reference.ts';
import { mixTensors } from './webgpu/mix-tensors.ts';
import { adamBuffers, sgdMomentumBuffers } from './webgpu/optimizer-kernels.ts';
import { adamReference, sgdMomentumReference } from './any/optimizer-reference.ts';
import { adamTensors, sgdMomentumTensors } from './webgpu/optimizer-tensors.ts';
import {
  clipByNormBuffer,
  countNonFiniteBuffer,
  dotBuffers,
  l2NormBuffer,
  relativeDistanceBuffers,
} from './webgpu/reduce-kernels.ts';
import {
  clipByNormReference,
  countNonFiniteReference,
  dotReference,
  l2NormReference,
  relativeDistanceReference,
} from './any/reduce-reference.ts';
import {
  clipByNormTensor,
  countNonFiniteTensor,
  dotTensor,
  l2NormTensor,
  relativeDistanceTensor,
} from './webgpu/reduce-tensors.ts';
import { runMixSelfTest } from './webgpu/self-test.ts';
import { topKDecodeBuffers, topKScatterAddBuffers, topKSparsifyBuffers } from './webgpu/topk-kernels.ts';
import { topKScatterAddReference, topKSparsifyReference } from './any/topk-reference.ts';

export { setKernelDebug, isKernelDebug } from './any/debug.ts';
export { getTfjsDevice, getTfjsWebGPUBackend, flushTfjsCommands } from './webgpu/gpu-device.ts';
export {
  kernelBufferPoolStats,
  isCpuEmulated,
  type BufferPoolStats,
  type KernelOptions,
  type ResultTarget,
} from './webgpu/kernel-runtime.ts';
export { planChunks, type Chunk, type ChunkLimits, type Dispatch } from './any/plan.ts';
export { compareWithin, compareBits, F32_MIN_NORMAL, type Comparison } from './any/compare.ts';

// mix
export { MIX_MAX_INPUTS, mixReference } from './any/mix-reference.ts';
export {
  MIX_RELATIVE_TOLERANCE,
  MIX_ABSOLUTE_TOLERANCE,
  compareMix,
  type MixComparison,
} from './any/mix-compare.ts';
export { planMix, type MixChunk, type MixDispatch, type MixLimits } from './any/mix-plan.ts';
export { mixBuffers, type MixBufferOptions } from './webgpu/mix-kernel.ts';
export { mixTensors } from './webgpu/mix-tensors.ts';
export { runMixSelfTest, MIX_SELF_TEST_DEFAULT_ELEMENTS, type MixSelfTestOptions } from './webgpu/self-test.ts';

// optimizer steps
export {
  OPTIMIZER_RELATIVE_TOLERANCE,
  adamParams,
  adamReference,
  sgdMomentumParams,
  sgdMomentumReference,
  tfjsBetaPower,
  type AdamConfig,
  type AdamParams,
  type SgdMomentumConfig,
  type SgdMomentumParams,
} from './any/optimizer-reference.ts';
export {
  adamBuffers,
  sgdMomentumBuffers,
  type AdamBuffers,
  type SgdMomentumBuffers,
} from './webgpu/optimizer-kernels.ts';
export {
  adamTensors,
  sgdMomentumTensors,
  type AdamTensors,
  type SgdMomentumTensors,
} from './webgpu/optimizer-tensors.ts';

// reductions, clipping, distance
export {
  CLIP_RELATIVE_TOLERANCE,
  DOT_RELATIVE_TOLERANCE,
  NORM_RELATIVE_TOLERANCE,
  clipByNormReference,
  countNonFiniteReference,
  dotReference,
  l2NormReference,
  relativeDistanceReference,
} from './any/reduce-reference.ts';
export {
  clipByNormBuffer,
  countNonFinite,
  countNonFiniteBuffer,
  dot,
  dotBuffers,
  l2Norm,
  l2NormBuffer,
  relativeDistance,
  relativeDistanceBuffers,
  type ClipByNormOptions,
} from './webgpu/reduce-kernels.ts';
export {
  clipByNormTensor,
  countNonFiniteTensor,
  dotTensor,
  l2NormTensor,
  relativeDistanceTensor,
} from './webgpu/reduce-tensors.ts';

// compression
export {
  f16BitsToF32,
  f32ToF16Bits,
  fp16PackReference,
  fp16UnpackReference,
  fp16Words,
} from './any/fp16-reference.ts';
export { fp16PackBuffers, fp16UnpackBuffers } from './webgpu/fp16-kernels.ts';
export {
  INT8_DEFAULT_BLOCK_SIZE,
  INT8_MAX_BLOCK_SIZE,
  INT8_RELATIVE_TOLERANCE,
  int8Blocks,
  int8DequantizeReference,
  int8QuantizeReference,
  int8Words,
  type Int8Quantized,
} from './any/int8-reference.ts';
export {
  int8DequantizeBuffers,
  int8QuantizeBuffers,
  type Int8DequantizeBuffers,
  type Int8Options,
  type Int8QuantizeBuffers,
} from './webgpu/int8-kernels.ts';
export {
  TOPK_SENTINEL,
  topKScatterAddReference,
  topKSparsifyReference,
  type SparsePairs,
} from './any/topk-reference.ts';
export {
  topKDecodeBuffers,
  topKScatterAddBuffers,
  topKSparsifyBuffers,
  type TopKScatterAddBuffers,
  type TopKScatterOptions,
  type TopKSparsifyBuffers,
} from './webgpu/topk-kernels.ts';
export {
  fp16PackTensor,
  fp16UnpackTensor,
  int8DequantizeTensor,
  int8QuantizeTensors,
  topKDecodeTensor,
  topKScatterAddTensor,
  topKSparsifyTensors,
  type Int8Encoded,
  type TopKEncoded,
} from './webgpu/compression-tensors.ts';

/** Everything about shaders/mix.wgsl in one place, for callers that pick kernels by name. */
export const mixKernel = {
  name: 'mix',
  buffers: mixBuffers,
  tensors: mixTensors,
  reference: mixReference,
  selfTest: runMixSelfTest,
} as const;

/**
 * Every kernel by name: its GPUBuffer entry points, its tensor entry points (which fall back to
 * the reference without WebGPU) and its TypeScript reference.
 */
export const kernels = {
  mix: mixKernel,
  sgdMomentum: {
    name: 'sgd-momentum',
    buffers: sgdMomentumBuffers,
    tensors: sgdMomentumTensors,
    reference: sgdMomentumReference,
  },
  adam: { name: 'adam', buffers: adamBuffers, tensors: adamTensors, reference: adamReference },
  l2Norm: { name: 'l2-norm', buffers: l2NormBuffer, tensors: l2NormTensor, reference: l2NormReference },
  dot: { name: 'dot', buffers: dotBuffers, tensors: dotTensor, reference: dotReference },
  countNonFinite: {
    name: 'count-non-finite',
    buffers: countNonFiniteBuffer,
    tensors: countNonFiniteTensor,
    reference: countNonFiniteReference,
  },
  relativeDistance: {
    name: 'relative-distance',
    buffers: relativeDistanceBuffers,
    tensors: relativeDistanceTensor,
    reference: relativeDistanceReference,
  },
  clipByNorm: {
    name: 'clip-by-norm',
    buffers: clipByNormBuffer,
    tensors: clipByNormTensor,
    reference: clipByNormReference,
  },
  fp16: {
    name: 'fp16',
    buffers: { pack: fp16PackBuffers, unpack: fp16UnpackBuffers },
    tensors: { pack: fp16PackTensor, unpack: fp16UnpackTensor },
    reference: { pack: fp16PackReference, unpack: fp16UnpackReference },
  },
  int8: {
    name: 'int8',
    buffers: { quantize: int8QuantizeBuffers, dequantize: int8DequantizeBuffers },
    tensors: { quantize: int8QuantizeTensors, dequantize: int8DequantizeTensor },
    reference: { quantize: int8QuantizeReference, dequantize: int8DequantizeReference },
  },
  topK: {
    name: 'top-k',
    buffers: { sparsify: topKSparsifyBuffers, scatterAdd: topKScatterAddBuffers, decode: topKDecodeBuffers },
    tensors: { sparsify: topKSparsifyTensors, scatterAdd: topKScatterAddTensor, decode: topKDecodeTensor },
    reference: { sparsify: topKSparsifyReference, scatterAdd: topKScatterAddReference },
  },
} as const;
