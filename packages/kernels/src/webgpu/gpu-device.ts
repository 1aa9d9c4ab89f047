/**
 * Access to TensorFlow.js's own WebGPU device, so our kernels and tfjs share buffers and one
 * queue; null whenever tfjs runs on another backend.
 */
import * as tf from '@tensorflow/tfjs';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';

/** tfjs's WebGPU backend when it is the active one. */
export function getTfjsWebGPUBackend(): WebGPUBackend | null {
  if (tf.getBackend() !== 'webgpu') return null;
  const backend = tf.backend() as Partial<WebGPUBackend>;
  return backend.device === undefined ? null : (backend as WebGPUBackend);
}

/** tfjs's GPUDevice, or null when tfjs is not on WebGPU. */
export function getTfjsDevice(): GPUDevice | null {
  return getTfjsWebGPUBackend()?.device ?? null;
}

/**
 * Submits the work tfjs has recorded but not yet submitted. tfjs batches its ops in a command
 * encoder of its own; without this, our submission could overtake writes to buffers we read.
 */
export function flushTfjsCommands(device: GPUDevice): void {
  const backend = getTfjsWebGPUBackend();
  if (backend === null || backend.device !== device) return;
  // The same three calls tfjs makes before its own buffer copies (submitQueue alone would
  // finish a null encoder when nothing is pending).
  backend.ensureCommandEncoderReady();
  backend.endComputePassEncoder();
  backend.submitQueue();
}
