/**
 * The gradient and parameter codecs on TensorFlow.js tensors: fp16 packing, int8 block
 * quantisation and top-k sparsification with error feedback, and their decoders. Packed outputs
 * are int32 tensors holding the raw 32-bit words. On tfjs's WebGPU device the WGSL kernels run on
 * tfjs's buffers; elsewhere the TypeScript references, behind the same calls. Inputs are never
 * changed: an updated residual comes back as a new tensor.
 */
import * as tf from '@tensorflow/tfjs';
import { fp16PackReference, fp16UnpackReference, fp16Words } from '../any/fp16-reference.ts';
import {
  checkBlockSize,
  INT8_DEFAULT_BLOCK_SIZE,
  int8Blocks,
  int8DequantizeReference,
  int8QuantizeReference,
  int8Words,
} from '../any/int8-reference.ts';
import { checkTopK, topKScatterAddReference, topKSparsifyReference } from '../any/topk-reference.ts';
import { fp16PackBuffers, fp16UnpackBuffers } from './fp16-kernels.ts';
import { int8DequantizeBuffers, int8QuantizeBuffers, type Int8Options } from './int8-kernels.ts';
import {
  checkVectors,
  floatVector,
  floatsOf,
  onGpuOrReference,
  wordVector,
  wordsOf,
  type GpuCall,
} from './tensor-interop.ts';
import { topKDecodeBuffers, topKScatterAddBuffers, topKSparsifyBuffers } from './topk-kernels.ts';

/** ceil(n / 2) int32 words of IEEE halves (element 2w in the low 16 bits). */
export function fp16PackTensor(x: tf.Tensor1D): tf.Tensor1D {
  const n = checkVectors({ x });
  return onGpuOrReference(
    n,
    () => wordVector(fp16PackReference(floatsOf(x))),
    (gpu) => {
      const packed = gpu.output([fp16Words(n)], 'int32');
      fp16PackBuffers(gpu.device, gpu.input(x, 'x'), packed.buffer, n);
      return packed.tensor;
    },
  );
}

/** The `length` floats packed by fp16PackTensor. */
export function fp16UnpackTensor(packed: tf.Tensor1D, length: number): tf.Tensor1D {
  checkVectors({ packed }, 'int32', fp16Words(length));
  return onGpuOrReference(
    length,
    () => floatVector(fp16UnpackReference(wordsOf(packed), length)),
    (gpu) => {
      const out = gpu.output([length]);
      fp16UnpackBuffers(gpu.device, gpu.input(packed, 'packed'), out.buffer, length);
      return out.tensor;
    },
  );
}

/** A GPU copy of the residual, which the kernel updates in place, or null without one. */
const residualCopy = (gpu: GpuCall, residual: tf.Tensor1D | null) =>
  residual === null ? null : gpu.copyOf(residual, 'residual');

export interface Int8Encoded {
  /** ceil(n / 4) int32 words, four int8 per word (element 4w + j in byte j). */
  readonly packed: tf.Tensor1D;
  /** ceil(n / blockSize) float32 scales. */
  readonly scales: tf.Tensor1D;
  /** The new residual y − decoded, or null when called without one. */
  readonly residual: tf.Tensor1D | null;
}

/** Quantises y = x + residual (or x) to int8 per block; see shaders/int8-quantize.wgsl. */
export function int8QuantizeTensors(
  x: tf.Tensor1D,
  residual: tf.Tensor1D | null,
  options: Pick<Int8Options, 'blockSize'> = {},
): Int8Encoded {
  const blockSize = options.blockSize ?? INT8_DEFAULT_BLOCK_SIZE;
  checkBlockSize(blockSize);
  const n = checkVectors(residual === null ? { x } : { x, residual });
  const reference = () => {
    const r = residual === null ? null : floatsOf(residual);
    const { packed, scales } = int8QuantizeReference(floatsOf(x), r, blockSize);
    return {
      packed: wordVector(packed),
      scales: floatVector(scales),
      residual: r === null ? null : floatVector(r),
    };
  };
  return onGpuOrReference(n, reference, (gpu) => {
    const packed = gpu.output([int8Words(n)], 'int32');
    const scales = gpu.output([int8Blocks(n, blockSize)]);
    const r = residualCopy(gpu, residual);
    const buffers = {
      x: gpu.input(x, 'x'),
      residual: r?.buffer ?? null,
      packed: packed.buffer,
      scales: scales.buffer,
    };
    int8QuantizeBuffers(gpu.device, buffers, n, { blockSize });
    return { packed: packed.tensor, scales: scales.tensor, residual: r?.tensor ?? null };
  });
}

