/**
 * Reductions and clipping on TensorFlow.js tensors: results are tfjs scalars that stay on the GPU
 * (read them with .data() when you need them); without WebGPU, the TypeScript references.
 */
import * as tf from '@tensorflow/tfjs';
import {
  checkMaxNorm,
  clipByNormReference,
  countNonFiniteReference,
  dotReference,
  l2NormReference,
  relativeDistanceReference,
} from '../any/reduce-reference.ts';
import type { ResultTarget } from './argument-checks.ts';
import {
  clipByNormBuffer,
  countNonFiniteBuffer,
  dotBuffers,
  l2NormBuffer,
  relativeDistanceBuffers,
} from './reduce-kernels.ts';
import { checkVectors, floatVector, floatsOf, onGpuOrReference } from './tensor-interop.ts';

type Unary = (x: Float32Array) => number;
type Binary = (a: Float32Array, b: Float32Array) => number;

/** A scalar-valued reduction of one vector: the buffer kernel on the GPU, else the reference. */
function unary(
  reference: Unary,
  kernel: (device: GPUDevice, x: GPUBuffer, length: number, target: ResultTarget) => void,
  dtype: 'float32' | 'int32' = 'float32',
) {
  return (x: tf.Tensor1D): tf.Scalar => {
    const n = checkVectors({ x });
    return onGpuOrReference(
      n,
      () => tf.scalar(reference(floatsOf(x)), dtype),
      (gpu) => {
        const out = gpu.output<tf.Scalar>([], dtype);
        kernel(gpu.device, gpu.input(x, 'x'), n, { buffer: out.buffer });
        return out.tensor;
      },
    );
  };
}

/** The same for a reduction of two vectors of one length. */
function binary(
  reference: Binary,
  kernel: (device: GPUDevice, a: GPUBuffer, b: GPUBuffer, length: number, target: ResultTarget) => void,
) {
  return (a: tf.Tensor1D, b: tf.Tensor1D): tf.Scalar => {
    const n = checkVectors({ a, b });
    return onGpuOrReference(
      n,
      () => tf.scalar(reference(floatsOf(a), floatsOf(b)), 'float32'),
      (gpu) => {
        const out = gpu.output<tf.Scalar>([]);
        kernel(gpu.device, gpu.input(a, 'a'), gpu.input(b, 'b'), n, { buffer: out.buffer });
        return out.tensor;
      },
    );
  };
}

/** ‖x‖ as a float32 scalar. */
export const l2NormTensor = unary(l2NormReference, l2NormBuffer);
/** Σ a[i]·b[i] as a float32 scalar. */
export const dotTensor = binary(dotReference, dotBuffers);
/** The number of NaN and ±Inf elements as an int32 scalar. */
export const countNonFiniteTensor = unary(countNonFiniteReference, countNonFiniteBuffer, 'int32');
/** ‖a − b‖ / ‖a‖ as a float32 scalar (the consensus distance of b from a). */
export const relativeDistanceTensor = binary(relativeDistanceReference, relativeDistanceBuffers);

/** x scaled to norm maxNorm if ‖x‖ > maxNorm (and finite), and ‖x‖ before clipping. */
export function clipByNormTensor(x: tf.Tensor1D, maxNorm: number): { clipped: tf.Tensor1D; norm: tf.Scalar } {
  checkMaxNorm(maxNorm);
  const n = checkVectors({ x });
  const reference = () => {
    const values = floatsOf(x);
    const norm = clipByNormReference(values, maxNorm);
    return { clipped: floatVector(values), norm: tf.scalar(norm, 'float32') };
  };
  return onGpuOrReference(n, reference, (gpu) => {
    const clipped = gpu.copyOf(x, 'x');
    const norm = gpu.output<tf.Scalar>([]);
    clipByNormBuffer(gpu.device, clipped.buffer, n, maxNorm, { norm: { buffer: norm.buffer } });
    return { clipped: clipped.tensor, norm: norm.tensor };
  });
}
