/**
 * The GPT presets: decoder-only transformers for character-level text datasets, as a TF.js
 * functional-model topology. Input [T] token ids; output [T, V] next-token probabilities. Built from
 * TF.js's LayerNormalization, Dense and Add plus three custom layers registered by
 * @tabswarm/core's registerTabswarmLayers(): TabswarmTokenEmbedding, TabswarmPositionEmbedding and
 * TabswarmCausalSelfAttention. Pre-norm blocks: x + attn(ln(x)), then x + mlp(ln(x)).
 * The configs are what tfjs-layers 4.22 emits from model.toJSON for the same layers.
 */
import type { LayerConfig, NamedShape } from './model-presets.ts';

export interface GptSize {
  readonly dModel: number;
  readonly layers: number;
  readonly heads: number;
  readonly mlpRatio: number;
}

/**
 * Width, depth and heads of each preset, on the built-in corpus (83 characters, context 64):
 * - gpt-nano, 68 k parameters: small enough that virtual volunteers train it on the CPU in a test.
 * - gpt-mini, 10.7 M parameters (GPT-2 small's width at half its depth): for volunteers with real
 *   GPUs, where WebGPU pays; a step on a software renderer or the CPU takes seconds.
 */
export const GPT_PRESETS = {
  'gpt-nano': { dModel: 48, layers: 2, heads: 4, mlpRatio: 4 },
  'gpt-mini': { dModel: 384, layers: 6, heads: 6, mlpRatio: 4 },
} as const satisfies Record<string, GptSize>;
export type GptPreset = keyof typeof GPT_PRESETS;
export const GPT_NANO: GptSize = GPT_PRESETS['gpt-nano'];

export function isGptPreset(preset: string): preset is GptPreset {
  return Object.hasOwn(GPT_PRESETS, preset);
}

export interface SequenceShape {
  readonly inputShape: readonly number[];
  readonly numClasses: number;
  readonly labelShape?: readonly number[] | undefined;
}

/** Why a GPT preset cannot take a dataset, or null: it needs text windows ([T] in, [T] labels out). */
export function gptProblem(preset: GptPreset, { inputShape, labelShape }: SequenceShape): string | null {
  const t = inputShape[0];
  if (inputShape.length !== 1 || labelShape?.length !== 1 || labelShape[0] !== t) {
    return `${preset} needs a text dataset (windows of T tokens with T next-token labels); this dataset has samples [${inputShape.join(', ')}] with ${labelShape === undefined ? 'one label' : `labels [${labelShape.join(', ')}]`}`;
  }
  return null;
}

const normal = (stddev: number) => ({
  class_name: 'RandomNormal',
  config: { mean: 0, stddev, seed: null },
});
const zeros = () => ({ class_name: 'Zeros', config: {} });
const ones = () => ({ class_name: 'Ones', config: {} });
const node = (...inputs: string[]) => [inputs.map((name) => [name, 0, 0, {}])];

type FunctionalLayer = LayerConfig & { name: string; inbound_nodes: unknown[] };

function layer(
  class_name: string,
  name: string,
  config: Record<string, unknown>,
  ...inputs: string[]
): FunctionalLayer {
  return {
    name,
    class_name,
    config: { ...config, name, trainable: true },
    inbound_nodes: inputs.length === 0 ? [] : node(...inputs),
  };
}

// GPT-2's initialisation: weights N(0, 0.02), the residual projections scaled by 1/√(2·layers).
function dense(
  name: string,
  units: number,
  activation: string,
  stddev: number,
  input: string,
): FunctionalLayer {
  return layer(
    'Dense',
    name,
    {
      units,
      activation,
      use_bias: true,
      kernel_initializer: normal(stddev),
      bias_initializer: zeros(),
      kernel_regularizer: null,
      bias_regularizer: null,
      activity_regularizer: null,
      kernel_constraint: null,
      bias_constraint: null,
    },
    input,
  );
}

function layerNorm(name: string, input: string): FunctionalLayer {
  return layer(
    'LayerNormalization',
    name,
    {
      axis: [2],
      epsilon: 1e-5,
      center: true,
      scale: true,
      beta_initializer: zeros(),
      gamma_initializer: ones(),
      beta_regularizer: null,
      gamma_regularizer: null,
    },
    input,
  );
}

/** The functional topology's `config` for a [T]-token input and a V-character vocabulary. */
export function gptConfig(preset: GptPreset, context: number, vocabulary: number): Record<string, unknown> {
  const { dModel: d, layers: depth, heads, mlpRatio } = GPT_PRESETS[preset];
  const residualStd = 0.02 / Math.sqrt(2 * depth);
  const layers: FunctionalLayer[] = [
    layer('InputLayer', 'tokens', { batch_input_shape: [null, context], dtype: 'float32', sparse: false }),
    layer(
      'TabswarmTokenEmbedding',
      'tok_emb',
      { input_dim: vocabulary, output_dim: d, embeddings_initializer: normal(0.02) },
      'tokens',
    ),
    layer('TabswarmPositionEmbedding', 'pos_emb', { embeddings_initializer: normal(0.02) }, 'tok_emb'),
  ];
  let stream = 'pos_emb';
  for (let b = 0; b < depth; b++) {
    const p = `b${b}_`;
    layers.push(
      layerNorm(`${p}ln1`, stream),
      dense(`${p}qkv`, 3 * d, 'linear', 0.02, `${p}ln1`),
      layer('TabswarmCausalSelfAttention', `${p}attn`, { num_heads: heads }, `${p}qkv`),
      dense(`${p}proj`, d, 'linear', residualStd, `${p}attn`),
      layer('Add', `${p}res1`, {}, stream, `${p}proj`),
      layerNorm(`${p}ln2`, `${p}res1`),
      dense(`${p}fc`, mlpRatio * d, 'relu', 0.02, `${p}ln2`),
      dense(`${p}out`, d, 'linear', residualStd, `${p}fc`),
      layer('Add', `${p}res2`, {}, `${p}res1`, `${p}out`),
    );
    stream = `${p}res2`;
  }
  layers.push(layerNorm('ln_f', stream), dense('head', vocabulary, 'softmax', 0.02, 'ln_f'));
  return {
    name: preset,
    layers,
    input_layers: [['tokens', 0, 0]],
    output_layers: [['head', 0, 0]],
  };
}

/** A GPT preset's weights in model.weights order. */
export function gptWeightShapes(preset: GptPreset, context: number, vocabulary: number): NamedShape[] {
  const { dModel: d, layers: depth, mlpRatio } = GPT_PRESETS[preset];
  const dense = (name: string, from: number, to: number): NamedShape[] => [
    { name: `${name}/kernel`, shape: [from, to] },
    { name: `${name}/bias`, shape: [to] },
  ];
  const norm = (name: string): NamedShape[] => [
    { name: `${name}/gamma`, shape: [d] },
    { name: `${name}/beta`, shape: [d] },
  ];
  const shapes: NamedShape[] = [
    { name: 'tok_emb/embeddings', shape: [vocabulary, d] },
    { name: 'pos_emb/embeddings', shape: [context, d] },
  ];
  for (let b = 0; b < depth; b++) {
    const p = `b${b}_`;
    shapes.push(
      ...norm(`${p}ln1`),
      ...dense(`${p}qkv`, d, 3 * d),
      ...dense(`${p}proj`, d, d),
      ...norm(`${p}ln2`),
      ...dense(`${p}fc`, d, mlpRatio * d),
      ...dense(`${p}out`, mlpRatio * d, d),
    );
  }
  shapes.push(...norm('ln_f'), ...dense('head', d, vocabulary));
  return shapes;
}
