/**
 * Every kernel's shader and its uniforms, declared once: each entry generates the WGSL
 * `struct Params` the loader composes in front of shaders/<name>.wgsl and the writer that fills a
 * uniform slot on the host. Field names are the shader's (params.<name>), hence snake_case.
 */
import { MIX_MAX_INPUTS } from './mix-reference.ts';
import { kernelShader } from './shader-sources.ts';
import { defineUniforms } from './uniforms.ts';

/** Kernels over quads or elements [base, base + count) of the bound chunk, one dispatch each. */
const RANGE = { base: 'u32', count: 'u32' } as const;

export const KERNEL_SHADERS = {
  mix: kernelShader(
    'mix',
    defineUniforms({
      ...RANGE,
      /** Number of inputs, 1..8 (the K override is what the code uses). */
      k: 'u32',
      /** Weights w0..w7 (as two vec4: uniform arrays need a 16-byte stride). */
      w: { array: 'f32', length: MIX_MAX_INPUTS },
    }),
  ),
  sgdMomentum: kernelShader(
    'sgd-momentum',
    defineUniforms({ ...RANGE, nesterov: 'u32', neg_lr: 'f32', momentum: 'f32' }),
  ),
  adam: kernelShader(
    'adam',
    defineUniforms({
      ...RANGE,
      neg_lr: 'f32',
      beta1: 'f32',
      beta2: 'f32',
      /** 1 - beta1 rounded once, as tfjs's scalar. */
      one_minus_beta1: 'f32',
      one_minus_beta2: 'f32',
      epsilon: 'f32',
      /** 1 - beta1^t, with beta1^t the f32 running product tfjs keeps. */
      bias_correction1: 'f32',
      bias_correction2: 'f32',
      /** lr * weightDecay; 0 for Adam. */
      lr_weight_decay: 'f32',
    }),
  ),
  reduce: kernelShader(
    'reduce',
    defineUniforms({
      /** STAGE 0: elements in the bound chunk; STAGE 1: partials to fold. */
      count: 'u32',
      /** STAGE 0: index of this chunk's first partial. */
      partial_base: 'u32',
    }),
  ),
  clipByNorm: kernelShader('clip-by-norm', defineUniforms({ ...RANGE, max_norm: 'f32' })),
  fp16Pack: kernelShader('fp16-pack', fp16Uniforms()),
  fp16Unpack: kernelShader('fp16-unpack', fp16Uniforms()),
  int8Quantize: kernelShader(
    'int8-quantize',
    defineUniforms({
      ...RANGE,
      /** 1: error feedback (read and update r); 0: r is a dummy. */
      use_residual: 'u32',
      blocks_per_group: 'u32',
    }),
  ),
  int8Dequantize: kernelShader('int8-dequantize', defineUniforms(RANGE)),
  topkHistogram: kernelShader(
    'topk-histogram',
    defineUniforms({
      ...RANGE,
      /** 0..3, most significant first. */
      digit: 'u32',
      /** Digit 0 only: 0 read y from r, 1 r = x + r, 2 r = x. */
      mode: 'u32',
      tiles_per_group: 'u32',
    }),
  ),
  topkSelect: kernelShader('topk-select', defineUniforms({ digit: 'u32', k: 'u32' })),
  topkCount: kernelShader(
    'topk-count',
    defineUniforms({
      ...RANGE,
      /** Global index of this dispatch's first tile. */
      tile_base: 'u32',
      tiles_per_group: 'u32',
    }),
  ),
  topkScan: kernelShader('topk-scan', defineUniforms({ tiles: 'u32', k: 'u32' })),
  topkCompact: kernelShader(
    'topk-compact',
    defineUniforms({
      ...RANGE,
      tile_base: 'u32',
      /** Global index of the chunk's first element. */
      chunk_start: 'u32',
      tiles_per_group: 'u32',
    }),
  ),
  topkScatterAdd: kernelShader(
    'topk-scatter-add',
    defineUniforms({
      /** Pairs [base, base + count) of this dispatch. */
      ...RANGE,
      /** Global index and length of the bound chunk of out. */
      out_start: 'u32',
      out_length: 'u32',
      alpha: 'f32',
    }),
  ),
} as const;

function fp16Uniforms() {
  return defineUniforms({
    /** First word of this dispatch, relative to the bound chunk. */
    base_word: 'u32',
    /** Words this dispatch covers. */
    words: 'u32',
    /** Elements in the bound chunk (the last word may hold only one). */
    elements: 'u32',
  });
}

export type KernelShaderName = keyof typeof KERNEL_SHADERS;
