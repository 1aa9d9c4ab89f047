/**
 * Our kernels on TensorFlow.js tensors without copies through the CPU: inputs are read straight
 * from the GPUBuffer tfjs holds for them, and outputs are fresh tensors whose buffers come from
 * tfjs's own pool, so that dispose() returns them there. (Wrapping buffers of our own with
 * tf.tensor({ buffer, zeroCopy: true }) would leak: tfjs 4.22 never frees or pools such external
 * buffers; see mix-tensors.ts.)
 */
import * as tf from '@tensorflow/tfjs';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { getTfjsWebGPUBackend } from './gpu-device.ts';
import { record } from './recorder.ts';

export type { WebGPUBackend };

/** tfjs's WebGPU backend, or null when tfjs runs elsewhere (then the references run instead). */
export function webgpuBackend(): WebGPUBackend | null {
  return getTfjsWebGPUBackend();
}

/** Throws unless every tensor is a live 1-D tensor of `dtype` with the same length; returns it. */
export function checkVectors(
  tensors: Readonly<Record<string, tf.Tensor>>,
  dtype: tf.DataType = 'float32',
  length?: number,
): number {
  let n = length;
  for (const [name, t] of Object.entries(tensors)) {
    if (t.isDisposed) throw new Error(`${name} is disposed`);
    if (t.rank !== 1) throw new RangeError(`${name} has rank ${t.rank}, expected 1`);
    if (t.dtype !== dtype) throw new TypeError(`${name} has dtype ${t.dtype}, expected ${dtype}`);
    n ??= t.size;
    if (t.size !== n) throw new RangeError(`${name} has ${t.size} elements, expected ${n}`);
  }
  return n ?? 0;
}

/**
 * The GPUBuffer holding `t`'s data (uploaded first if tfjs still keeps it on the CPU). Our
 * submissions flush tfjs's pending commands first, so we read what tfjs has computed.
 */
export function tensorBuffer(backend: WebGPUBackend, t: tf.Tensor, name: string): GPUBuffer {
  if (t.isDisposed) throw new Error(`${name} is disposed`);
  if (!backend.tensorMap.has(t.dataId)) throw new Error(`${name} belongs to another tfjs backend`);
  backend.uploadToGPU(t.dataId);
  const resource = backend.tensorMap.get(t.dataId).resource;
  if (!(resource instanceof GPUBuffer)) throw new Error(`${name} is not held in a GPUBuffer`);
  return resource;
}

export interface NewTensor<T extends tf.Tensor> {
  readonly tensor: T;
  readonly buffer: GPUBuffer;
}

/** A new tfjs tensor whose (uninitialised) buffer comes from tfjs's pool, for a kernel to fill. */
export function newTensor<T extends tf.Tensor>(
  backend: WebGPUBackend,
  shape: number[],
  dtype: 'float32' | 'int32',
): NewTensor<T> {
  const info = backend.makeTensorInfo(shape, dtype);
  backend.uploadToGPU(info.dataId);
  const buffer = backend.tensorMap.get(info.dataId).resource;
  const tensor = tf.engine().makeTensorFromTensorInfo(info, backend) as T;
  if (!(buffer instanceof GPUBuffer)) {
    tensor.dispose();
    throw new Error('tfjs allocated no GPUBuffer');
  }
  return { tensor, buffer };
}

/** Copies whole buffers on the GPU: [source, target, bytes] triples, one submission. */
export function copyBuffers(
  device: GPUDevice,
  copies: readonly (readonly [GPUBuffer, GPUBuffer, number])[],
): void {
  record(device, 'copy', (rec) => {
    for (const [source, target, bytes] of copies) rec.copy(source, 0, target, 0, bytes);
  });
}

/**
 * Runs `body` with a list to put new tensors in; if it throws, they are disposed, so that a
 * failed call leaks nothing.
 */
export function withOutputs<R>(body: (keep: <T extends tf.Tensor>(t: NewTensor<T>) => NewTensor<T>) => R): R {
  const made: tf.Tensor[] = [];
  try {
    return body((t) => {
      made.push(t.tensor);
      return t;
    });
  } catch (error) {
    tf.dispose(made);
    throw error;
  }
}

/** A 1-D float32 tensor from CPU values (the reference path). */
export function floatVector(values: Float32Array): tf.Tensor1D {
  return tf.tensor1d(values, 'float32');
}

/** A 1-D int32 tensor viewing u32 words as int32 (the reference path for packed outputs). */
export function wordVector(words: Uint32Array): tf.Tensor1D {
  return tf.tensor1d(new Int32Array(words.buffer, words.byteOffset, words.length), 'int32');
}

/** The values of a float32 tensor as a fresh Float32Array (the reference path). */
export function floatsOf(t: tf.Tensor): Float32Array {
  return t.dataSync<'float32'>().slice();
}

/** The values of an int32 tensor as u32 words (the reference path). */
export function wordsOf(t: tf.Tensor): Uint32Array {
  const values = t.dataSync<'int32'>();
  return new Uint32Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength));
}
