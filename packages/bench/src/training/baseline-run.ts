/**
 * One baseline run of part 1: the baseline page in its own headless Chromium, served under the
 * coordinator's origin (so it fetches the same dataset shards and checkpoint 0 the volunteers do),
 * its measured window's wall time and CPU, and its weight snapshots evaluated on the coordinator's
 * test set with the coordinator's own evaluation (the same held-out samples, the same plan).
 */
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser } from 'playwright';
import { jobSpecSchema, type Backend, type DatasetSummary, type JobSpec } from '@tabswarm/protocol';
import { topologyFor } from '@tabswarm/core';
import {
  evaluateParameters,
  evaluationPlan,
  type TestSet,
} from '../../../../server/src/checkpoints/evaluate.ts';
import { evaluationSize } from '../../../../server/src/datasets/text.ts';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../../../../browser-launch.ts';
import { baselinePageDir } from './baseline-build.ts';
import { BenchCoordinator } from './coordinator.ts';
import { CpuWindow } from './cpu-window.ts';
import type { BaselineConfig, BaselineResult, BaselineWindow } from './page/baseline-types.ts';
import { budgetOf, jobSpec, metricOf, type TrainingSetup } from './setup.ts';
import type { RunResult } from './swarm-run.ts';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.wasm': 'application/wasm',
};

export interface BaselineRunOptions {
  readonly setup: TrainingSetup;
  /** Keep the weights every this many samples (0: none, fit without callbacks). */
  readonly snapshotEvery: number;
  readonly backend: Backend | null;
  readonly log: (line: string) => void;
}

/** The held-out samples the coordinator scores its checkpoints on (text: the first windows only). */
async function testSetOf(coordinator: BenchCoordinator, summary: DatasetSummary): Promise<TestSet> {
  const test = await coordinator.samples(summary.id, 'test', 0, evaluationSize(summary));
  return {
    x: test.x,
    y: Int32Array.from(test.y),
    n: test.count,
    featureShape: summary.featureShape,
    labelsPerSample: test.labelsPerSample,
  };
}

export async function runBaseline(
  options: BaselineRunOptions,
): Promise<RunResult & { fallbackReason: string | null }> {
  const pageDir = await baselinePageDir();
  const coordinator = await BenchCoordinator.start();
  let browser: Browser | null = null;
  try {
    const { setup } = options;
    // A job only for its checkpoint 0, the seeded initial model the swarm starts from; never trained.
    const job = await coordinator.createJob(jobSpec(setup, 'bench-baseline'));
    const summary = await coordinator.dataset(job.spec.dataset);
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: [...CHROMIUM_ARGS] });
    const page = await browser.newPage();
    page.on('pageerror', (error) => options.log(`  [baseline page error] ${error.message}`));
    await page.route(`${coordinator.url}/bench-baseline/**`, async (route) => {
      const rel = new URL(route.request().url()).pathname.replace(/^\/bench-baseline\/?/, '') || 'index.html';
      const file = path.join(pageDir, path.normalize(rel));
      if (!file.startsWith(pageDir) || !fs.existsSync(file)) return route.fulfill({ status: 404 });
      return route.fulfill({
        status: 200,
        body: fs.readFileSync(file),
        contentType: CONTENT_TYPES[path.extname(file)] ?? 'application/octet-stream',
      });
    });
    const window = new CpuWindow(coordinator.pid);
    await page.exposeFunction('benchMark', (label: 'start' | 'end') => {
      if (label === 'start') window.start();
      else figures = window.stop();
    });
    let figures: ReturnType<CpuWindow['stop']> | null = null;
    await page.goto(`${coordinator.url}/bench-baseline/index.html`);
    await page.waitForFunction(() => (window as unknown as BaselineWindow).runBaseline !== undefined);
    const spec: JobSpec = jobSpecSchema.parse(job.spec);
    const config: BaselineConfig = {
      jobId: job.id,
      spec,
      featureShape: summary.featureShape,
      ...(summary.labelShape !== undefined && { labelShape: summary.labelShape }),
      numClasses: summary.numClasses,
      // The job's training samples: the first samplesPerEpoch of the split when the setup has a budget.
      trainSize: job.trainSize,
      sampleBudget: budgetOf(setup, job.trainSize),
      snapshotEvery: options.snapshotEvery,
      backend: options.backend,
    };
    const result: BaselineResult = await page.evaluate(
      (c) => (window as unknown as Required<BaselineWindow>).runBaseline(c),
      config,
    );
    if (figures === null) throw new Error('the baseline page did not mark the end of its window');
    const cpu: ReturnType<CpuWindow['stop']> = figures;

    // Evaluate outside the window, as the coordinator evaluates the swarm's checkpoints (not counted either).
    const testSet = await testSetOf(coordinator, summary);
    const topology = topologyFor(spec.model, summary);
    const curve = [];
    let plan: ReturnType<typeof evaluationPlan> | undefined;
    for (let i = 0; i < result.snapshotSamples.length; i++) {
      const base64 = await page.evaluate(
        (k) => (window as unknown as Required<BaselineWindow>).baselineSnapshot(k),
        i,
      );
      const buf = Buffer.from(base64, 'base64');
      const values = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4).slice();
      // The coordinator's own plan for its checkpoints: the same samples, the same batches.
      plan ??= evaluationPlan(testSet.n, values.length, testSet.labelsPerSample ?? 1);
      const evaluation = await evaluateParameters(topology, values, testSet, plan);
      curve.push({ samples: result.snapshotSamples[i] as number, value: metricOf(setup, evaluation) });
    }
    return {
      ...cpu,
      coordinatorCpuSeconds: 0,
      samples: result.samples,
      trainSize: job.trainSize,
      curve,
      backend: result.backend,
      fallbackReason: result.fallbackReason,
      phases: {},
    };
  } finally {
    await browser?.close().catch(() => undefined);
    await coordinator.stop();
  }
}
