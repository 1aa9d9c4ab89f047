/**
 * Local SGD on one job's model: a step is loss and gradients from TensorFlow.js on the active
 * backend, then the kernel library's optimizer step on the flat parameter vector. A shard is a
 * stream of such steps over seeded batches.
 */
import * as tf from '@tensorflow/tfjs';
import type { DecodedShard, JobSpec } from '@tabswarm/protocol';
import { mulberry32 as seededRandom, type BatchPlan } from '@tabswarm/core';
import { TrainerError } from './errors.ts';
import { FlatModel } from './flat-model.ts';
import { trainingLoss } from './loss.ts';
import { createOptimizer, type FlatOptimizer } from './optimizers.ts';
import type { Calibration, DatasetShape } from './types.ts';

export interface StepResult {
  readonly step: number;
  readonly steps: number;
  readonly loss: number;
  readonly samples: number;
  readonly stepTimeMs: number;
}

/**
 * A shard's samples on the device: features [count, ...featureShape], labels [count] as float
 * ([count, ...labelShape] for text windows: the next token at each position).
 */
export interface ShardTensors {
  readonly x: tf.Tensor;
  readonly y: tf.Tensor;
  readonly count: number;
}

const now = (): number => performance.now();

export class LocalTrainer {
  readonly jobId: string;
  readonly spec: JobSpec;
  readonly dataset: DatasetShape;
  readonly flat: FlatModel;
  #optimizer: FlatOptimizer;

  private constructor(jobId: string, spec: JobSpec, dataset: DatasetShape, flat: FlatModel) {
    this.jobId = jobId;
    this.spec = spec;
    this.dataset = dataset;
    this.flat = flat;
    this.#optimizer = createOptimizer(spec.training, flat.size);
  }

  /** Builds the job's model; with `values`, starts from them (else from tfjs's initialisation). */
  static async create(
    jobId: string,
    spec: JobSpec,
    dataset: DatasetShape,
    values?: Float32Array,
  ): Promise<LocalTrainer> {
    const flat = await FlatModel.build(spec.model, dataset);
    try {
      if (values !== undefined) flat.setValues(values);
      return new LocalTrainer(jobId, spec, dataset, flat);
    } catch (error) {
      flat.dispose();
      throw error;
    }
  }

  get optimizer(): FlatOptimizer {
    return this.#optimizer;
  }

  /** One local step on a batch; returns the batch loss, which the caller disposes. */
  step(x: tf.Tensor, labels: tf.Tensor, optimizer: FlatOptimizer = this.#optimizer): tf.Scalar {
    const { loss, grad } = this.flat.lossAndGradient(() => trainingLoss(this.flat.model, x, labels));
    try {
      this.flat.adoptStep(optimizer.step(this.flat.params, grad));
    } catch (error) {
      loss.dispose();
      throw error;
    } finally {
      grad.dispose();
    }
    return loss;
  }

  /** Uploads a decoded shard, checking that it fits the model. Dispose the result. */
  upload(shard: DecodedShard): ShardTensors {
    const featureCount = this.dataset.featureShape.reduce((a, b) => a * b, 1);
    if (shard.featureCount !== featureCount) {
      throw new TrainerError(
        'SHARD_INVALID',
        `shard samples have ${shard.featureCount} features, the model takes ${featureCount}`,
      );
    }
    const labelShape = this.dataset.labelShape ?? [];
    const perSample = labelShape.reduce((a, b) => a * b, 1);
    if (shard.labelsPerSample !== perSample) {
      throw new TrainerError(
        'SHARD_INVALID',
        `shard samples have ${shard.labelsPerSample} labels each, the dataset ${perSample}`,
      );
    }
    for (let i = 0; i < shard.y.length; i++) {
      const label = shard.y[i] as number;
      if (label < 0 || label >= this.dataset.numClasses) {
        throw new TrainerError(
          'SHARD_INVALID',
          `label ${label} of sample ${Math.floor(i / perSample)} is not a class of the dataset`,
        );
      }
    }
    for (let i = 0; i < shard.x.length; i++) {
      if (!Number.isFinite(shard.x[i]))
        throw new TrainerError('SHARD_INVALID', 'shard has non-finite features');
    }
    return tf.tidy(() => ({
      x: tf.tensor(shard.x, [shard.count, ...this.dataset.featureShape], 'float32'),
      y: tf.tensor(Float32Array.from(shard.y), [shard.count, ...labelShape], 'float32'),
      count: shard.count,
    }));
  }

  /**
   * The local steps of a shard, one result per step. Stopping the iteration early (break, return)
   * leaves the parameters as the last completed step made them. A replicated lease passes a fresh
   * optimizer, so that its replicas start from the same state.
   */
  async *steps(
    data: ShardTensors,
    plan: BatchPlan,
    optimizer: FlatOptimizer = this.#optimizer,
  ): AsyncGenerator<StepResult, void, undefined> {
    const steps = plan.batches.length;
    for (let s = 0; s < steps; s++) {
      const indices = plan.batches[s] as Int32Array;
      const started = now();
      const [x, y] = tf.tidy(() => {
        const index = tf.tensor1d(indices, 'int32');
        return [tf.gather(data.x, index), tf.gather(data.y, index)];
      });
      let lossTensor: tf.Scalar;
      try {
        lossTensor = this.step(x, y, optimizer);
      } finally {
        tf.dispose([x, y]);
      }
      // Reading the loss waits for the GPU: the step time is the device's real time per step.
      const loss = (await lossTensor.data())[0] as number;
      lossTensor.dispose();
      yield { step: s + 1, steps, loss, samples: indices.length, stepTimeMs: now() - started };
    }
  }

  /**
   * Times `steps` full steps (after one warm-up step that compiles the shaders) on random data of
   * the job's batch size, with a throwaway optimizer; the parameters are restored afterwards.
   */
  async calibrate(steps: number): Promise<Calibration> {
    const batchSize = this.spec.training.batchSize;
    const saved = tf.clone(this.flat.params);
    const optimizer = createOptimizer(this.spec.training, this.flat.size);
    const random = seededRandom(0x5eed);
    const labelShape = this.dataset.labelShape ?? [];
    const labels = Float32Array.from({ length: batchSize * labelShape.reduce((a, b) => a * b, 1) }, () =>
      Math.floor(random() * this.dataset.numClasses),
    );
    // Text models read the features as token ids: random ids, not random fractions.
    const x =
      labelShape.length > 0
        ? tf.floor(
            tf.randomUniform(
              [batchSize, ...this.dataset.featureShape],
              0,
              this.dataset.numClasses,
              'float32',
              7,
            ),
          )
        : tf.randomUniform([batchSize, ...this.dataset.featureShape], 0, 1, 'float32', 7);
    const y = tf.tensor(labels, [batchSize, ...labelShape], 'float32');
    let total = 0;
    try {
      const n = Math.max(1, Math.floor(steps));
      for (let s = 0; s <= n; s++) {
        const started = now();
        const loss = this.step(x, y, optimizer);
        await loss.data();
        loss.dispose();
        if (s > 0) total += now() - started;
      }
      const stepTimeMs = total / n;
      return {
        batchSize,
        steps: n,
        stepTimeMs,
        samplesPerSec: (batchSize * 1000) / Math.max(stepTimeMs, 1e-3),
      };
    } finally {
      tf.dispose([x, y]);
      optimizer.dispose();
      this.flat.replace(saved);
    }
  }

  dispose(): void {
    this.#optimizer.dispose();
    this.flat.dispose();
  }
}
