/**
 * What the swarm specs share: one real coordinator per spec file, the volunteer browsers they
 * launch (closed together, whatever happened), the REST calls they make and the mnist-mlp job
 * they train to the target accuracy; for the acceptance scenarios, the simulation harness's browsers
 * and the coordinator's own ledger of shards.
 */
import path from 'node:path';
import { chromium, expect, test, type Browser, type Page } from '@playwright/test';
import BetterSqlite3 from 'better-sqlite3';
import {
  readReply,
  type ConsensusSeries,
  type JobInfo,
  type JobSpecInput,
  type NodeInfo,
  type TrainingPoint,
} from '@tabswarm/protocol';
import { OperatorClient } from '@tabswarm/virtual';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../browser-launch.ts';
import { BrowserSwarm } from '../packages/simulate/src/browser-swarm.ts';
import { startCoordinator, type Coordinator, type CoordinatorOptions } from './coordinator.ts';
import './volunteer-test-api.ts';

export { mnistMlpJob } from '../packages/virtual/src/operator-client.ts';

export interface VolunteerBrowser {
  readonly browser: Browser;
  readonly page: Page;
}

export interface Swarm {
  readonly coordinator: Coordinator;
  readonly api: <T>(method: 'GET' | 'POST', url: string, body?: unknown) => Promise<T>;
  readonly createJob: (spec: JobSpecInput) => Promise<JobInfo>;
  readonly getJob: (id: string) => Promise<JobInfo>;
  readonly nodes: () => Promise<NodeInfo[]>;
  readonly consensus: (jobId: string) => Promise<ConsensusSeries>;
  /** A separate Chromium process (its own GPU process and WebRTC stack) on the volunteer page. */
  openVolunteerPage(options?: {
    args?: readonly string[];
    label?: string;
    /** The volunteer page's query string, with its '?' (e.g. '?backend=wasm'). */
    query?: string;
  }): Promise<VolunteerBrowser>;
  /** Polls until the job completed with a checkpoint evaluated at the target; returns the job. */
  readonly untilTrained: (jobId: string, timeoutMs: number, target?: number) => Promise<JobInfo>;
}

/** Starts a coordinator before the file's tests and stops it, and every browser, after them. */
export function useSwarm(options: CoordinatorOptions): Swarm {
  let coordinator: Coordinator | undefined;
  const browsers: Browser[] = [];
  test.beforeAll(async () => {
    coordinator = await startCoordinator(options);
  });
  // eslint-disable-next-line no-empty-pattern -- Playwright needs the fixtures argument destructured
  test.afterEach(({}, testInfo) => {
    // The coordinator's own account of a failed test: its log's tail (pino JSON lines).
    if (testInfo.status !== testInfo.expectedStatus && coordinator) {
      console.log(`[coordinator log, last lines]\n${coordinator.output().split('\n').slice(-80).join('\n')}`);
    }
  });
  test.afterAll(async () => {
    await Promise.allSettled(browsers.map((b) => b.close()));
    await coordinator?.stop();
  });

  const running = (): Coordinator => {
    if (!coordinator) throw new Error('the coordinator starts in beforeAll');
    return coordinator;
  };
  const api = <T>(method: 'GET' | 'POST', url: string, body?: unknown): Promise<T> =>
    running().api<T>(method, url, body);
  const getJob = async (id: string): Promise<JobInfo> =>
    (await api<{ job: JobInfo }>('GET', `/api/jobs/${id}`)).job;

  return {
    get coordinator() {
      return running();
    },
    api,
    getJob,
    createJob: async (spec) => (await api<{ job: JobInfo }>('POST', '/api/jobs', spec)).job,
    nodes: async () => (await api<{ nodes: NodeInfo[] }>('GET', '/api/nodes')).nodes,
    consensus: (jobId) => api<ConsensusSeries>('GET', `/api/jobs/${jobId}/consensus?limit=20000`),
    async openVolunteerPage({ args = CHROMIUM_ARGS, label = 'volunteer', query = '' } = {}) {
      const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: [...args] });
      browsers.push(browser);
      const page = await browser.newPage();
      page.on('pageerror', (error) => console.log(`[${label} page error] ${error.message}`));
      await page.goto(`${running().url}/volunteer/${query}`);
      return { browser, page };
    },
    async untilTrained(jobId, timeoutMs, target = 0.9) {
      let latest = await getJob(jobId);
      await expect
        .poll(
          async () => {
            latest = await getJob(jobId);
            return latest.status === 'completed' && (latest.latestCheckpoint?.accuracy ?? 0) >= target;
          },
          { timeout: timeoutMs, intervals: [2_000] },
        )
        .toBe(true);
      return latest;
    },
  };
}

