/**
 * How smooth the real job page stays with 10,000 completions from 50 volunteers: a coordinator,
 * 50 simulated volunteers completing tiny shards, and the built dashboard in headless Chromium
 * while its metrics re-fetch every second. Prints frame intervals, long tasks and the charts'
 * own redraw times. A figure to report, not a test:
 *
 *   npm run build && npx tsx e2e/dashboard-bench.ts [completions=10000] [volunteers=50]
 */
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from '@playwright/test';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../browser-launch.ts';
import { startCoordinator } from './coordinator.ts';
import { loadSimVolunteer, SimWorker } from './dashboard-swarm.ts';

const TARGET = Number(process.argv[2] ?? 10_000);
const VOLUNTEERS = Number(process.argv[3] ?? 50);
const MEASURE_MS = 8_000;

interface PageFrames {
  intervals: number[];
  longTasks: number[];
}

/** Records every animation frame's interval and every long task into window.benchFrames. */
const MEASURE_FRAMES = `(() => {
  const frames = { intervals: [], longTasks: [] };
  window.benchFrames = frames;
  let previous = performance.now();
  const tick = (now) => {
    frames.intervals.push(now - previous);
    previous = now;
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) frames.longTasks.push(entry.duration);
  }).observe({ entryTypes: ['longtask'] });
})()`;

const quantile = (values: readonly number[], q: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length - 1) * q))] ?? Number.NaN;
};
const round = (v: number): number => Math.round(v * 10) / 10;

async function main(): Promise<void> {
  const coordinator = await startCoordinator({ heartbeatIntervalMs: 1_000, heartbeatTimeoutMs: 30_000 });
  const token = fs.readFileSync(path.join(coordinator.dataDir, 'operator-token'), 'utf8').trim();
  const workers: SimWorker[] = [];
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: [...CHROMIUM_ARGS] });
  try {
    // One-sample shards: many completions without much data. A checkpoint only at the end.
    const res = await fetch(`${coordinator.url}/api/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({
        name: 'bench',
        training: { batchSize: 1, localSteps: 1, epochs: 3 },
        checkpoint: { everyShards: 1_000_000, contributors: 1 },
      }),
    });
    const { job } = (await res.json()) as { job: { id: string } };

    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    await page.goto(`${coordinator.url}/#/jobs/${job.id}`);
    await page.getByTestId('job-page').waitFor();
    // A page error would freeze the charts; fail loudly rather than measure a broken page.
    const pageErrors: Error[] = [];
    page.on('pageerror', (e) => pageErrors.push(e));

    const SimVolunteer = await loadSimVolunteer();
    for (let i = 0; i < VOLUNTEERS; i++) {
      const worker = new SimWorker(new SimVolunteer(coordinator.url), {
        shardMs: 20,
        samplesPerSec: 100 + i,
        heartbeatMs: 1_000,
      });
      workers.push(worker);
      await worker.join();
      worker.startWorking();
    }

    const points = async (): Promise<number> =>
      Number(await page.getByTestId('chart-training-loss').getAttribute('data-points'));
    const started = Date.now();
    let last = 0;
    while ((last = await points()) < TARGET) {
      if (pageErrors[0] !== undefined) throw pageErrors[0];
      if (Date.now() - started > 300_000) throw new Error(`only ${last} points after 5 minutes`);
      const info = (await (await fetch(`${coordinator.url}/api/jobs/${job.id}`)).json()) as {
        job: { shardsDone: number; status: string };
      };
      process.stdout.write(
        `\r${last} completions drawn, ${info.job.shardsDone} counted (${info.job.status})…`,
      );
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
    process.stdout.write(
      `\r${last} completions drawn after ${Math.round((Date.now() - started) / 1000)} s\n`,
    );

    // Measure while the swarm keeps going, so metrics (10,000+ completions) re-fetch every second.
    // A string, not a function: tsx's transform would add helpers the page does not have.
    await page.evaluate(MEASURE_FRAMES);
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Performance.enable');
    const busy = async (): Promise<Record<string, number>> => {
      const { metrics } = await cdp.send('Performance.getMetrics');
      return Object.fromEntries(metrics.map((m) => [m.name, m.value]));
    };
    const before = await busy();
    const redraws: number[] = [];
    const drawsBefore = Number(await page.getByTestId('chart-training-loss').getAttribute('data-draws'));
    const until = Date.now() + MEASURE_MS;
    while (Date.now() < until) {
      const ms = Number(await page.getByTestId('chart-training-loss').getAttribute('data-frame-ms'));
      if (Number.isFinite(ms) && redraws[redraws.length - 1] !== ms) redraws.push(ms);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    if (pageErrors[0] !== undefined) throw pageErrors[0];
    const frames = await page.evaluate<PageFrames>('window.benchFrames');
    const after = await busy();
    const share = (name: string): number =>
      round((100 * ((after[name] ?? 0) - (before[name] ?? 0))) / (MEASURE_MS / 1000));
    const drawsAfter = Number(await page.getByTestId('chart-training-loss').getAttribute('data-draws'));
    const series = Number(await page.getByTestId('chart-training-loss').getAttribute('data-series'));
    const shot = path.resolve('test-results', 'dashboard-bench-job-page.png');
    await page.screenshot({ path: shot, fullPage: true });
    console.log(
      JSON.stringify(
        {
          completionsDrawn: await points(),
          series,
          volunteers: VOLUNTEERS,
          measuredMs: MEASURE_MS,
          trainingLossRedraws: drawsAfter - drawsBefore,
          chartRedrawMs: { median: round(quantile(redraws, 0.5)), max: round(Math.max(...redraws)) },
          frameIntervalMs: {
            median: round(quantile(frames.intervals, 0.5)),
            p95: round(quantile(frames.intervals, 0.95)),
            p99: round(quantile(frames.intervals, 0.99)),
            max: round(Math.max(...frames.intervals)),
            over50ms: frames.intervals.filter((v) => v > 50).length,
            frames: frames.intervals.length,
          },
          longTasks: { count: frames.longTasks.length, maxMs: round(Math.max(0, ...frames.longTasks)) },
          mainThreadBusyPercent: {
            tasks: share('TaskDuration'),
            script: share('ScriptDuration'),
            layout: share('LayoutDuration'),
            style: share('RecalcStyleDuration'),
          },
          screenshot: shot,
        },
        null,
        2,
      ),
    );
  } finally {
    await Promise.allSettled(workers.map((w) => w.stop()));
    await browser.close();
    await coordinator.stop();
  }
}

await main();
