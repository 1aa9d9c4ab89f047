/**
 * `npm run bench:gossip`: two Chromium instances (two WebRTC stacks) join a real coordinator and
 * measure, over the same loopback WebRTC path:
 *   1. throughput of a parameter frame through our transport (64 KiB and 256 KiB chunks) against
 *      the same bytes through PeerJS's default binary serialization, each acknowledged by the
 *      receiver once it has the whole message;
 *   2. bytes on the wire per exchange for each codec (fp32, fp16, int8, top-k 1 %).
 * A script, not a test: numbers are printed, never asserted.
 *
 *   tsx packages/gossip/bench/run.ts [--sizes 4,32] (MB) [--repetitions 3] [--elements 1048576]
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { chromium, type Browser, type Page } from 'playwright';
import { createServer } from 'vite';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../../../browser-launch.ts';
import { startCoordinator } from '../../../e2e/coordinator.ts';
import type { CodecRow, ThroughputRow } from './bench-api.ts';

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    sizes: { type: 'string', default: '4,32' },
    repetitions: { type: 'string', default: '3' },
    elements: { type: 'string', default: String(1 << 20) },
  },
});
const sizes = (values.sizes ?? '').split(',').map((s) => Math.round(Number(s) * 1024 * 1024));
const repetitions = Number(values.repetitions);
const elements = Number(values.elements);

const median = (xs: readonly number[]): number =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

async function openPage(browser: Browser, url: string): Promise<Page> {
  const page = await browser.newPage();
  page.on('pageerror', (error) => console.error(`[page] ${error.message}`));
  await page.goto(url);
  await page.waitForFunction(() => window.gossipBench !== undefined, undefined, { timeout: 180_000 });
  return page;
}

function api(page: Page) {
  return {
    start: (coordinatorUrl: string, n: number, seed: number) =>
      page.evaluate(
        ([u, k, sd]) => window.gossipBench?.start(u, k, sd) ?? Promise.reject(new Error('no page API')),
        [coordinatorUrl, n, seed] as const,
      ),
    members: () => page.evaluate(() => window.gossipBench?.members() ?? 0),
    throughput: (peerId: string, s: readonly number[], reps: number) =>
      page.evaluate(
        ([p, z, r]) => window.gossipBench?.throughput(p, z, r) ?? Promise.reject(new Error('no page API')),
        [peerId, s, reps] as const,
      ),
    useCodec: (codec: CodecRow['codec'], n: number, seed: number) =>
      page.evaluate(([c, k, sd]) => window.gossipBench?.useCodec(c, k, sd), [codec, n, seed] as const),
    exchange: (rounds: number) =>
      page.evaluate(
        (r) => window.gossipBench?.exchange(r) ?? Promise.reject(new Error('no page API')),
        rounds,
      ),
  };
}

const mbit = (bytes: number, ms: number): number => (bytes * 8) / 1e6 / (ms / 1000);

async function main(): Promise<void> {
  const coordinator = await startCoordinator({ heartbeatIntervalMs: 1_000, heartbeatTimeoutMs: 30_000 });
  const vite = await createServer({
    configFile: false,
    root: fileURLToPath(new URL('.', import.meta.url)),
    logLevel: 'warn',
    clearScreen: false,
    server: { host: '127.0.0.1', port: 0 },
  });
  await vite.listen();
  const url = vite.resolvedUrls?.local[0] ?? '';
  // Two browser processes: two WebRTC stacks talking over loopback, as two volunteers would.
  const browsers: Browser[] = [];
  try {
    for (let i = 0; i < 2; i++)
      browsers.push(await chromium.launch({ executablePath: CHROMIUM_PATH, args: [...CHROMIUM_ARGS] }));
    const [pageA, pageB] = [
      await openPage(browsers[0] as Browser, url),
      await openPage(browsers[1] as Browser, url),
    ];
    const a = api(pageA);
    const b = api(pageB);
    const idB = await b.start(coordinator.url, elements, 2);
    await a.start(coordinator.url, elements, 1);
    while ((await a.members()) < 2 || (await b.members()) < 2) await new Promise((r) => setTimeout(r, 100));
    console.log(
      `coordinator ${coordinator.url}; two Chromium instances, WebRTC data channels over loopback\n`,
    );

    const rows: ThroughputRow[] = await a.throughput(idB, sizes, repetitions);
    const baseline = new Map(
      rows.filter((r) => r.method.startsWith('PeerJS')).map((r) => [r.bytes, median(r.ms)]),
    );
    console.log(`Throughput: one frame, sender to receiver's acknowledgement; median of ${repetitions}\n`);
    console.log(
      table(
        ['method', 'MB', 'median ms', 'Mbit/s', 'vs PeerJS'],
        rows.map((r) => {
          const ms = median(r.ms);
          const base = [...baseline.entries()].find(([bytes]) => Math.abs(bytes - r.bytes) < 1024)?.[1];
          return [
            r.method,
            (r.bytes / 1e6).toFixed(1),
            ms.toFixed(0),
            mbit(r.bytes, ms).toFixed(0),
            base === undefined ? '' : `${(base / ms).toFixed(2)}×`,
          ];
        }),
      ),
    );

    console.log(`\nBytes on the wire per exchange (one side), ${elements.toLocaleString('en')} parameters\n`);
    const codecRows: CodecRow[] = [];
    for (const codec of ['fp32', 'fp16', 'int8', 'topk'] as const) {
      await Promise.all([a.useCodec(codec, elements, 1), b.useCodec(codec, elements, 2)]);
      const [row] = await Promise.all([a.exchange(3), b.exchange(3)]);
      codecRows.push(row);
    }
    const fp32 = codecRows[0]?.bytesPerExchange ?? NaN;
    console.log(
      table(
        ['codec', 'bytes/exchange', 'vs fp32', 'bits/param', 'median ms', 'exchanges'],
        codecRows.map((r) => [
          r.codec === 'topk' ? 'topk (1 %)' : r.codec,
          r.bytesPerExchange.toLocaleString('en'),
          `${((r.bytesPerExchange / fp32) * 100).toFixed(1)} %`,
          ((r.bytesPerExchange * 8) / r.elements).toFixed(2),
          r.msPerExchange.toFixed(0),
          String(r.exchanges),
        ]),
      ),
    );
  } finally {
    await Promise.allSettled(browsers.map((x) => x.close()));
    await vite.close();
    await coordinator.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
});
