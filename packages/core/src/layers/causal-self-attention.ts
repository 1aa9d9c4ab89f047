/**
 * Multi-head causal self-attention without weights of its own: it takes the query, key and value
 * projections concatenated on the last axis ([batch, T, 3·d], from a Dense layer) and returns the
 * heads' outputs merged back to [batch, T, d]. Position t attends to positions ≤ t only. The
 * projections live in ordinary Dense layers so every weight has a standard name and initialiser.
 * Only ops every TF.js backend has (matMul, softmax, band part): it runs on WebGPU, WebGL, WASM, CPU.
 */
import * as tf from '@tensorflow/tfjs';

export interface CausalSelfAttentionArgs {
  readonly numHeads: number;
  readonly name?: string;
  readonly trainable?: boolean;
}

/** Added to the scores of future positions: far below any real score, finite so no NaN arises. */
const MASKED = -1e9;

export class CausalSelfAttention extends tf.layers.Layer {
  static readonly className = 'TabswarmCausalSelfAttention';
  readonly numHeads: number;

  constructor(args: CausalSelfAttentionArgs) {
    super(args);
    if (!Number.isInteger(args.numHeads) || args.numHeads < 1) {
      throw new RangeError(`numHeads must be a positive whole number, got ${args.numHeads}`);
    }
    this.numHeads = args.numHeads;
  }

  private dims(shape: readonly (number | null)[]): { t: number; d: number; dh: number } {
    const t = shape[1];
    const last = shape[2];
    if (shape.length !== 3 || typeof t !== 'number' || typeof last !== 'number' || last % 3 !== 0) {
      throw new RangeError(`attention takes [batch, T, 3·d] with T and d known, got [${shape.join(', ')}]`);
    }
    const d = last / 3;
    if (d % this.numHeads !== 0) throw new RangeError(`d = ${d} does not split into ${this.numHeads} heads`);
    return { t, d, dh: d / this.numHeads };
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const { t, d } = this.dims(shape);
    return [shape[0] ?? null, t, d];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? (inputs[0] as tf.Tensor) : inputs;
      const [batch] = x.shape;
      const { t, d, dh } = this.dims(x.shape);
      const h = this.numHeads;
      const heads = (part: number): tf.Tensor =>
        tf.transpose(tf.reshape(tf.slice(x, [0, 0, part * d], [-1, -1, d]), [batch, t, h, dh]), [0, 2, 1, 3]);
      const q = heads(0);
      const k = heads(1);
      const v = heads(2);
      const scores = tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(dh)); // [b, h, T, T]
      const allowed = tf.linalg.bandPart(tf.ones([t, t]), -1, 0); // lower triangle, diagonal included
      const masked = tf.add(tf.mul(scores, allowed), tf.mul(tf.sub(1, allowed), MASKED));
      const attended = tf.matMul(tf.softmax(masked, -1), v); // [b, h, T, dh]
      return tf.reshape(tf.transpose(attended, [0, 2, 1, 3]), [batch, t, d]);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), numHeads: this.numHeads };
  }
}
