/**
 * The custom TF.js layers tabswarm's presets use (gpt-nano's token and position embeddings and
 * causal self-attention), registered with TF.js's serialisation so that a model.json naming them loads with
 * tf.loadLayersModel / tf.models.modelFromJSON. Call registerTabswarmLayers() once before loading
 * an exported gpt-nano model in your own code; tabswarm calls it wherever it builds a model. It also
 * replaces TF.js's gradient of Tile with one that computes the same sum in a few reductions
 * (tile-gradient.ts): TF.js's takes one slice per tiled copy, and LayerNormalization tiles.
 */
import * as tf from '@tensorflow/tfjs';
import { CausalSelfAttention } from './causal-self-attention.ts';
import { PositionEmbedding } from './position-embedding.ts';
import { registerTileGradient } from './tile-gradient.ts';
import { TokenEmbedding } from './token-embedding.ts';

export { CausalSelfAttention, PositionEmbedding, TokenEmbedding };

/** Registers tabswarm's custom layers with TF.js. Idempotent; safe to call any number of times. */
export function registerTabswarmLayers(): void {
  // registerClass keeps the last registration per name; doing it again is harmless.
  tf.serialization.registerClass(CausalSelfAttention);
  tf.serialization.registerClass(PositionEmbedding);
  tf.serialization.registerClass(TokenEmbedding);
  registerTileGradient();
}
