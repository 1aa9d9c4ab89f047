/**
 * A text sample from a language-model checkpoint: its exported model.json + weights loaded with
 * tabswarm's layers registered, the prompt continued by core's temperature sampling (CPU-side draws
 * from the softmax with a seeded generator: tf.multinomial collapses to argmax on one TF.js WebGPU
 * bug). Imported on demand by the job page, since it brings TensorFlow.js into the dashboard.
 */
import { generateTokens, loadTabswarmModel } from '@tabswarm/core';
import { decodeCharacters, encodeCharacters, type TextInfo } from '@tabswarm/protocol';
import { SAMPLE_LENGTH, SAMPLE_PROMPT, SAMPLE_SEED, SAMPLE_TEMPERATURE } from './language-model.ts';

/**
 * Loads a checkpoint's model.json + weights.bin (registering tabswarm's layers first) and continues
 * the prompt with temperature sampling. The model is disposed before returning.
 */
export async function generateSample(
  modelJsonUrl: string,
  text: TextInfo,
  options: { prompt?: string; length?: number; temperature?: number; seed?: number } = {},
): Promise<string> {
  const model = await loadTabswarmModel(modelJsonUrl);
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
