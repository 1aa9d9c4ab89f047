/**
 * Text datasets: UTF-8 text (an upload or the built-in corpus) tokenised at character level into
 * windows of `context` tokens whose labels are the next token at each position. The last
 * `testFraction` of the text is the held-out part (windows never straddle the cut, so no held-out
 * character is ever trained on); training windows are shuffled with a seeded permutation, held-out
 * ones kept in order. Windows do not overlap: a text of n characters gives about n / context samples.
 */
import { seededPermutation } from '@tabswarm/core';
import {
  DEFAULT_TEXT_CONTEXT,
  DEFAULT_TEXT_TEST_FRACTION,
  MAX_TEXT_CONTEXT,
  MAX_TEXT_VOCABULARY,
  MIN_TEXT_CONTEXT,
  characterVocabulary,
  encodeCharacters,
  entropyBits,
  type TextInfo,
} from '@tabswarm/protocol';
import { DatasetError, badRequest } from './errors.ts';
import { labelDtypeFor, type Dtype, type LabelDtype } from './layout.ts';
import type { DatasetDraft } from './writer.ts';

export const DEFAULT_TEXT_SPLIT_SEED = 1851;
/**
 * Held-out windows a checkpoint of a text model is evaluated on: the first 256 (16,384 characters
 * at context 64). The coordinator evaluates on TF.js's CPU backend, where a transformer's forward
 * pass over all of a novel's held-out part would take minutes per checkpoint.
 */
export const MAX_TEXT_EVAL_WINDOWS = 256;

/** How many held-out samples of a dataset the coordinator evaluates checkpoints on. */
export function evaluationSize(m: { readonly testSize: number; readonly text?: unknown }): number {
  return m.text === undefined ? m.testSize : Math.min(m.testSize, MAX_TEXT_EVAL_WINDOWS);
}
/**
 * Most characters (UTF-16 units) a text upload may hold: the text and its tokens (4 bytes each) stay
 * in memory while windows are cut, about 96 MB at this limit. Sixteen million characters is some
 * fifteen novels.
 */
export const MAX_TEXT_CHARS = 16 * 1024 * 1024;

export interface TextImportOptions {
  readonly context?: number | undefined;
  readonly testFraction?: number | undefined;
  readonly seed?: number | undefined;
}

export interface TextBuild {
  readonly featureShape: number[];
  readonly labelShape: number[];
  readonly dtype: Dtype;
  readonly labelDtype: LabelDtype;
  readonly numClasses: number;
  readonly trainSize: number;
  readonly testSize: number;
  readonly split: { seed: number; testFraction: number };
  readonly text: TextInfo;
}

/**
 * Decodes streamed bytes as UTF-8, strictly: an invalid sequence anywhere (a chunk boundary
 * inside a character is fine) is a BAD_REQUEST naming the byte offset's neighbourhood. A leading
 * byte-order mark is dropped.
 */
export async function readUtf8(
  chunks: AsyncIterable<Uint8Array>,
  maxChars = MAX_TEXT_CHARS,
): Promise<string> {
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
  const parts: string[] = [];
  let chars = 0;
  let bytes = 0;
  const decode = (chunk?: Uint8Array): void => {
    let piece: string;
    try {
      piece = chunk === undefined ? decoder.decode() : decoder.decode(chunk, { stream: true });
    } catch {
      throw badRequest(
        `the text is not valid UTF-8 (an invalid byte sequence within the first ${bytes} bytes)`,
      );
    }
    chars += piece.length;
    if (chars > maxChars) {
      throw new DatasetError('PAYLOAD_TOO_LARGE', `a text dataset holds at most ${maxChars} characters`);
    }
    parts.push(piece);
  };
  for await (const chunk of chunks) {
    bytes += chunk.length;
    decode(chunk);
  }
  decode();
  return parts.join('');
}

function checkOptions(options: TextImportOptions): { context: number; testFraction: number; seed: number } {
  const context = options.context ?? DEFAULT_TEXT_CONTEXT;
  if (!Number.isInteger(context) || context < MIN_TEXT_CONTEXT || context > MAX_TEXT_CONTEXT) {
    throw badRequest(`context must be a whole number from ${MIN_TEXT_CONTEXT} to ${MAX_TEXT_CONTEXT}`);
  }
  const testFraction = options.testFraction ?? DEFAULT_TEXT_TEST_FRACTION;
  if (!(testFraction > 0 && testFraction < 1)) throw badRequest('testFraction must be between 0 and 1');
  return { context, testFraction, seed: options.seed ?? DEFAULT_TEXT_SPLIT_SEED };
}

/** Tokenises `text` and writes its windows into the draft's four blobs. */
export function buildTextInto(draft: DatasetDraft, text: string, options: TextImportOptions = {}): TextBuild {
  const { context, testFraction, seed } = checkOptions(options);
  if (text.length === 0) throw badRequest('the text is empty');
  const vocabulary = characterVocabulary(text);
  if (vocabulary.length < 2) throw badRequest('the text needs at least 2 distinct characters');
  if (vocabulary.length > MAX_TEXT_VOCABULARY) {
    throw badRequest(
      `the text has ${vocabulary.length} distinct characters; a character-level dataset allows at most ${MAX_TEXT_VOCABULARY}`,
    );
  }
  const tokens = encodeCharacters(text, vocabulary);
  const n = tokens.length;
  const cut = Math.floor(n * (1 - testFraction));
  // A window needs context + 1 tokens: its inputs and, one further, its last label.
  const trainSize = Math.floor((cut - 1) / context);
  const testSize = Math.floor((n - cut - 1) / context);
  if (trainSize < 1 || testSize < 1) {
    throw badRequest(
      `the text is too short for a context of ${context}: ${n} characters give ${Math.max(trainSize, 0)} training and ${Math.max(testSize, 0)} held-out windows (each part needs at least ${context + 1} characters; the held-out part is the last ${testFraction} of the text)`,
    );
  }
  const numClasses = vocabulary.length;
  const dtype: Dtype = numClasses <= 256 ? 'uint8' : 'float32';
  const labelDtype = labelDtypeFor(numClasses);
  const writeTokens = (blob: 'trainX' | 'testX' | 'trainY' | 'testY', from: number): void => {
    const writer = draft.blob(blob);
    const slice = tokens.subarray(from, from + context);
    const isX = blob === 'trainX' || blob === 'testX';
    if (isX && dtype === 'float32') writer.write(new Uint8Array(Float32Array.from(slice).buffer));
    else if (!isX && labelDtype === 'uint16') writer.write(new Uint8Array(Uint16Array.from(slice).buffer));
    else writer.write(Uint8Array.from(slice));
  };
  const order = seededPermutation(trainSize, seed);
  for (let k = 0; k < trainSize; k++) {
    const start = (order[k] as number) * context;
    writeTokens('trainX', start);
    writeTokens('trainY', start + 1);
  }
  const heldOutCounts = new Float64Array(numClasses);
  for (let k = 0; k < testSize; k++) {
    const start = cut + k * context;
    writeTokens('testX', start);
    writeTokens('testY', start + 1);
    for (let i = start + 1; i <= start + context; i++) {
      const token = tokens[i] as number;
      heldOutCounts[token] = (heldOutCounts[token] as number) + 1;
    }
  }
  return {
    featureShape: [context],
    labelShape: [context],
    dtype,
    labelDtype,
    numClasses,
    trainSize,
    testSize,
    split: { seed, testFraction },
    text: {
      tokenization: 'char',
      context,
      vocabulary,
      heldOutUnigramBits: entropyBits(heldOutCounts),
      trainChars: cut,
      heldOutChars: n - cut,
    },
  };
}
