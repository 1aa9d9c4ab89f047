/**
 * Host side of shaders/sgd-momentum.wgsl and shaders/adam.wgsl on GPUBuffers: one optimizer step
 * in place on flat parameter, gradient and state buffers (tfjs's or our own).
 */
import adamWgsl from '../../../../shaders/adam.wgsl?raw';
import sgdMomentumWgsl from '../../../../shaders/sgd-momentum.wgsl?raw';
import { runElementwise, vectorUsage } from './elementwise.ts';
import {
  checkBuffer,
  checkDistinct,
  checkLength,
  storageKernelSpec,
  type KernelOptions,
} from './kernel-runtime.ts';
import {
  adamParams,
  sgdMomentumParams,
  type AdamConfig,
  type SgdMomentumConfig,
} from '../any/optimizer-reference.ts';

const SGD_MOMENTUM_SPEC = storageKernelSpec('sgd-momentum', sgdMomentumWgsl, [
  'read_write',
  'read_write',
  'read',
]);
const ADAM_SPEC = storageKernelSpec('adam', adamWgsl, ['read_write', 'read_write', 'read_write', 'read']);

export interface SgdMomentumBuffers {
  /** Updated in place. */
  readonly param: GPUBuffer;
  readonly grad: GPUBuffer;
  /** tfjs's "momentum" accumulator, updated in place; start from zeros. */
  readonly accumulation: GPUBuffer;
}

export interface AdamBuffers {
  /** Updated in place. */
  readonly param: GPUBuffer;
  readonly grad: GPUBuffer;
  /** First and second moments, updated in place; start from zeros. */
  readonly m: GPUBuffer;
  readonly v: GPUBuffer;
}

/**
 * One tf.train.momentum step on the first `length` floats of each buffer (all STORAGE, distinct;
 * when length is not a multiple of 4 also COPY_SRC, and COPY_DST for param and accumulation).
 */
export function sgdMomentumBuffers(
  device: GPUDevice,
  buffers: SgdMomentumBuffers,
  length: number,
  config: SgdMomentumConfig,
  options: KernelOptions = {},
): void {
  const p = sgdMomentumParams(config);
  checkVectors(buffers, length, 'sgd-momentum');
  runElementwise(
    device,
    SGD_MOMENTUM_SPEC,
    [buffers.param, buffers.accumulation, buffers.grad],
    length,
    options,
    (u32, f32, at) => {
      u32[at + 2] = p.nesterov ? 1 : 0;
      f32[at + 4] = p.negLr;
      f32[at + 5] = p.momentum;
    },
  );
}

/**
 * One tf.train.adam step (AdamW when config.weightDecay > 0) on the first `length` floats of each
 * buffer. `step` counts from 1, as tfjs's iterations + 1; the bias corrections follow from it.
 */
export function adamBuffers(
  device: GPUDevice,
  buffers: AdamBuffers,
  length: number,
  config: AdamConfig,
  step: number,
  options: KernelOptions = {},
): void {
  const p = adamParams(config, step);
  checkVectors(buffers, length, 'adam');
  runElementwise(
    device,
    ADAM_SPEC,
    [buffers.param, buffers.m, buffers.v, buffers.grad],
    length,
    options,
    (_u32, f32, at) => {
      f32[at + 4] = p.negLr;
      f32[at + 5] = p.beta1;
      f32[at + 6] = p.beta2;
      f32[at + 7] = p.oneMinusBeta1;
      f32[at + 8] = p.oneMinusBeta2;
      f32[at + 9] = p.epsilon;
      f32[at + 10] = p.biasCorrection1;
      f32[at + 11] = p.biasCorrection2;
      f32[at + 12] = p.lrWeightDecay;
    },
  );
}

function checkVectors(buffers: object, length: number, what: string): void {
  checkLength(length, what);
  const named = buffers as Readonly<Record<string, GPUBuffer>>;
  // A buffer bound twice in one dispatch, once writable, is a WebGPU validation error.
  checkDistinct(named);
  for (const [name, buffer] of Object.entries(named)) {
    checkBuffer(buffer, length * 4, vectorUsage(length, name !== 'grad'), `${what} ${name}`);
  }
}
