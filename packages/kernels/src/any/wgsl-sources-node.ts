/// <reference types="node" />
/**
 * The text of every shaders/*.wgsl file in plain Node (tsx, node --import tsx, Vitest's node
 * project): read once, synchronously, relative to this module. `#wgsl-sources` resolves here under
 * the `node` condition and to wgsl-sources-vite.ts everywhere else (see package.json `imports`).
 */
import { readdirSync, readFileSync } from 'node:fs';

const SHADERS = new URL('../../../../shaders/', import.meta.url);

/** File name without `.wgsl` → WGSL text. */
export const wgslFiles: Readonly<Record<string, string>> = Object.fromEntries(
  readdirSync(SHADERS)
    .filter((file) => file.endsWith('.wgsl'))
    .map((file) => [file.slice(0, -'.wgsl'.length), readFileSync(new URL(file, SHADERS), 'utf8')]),
);