/** Presses Start and waits for the coordinator connection; returns the volunteer's node id. */
export async function startVolunteer(page: Page): Promise<string> {
  await page.getByTestId('start-button').click();
  await expect(page.getByTestId('connection-state')).toHaveText('connected', { timeout: 90_000 });
  const nodeId = (await page.getByTestId('node-id').textContent())?.trim() ?? '';
  expect(nodeId).toMatch(/^v[0-9a-f]{16}$/);
  return nodeId;
}

export const trainerState = (page: Page) => page.evaluate(() => window.tabswarmTest.trainer());

/** The scenarios' swarm: the simulation harness's browsers against this file's coordinator. */
export function openBrowsers(swarm: Swarm, mode: 'processes' | 'contexts' = 'processes'): BrowserSwarm {
  return new BrowserSwarm({
    url: swarm.coordinator.url,
    mode,
    backend: null,
    log: (line) => console.log(line),
  });
}

/** The harness's operator client on this file's coordinator. */
export const operatorOf = (swarm: Swarm): OperatorClient =>
  new OperatorClient(swarm.coordinator.url, swarm.coordinator.operatorToken);

export interface ShardLedger {
  /** Shards of the job in state done. */
  readonly done: number;
  /** The job row's own count. */
  readonly jobShardsDone: number;
  /** Shards (epoch, shard) with more than one counted completion. */
  readonly countedTwice: number;
  /** Done shards with no counted completion. */
  readonly doneUncounted: number;
  readonly countedSamples: number;
  readonly jobSamplesDone: number;
}

/** Every shard of every epoch as the coordinator's store has it (read-only, beside the running coordinator). */
export function shardLedger(dataDir: string, jobId: string): ShardLedger {
  const db = new BetterSqlite3(path.join(dataDir, 'tabswarm.sqlite'), { readonly: true });
  try {
    const perShard = db
      .prepare(
        `SELECT s.state AS state, (SELECT COALESCE(SUM(l.counted), 0) FROM leases l
           WHERE l.job_id = s.job_id AND l.epoch = s.epoch AND l.shard = s.shard) AS counted
         FROM shards s WHERE s.job_id = ?`,
      )
      .all(jobId) as { state: string; counted: number }[];
    const job = db.prepare('SELECT shards_done, samples_done FROM jobs WHERE id = ?').get(jobId) as {
      shards_done: number;
      samples_done: number;
    };
    const samples = db
      .prepare('SELECT COALESCE(SUM(samples), 0) AS n FROM leases WHERE job_id = ? AND counted = 1')
      .get(jobId) as { n: number };
    return {
      done: perShard.filter((s) => s.state === 'done').length,
      jobShardsDone: job.shards_done,
      countedTwice: perShard.filter((s) => s.counted > 1).length,
      doneUncounted: perShard.filter((s) => s.state === 'done' && s.counted !== 1).length,
      countedSamples: samples.n,
      jobSamplesDone: job.samples_done,
    };
  } finally {
    db.close();
  }
}

/** The job's counted shard completions per node id (with `uncounted`, every one received), oldest first. */
export async function completionsByNode(
  operator: OperatorClient,
  jobId: string,
  { uncounted = false }: { readonly uncounted?: boolean } = {},
): Promise<Map<string, TrainingPoint[]>> {
  const metrics = readReply(
    'GET /api/jobs/:jobId/metrics',
    await operator.api('GET', `/api/jobs/${jobId}/metrics`),
  );
  const byNode = new Map<string, TrainingPoint[]>();
  for (const p of metrics.training) {
    if (!p.counted && !uncounted) continue;
    byNode.set(p.nodeId, [...(byNode.get(p.nodeId) ?? []), p]);
  }
  return byNode;
}

/**
 * Polls until the job completed because a checkpoint evaluated at the target (the job's final
 * checkpoint, taken after, may land a little lower); returns the job and its best accuracy.
 */
export async function untilTargetReached(
  operator: OperatorClient,
  jobId: string,
  timeoutMs: number,
): Promise<{ job: JobInfo; best: number }> {
  let job = await operator.getJob(jobId);
  await expect
    .poll(
      async () => {
        job = await operator.getJob(jobId);
        return job.status === 'completed' || job.status === 'failed' ? job.status : null;
      },
      { timeout: timeoutMs, intervals: [2_000] },
    )
    .toBe('completed');
  const { checkpoints } = readReply(
    'GET /api/jobs/:jobId/checkpoints',
    await operator.api('GET', `/api/jobs/${jobId}/checkpoints`),
  );
  return { job, best: Math.max(...checkpoints.map((c) => c.accuracy ?? 0)) };
}
