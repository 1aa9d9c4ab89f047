/**
 * `npm run bench:kernels`: serves the benchmark page with Vite, opens it in the system Chromium
 * (WebGPU enabled) through Playwright, runs every kernel against the same computation composed
 * from tfjs ops on the same device, and prints a table. A script, not a test: numbers are
 * reported, never asserted.
 *
 *   tsx packages/kernels/bench/run.ts [--sizes 65536,1048576] [--kernels adam,mix-2]
 *                                     [--repetitions 5] [--min-batch-ms 100]
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright';
import { createServer } from 'vite';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../../../browser-launch.ts';
import type { BenchOptions, BenchRow } from './bench-api.ts';

const DEFAULTS: BenchOptions = {
  sizes: [65_536, 1_048_576, 4_194_304],
  kernels: [],
  repetitions: 5,
  minBatchMs: 100,
};

function readOptions(argv: readonly string[]): BenchOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      sizes: { type: 'string' },
      kernels: { type: 'string' },
      repetitions: { type: 'string' },
      'min-batch-ms': { type: 'string' },
    },
  });
  const list = (s: string | undefined) =>
    s === undefined ? undefined : s.split(',').filter((x) => x !== '');
  const sizes = list(values.sizes)?.map(Number) ?? DEFAULTS.sizes;
  if (sizes.some((n) => !Number.isSafeInteger(n) || n < 256 || n % 256 !== 0)) {
    throw new RangeError('--sizes must be multiples of 256 (the int8 block), comma-separated');
  }
  const repetitions = Number(values.repetitions ?? DEFAULTS.repetitions);
  const minBatchMs = Number(values['min-batch-ms'] ?? DEFAULTS.minBatchMs);
  if (!(Number.isInteger(repetitions) && repetitions >= 1 && minBatchMs > 0)) {
    throw new RangeError('--repetitions must be a positive integer and --min-batch-ms positive');
  }
  return { sizes, kernels: list(values.kernels) ?? DEFAULTS.kernels, repetitions, minBatchMs };
}

function formatTable(rows: readonly BenchRow[]): string {
  const header = ['kernel', 'elements', 'ours ms', 'tfjs ms', 'tfjs/ours', 'ours GB/s', 'tfjs GB/s', 'note'];
  const fixed = (v: number, digits: number) => v.toFixed(digits);
  const gbps = (bytes: number, ms: number) => fixed(bytes / ms / 1e6, 2);
  const body = rows.map((r) => [
    r.kernel,
    r.elements.toLocaleString('en-US'),
    fixed(r.oursMs, 3),
    r.tfjsMs === null ? 'n/a' : fixed(r.tfjsMs, 3),
    r.tfjsMs === null ? 'n/a' : `${fixed(r.tfjsMs / r.oursMs, 2)}×`,
    gbps(r.bytes, r.oursMs),
    r.tfjsMs === null ? 'n/a' : gbps(r.bytes, r.tfjsMs),
    r.note,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => (row[i] as string).length)));
  const line = (cells: readonly string[]) =>
    `| ${cells.map((c, i) => (i === 0 || i === cells.length - 1 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)].join('\n');
}

async function main(): Promise<void> {
  const options = readOptions(process.argv.slice(2));
  const server = await createServer({
    configFile: false,
    root: fileURLToPath(new URL('.', import.meta.url)),
    logLevel: 'warn',
    clearScreen: false,
    server: { host: '127.0.0.1', port: 0 },
  });
  await server.listen();
  const url = server.resolvedUrls?.local[0];
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: [...CHROMIUM_ARGS] });
  try {
    if (url === undefined) throw new Error('Vite did not report a URL');
    const page = await browser.newPage();
    page.on('pageerror', (error) => console.error(`[page] ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error') console.error(`[page] ${message.text()}`);
    });
    await page.goto(url);
    // The page's first load makes Vite bundle tfjs: allow it a while.
    await page.waitForFunction(() => window.tabswarmBench !== undefined, undefined, { timeout: 120_000 });
    const adapter = await page.evaluate(() => window.tabswarmBench?.adapter() ?? null);
    console.log(
      `adapter: ${adapter === null ? 'none' : `${adapter.vendor} ${adapter.architecture} ${adapter.description}`.trim()}` +
        `${adapter?.fallback === true ? ' (fallback adapter: a GPU emulated on the CPU)' : ''}`,
    );
    console.log(
      `sizes ${options.sizes.join(', ')}; median of ${options.repetitions} interleaved batches of ≥ ${options.minBatchMs} ms; ` +
        'GB/s from the bytes the computation must move (same for both sides)\n',
    );
    const rows = await page.evaluate((o) => {
      const bench = window.tabswarmBench;
      if (bench === undefined) throw new Error('benchmark page not loaded');
      return bench.run(o);
    }, options);
    console.log(formatTable(rows));
  } finally {
    await browser.close();
    await server.close();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
});
