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
function tensorBuffer(backend: WebGPUBackend, t: tf.Tensor, name: string): GPUBuffer {
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
function newTensor<T extends tf.Tensor>(
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

/** What a tensor entry point works with on tfjs's WebGPU device. */
export interface GpuCall {
  readonly device: GPUDevice;
  /** The GPUBuffer tfjs holds for the input `t`. */
  input(t: tf.Tensor, name: string): GPUBuffer;
  /** A new tensor from tfjs's pool for a kernel to fill; disposed if the call throws. */
  output<T extends tf.Tensor = tf.Tensor1D>(shape: number[], dtype?: 'float32' | 'int32'): NewTensor<T>;
  /** A new float32 vector holding a copy of `t`, for a kernel that updates it in place. */
  copyOf(t: tf.Tensor1D, name: string): NewTensor<tf.Tensor1D>;
}

/**
 * Runs `gpu` on tfjs's WebGPU device, or `reference` (on the CPU, the same semantics) when tfjs
 * runs on another backend or there are no elements to dispatch. If `gpu` throws, the tensors it
 * made are disposed, so that a failed call leaks nothing.
 */
export function onGpuOrReference<R>(elements: number, reference: () => R, gpu: (call: GpuCall) => R): R {
  const backend = getTfjsWebGPUBackend();
  if (backend === null || elements === 0) return reference();
  const made: tf.Tensor[] = [];
  const output = <T extends tf.Tensor>(shape: number[], dtype: 'float32' | 'int32' = 'float32') => {
    const t = newTensor<T>(backend, shape, dtype);
    made.push(t.tensor);
    return t;
  };
  const call: GpuCall = {
    device: backend.device,
    input: (t, name) => tensorBuffer(backend, t, name),
    output,
    copyOf(t, name) {
      const copy = output<tf.Tensor1D>([t.size]);
      const source = tensorBuffer(backend, t, name);
      record(backend.device, 'copy', (rec) => rec.copy(source, 0, copy.buffer, 0, t.size * 4));
      return copy;
    },
  };
  try {
    return gpu(call);
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
