/**
 * Sparse categorical cross-entropy on class probabilities, op for op as tfjs-layers computes it for
 * `loss: 'sparseCategoricalCrossentropy'` (clip, one-hot, renormalise, clip, −Σ t·log p), so that
 * a local step and `model.trainOnBatch` take the same gradients.
 */
import * as tf from '@tensorflow/tfjs';

/** Per-sample losses of `probs` [batch, classes] against float `labels` [batch]. */
export function sparseCategoricalCrossentropy(labels: tf.Tensor, probs: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const eps = tf.backend().epsilon();
    const classes = probs.shape[probs.shape.length - 1] as number;
    const flat = tf.cast(tf.floor(tf.reshape(labels, [-1])), 'int32');
    let output = tf.clipByValue(probs, eps, 1 - eps);
    const target = tf.reshape(tf.oneHot(flat, classes), output.shape);
    output = tf.div(output, tf.sum(output, output.shape.length - 1, true));
    output = tf.clipByValue(output, eps, 1 - eps);
    return tf.neg(tf.sum(tf.mul(tf.cast(target, 'float32'), tf.log(output)), output.shape.length - 1));
  });
}

/** The training objective: mean loss over the batch plus the model's regulariser penalties. */
export function trainingLoss(model: tf.LayersModel, x: tf.Tensor, labels: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const probs = model.apply(x, { training: true }) as tf.Tensor;
    let total = tf.mean<tf.Scalar>(sparseCategoricalCrossentropy(labels, probs));
    for (const penalty of model.calculateLosses()) total = tf.add(total, penalty);
    return total;
  });
}
