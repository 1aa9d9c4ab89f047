/**
 * Test-set evaluation of a checkpoint in the coordinator's process: accuracy and sparse categorical
 * cross-entropy, batched on tfjs's CPU backend, with every tensor it makes disposed. A text model
 * (one label per position of a window) is scored at every position: its loss is the mean
 * next-token cross-entropy, its accuracy the share of next tokens it ranks first.
 */
import * as tf from '@tensorflow/tfjs';
import { setFlatWeights, type Topology } from '@tabswarm/core';
import { buildModel } from './model-factory.ts';

export interface TestSet {
  /** n samples of featureShape, normalised as the trainer sees them, end to end. */
  readonly x: Float32Array;
  /** Class index per sample (per position of each sample for text windows: n × labelsPerSample). */
  readonly y: Int32Array;
  readonly n: number;
  readonly featureShape: readonly number[];
  /** Labels per sample; 1 (the default) for a classifier. */
  readonly labelsPerSample?: number;
}

export interface EvaluationOptions {
  /** Samples per forward pass: bounds the memory one evaluation holds at once. */
  readonly batchSize?: number;
  /** Score only the first this many samples (default: all of them). */
  readonly maxSamples?: number;
}

export interface Evaluation {
  /** Fraction of samples whose most probable class is the label, in [0, 1]. */
  readonly accuracy: number;
  /** Mean cross-entropy, clipped as tfjs's own loss clips (ε = 1e-7). */
  readonly loss: number;
  readonly durationMs: number;
}

export const DEFAULT_EVAL_BATCH_SIZE = 256;

/**
 * Multiply-adds one checkpoint evaluation may spend (parameters × scored positions, a forward
 * pass's cost for dense layers): about 10–20 s of the coordinator's CPU backend. Small models
 * never reach it; a model of ten million parameters is scored on fewer windows rather than hold
 * the coordinator for minutes at every checkpoint.
 */
export const EVAL_MULTIPLY_ADDS = 1e10;
/**
 * ... and one forward pass (a batch): computed synchronously, so its length is how long the
 * thread it runs in cannot answer anything, and its activations are what it holds at once.
 */
export const EVAL_BATCH_MULTIPLY_ADDS = 3e8;
/** Fewer samples than this say too little: scored whatever they cost. */
export const MIN_EVAL_SAMPLES = 16;

/**
 * How many of `n` test samples to score and in batches of how many, for a model of `parameters`
 * scoring `positions` labels a sample: the same first samples at every checkpoint, so checkpoints
 * stay comparable.
 */
export function evaluationPlan(
  n: number,
  parameters: number,
  positions = 1,
): { readonly maxSamples: number; readonly batchSize: number } {
  const perSample = Math.max(1, parameters * positions);
  const maxSamples = Math.min(n, Math.max(MIN_EVAL_SAMPLES, Math.floor(EVAL_MULTIPLY_ADDS / perSample)));
  const batchSize = Math.max(
    1,
    Math.min(DEFAULT_EVAL_BATCH_SIZE, Math.floor(EVAL_BATCH_MULTIPLY_ADDS / perSample)),
  );
  return { maxSamples, batchSize };
}
/** tfjs's epsilon: its sparseCategoricalCrossentropy clips probabilities to [ε, 1 − ε]. */
const EPSILON = 1e-7;

function checkTestSet(set: TestSet): number {
  const sampleSize = set.featureShape.reduce((a, b) => a * b, 1);
  if (!Number.isInteger(set.n) || set.n < 1) throw new RangeError(`test set must have samples, n = ${set.n}`);
  if (set.x.length !== set.n * sampleSize) {
    throw new RangeError(
      `test set x holds ${set.x.length} values, ${set.n} samples need ${set.n * sampleSize}`,
    );
  }
  const perSample = set.labelsPerSample ?? 1;
  if (set.y.length !== set.n * perSample)
    throw new RangeError(`test set y holds ${set.y.length} labels for ${set.n} samples of ${perSample}`);
  return sampleSize;
}

/** Whether the model ends in a softmax (probabilities) rather than a linear layer (logits). */
function outputsProbabilities(model: tf.LayersModel): boolean {
  const last = model.layers.at(-1);
  return last !== undefined && (last.getConfig() as { activation?: unknown }).activation === 'softmax';
}

/**
 * Evaluates a flat parameter vector with a topology on a labelled test set. A model ending in a
 * linear layer is treated as emitting logits (softmax is applied first). Throws a RangeError when
 * the vector does not fit the topology, a label is out of range, or the test set is inconsistent.
 */
export async function evaluateParameters(
  topology: Topology,
  flat: Float32Array,
  testSet: TestSet,
  options: EvaluationOptions = {},
): Promise<Evaluation> {
  const started = performance.now();
  const sampleSize = checkTestSet(testSet);
  const perSample = testSet.labelsPerSample ?? 1;
  const batchSize = Math.max(1, Math.floor(options.batchSize ?? DEFAULT_EVAL_BATCH_SIZE));
  const model = await buildModel(topology);
  try {
    setFlatWeights(model, flat);
    const probabilities = outputsProbabilities(model);
    const numClasses = (model.outputs[0] as tf.SymbolicTensor).shape.at(-1) ?? 0;
    for (const label of testSet.y) {
      if (label < 0 || label >= numClasses) {
        throw new RangeError(`label ${label} is outside the model's ${numClasses} classes`);
      }
    }
    let correct = 0;
    let lossSum = 0;
    const n = Math.min(testSet.n, Math.max(1, Math.floor(options.maxSamples ?? testSet.n)));
    for (let start = 0; start < n; start += batchSize) {
      const end = Math.min(n, start + batchSize);
      const sums = tf.tidy(() => {
        const x = tf.tensor(
          testSet.x.subarray(start * sampleSize, end * sampleSize),
          [end - start, ...testSet.featureShape],
          'float32',
        );
        const labels = tf.tensor1d(testSet.y.subarray(start * perSample, end * perSample), 'int32');
        const output = model.predict(x, { batchSize: end - start }) as tf.Tensor;
        // [samples × positions, classes]: a text window's positions are scored like samples.
        const flat = tf.reshape(output, [-1, numClasses]);
        const p = probabilities ? flat : tf.softmax(flat);
        const hits = tf.sum(tf.cast(tf.equal(tf.argMax(p, -1), labels), 'float32'));
        const picked = tf.sum(tf.mul(p, tf.oneHot(labels, numClasses)), -1);
        const nll = tf.sum(tf.neg(tf.log(tf.clipByValue(picked, EPSILON, 1 - EPSILON))));
        return tf.stack([hits, nll]);
      });
      const [batchCorrect = 0, batchLoss = 0] = sums.dataSync();
      sums.dispose();
      correct += batchCorrect;
      lossSum += batchLoss;
      // The CPU backend computes synchronously: let sockets and heartbeats through between batches.
      await new Promise((resolve) => setImmediate(resolve));
    }
    const scored = n * perSample;
    return {
      accuracy: correct / scored,
      loss: lossSum / scored,
      durationMs: performance.now() - started,
    };
  } finally {
    model.dispose();
  }
}
