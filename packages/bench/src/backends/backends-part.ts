/**
 * Part 3, backends: one training step of each preset on webgpu, webgl, wasm and cpu in one page
 * in the same run, so the volunteer's backend order (trainer/src/any/backend.ts) can be checked
 * against measurement. Says when the WebGPU adapter is a fallback (software) one.
 */
import { fileURLToPath } from 'node:url';
import {
  BACKENDS,
  MODEL_PRESETS,
  isGptPreset,
  type AdapterInfo,
  type Backend,
  type ModelPreset,
} from '@tabswarm/protocol';
import { markdownTable } from '../any/markdown.ts';
import { formatTiming, mapTiming, timing } from '../any/stats.ts';
import { withBenchPages } from '../node/bench-pages.ts';
import type { BenchPart, Timing } from '../part.ts';
import type { BackendsOptions, BackendsResult } from './backends-api.ts';

const PAGE_ROOT = fileURLToPath(new URL('./page/', import.meta.url));
/** The batch of the swarm's mnist jobs; --quick (a shape check) takes a smaller one. */
const BATCH_SIZE = 64;
const QUICK_BATCH_SIZE = 16;
/** gpt-nano's batch in the training part (16 windows of 64 characters); --quick: 4. */
const TEXT_BATCH_SIZE = 16;
const QUICK_TEXT_BATCH_SIZE = 4;

export interface BackendFigure {
  readonly backend: Backend;
  readonly preset: ModelPreset;
  readonly parameters: number;
  readonly batchSize: number;
  /** null when the step failed on this backend (see error). */
  readonly msPerStep: Timing | null;
  readonly samplesPerSecond: Timing | null;
  /** This backend's median step over the fastest backend's for the same preset. */
  readonly vsFastest: number | null;
  readonly error: string | null;
}

export interface BackendsData {
  readonly batchSize: number;
  readonly textBatchSize: number;
  readonly warmupSteps: number;
  readonly figures: readonly BackendFigure[];
  readonly fastest: Readonly<Partial<Record<ModelPreset, Backend>>>;
  readonly unavailable: BackendsResult['unavailable'];
  readonly adapter: AdapterInfo | null;
  readonly wasm: BackendsResult['wasm'];
}

function analyse(result: BackendsResult, options: BackendsOptions): BackendsData {
  const base = result.rows.map((r) => {
    const msPerStep = r.error === null ? timing(r.stepMs) : null;
    return {
      backend: r.backend,
      preset: r.preset,
      parameters: r.parameters,
      batchSize: r.batchSize,
      msPerStep,
      samplesPerSecond: msPerStep === null ? null : mapTiming(msPerStep, (ms) => (r.batchSize * 1000) / ms),
      error: r.error,
    };
  });
  const fastest: Partial<Record<ModelPreset, Backend>> = {};
  const figures = base.map((f): BackendFigure => {
    if (f.msPerStep === null) return { ...f, vsFastest: null };
    const best = Math.min(
      ...base.filter((g) => g.preset === f.preset).map((g) => g.msPerStep?.median ?? Infinity),
    );
    if (f.msPerStep.median === best) fastest[f.preset] = f.backend;
    return { ...f, vsFastest: f.msPerStep.median / best };
  });
  return {
    batchSize: options.batchSize,
    textBatchSize: options.textBatchSize,
    warmupSteps: options.warmupSteps,
    figures,
    fastest,
    unavailable: result.unavailable,
    adapter: result.adapter,
    wasm: result.wasm,
  };
}

