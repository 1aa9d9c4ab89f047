/**
 * One tabswarm run of part 1: a fresh coordinator, N volunteer pages each in its own headless
 * Chromium process (as e2e/swarm-fixture.ts opens them), one job trained to its sample budget, and
 * what it cost — wall time, the browsers' and the coordinator's CPU, the checkpoints' metric (test
 * accuracy, or held-out bits per character) by samples seen, and where the volunteers' time went (their trainer phase, sampled each second).
 */
import { chromium, type Browser, type Page } from 'playwright';
import type { JobInfo } from '@tabswarm/protocol';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../../../../browser-launch.ts';
import { BenchCoordinator } from './coordinator.ts';
import { CpuWindow, type CpuFigures } from './cpu-window.ts';
import { budgetOf, jobSpec, metricOf, type TrainingSetup } from './setup.ts';

/** The setup's metric (accuracy, or bits per character) of the model after `samples`. */
export interface CurvePoint {
  readonly samples: number;
  readonly value: number;
}

export interface RunResult extends CpuFigures {
  readonly samples: number;
  /** The training split's size (samples), which the epochs count. */
  readonly trainSize: number;
  readonly curve: readonly CurvePoint[];
  readonly backend: string | null;
  /** Fraction of the volunteers' sampled time in each trainer phase (training, idle, …). */
  readonly phases: Readonly<Record<string, number>>;
}

/** The volunteer page's test API, as far as part 1 reads it (apps/volunteer/src/test-api-types.ts). */
interface VolunteerProbe {
  getState(): { connection: string; selfTest: string; backend: string | null };
  trainer(): { phase: string; backend: string | null } | null;
}

async function until<T>(what: string, timeoutMs: number, poll: () => Promise<T | null>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await poll();
    if (value !== null) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function openVolunteer(url: string, browsers: Browser[], query: string): Promise<Page> {
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: [...CHROMIUM_ARGS] });
  browsers.push(browser);
  const page = await browser.newPage();
  await page.goto(`${url}/volunteer/${query}`);
  await page.getByTestId('start-button').click();
  await until('the volunteer to connect and self-test', 120_000, () =>
    page.evaluate(() => {
      const api = (window as unknown as { tabswarmTest?: VolunteerProbe }).tabswarmTest;
      const state = api?.getState();
      return state?.connection === 'connected' && state.selfTest !== 'pending' ? true : null;
    }),
  );
  return page;
}

const phaseOf = (page: Page): Promise<{ phase: string; backend: string | null } | null> =>
  page
    .evaluate(() => {
      const t = (window as unknown as { tabswarmTest?: VolunteerProbe }).tabswarmTest?.trainer();
      return t ? { phase: t.phase, backend: t.backend } : null;
    })
    .catch(() => null);

export interface SwarmRunOptions {
  readonly setup: TrainingSetup;
  readonly volunteers: number;
  /** Query string for the volunteer page (e.g. a pinned backend), with its '?', or ''. */
  readonly pageQuery: string;
  readonly log: (line: string) => void;
}

export async function runSwarm({ setup, volunteers, pageQuery, log }: SwarmRunOptions): Promise<RunResult> {
  const coordinator = await BenchCoordinator.start();
  const browsers: Browser[] = [];
  try {
    const pages: Page[] = [];
    for (let i = 0; i < volunteers; i++)
      pages.push(await openVolunteer(coordinator.url, browsers, pageQuery));
    log(`  ${volunteers} volunteer(s) connected; training ${setup.epochs} epoch(s) of ${setup.preset}`);

    const window = new CpuWindow(coordinator.pid);
    window.start();
    const created = await coordinator.createJob(jobSpec(setup, `bench-${volunteers}`));
    const phaseCounts = new Map<string, number>();
    let backend: string | null = null;
    let lastSample = 0;
    const done: JobInfo = await until('the job to complete', 3_600_000, async () => {
      if (Date.now() - lastSample >= 1_000) {
        lastSample = Date.now();
        for (const page of pages) {
          const seen = await phaseOf(page);
          if (seen === null) continue;
          backend = seen.backend ?? backend;
          phaseCounts.set(seen.phase, (phaseCounts.get(seen.phase) ?? 0) + 1);
        }
      }
      const job = await coordinator.job(created.id);
      if (job.status === 'failed' || job.status === 'cancelled') {
        throw new Error(`job ${job.status}: ${job.statusReason ?? ''}`);
      }
      return job.status === 'completed' || job.samplesDone >= budgetOf(setup, job.trainSize) ? job : null;
    });
    const cpu = window.stop();

    // Every checkpoint evaluated (the last one is requested when the job completes). The
    // coordinator scores them one after another (gpt-nano: seconds each, a backlog of minutes on
    // a busy machine): wait while the evaluated count grows, give up after 300 s without progress.
    let evaluated = -1;
    let progressAt = Date.now();
    const checkpoints = await until('the checkpoints to be evaluated', 3_600_000, async () => {
      const list = await coordinator.checkpoints(created.id);
      const scored = list.filter((c) => c.accuracy !== null && c.loss !== null).length;
      if (scored > evaluated) [evaluated, progressAt] = [scored, Date.now()];
      else if (Date.now() - progressAt > 300_000)
        throw new Error(`no checkpoint evaluated in 300 s (${scored} of ${list.length} scored)`);
      const last = list.at(-1);
      return last !== undefined && last.shardsDone >= done.shardsDone && scored === list.length ? list : null;
    });
    if (done.status !== 'completed') await coordinator.cancel(created.id);
    const perShard = done.shardSize;
    // A checkpoint is counted at the shards done when it was requested; of two at one count, the later.
    const bySamples = new Map<number, number>();
    for (const c of checkpoints) {
      if (c.seq > 0 && c.shardsDone <= done.shardsDone)
        bySamples.set(
          c.shardsDone * perShard,
          metricOf(setup, { accuracy: c.accuracy as number, loss: c.loss as number }),
        );
    }
    const curve = [...bySamples].map(([samples, value]) => ({ samples, value }));
    const sampled = [...phaseCounts.values()].reduce((a, b) => a + b, 0);
    const phases = Object.fromEntries(
      [...phaseCounts].map(([phase, n]) => [phase, n / Math.max(1, sampled)]),
    );
    return { ...cpu, samples: done.samplesDone, trainSize: done.trainSize, curve, backend, phases };
  } catch (error) {
    log(`  coordinator log tail:\n${coordinator.output().split('\n').slice(-20).join('\n')}`);
    throw error;
  } finally {
    await Promise.allSettled(browsers.map((b) => b.close()));
    await coordinator.stop();
  }
}
