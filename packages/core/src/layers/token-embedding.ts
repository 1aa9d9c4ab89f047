/**
 * Token embeddings as a one-hot product: [batch, T] token ids → [batch, T, d]. TF.js's Embedding
 * gathers rows, and the gradient of a gather needs UnsortedSegmentSum, which the WebAssembly
 * backend lacks; one-hot × matrix needs only matMul, on every backend. Its weight is named
 * `embeddings` with `embeddingsInitializer`, as TF.js's Embedding names them.
 */
import * as tf from '@tensorflow/tfjs';
import { initializerOf, type InitializerJson } from './position-embedding.ts';

export interface TokenEmbeddingArgs {
  readonly inputDim: number;
  readonly outputDim: number;
  readonly embeddingsInitializer?: InitializerJson;
  readonly name?: string;
  readonly trainable?: boolean;
}

const DEFAULT_INITIALIZER: InitializerJson = {
  className: 'RandomNormal',
  config: { mean: 0, stddev: 0.02, seed: null },
};

export class TokenEmbedding extends tf.layers.Layer {
  static readonly className = 'TabswarmTokenEmbedding';
  readonly inputDim: number;
  readonly outputDim: number;
  readonly embeddingsInitializer: InitializerJson;
  private embeddings: tf.LayerVariable | undefined;

  constructor(args: TokenEmbeddingArgs) {
    super(args);
    for (const [what, n] of [
      ['inputDim', args.inputDim],
      ['outputDim', args.outputDim],
    ] as const) {
      if (!Number.isInteger(n) || n < 1)
        throw new RangeError(`${what} must be a positive whole number, got ${n}`);
    }
    this.inputDim = args.inputDim;
    this.outputDim = args.outputDim;
    this.embeddingsInitializer = args.embeddingsInitializer ?? DEFAULT_INITIALIZER;
    initializerOf(this.embeddingsInitializer);
  }

  override build(): void {
    this.embeddings = this.addWeight(
      'embeddings',
      [this.inputDim, this.outputDim],
      'float32',
      initializerOf(this.embeddingsInitializer),
    );
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    return [...shape, this.outputDim];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? (inputs[0] as tf.Tensor) : inputs;
      if (this.embeddings === undefined) throw new Error('TokenEmbedding used before it was built');
      const ids = tf.reshape(tf.cast(x, 'int32'), [-1]);
      const rows = tf.matMul(tf.oneHot(ids, this.inputDim), this.embeddings.read());
      return tf.reshape(rows, [...x.shape, this.outputDim]);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      inputDim: this.inputDim,
      outputDim: this.outputDim,
      embeddingsInitializer: this.embeddingsInitializer as unknown as tf.serialization.ConfigDict,
    };
  }
}