function markdown(data: BackendsData): string {
  const parameters = new Map(
    data.figures.filter((f) => f.parameters > 0).map((f) => [f.preset, f.parameters]),
  );
  const table = markdownTable(
    ['model', 'parameters', 'backend', 'ms/step (min–max)', 'samples/s', 'vs fastest'],
    data.figures.map((f) => [
      f.preset,
      (parameters.get(f.preset) ?? 0).toLocaleString('en-US'),
      f.backend,
      f.msPerStep === null ? 'fails (below)' : formatTiming(f.msPerStep, 0),
      f.samplesPerSecond === null ? 'n/a' : f.samplesPerSecond.median.toFixed(0),
      f.vsFastest === null ? 'n/a' : f.vsFastest === 1 ? 'fastest' : `${f.vsFastest.toFixed(2)}×`,
    ]),
    ['left', 'right', 'left', 'right', 'right', 'right'],
  );
  const a = data.adapter;
  const adapterLine =
    a === null
      ? 'WebGPU: no adapter in this browser, so the volunteer page starts on WebGL.'
      : a.isFallbackAdapter
        ? `WebGPU here is a fallback adapter (${a.vendor} ${a.architecture}: SwiftShader, WebGPU emulated on the CPU). ` +
          'The volunteer page does nothing about that: startBackend (packages/trainer/src/any/backend.ts) takes WebGPU whenever ' +
          'requestAdapter() returns an adapter, fallback or not; the adapter is only labelled "(fallback adapter)" on the page and ' +
          'in the dashboard. Where WebGPU is slower than WebGL, as measured above, such a tab trains on the slower backend.'
        : `WebGPU adapter: ${a.vendor} ${a.architecture} ${a.description} (a hardware adapter).`;
  const order = MODEL_PRESETS.filter((p) => data.fastest[p] !== undefined)
    .map((p) => `${p}: ${data.fastest[p]}`)
    .join(', ');
  const failed = data.figures.filter((f) => f.error !== null);
  return [
    `One training step (the trainer's LocalTrainer.step: tfjs loss and gradients, our optimizer on the flat vector; Adam) on a batch of ${data.batchSize} MNIST-shaped samples (gpt-nano: ${data.textBatchSize} random windows of 64 characters, 83 distinct, the built-in corpus's shape), after ${data.warmupSteps} warm-up step(s); all backends in one page, one after another. The volunteer page tries webgpu, then webgl, wasm, cpu.`,
    '',
    table,
    '',
    `Fastest here: ${order === '' ? 'none measured' : order}.`,
    ...failed.map(
      (f) =>
        `${f.preset} cannot train on ${f.backend}: ${f.error ?? ''} — a volunteer that falls back to ${f.backend} fails such a job's shards.`,
    ),
    ...(data.wasm === null
      ? []
      : [
          `WebAssembly: SIMD ${data.wasm.simd ? 'on' : 'off'}, threads ${data.wasm.threads ? 'on' : 'off (the page is not cross-origin isolated)'}.`,
        ]),
    ...data.unavailable.map((u) => `Not measured: ${u.backend} (${u.reason}).`),
    adapterLine,
  ].join('\n');
}

export const backendsPart: BenchPart = {
  name: 'backends',
  description: 'one training step of each preset on webgpu, webgl, wasm and cpu',
  async run({ quick, repetitions, log }) {
    const options: BackendsOptions = {
      // The image presets on MNIST's shape, gpt-nano on the built-in corpus's (windows of 64, 83
      // characters). Not gpt-mini: 10.7M parameters, seconds a step on the CPU here and more on
      // SwiftShader; it is for volunteers with real GPUs.
      presets: MODEL_PRESETS.filter((p) => !isGptPreset(p) || p === 'gpt-nano'),
      backends: BACKENDS,
      batchSize: quick ? QUICK_BATCH_SIZE : BATCH_SIZE,
      textBatchSize: quick ? QUICK_TEXT_BATCH_SIZE : TEXT_BATCH_SIZE,
      warmupSteps: quick ? 1 : 2,
      steps: repetitions,
    };
    log(`${options.presets.join(', ')} on ${options.backends.join(', ')}; ${options.steps} timed steps each`);
    const result = await withBenchPages(
      { root: PAGE_ROOT, readyGlobal: 'backendsBench', log },
      async ([page]) => {
        if (page === undefined) throw new Error('no page');
        return page.evaluate((o) => {
          const bench = window.backendsBench;
          if (bench === undefined) throw new Error('backends benchmark page not loaded');
          return bench.run(o);
        }, options);
      },
    );
    const data = analyse(result, options);
    return { part: 'backends', markdown: markdown(data), data };
  },
};
