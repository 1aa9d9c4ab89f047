/**
 * Text datasets: what a text dataset's manifest says about its tokens (character level, the
 * vocabulary, the context length) and the tokeniser every side applies with it. A sample is a
 * window of `context` tokens; its labels are the next token at each position. Shared by the
 * coordinator (which tokenises uploads), the dashboard (which decodes generated samples) and tests.
 */
import { z } from 'zod';

export const TEXT_TOKENIZATIONS = ['char'] as const;
/** Shortest and longest window a text dataset may be cut into. */
export const MIN_TEXT_CONTEXT = 2;
export const MAX_TEXT_CONTEXT = 1024;
export const DEFAULT_TEXT_CONTEXT = 64;
/** Most distinct characters a text may have: each is a class of the model's output. */
export const MAX_TEXT_VOCABULARY = 1000;
/** Share of the text, from its end, kept apart as the held-out part. */
export const DEFAULT_TEXT_TEST_FRACTION = 0.1;

/** Code points, so a character outside the BMP is one token, not two surrogates. */
const codePoints = (text: string): string[] => Array.from(text);

export const textInfoSchema = z.strictObject({
  tokenization: z.enum(TEXT_TOKENIZATIONS),
  /** Tokens per sample (window); also the labels per sample. */
  context: z.number().int().min(MIN_TEXT_CONTEXT).max(MAX_TEXT_CONTEXT),
  /** Token id i is the character vocabulary[i]; sorted by code point. */
  vocabulary: z
    .array(z.string().refine((s) => codePoints(s).length === 1, { error: 'a token is one character' }))
    .min(2)
    .max(MAX_TEXT_VOCABULARY)
    .refine((v) => new Set(v).size === v.length, { error: 'vocabulary entries must be distinct' }),
  /** Entropy of the held-out part's character distribution, in bits: the unigram baseline. */
  heldOutUnigramBits: z.number().finite().nonnegative(),
  /** Characters in the train and held-out parts. */
  trainChars: z.number().int().nonnegative(),
  heldOutChars: z.number().int().nonnegative(),
});
export type TextInfo = z.infer<typeof textInfoSchema>;

/** The sorted distinct characters of a text. Iterates, so a long text is never copied into an array. */
export function characterVocabulary(text: string): string[] {
  const seen = new Set<string>();
  for (const c of text) seen.add(c);
  return [...seen].sort((a, b) => (a.codePointAt(0) ?? 0) - (b.codePointAt(0) ?? 0));
}

/** Token ids of a text; a character not in the vocabulary is -1 (the caller decides what that means). */
export function encodeCharacters(text: string, vocabulary: readonly string[]): Int32Array {
  const index = new Map(vocabulary.map((c, i) => [c, i]));
  // At most one token per UTF-16 unit; characters outside the BMP take two units and give one token.
  const out = new Int32Array(text.length);
  let n = 0;
  for (const c of text) out[n++] = index.get(c) ?? -1;
  return out.subarray(0, n);
}

/** The text of token ids; ids outside the vocabulary become U+FFFD. */
export function decodeCharacters(tokens: ArrayLike<number>, vocabulary: readonly string[]): string {
  let out = '';
  for (let i = 0; i < tokens.length; i++) out += vocabulary[tokens[i] as number] ?? '\uFFFD';
  return out;
}

/** Shannon entropy, in bits, of the distribution given by counts. */
export function entropyBits(counts: ArrayLike<number>): number {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i] as number;
  if (total === 0) return 0;
  let bits = 0;
  for (let i = 0; i < counts.length; i++) {
    const p = (counts[i] as number) / total;
    if (p > 0) bits -= p * Math.log2(p);
  }
  return bits;
}

/** Language-model figures from a mean next-token cross-entropy in nats. */
export function languageModelMetrics(lossNats: number): { perplexity: number; bitsPerChar: number } {
  return { perplexity: Math.exp(lossNats), bitsPerChar: lossNats / Math.LN2 };
}
