/**
 * GossipKernels backed by the kernel library (@tabswarm/kernels). Imported as
 * `@tabswarm/gossip/kernel-library`, not from the package index, so that pages without
 * TensorFlow.js can use the rest of gossip.
 *
 * - `referenceKernels`: the kernels' TypeScript references (CPU; Node, tests, no-GPU fallback).
 * - `tensorKernels`: the kernels' tensor entry points, which run the WGSL shaders on tfjs's WebGPU
 *   device and fall back to the references elsewhere; vectors cross as Float32Arrays because the
 *   network needs bytes anyway. The averaging step runs as a chain of shaders/mix.wgsl dispatches
 *   on GPU buffers: each vector is uploaded once and each result read back once.
 */
import * as tf from '@tensorflow/tfjs';
import {
  countNonFiniteTensor,
  fp16PackTensor,
  fp16UnpackTensor,
  getTfjsWebGPUBackend,
  int8DequantizeTensor,
  int8QuantizeTensors,
  kernelDispatchCounts,
  l2NormTensor,
  mixTensors,
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
import { addInto, type AveragingStep } from './averaging-maths.ts';
import type { AveragingKernelSet } from './kernel-set.ts';
import { basicKernels, type GossipKernels } from './kernels.ts';

/** The decoded values, or `into` with them added when given (the decode kernels' `into`). */
const addedInto = (values: Float32Array, into: Float32Array | undefined): Float32Array =>
  into === undefined ? values : addInto(into, values);

export const referenceKernels: GossipKernels = {
  ...basicKernels,
  fp16Pack: fp16PackReference,
  fp16Unpack: (packed, length, into) => addedInto(fp16UnpackReference(packed, length), into),
  int8Quantize: int8QuantizeReference,
  int8Dequantize: (packed, scales, length, blockSize, into) =>
    addedInto(int8DequantizeReference(packed, scales, length, blockSize), into),
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

/**
 * The averaging step (averaging-maths.ts, averagingStepReference) as weighted sums on the GPU:
 *   pair      x' = (1 − γ)·x + γ·theirs            (mine = x; γ = ½: the exact pair average)
 *             x' = x + γ·theirs − γ·mine           (compressed codecs' references)
 *   outer     g = θ − x',  v ← μ·v + g,  θ ← x' + (1 − η)·g − η·μ·v,  x' ← θ
 *   pending   p ← p + x' − x
 * (no pair: x' = x, the average a FedAvg round brought). The arrays are written only once every
 * result is read back.
 */
async function averagingStepOnGpu(step: AveragingStep): Promise<void> {
  const { x, pair, outer, pending } = step;
  const made: tf.Tensor[] = [];
  const keep = <T extends tf.Tensor>(t: T): T => {
    made.push(t);
    return t;
  };
  const upload = (v: Float32Array): tf.Tensor1D => keep(tf.tensor1d(v));
  try {
    const before = upload(x);
    let next = before;
    if (pair !== null) {
      const theirs = upload(pair.theirs);
      const gamma = pair.step;
      next =
        pair.mine === null
          ? keep(mixTensors([before, theirs], [1 - gamma, gamma]))
          : keep(mixTensors([before, theirs, upload(pair.mine)], [1, gamma, -gamma]));
    }
    let velocity: tf.Tensor1D | null = null;
    if (outer !== null) {
      const { learningRate: lr, momentum: mu } = outer;
      const g = keep(mixTensors([upload(outer.synced), next], [1, -1]));
      velocity = keep(mixTensors([upload(outer.velocity), g], [mu, 1]));
      next = keep(mixTensors([next, g, velocity], [1, 1 - lr, -lr * mu]));
    }
    const changes = pending === null ? null : keep(mixTensors([upload(pending), next, before], [1, 1, -1]));
    const [xData, velocityData, pendingData] = await Promise.all([
      next.data<'float32'>(),
      velocity?.data<'float32'>(),
      changes?.data<'float32'>(),
    ]);
    x.set(xData);
    if (outer !== null && velocityData !== undefined) {
      outer.synced.set(xData);
      outer.velocity.set(velocityData);
    }
    if (pending !== null && pendingData !== undefined) pending.set(pendingData);
  } finally {
    for (const t of made) t.dispose();
  }
}

/**
 * A decoded payload, read back as floats; with `into`, added to it on the GPU first (mix with
 * weights [1, 1]) so that a pair reference's update costs one upload and one read-back, and `into`
 * is written only once the sum is back.
 */
async function decodedInto(decode: () => tf.Tensor1D, into: Float32Array | undefined): Promise<Float32Array> {
  if (into === undefined) return floats(tf.tidy(decode));
  into.set(await floats(tf.tidy(() => mixTensors([tf.tensor1d(into), decode()], [1, 1]))));
  return into;
}

/** WGSL on tfjs's WebGPU device when it is the backend; the references otherwise. */
export const tensorKernels: GossipKernels = {
  averagingStep: averagingStepOnGpu,
  difference: (x, reference) =>
    reference === undefined
      ? x.slice()
      : floats(tf.tidy(() => mixTensors([tf.tensor1d(x), tf.tensor1d(reference)], [1, -1]))),
  l2Norm: (x) => scalar(tf.tidy(() => l2NormTensor(tf.tensor1d(x)))),
  countNonFinite: (x) => scalar(tf.tidy(() => countNonFiniteTensor(tf.tensor1d(x)))),
  relativeDistance: (a, b) => scalar(tf.tidy(() => relativeDistanceTensor(tf.tensor1d(a), tf.tensor1d(b)))),
  fp16Pack: (x) => words(tf.tidy(() => fp16PackTensor(tf.tensor1d(x)))),
  fp16Unpack: (packed, length, into) => decodedInto(() => fp16UnpackTensor(wordTensor(packed), length), into),
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
  int8Dequantize: (packed, scales, length, blockSize, into) =>
    decodedInto(
      () => int8DequantizeTensor(wordTensor(packed), tf.tensor1d(scales), length, { blockSize }),
      into,
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
export function averagingKernelsFor(backend: string): AveragingKernelSet {
  if (backend !== 'webgpu')
    return { kernels: referenceKernels, implementation: 'reference', dispatches: () => ({}) };
  return {
    kernels: tensorKernels,
    implementation: 'wgsl',
    dispatches: () => {
      const device = getTfjsWebGPUBackend()?.device;
      return device === undefined ? {} : kernelDispatchCounts(device);
    },
  };
}
