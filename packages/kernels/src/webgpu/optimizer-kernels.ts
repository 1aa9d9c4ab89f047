/**
 * Host side of shaders/sgd-momentum.wgsl and shaders/adam.wgsl on GPUBuffers: one optimizer step
 * in place on flat parameter, gradient and state buffers (tfjs's or our own).
 */
import { KERNEL_SHADERS } from '../any/kernel-shaders.ts';
import {
  adamParams,
  sgdMomentumParams,
  type AdamConfig,
  type SgdMomentumConfig,
} from '../any/optimizer-reference.ts';
import { checkBuffer, checkDistinct, checkLength } from './argument-checks.ts';
import type { KernelOptions } from './device-plan.ts';
import { runElementwise, vectorUsage } from './elementwise.ts';

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
  runElementwise(device, {
    shader: KERNEL_SHADERS.sgdMomentum,
    bindings: [buffers.param, buffers.accumulation, buffers.grad],
    length,
    options,
    params: { nesterov: p.nesterov ? 1 : 0, neg_lr: p.negLr, momentum: p.momentum },
  });
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
  runElementwise(device, {
    shader: KERNEL_SHADERS.adam,
    bindings: [buffers.param, buffers.m, buffers.v, buffers.grad],
    length,
    options,
    params: {
      neg_lr: p.negLr,
      beta1: p.beta1,
      beta2: p.beta2,
      one_minus_beta1: p.oneMinusBeta1,
      one_minus_beta2: p.oneMinusBeta2,
      epsilon: p.epsilon,
      bias_correction1: p.biasCorrection1,
      bias_correction2: p.biasCorrection2,
      lr_weight_decay: p.lrWeightDecay,
    },
  });
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
