/** Helpers for the datasets tests: temporary data directories and what is left in them. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export function tempDataDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'tabswarm-datasets-'));
}

/** Entries of `<dataDir>/datasets`, hidden temporaries included: what a failed import left behind. */
export function datasetDirEntries(dataDir: string): string[] {
  const dir = path.join(dataDir, 'datasets');
  return fs.existsSync(dir) ? fs.readdirSync(dir).sort() : [];
}

/** Yields `bytes` in pieces of `size`, as a slow network would. */
export async function* inPieces(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) {
    await Promise.resolve(); // each piece arrives in a later microtask, not all at once
    yield bytes.subarray(i, i + size);
  }
}
