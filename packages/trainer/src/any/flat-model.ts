/**
 * A layers model whose parameters live in one flat vector, in the coordinator's layout (model.weights
 * order). The flat tensor is the source of truth: gradients are gathered into it, the optimizer
 * kernels update it, and after every change each weight variable is re-pointed at a slice of it.
 * On WebGPU the slices, the gather and the kernels are all GPU work; nothing is read back.
 */
import * as tf from '@tensorflow/tfjs';
import type { ModelSpec, ParamLayout } from '@tabswarm/protocol';
import { buildJobModel, layoutOf } from '@tabswarm/core';
import { TrainerError, errorText } from './errors.ts';
import type { DatasetShape } from './types.ts';

export class FlatModel {
  readonly model: tf.LayersModel;
  readonly layout: ParamLayout;
  /** tfjs variables behind model.weights, in layout order. */
  readonly #variables: readonly tf.Variable[];
  readonly #trainable: readonly tf.Variable[];
  /** Whether any weight is not trained by gradients (e.g. BatchNorm statistics, written by the forward pass). */
  readonly #hasFrozen: boolean;
  #params: tf.Tensor1D;
  #disposed = false;

  private constructor(model: tf.LayersModel) {
    this.model = model;
    this.layout = layoutOf(model);
    this.#variables = model.weights.map((w) => w.read() as tf.Variable);
    this.#trainable = this.#variables.filter((v) => v.trainable);
    this.#hasFrozen = this.#trainable.length !== this.#variables.length;
    this.#params = this.#gather();
  }

  /** Builds the model of a job; its parameters are tfjs's initialisation until set. */
  static async build(spec: ModelSpec, dataset: DatasetShape): Promise<FlatModel> {
    let model: tf.LayersModel;
    try {
      model = await buildJobModel(spec, dataset);
    } catch (error) {
      throw new TrainerError('MODEL_INVALID', errorText(error));
    }
    try {
      return new FlatModel(model);
    } catch (error) {
      model.dispose();
      throw error;
    }
  }

  get size(): number {
    return this.layout.total;
  }

  /** The current flat parameters. Owned by this model: valid until the next change; clone to keep. */
  get params(): tf.Tensor1D {
    this.#check();
    return this.#params;
  }

  get trainableVariables(): readonly tf.Variable[] {
    return this.#trainable;
  }

  /** Takes ownership of `next` as the parameters and writes them into the model's weights. */
  replace(next: tf.Tensor1D): void {
    this.#check();
    if (next.rank !== 1 || next.size !== this.size || next.dtype !== 'float32') {
      throw new TrainerError(
        'PARAMETERS_INVALID',
        `expected ${this.size} float32 parameters, got [${next.shape.join(', ')}]`,
      );
    }
    if (next === this.#params) return;
    const previous = this.#params;
    this.#params = next;
    this.#scatter();
    previous.dispose();
  }

  /** Loads CPU values (a checkpoint, a snapshot) as the parameters. */
  setValues(values: Float32Array): void {
    if (values.length !== this.size) {
      throw new TrainerError(
        'PARAMETERS_INVALID',
        `the model has ${this.size} parameters, the vector ${values.length}`,
      );
    }
    for (let i = 0; i < values.length; i++) {
      if (!Number.isFinite(values[i]))
        throw new TrainerError('PARAMETERS_INVALID', `parameter ${i} is not finite`);
    }
    this.replace(tf.tensor1d(values, 'float32'));
  }

  /** A copy of the parameters on the CPU. */
  async read(): Promise<Float32Array> {
    // A clone shares the data, so a step that replaces the parameters meanwhile cannot free them under us.
    const copy = tf.clone(this.params);
    try {
      return (await copy.data<'float32'>()).slice();
    } finally {
      copy.dispose();
    }
  }

  /**
   * Loss of `lossFn` and its gradient with respect to every parameter, flat, in layout order
   * (zeros for weights without a gradient). The caller disposes both.
   */
  lossAndGradient(lossFn: () => tf.Scalar): { loss: tf.Scalar; grad: tf.Tensor1D } {
    this.#check();
    const { value, grads } = tf.variableGrads(lossFn, [...this.#trainable]);
    try {
      const grad = tf.tidy(() =>
        tf.concat<tf.Tensor1D>(
          this.layout.entries.map((entry, i) => {
            const g = grads[(this.#variables[i] as tf.Variable).name];
            return g == null ? tf.zeros([entry.size]) : tf.reshape(g, [entry.size]);
          }),
        ),
      );
      return { loss: value, grad };
    } finally {
      tf.dispose(Object.values(grads).filter((g): g is tf.Tensor => g != null));
    }
  }

  /**
   * After an optimizer step: frozen weights keep what the forward pass wrote into them (the
   * optimizer saw zero gradients there). Takes ownership of `next`.
   */
  adoptStep(next: tf.Tensor1D): void {
    if (!this.#hasFrozen) {
      this.replace(next);
      return;
    }
    const merged = tf.tidy(() =>
      tf.concat<tf.Tensor1D>(
        this.layout.entries.map((entry, i) => {
          const v = this.#variables[i] as tf.Variable;
          return v.trainable ? tf.slice(next, entry.offset, entry.size) : tf.reshape(v, [entry.size]);
        }),
      ),
    );
    next.dispose();
    this.replace(merged);
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#params.dispose();
    this.model.dispose();
  }

  #gather(): tf.Tensor1D {
    return tf.tidy(() => tf.concat<tf.Tensor1D>(this.#variables.map((v) => tf.reshape(v, [v.size]))));
  }

  #scatter(): void {
    tf.tidy(() => {
      this.layout.entries.forEach((entry, i) => {
        const variable = this.#variables[i] as tf.Variable;
        // assign() re-points the variable at the slice's data (refcounted), so tidy's dispose of the
        // slice does not free it; the variable's previous data is released.
        variable.assign(tf.reshape(tf.slice(this.#params, entry.offset, entry.size), [...entry.shape]));
      });
    });
  }

  #check(): void {
    if (this.#disposed) throw new TrainerError('NO_JOB', 'the model was disposed');
  }
}
