/**
 * What the job page shows of a language-model job: the held-out bits per character of its
 * checkpoints as chart columns (with the corpus's unigram baseline), and a text sample generated
 * from a checkpoint's exported model by core's temperature sampling (CPU-side draws from the
 * softmax with a seeded generator: tf.multinomial collapses to argmax on one TF.js WebGPU bug).
 */
import * as tf from '@tensorflow/tfjs';
import { generateTokens, registerTabswarmLayers } from '@tabswarm/core';
import {
  decodeCharacters,
  encodeCharacters,
  type CheckpointSummary,
  type TextInfo,
} from '@tabswarm/protocol';
import type uPlot from 'uplot';
import type { ChartOptions } from './UPlotChart.tsx';

export const SAMPLE_PROMPT = 'Call me ';
export const SAMPLE_LENGTH = 200;
export const SAMPLE_TEMPERATURE = 0.8;
export const SAMPLE_SEED = 1851;

/** [samples trained, held-out bits per character, unigram baseline] of the evaluated checkpoints. */
export function bitsPerCharColumns(
  checkpoints: readonly CheckpointSummary[],
  shardSize: number,
  baselineBits: number,
): uPlot.AlignedData {
  const evaluated = checkpoints.filter(
    (c): c is CheckpointSummary & { bitsPerChar: number } => c.bitsPerChar !== undefined,
  );
  return [
    evaluated.map((c) => c.shardsDone * shardSize),
    evaluated.map((c) => c.bitsPerChar),
    evaluated.map(() => baselineBits),
  ];
}

export function bitsPerCharOptions(): ChartOptions {
  const value = (_u: uPlot, v: number | null): string => (v === null ? '—' : `${v.toFixed(3)} bits`);
  return {
    scales: { x: { time: false }, bits: { auto: true } },
    series: [
      { label: 'samples', value: (_u, v) => (v === null ? '—' : v.toLocaleString('en-US')) },
      {
        label: 'held-out bits/char',
        scale: 'bits',
        stroke: '#d9730d',
        width: 2,
        points: { show: true, size: 5 },
        value,
      },
      { label: 'unigram baseline', scale: 'bits', stroke: '#5d6778', width: 1, dash: [6, 4], value },
    ],
    axes: [{ label: 'samples trained' }, { scale: 'bits', label: 'bits per character' }],
  };
}

/**
 * Loads a checkpoint's model.json + weights.bin (registering tabswarm's layers first) and continues
 * the prompt with temperature sampling. The model is disposed before returning.
 */
export async function generateSample(
  modelJsonUrl: string,
  text: TextInfo,
  options: { prompt?: string; length?: number; temperature?: number; seed?: number } = {},
): Promise<string> {
  registerTabswarmLayers();
  const model = await tf.loadLayersModel(modelJsonUrl);
  try {
    const prompt = options.prompt ?? SAMPLE_PROMPT;
    // Characters the corpus never had are left out of the prompt rather than guessed at.
    const ids = Array.from(encodeCharacters(prompt, text.vocabulary)).filter((t) => t >= 0);
    const tokens = await generateTokens(model, {
      prompt: ids.length > 0 ? ids : [0],
      length: options.length ?? SAMPLE_LENGTH,
      temperature: options.temperature ?? SAMPLE_TEMPERATURE,
      seed: options.seed ?? SAMPLE_SEED,
    });
    return decodeCharacters(ids, text.vocabulary) + decodeCharacters(tokens, text.vocabulary);
  } finally {
    model.dispose();
  }
}
