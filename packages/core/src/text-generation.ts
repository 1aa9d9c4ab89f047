/**
 * Text from a character-level language model (gpt-nano): temperature sampling, one token at a
 * time. The draw happens on the CPU from the softmax the model returns, with the seeded mulberry32
 * generator — never tf.multinomial, which one TF.js WebGPU bug collapses to argmax — so the same
 * model, prompt and seed give the same text on every backend.
 */
import * as tf from '@tensorflow/tfjs';
import { registerTabswarmLayers } from './layers/register.ts';
import { mulberry32 } from './random.ts';

/** Loads an exported model (model.json + weights) from a URL, tabswarm's custom layers registered. */
export async function loadTabswarmModel(modelJsonUrl: string): Promise<tf.LayersModel> {
  registerTabswarmLayers();
  return tf.loadLayersModel(modelJsonUrl);
}

/**
 * Draws an index from probabilities sharpened or flattened by a temperature: p_i^(1/τ), normalised.
 * τ = 0 is argmax. `random` returns uniform numbers in [0, 1).
 */
export function sampleWithTemperature(
  probabilities: ArrayLike<number>,
  temperature: number,
  random: () => number,
): number {
  const n = probabilities.length;
  if (n === 0) throw new RangeError('nothing to sample from');
  if (!(temperature >= 0) || !Number.isFinite(temperature)) {
    throw new RangeError(`temperature must be a finite number ≥ 0, got ${temperature}`);
  }
  let best = 0;
  for (let i = 1; i < n; i++) if ((probabilities[i] as number) > (probabilities[best] as number)) best = i;
  if (temperature === 0) return best;
  // In log space relative to the most probable entry, so a small τ does not overflow.
  const top = Math.log(Math.max(probabilities[best] as number, 1e-30));
  const weights = new Float64Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const p = probabilities[i] as number;
    const w = p > 0 ? Math.exp((Math.log(p) - top) / temperature) : 0;
    weights[i] = w;
    total += w;
  }
  let u = random() * total;
  for (let i = 0; i < n; i++) {
    u -= weights[i] as number;
    if (u < 0) return i;
  }
  return best;
}

export interface GenerateOptions {
  /** Token ids to continue; at least one. */
  readonly prompt: readonly number[];
  /** Tokens to add. */
  readonly length: number;
  readonly temperature: number;
  readonly seed: number;
}

/**
 * Continues `prompt` with `length` tokens from a model that maps [1, T] token ids to [1, T, V]
 * next-token probabilities (causal: position t sees tokens ≤ t). A window shorter than T is
 * padded after its end (the causal model's reading at the last real position ignores the padding);
 * a longer one keeps its last T tokens. Returns the new tokens only.
 */
export async function generateTokens(model: tf.LayersModel, options: GenerateOptions): Promise<number[]> {
  const shape = (model.inputs[0] as tf.SymbolicTensor).shape;
  const context = shape[1];
  if (typeof context !== 'number') throw new RangeError('the model needs a fixed context length');
  if (options.prompt.length === 0) throw new RangeError('the prompt needs at least one token');
  const random = mulberry32(options.seed);
  const tokens = [...options.prompt];
  const out: number[] = [];
  for (let k = 0; k < options.length; k++) {
    const window = tokens.slice(-context);
    const at = window.length - 1;
    const input = new Float32Array(context);
    input.set(window);
    const probs = tf.tidy(() => {
      const p = model.predict(tf.tensor2d(input, [1, context])) as tf.Tensor;
      return tf.squeeze(tf.slice(p, [0, at, 0], [1, 1, -1]));
    });
    const values = await probs.data();
    probs.dispose();
    const next = sampleWithTemperature(values, options.temperature, random);
    tokens.push(next);
    out.push(next);
  }
  return out;
}
