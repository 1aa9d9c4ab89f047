/**
 * The mix on TensorFlow.js tensors: on tfjs's WebGPU device it runs shaders/mix.wgsl with no CPU
 * round trip; on any other backend it runs the TypeScript reference, behind the same call.
 */
import * as tf from '@tensorflow/tfjs';
import type { GPUData } from '@tensorflow/tfjs';
import { getTfjsWebGPUBackend } from './gpu-device.ts';
import { mixBuffers } from './mix-kernel.ts';
import { checkMixArguments, mixReference } from '../any/mix-reference.ts';

/**
 * Returns a new float32 tensor Σₖ weights[k]·inputs[k] (the caller disposes it). The inputs are
 * not changed.
 *
 * Ownership of the result on WebGPU: `dataToGPU()` already gives a fresh copy of inputs[0] as a
 * tfjs-owned tensor, so the kernel mixes into that copy in place and returns that tensor. We do
 * not wrap a buffer of our own with `tf.tensor({ buffer, zeroCopy: true })`: tfjs 4.22 treats such
 * a buffer as external and never destroys or pools it on dispose, so every call would leak a
 * buffer's worth of GPU memory until garbage collection; and it would cost one more copy.
 */
export function mixTensors(inputs: readonly tf.Tensor1D[], weights: readonly number[]): tf.Tensor1D {
  checkMixArguments(inputs.length, weights);
  const length = checkTensors(inputs);
  const backend = getTfjsWebGPUBackend();
  if (backend === null || length === 0) {
    const arrays = inputs.map((t) => t.dataSync<'float32'>());
    return tf.tensor1d(mixReference(arrays, weights), 'float32');
  }

  const copies: GPUData[] = [];
  const buffers: GPUBuffer[] = [];
  try {
    for (const t of inputs) {
      // dataToGPU refuses data that still sits on the CPU (fresh or small tensors), so place it.
      if (!backend.tensorMap.has(t.dataId)) throw new Error('mix input belongs to another tfjs backend');
      backend.uploadToGPU(t.dataId);
      const copy = t.dataToGPU();
      copies.push(copy);
      if (copy.buffer === undefined) throw new Error('tfjs dataToGPU returned no GPUBuffer');
      buffers.push(copy.buffer);
    }
    mixBuffers(backend.device, buffers, weights, buffers[0] as GPUBuffer, length);
  } catch (error) {
    for (const c of copies) c.tensorRef.dispose();
    throw error;
  }
  // The mix is already submitted, and tfjs submits later work after it, so the copies can go
  // back to tfjs's buffer pool now.
  for (const c of copies.slice(1)) c.tensorRef.dispose();
  const result = (copies[0] as GPUData).tensorRef;
  if (result.rank === 1) return result as tf.Tensor1D;
  // dataToGPU keeps the shape of the data, not of the tensor: a 1-D view made by tf.reshape
  // comes back with its source's shape. Reshape shares the buffer, so this copies nothing.
  const flat = tf.reshape<tf.Rank.R1>(result, [length]);
  result.dispose();
  return flat;
}

function checkTensors(inputs: readonly tf.Tensor1D[]): number {
  const length = (inputs[0] as tf.Tensor1D).size;
  for (const [k, t] of inputs.entries()) {
    if (t.isDisposed) throw new Error(`mix input ${k} is disposed`);
    if (t.rank !== 1) throw new RangeError(`mix input ${k} has rank ${t.rank}, expected 1`);
    if (t.dtype !== 'float32') throw new TypeError(`mix input ${k} has dtype ${t.dtype}, expected float32`);
    if (t.size !== length)
      throw new RangeError(`mix input ${k} has ${t.size} elements, input 0 has ${length}`);
  }
  return length;
}
