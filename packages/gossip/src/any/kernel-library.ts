/**
 * GossipKernels backed by the kernel library (@tabswarm/kernels). Imported as
 * `@tabswarm/gossip/kernel-library`, not from the package index, so that pages without
 * TensorFlow.js can use the rest of gossip.
 *
 * - `referenceKernels`: the kernels' TypeScript references (CPU; Node, tests, no-GPU fallback).
 * - `tensorKernels`: the kernels' tensor entry points, which run the WGSL shaders on tfjs's WebGPU
 *   device and fall back to the references elsewhere; vectors cross as Float32Arrays because the
 *   network needs bytes anyway.
 */
import * as tf from '@tensorflow/tfjs';
import {
  countNonFiniteTensor,
  fp16PackTensor,
  fp16UnpackTensor,
  int8DequantizeTensor,
  int8QuantizeTensors,
  l2NormTensor,
  relativeDistanceTensor,
  topKScatterAddTensor,
  topKSparsifyTensors,
} from '@tabswarm/kernels';
import {
  fp16PackReference,
  fp16UnpackReference,
  int8DequantizeReference,
  int8QuantizeReference,
  topKScatterAddReference,
  topKSparsifyReference,
} from '@tabswarm/kernels/reference';
import { basicKernels, type GossipKernels } from './kernels.ts';

export const referenceKernels: GossipKernels = {
  ...basicKernels,
  fp16Pack: fp16PackReference,
  fp16Unpack: fp16UnpackReference,
  int8Quantize: int8QuantizeReference,
  int8Dequantize: int8DequantizeReference,
  topKSparsify: topKSparsifyReference,
  topKScatterAdd: topKScatterAddReference,
};

async function scalar(t: tf.Scalar): Promise<number> {
  try {
    return ((await t.data())[0] as number) ?? Number.NaN;
  } finally {
    t.dispose();
  }
}

async function floats(t: tf.Tensor): Promise<Float32Array> {
  try {
    return Float32Array.from(await t.data());
  } finally {
    t.dispose();
  }
}

/** int32 tensors hold raw 32-bit words: reinterpret them as unsigned. */
async function words(t: tf.Tensor): Promise<Uint32Array> {
  try {
    const data = (await t.data()) as Int32Array;
    return new Uint32Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
  } finally {
    t.dispose();
  }
}

const wordTensor = (w: Uint32Array): tf.Tensor1D =>
  tf.tensor1d(new Int32Array(w.buffer, w.byteOffset, w.length), 'int32');

/** WGSL on tfjs's WebGPU device when it is the backend; the references otherwise. */
export const tensorKernels: GossipKernels = {
  l2Norm: (x) => scalar(tf.tidy(() => l2NormTensor(tf.tensor1d(x)))),
  countNonFinite: (x) => scalar(tf.tidy(() => countNonFiniteTensor(tf.tensor1d(x)))),
  relativeDistance: (a, b) => scalar(tf.tidy(() => relativeDistanceTensor(tf.tensor1d(a), tf.tensor1d(b)))),
  fp16Pack: (x) => words(tf.tidy(() => fp16PackTensor(tf.tensor1d(x)))),
  fp16Unpack: (packed, length) => floats(tf.tidy(() => fp16UnpackTensor(wordTensor(packed), length))),
  async int8Quantize(x, residual, blockSize) {
    const input = tf.tensor1d(x);
    const r = residual === null ? null : tf.tensor1d(residual);
    try {
      const out = int8QuantizeTensors(input, r, { blockSize });
      if (residual !== null && out.residual !== null) residual.set(await floats(out.residual));
      return { packed: await words(out.packed), scales: await floats(out.scales) };
    } finally {
      input.dispose();
      r?.dispose();
    }
  },
  int8Dequantize: (packed, scales, length, blockSize) =>
    floats(
      tf.tidy(() => int8DequantizeTensor(wordTensor(packed), tf.tensor1d(scales), length, { blockSize })),
    ),
  async topKSparsify(x, residual, k) {
    const input = tf.tensor1d(x);
    const r = residual === null ? null : tf.tensor1d(residual);
    try {
      const out = topKSparsifyTensors(input, r, k);
      if (residual !== null && out.residual !== null) residual.set(await floats(out.residual));
      const count = await scalar(out.count);
      return { indices: await words(out.indices), values: await floats(out.values), count };
    } finally {
      input.dispose();
      r?.dispose();
    }
  },
  async topKScatterAdd(out, indices, values, alpha = 1) {
    const result = await floats(
      tf.tidy(() => topKScatterAddTensor(tf.tensor1d(out), wordTensor(indices), tf.tensor1d(values), alpha)),
    );
    out.set(result);
    return out;
  },
};

/** The averaging kernels for a TensorFlow.js backend: WGSL on WebGPU, the references elsewhere. */
export function averagingKernelsFor(backend: string): {
  readonly kernels: GossipKernels;
  readonly implementation: 'wgsl' | 'reference';
} {
  return backend === 'webgpu'
    ? { kernels: tensorKernels, implementation: 'wgsl' }
    : { kernels: referenceKernels, implementation: 'reference' };
}
