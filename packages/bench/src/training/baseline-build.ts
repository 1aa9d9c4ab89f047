/**
 * Builds the baseline page (page/index.html and its TypeScript) with Vite into a temporary folder,
 * once per process, so the page loads TensorFlow.js and the workspace packages as the volunteer
 * page's build does.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';

const PAGE_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'page');

let built: Promise<string> | null = null;

/** The folder holding the built page (index.html and assets/), built on the first call. */
export function baselinePageDir(): Promise<string> {
  built ??= (async () => {
    const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tabswarm-bench-page-'));
    await build({
      configFile: false,
      root: PAGE_DIR,
      base: './',
      logLevel: 'warn',
      worker: { format: 'es' },
      build: {
        outDir,
        emptyOutDir: true,
        chunkSizeWarningLimit: 8192,
        reportCompressedSize: false,
        // Rolldown's plugin-timing advice is noise in the bench's log.
        rolldownOptions: { checks: { pluginTimings: false } },
      },
    });
    return outDir;
  })();
  return built;
}
