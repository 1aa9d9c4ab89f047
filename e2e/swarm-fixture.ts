/**
 * What the swarm specs share: one real coordinator per spec file, the volunteer browsers they
 * launch (closed together, whatever happened), the REST calls they make and the mnist-mlp job
 * they train to the target accuracy.
 */
import { chromium, expect, test, type Browser, type Page } from '@playwright/test';
import type { ConsensusSeries, JobInfo, JobSpecInput, NodeInfo } from '@tabswarm/protocol';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../browser-launch.ts';
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
  openVolunteerPage(options?: { args?: readonly string[]; label?: string }): Promise<VolunteerBrowser>;
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
    async openVolunteerPage({ args = CHROMIUM_ARGS, label = 'volunteer' } = {}) {
      const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: [...args] });
      browsers.push(browser);
      const page = await browser.newPage();
      page.on('pageerror', (error) => console.log(`[${label} page error] ${error.message}`));
      await page.goto(`${running().url}/volunteer/`);
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