/** The `length` floats q · scale encoded by int8QuantizeTensors (same blockSize). */
export function int8DequantizeTensor(
  packed: tf.Tensor1D,
  scales: tf.Tensor1D,
  length: number,
  options: Pick<Int8Options, 'blockSize'> = {},
): tf.Tensor1D {
  const blockSize = options.blockSize ?? INT8_DEFAULT_BLOCK_SIZE;
  checkBlockSize(blockSize);
  checkVectors({ packed }, 'int32', int8Words(length));
  checkVectors({ scales }, 'float32', int8Blocks(length, blockSize));
  return onGpuOrReference(
    length,
    () => floatVector(int8DequantizeReference(wordsOf(packed), floatsOf(scales), length, blockSize)),
    (gpu) => {
      const out = gpu.output([length]);
      const buffers = {
        packed: gpu.input(packed, 'packed'),
        scales: gpu.input(scales, 'scales'),
        out: out.buffer,
      };
      int8DequantizeBuffers(gpu.device, buffers, length, { blockSize });
      return out.tensor;
    },
  );
}

export interface TopKEncoded {
  /** k int32 indices in increasing order; unused slots hold -1. */
  readonly indices: tf.Tensor1D;
  /** k float32 values; unused slots hold 0. */
  readonly values: tf.Tensor1D;
  /** The number of pairs (int32 scalar): min(k, number of finite non-zero values). */
  readonly count: tf.Scalar;
  /** The new residual (selected entries zeroed), or null when called without one. */
  readonly residual: tf.Tensor1D | null;
}

/** The top k of y = x + residual (or x) by magnitude; see topk-kernels.ts. */
export function topKSparsifyTensors(x: tf.Tensor1D, residual: tf.Tensor1D | null, k: number): TopKEncoded {
  const n = checkVectors(residual === null ? { x } : { x, residual });
  checkTopK(k, n);
  const reference = () => {
    const r = residual === null ? null : floatsOf(residual);
    const pairs = topKSparsifyReference(floatsOf(x), r, k);
    return {
      indices: wordVector(pairs.indices),
      values: floatVector(pairs.values),
      count: tf.scalar(pairs.count, 'int32'),
      residual: r === null ? null : floatVector(r),
    };
  };
  return onGpuOrReference(k === 0 ? 0 : n, reference, (gpu) => {
    const indices = gpu.output([k], 'int32');
    const values = gpu.output([k]);
    const count = gpu.output<tf.Scalar>([], 'int32');
    const r = residualCopy(gpu, residual);
    topKSparsifyBuffers(
      gpu.device,
      {
        x: gpu.input(x, 'x'),
        residual: r?.buffer ?? null,
        indices: indices.buffer,
        values: values.buffer,
        count: { buffer: count.buffer },
      },
      n,
      k,
    );
    return {
      indices: indices.tensor,
      values: values.tensor,
      count: count.tensor,
      residual: r?.tensor ?? null,
    };
  });
}

/** A new tensor target + alpha · scatter(indices, values); indices -1 are skipped. */
export function topKScatterAddTensor(
  target: tf.Tensor1D,
  indices: tf.Tensor1D,
  values: tf.Tensor1D,
  alpha = 1,
): tf.Tensor1D {
  const n = checkVectors({ target });
  const pairs = checkVectors({ indices }, 'int32');
  checkVectors({ values }, 'float32', pairs);
  const reference = () => {
    const out = floatsOf(target);
    topKScatterAddReference(out, wordsOf(indices), floatsOf(values), alpha);
    return floatVector(out);
  };
  return onGpuOrReference(n, reference, (gpu) => {
    const out = gpu.copyOf(target, 'target');
    const buffers = {
      indices: gpu.input(indices, 'indices'),
      values: gpu.input(values, 'values'),
      out: out.buffer,
    };
    topKScatterAddBuffers(gpu.device, buffers, pairs, n, { alpha });
    return out.tensor;
  });
}

/** The dense vector of `length` floats that the pairs describe (zeros elsewhere). */
export function topKDecodeTensor(indices: tf.Tensor1D, values: tf.Tensor1D, length: number): tf.Tensor1D {
  const pairs = checkVectors({ indices }, 'int32');
  checkVectors({ values }, 'float32', pairs);
  return onGpuOrReference(
    pairs === 0 ? 0 : length,
    () => floatVector(topKScatterAddReference(new Float32Array(length), wordsOf(indices), floatsOf(values))),
    (gpu) => {
      const out = gpu.output([length]);
      const buffers = {
        indices: gpu.input(indices, 'indices'),
        values: gpu.input(values, 'values'),
        out: out.buffer,
      };
      topKDecodeBuffers(gpu.device, buffers, pairs, length);
      return out.tensor;
    },
  );
}
