/**
 * Reductions and clipping on TensorFlow.js tensors: results are tfjs scalars that stay on the GPU
 * (read them with .data() when you need them); without WebGPU, the TypeScript references.
 */
import * as tf from '@tensorflow/tfjs';
import {
  clipByNormBuffer,
  countNonFiniteBuffer,
  dotBuffers,
  l2NormBuffer,
  relativeDistanceBuffers,
} from './reduce-kernels.ts';
import {
  checkMaxNorm,
  clipByNormReference,
  countNonFiniteReference,
  dotReference,
  l2NormReference,
  relativeDistanceReference,
} from '../any/reduce-reference.ts';
import {
  checkVectors,
  copyBuffers,
  floatVector,
  floatsOf,
  newTensor,
  tensorBuffer,
  webgpuBackend,
  withOutputs,
  type WebGPUBackend,
} from './tensor-interop.ts';

/** ‖x‖ as a float32 scalar. */
export function l2NormTensor(x: tf.Tensor1D): tf.Scalar {
  const n = checkVectors({ x });
  return scalarResult(
    n,
    'float32',
    () => l2NormReference(floatsOf(x)),
    (backend, target) => l2NormBuffer(backend.device, tensorBuffer(backend, x, 'x'), n, target),
  );
}

/** Σ a[i]·b[i] as a float32 scalar. */
export function dotTensor(a: tf.Tensor1D, b: tf.Tensor1D): tf.Scalar {
  const n = checkVectors({ a, b });
  return scalarResult(
    n,
    'float32',
    () => dotReference(floatsOf(a), floatsOf(b)),
    (backend, target) =>
      dotBuffers(backend.device, tensorBuffer(backend, a, 'a'), tensorBuffer(backend, b, 'b'), n, target),
  );
}

/** The number of NaN and ±Inf elements as an int32 scalar. */
export function countNonFiniteTensor(x: tf.Tensor1D): tf.Scalar {
  const n = checkVectors({ x });
  return scalarResult(
    n,
    'int32',
    () => countNonFiniteReference(floatsOf(x)),
    (backend, target) => countNonFiniteBuffer(backend.device, tensorBuffer(backend, x, 'x'), n, target),
  );
}

/** ‖a − b‖ / ‖a‖ as a float32 scalar (the consensus distance of b from a). */
export function relativeDistanceTensor(a: tf.Tensor1D, b: tf.Tensor1D): tf.Scalar {
  const n = checkVectors({ a, b });
  return scalarResult(
    n,
    'float32',
    () => relativeDistanceReference(floatsOf(a), floatsOf(b)),
    (backend, target) =>
      relativeDistanceBuffers(
        backend.device,
        tensorBuffer(backend, a, 'a'),
        tensorBuffer(backend, b, 'b'),
        n,
        target,
      ),
  );
}

/** x scaled to norm maxNorm if ‖x‖ > maxNorm (and finite), and ‖x‖ before clipping. */
export function clipByNormTensor(x: tf.Tensor1D, maxNorm: number): { clipped: tf.Tensor1D; norm: tf.Scalar } {
  checkMaxNorm(maxNorm);
  const n = checkVectors({ x });
  const backend = webgpuBackend();
  if (backend === null || n === 0) {
    const values = floatsOf(x);
    const norm = clipByNormReference(values, maxNorm);
    return { clipped: floatVector(values), norm: tf.scalar(norm, 'float32') };
  }
  return withOutputs((keep) => {
    const clipped = keep(newTensor<tf.Tensor1D>(backend, [n], 'float32'));
    const norm = keep(newTensor<tf.Scalar>(backend, [], 'float32'));
    copyBuffers(backend.device, [[tensorBuffer(backend, x, 'x'), clipped.buffer, n * 4]]);
    clipByNormBuffer(backend.device, clipped.buffer, n, maxNorm, { norm: { buffer: norm.buffer } });
    return { clipped: clipped.tensor, norm: norm.tensor };
  });
}

function scalarResult(
  n: number,
  dtype: 'float32' | 'int32',
  reference: () => number,
  run: (backend: WebGPUBackend, target: { buffer: GPUBuffer }) => void,
): tf.Scalar {
  const backend = webgpuBackend();
  if (backend === null || n === 0) return tf.scalar(reference(), dtype);
  return withOutputs((keep) => {
    const out = keep(newTensor<tf.Scalar>(backend, [], dtype));
    run(backend, { buffer: out.buffer });
    return out.tensor;
  });
}
