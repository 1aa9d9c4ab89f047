/**
 * One optimizer step on TensorFlow.js tensors: on tfjs's WebGPU device, shaders/sgd-momentum.wgsl
 * or shaders/adam.wgsl on GPU copies of the parameter and state (the inputs are not changed, as
 * with any tfjs op); elsewhere the TypeScript reference, behind the same call.
 */
import type * as tf from '@tensorflow/tfjs';
import {
  adamParams,
  adamReference,
  sgdMomentumParams,
  sgdMomentumReference,
  type AdamConfig,
  type SgdMomentumConfig,
} from '../any/optimizer-reference.ts';
import { adamBuffers, sgdMomentumBuffers } from './optimizer-kernels.ts';
import { checkVectors, floatVector, floatsOf, onGpuOrReference } from './tensor-interop.ts';

export interface SgdMomentumTensors {
  readonly param: tf.Tensor1D;
  readonly grad: tf.Tensor1D;
  readonly accumulation: tf.Tensor1D;
}

export interface AdamTensors {
  readonly param: tf.Tensor1D;
  readonly grad: tf.Tensor1D;
  readonly m: tf.Tensor1D;
  readonly v: tf.Tensor1D;
}

/** New parameter and accumulator after one tf.train.momentum step; the caller disposes them. */
export function sgdMomentumTensors(
  tensors: SgdMomentumTensors,
  config: SgdMomentumConfig,
): { param: tf.Tensor1D; accumulation: tf.Tensor1D } {
  sgdMomentumParams(config);
  const n = checkVectors({ ...tensors });
  const reference = () => {
    const [param, accumulation] = [floatsOf(tensors.param), floatsOf(tensors.accumulation)];
    sgdMomentumReference(param, floatsOf(tensors.grad), accumulation, config);
    return { param: floatVector(param), accumulation: floatVector(accumulation) };
  };
  return onGpuOrReference(n, reference, (gpu) => {
    const param = gpu.copyOf(tensors.param, 'param');
    const accumulation = gpu.copyOf(tensors.accumulation, 'accumulation');
    const grad = gpu.input(tensors.grad, 'grad');
    sgdMomentumBuffers(
      gpu.device,
      { param: param.buffer, grad, accumulation: accumulation.buffer },
      n,
      config,
    );
    return { param: param.tensor, accumulation: accumulation.tensor };
  });
}

/**
 * New parameter and moments after Adam step `step` (from 1; AdamW when config.weightDecay > 0);
 * the caller disposes them.
 */
export function adamTensors(
  tensors: AdamTensors,
  config: AdamConfig,
  step: number,
): { param: tf.Tensor1D; m: tf.Tensor1D; v: tf.Tensor1D } {
  adamParams(config, step);
  const n = checkVectors({ ...tensors });
  const reference = () => {
    const [param, m, v] = [floatsOf(tensors.param), floatsOf(tensors.m), floatsOf(tensors.v)];
    adamReference(param, floatsOf(tensors.grad), m, v, config, step);
    return { param: floatVector(param), m: floatVector(m), v: floatVector(v) };
  };
  return onGpuOrReference(n, reference, (gpu) => {
    const [param, m, v] = [
      gpu.copyOf(tensors.param, 'param'),
      gpu.copyOf(tensors.m, 'm'),
      gpu.copyOf(tensors.v, 'v'),
    ];
    const grad = gpu.input(tensors.grad, 'grad');
    adamBuffers(gpu.device, { param: param.buffer, grad, m: m.buffer, v: v.buffer }, n, config, step);
    return { param: param.tensor, m: m.tensor, v: v.tensor };
  });
}
