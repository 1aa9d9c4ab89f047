/**
 * Learned absolute position embeddings: adds a [T, d] weight to a [batch, T, d] input (token
 * embeddings), so the model knows where in the window each token is. The weight is named
 * `embeddings` and its initialiser serialised as `embeddingsInitializer`, as TF.js's Embedding
 * does, so the seeded initialisation and model.json weight manifests treat it like any other.
 */
import * as tf from '@tensorflow/tfjs';

export type InitializerJson = { className: string; config: Record<string, unknown> };

export interface PositionEmbeddingArgs {
  /** RandomNormal or RandomUniform, as `{ className, config }`; RandomNormal(0, 0.02) by default. */
  readonly embeddingsInitializer?: InitializerJson;
  readonly name?: string;
  readonly trainable?: boolean;
}

const DEFAULT_INITIALIZER: InitializerJson = {
  className: 'RandomNormal',
  config: { mean: 0, stddev: 0.02, seed: null },
};

export function initializerOf(json: InitializerJson): ReturnType<typeof tf.initializers.zeros> {
  const c = json.config;
  const num = (v: unknown, fallback: number): number => (typeof v === 'number' ? v : fallback);
  if (json.className === 'RandomNormal') {
    return tf.initializers.randomNormal({ mean: num(c.mean, 0), stddev: num(c.stddev, 0.02) });
  }
  if (json.className === 'RandomUniform') {
    return tf.initializers.randomUniform({ minval: num(c.minval, -0.05), maxval: num(c.maxval, 0.05) });
  }
  if (json.className === 'Zeros') return tf.initializers.zeros();
  throw new RangeError(
    `position embeddings support RandomNormal, RandomUniform and Zeros, not ${json.className}`,
  );
}

export class PositionEmbedding extends tf.layers.Layer {
  static readonly className = 'TabswarmPositionEmbedding';
  readonly embeddingsInitializer: InitializerJson;
  private embeddings: tf.LayerVariable | undefined;

  constructor(args: PositionEmbeddingArgs = {}) {
    super(args);
    this.embeddingsInitializer = args.embeddingsInitializer ?? DEFAULT_INITIALIZER;
    initializerOf(this.embeddingsInitializer); // refuse an unsupported one at construction
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const [, t, d] = shape;
    if (shape.length !== 3 || typeof t !== 'number' || typeof d !== 'number') {
      throw new RangeError(
        `position embeddings take [batch, T, d] with T and d known, got [${shape.join(', ')}]`,
      );
    }
    this.embeddings = this.addWeight(
      'embeddings',
      [t, d],
      'float32',
      initializerOf(this.embeddingsInitializer),
    );
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    return (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? (inputs[0] as tf.Tensor) : inputs;
      if (this.embeddings === undefined) throw new Error('PositionEmbedding used before it was built');
      return tf.add(x, this.embeddings.read());
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    // An initialiser's JSON is a ConfigDict; tfjs types that as its own recursive value type.
    return {
      ...super.getConfig(),
      embeddingsInitializer: this.embeddingsInitializer as unknown as tf.serialization.ConfigDict,
    };
  }
}
