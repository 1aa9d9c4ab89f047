/**
 * Part 2, kernels against the hardware: each WGSL kernel against the same maths composed from
 * tfjs ops (packages/kernels/bench's page), and the roofline: a plain vec4 copy on the same
 * adapter in the same run gives the achievable bandwidth, and each kernel's GB/s is reported as a
 * fraction of it (goal ≥ 70 % for the memory-bound kernels).
 */
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright';
import type { BenchOptions as PageOptions, BenchResult } from '../../../kernels/bench/bench-api.ts';
import { goalVerdict, markdownTable } from '../any/markdown.ts';
import { formatTiming, timing } from '../any/stats.ts';
import { withBenchPages } from '../node/bench-pages.ts';
import type { BenchPart, Timing } from '../part.ts';

/** Fraction of the copy's bandwidth a memory-bound kernel should reach. */
export const ROOFLINE_GOAL = 0.7;

const PAGE_ROOT = fileURLToPath(new URL('../../../kernels/bench/', import.meta.url));

export interface KernelFigure {
  readonly kernel: string;
  readonly elements: number;
  readonly bytes: number;
  readonly oursMs: Timing;
  readonly tfjsMs: Timing | null;
  /** tfjs's median over ours: how many times faster our kernel is. */
  readonly speedup: number | null;
  readonly oursGBps: number;
  readonly tfjsGBps: number | null;
  readonly memoryBound: boolean;
  /** Our GB/s over the copy's at the same size. */
  readonly fractionOfCopy: number;
  /** Memory-bound kernels only: whether fractionOfCopy reaches the goal. */
  readonly goalMet: boolean | null;
  readonly note: string;
}

export interface CopyFigure {
  readonly elements: number;
  readonly bytes: number;
  readonly ms: Timing;
  readonly GBps: number;
}

export interface KernelsData {
  readonly goal: number;
  readonly minBatchMs: number;
  readonly copy: readonly CopyFigure[];
  readonly kernels: readonly KernelFigure[];
}

const gbps = (bytes: number, ms: number): number => bytes / ms / 1e6;

function analyse(result: BenchResult, minBatchMs: number): KernelsData {
  const copy = result.copy.map((c) => {
    const ms = timing(c.ms);
    return { elements: c.elements, bytes: c.bytes, ms, GBps: gbps(c.bytes, ms.median) };
  });
  const kernels = result.rows.map((r): KernelFigure => {
    const ours = timing(r.oursMs);
    const tfjs = r.tfjsMs === null ? null : timing(r.tfjsMs);
    const oursGBps = gbps(r.bytes, ours.median);
    const roof = copy.find((c) => c.elements === r.elements);
    if (roof === undefined) throw new Error(`no copy measured at ${r.elements} elements`);
    const fractionOfCopy = oursGBps / roof.GBps;
    return {
      kernel: r.kernel,
      elements: r.elements,
      bytes: r.bytes,
      oursMs: ours,
      tfjsMs: tfjs,
      speedup: tfjs === null ? null : tfjs.median / ours.median,
      oursGBps,
      tfjsGBps: tfjs === null ? null : gbps(r.bytes, tfjs.median),
      memoryBound: r.memoryBound,
      fractionOfCopy,
      goalMet: r.memoryBound ? fractionOfCopy >= ROOFLINE_GOAL : null,
      note: r.note,
    };
  });
  return { goal: ROOFLINE_GOAL, minBatchMs, copy, kernels };
}

const pct = (x: number): string => `${(x * 100).toFixed(0)} %`;

function markdown(data: KernelsData, repetitions: number): string {
  const copyTable = markdownTable(
    ['copy (vec4)', 'bytes moved', 'ms (min–max)', 'GB/s'],
    data.copy.map((c) => [
      c.elements.toLocaleString('en-US'),
      (c.bytes / 1e6).toFixed(1) + ' MB',
      formatTiming(c.ms, 3),
      c.GBps.toFixed(2),
    ]),
  );
  const table = markdownTable(
    [
      'kernel',
      'elements',
      'ours ms (min–max)',
      'tfjs ms',
      'tfjs/ours',
      'ours GB/s',
      'of copy',
      'goal ≥ 70 %',
      'note',
    ],
    data.kernels.map((k) => [
      k.kernel,
      k.elements.toLocaleString('en-US'),
      formatTiming(k.oursMs, 3),
      k.tfjsMs === null ? 'n/a' : k.tfjsMs.median.toFixed(3),
      k.speedup === null ? 'n/a' : `${k.speedup.toFixed(2)}×`,
      k.oursGBps.toFixed(2),
      pct(k.fractionOfCopy),
      k.goalMet === null
        ? 'not memory-bound'
        : goalVerdict(k.fractionOfCopy, data.goal, (x) => `${(x * 100).toFixed(0)} points`),
      k.note,
    ]),
    ['left', 'right', 'right', 'right', 'right', 'right', 'right', 'left', 'left'],
  );
  const judged = data.kernels.filter((k) => k.goalMet !== null);
  const met = judged.filter((k) => k.goalMet === true).length;
  return [
    `Roofline: a plain copy kernel (N floats read, N written, vec4, 256 per workgroup) on the same adapter, median of ${repetitions} batches of ≥ ${data.minBatchMs} ms before the kernels and ${repetitions} after, pooled:`,
    '',
    copyTable,
    '',
    `Kernels: our WGSL against the same maths composed from tfjs ops on the same device, interleaved; GB/s from the bytes the computation must move; "of copy" is ours over the copy's GB/s at the same size. Memory-bound kernel rows at ≥ ${pct(data.goal)} of the copy: ${met} of ${judged.length}.`,
    '',
    table,
  ].join('\n');
}

async function runOnPage(page: Page, options: PageOptions): Promise<BenchResult> {
  return page.evaluate((o) => {
    const bench = window.tabswarmBench;
    if (bench === undefined) throw new Error('kernel benchmark page not loaded');
    return bench.run(o);
  }, options);
}

export const kernelsPart: BenchPart = {
  name: 'kernels',
  description: "WGSL kernels vs composed tfjs ops, and as a fraction of a copy kernel's bandwidth",
  async run({ quick, repetitions, log }) {
    const options: PageOptions = {
      sizes: quick ? [262_144] : [65_536, 1_048_576, 4_194_304],
      kernels: [],
      repetitions,
      minBatchMs: quick ? 25 : 100,
    };
    log(`sizes ${options.sizes.join(', ')}; ${repetitions} batches of ≥ ${options.minBatchMs} ms per side`);
    const result = await withBenchPages(
      { root: PAGE_ROOT, readyGlobal: 'tabswarmBench', log },
      async ([page]) => {
        if (page === undefined) throw new Error('no page');
        const adapter = await page.evaluate(() => window.tabswarmBench?.adapter() ?? null);
        if (adapter === null) throw new Error('the page has no WebGPU adapter');
        return runOnPage(page, options);
      },
    );
    const data = analyse(result, options.minBatchMs);
    return { part: 'kernels', markdown: markdown(data, repetitions), data };
  },
};
