/**
 * Optimizer steps on the flat parameter vector, one small strategy per spec type, all backed by the
 * kernel library: its WGSL kernels on tfjs's GPUDevice, its TypeScript references elsewhere. State
 * (momentum accumulator, Adam moments) is flat too and starts at zero, as in tf.train.*.
 */
import * as tf from '@tensorflow/tfjs';
import { adamTensors, sgdMomentumTensors } from '@tabswarm/kernels';
import type { OptimizerSpec, TrainingSpec } from '@tabswarm/protocol';

export interface FlatOptimizer {
  readonly type: OptimizerSpec['type'];
  /** Steps taken since creation. */
  readonly iterations: number;
  /** New parameters after one step. Neither input is disposed; the previous state is. */
  step(params: tf.Tensor1D, grad: tf.Tensor1D): tf.Tensor1D;
  dispose(): void;
}

type OptimizerFactory<S extends OptimizerSpec = OptimizerSpec> = (
  spec: S,
  learningRate: number,
  size: number,
) => FlatOptimizer;

/** tf.train.sgd: p ← p − lr·g. The kernel's momentum step with momentum 0 and a zero accumulator is that, exactly. */
const sgd: OptimizerFactory<Extract<OptimizerSpec, { type: 'sgd' }>> = (_spec, learningRate, size) => {
  let zeros: tf.Tensor1D | null = null;
  let iterations = 0;
  return {
    type: 'sgd',
    get iterations() {
      return iterations;
    },
    step(params, grad) {
      zeros ??= tf.zeros([size]);
      const next = sgdMomentumTensors(
        { param: params, grad, accumulation: zeros },
        { learningRate, momentum: 0 },
      );
      next.accumulation.dispose();
      iterations++;
      return next.param;
    },
    dispose() {
      zeros?.dispose();
      zeros = null;
    },
  };
};

/** tf.train.momentum(lr, momentum, useNesterov). */
const momentum: OptimizerFactory<Extract<OptimizerSpec, { type: 'momentum' }>> = (
  spec,
  learningRate,
  size,
) => {
  let accumulation: tf.Tensor1D | null = null;
  let iterations = 0;
  const config = { learningRate, momentum: spec.momentum, useNesterov: spec.nesterov };
  return {
    type: 'momentum',
    get iterations() {
      return iterations;
    },
    step(params, grad) {
      accumulation ??= tf.zeros([size]);
      const next = sgdMomentumTensors({ param: params, grad, accumulation }, config);
      accumulation.dispose();
      accumulation = next.accumulation;
      iterations++;
      return next.param;
    },
    dispose() {
      accumulation?.dispose();
      accumulation = null;
    },
  };
};

/** tf.train.adam(lr, beta1, beta2, epsilon). */
const adam: OptimizerFactory<Extract<OptimizerSpec, { type: 'adam' }>> = (spec, learningRate, size) => {
  let m: tf.Tensor1D | null = null;
  let v: tf.Tensor1D | null = null;
  let iterations = 0;
  const config = { learningRate, beta1: spec.beta1, beta2: spec.beta2, epsilon: spec.epsilon };
  return {
    type: 'adam',
    get iterations() {
      return iterations;
    },
    step(params, grad) {
      m ??= tf.zeros([size]);
      v ??= tf.zeros([size]);
      const next = adamTensors({ param: params, grad, m, v }, config, iterations + 1);
      m.dispose();
      v.dispose();
      m = next.m;
      v = next.v;
      iterations++;
      return next.param;
    },
    dispose() {
      tf.dispose([m, v].filter((t): t is tf.Tensor1D => t !== null));
      m = null;
      v = null;
    },
  };
};

const FACTORIES: {
  readonly [K in OptimizerSpec['type']]: OptimizerFactory<Extract<OptimizerSpec, { type: K }>>;
} = { sgd, momentum, adam };

/** The optimizer a job's training spec asks for, over `size` parameters. */
export function createOptimizer(
  training: Pick<TrainingSpec, 'optimizer' | 'learningRate'>,
  size: number,
): FlatOptimizer {
  const spec = training.optimizer;
  const factory = FACTORIES[spec.type] as OptimizerFactory;
  return factory(spec, training.learningRate, size);
}
