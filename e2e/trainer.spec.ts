/**
 * The volunteer trainer end to end: a real coordinator, a job created over REST, and a volunteer
 * browser that trains it on leased shards in its Web Worker until the coordinator's checkpoint
 * evaluation reaches the target accuracy — surviving a lost GPU device on the way. A browser
 * without WebGPU trains on the fallback backend and says so.
 */
import { expect, test } from '@playwright/test';
import { CHROMIUM_ARGS } from '../browser-launch.ts';
import { mnistMlpJob, trainerState, useSwarm } from './swarm-fixture.ts';

const swarm = useSwarm({ heartbeatIntervalMs: 1_000, heartbeatTimeoutMs: 10_000 });
const { api, createJob, getJob, nodes } = swarm;
const openVolunteer = (args: readonly string[]) => swarm.openVolunteerPage({ args });

test('a WebGPU volunteer trains mnist-mlp to 90 % test accuracy and survives a lost GPU device', async () => {
  test.setTimeout(300_000);
  const job = await createJob(
    mnistMlpJob('e2e mnist-mlp', { checkpoint: { everyShards: 2, contributors: 1 } }),
  );

  const { browser, page } = await openVolunteer(CHROMIUM_ARGS);
  try {
    // Before Start: the page says which job it will work on, for whom, and with which settings.
    await expect(page.getByTestId('job-name')).toContainText('e2e mnist-mlp');
    await expect(page.getByTestId('job-model')).toContainText('mnist-mlp');
    await expect(page.getByTestId('job-settings')).toContainText('batch 64');
    await expect(page.getByTestId('coordinator-host')).toHaveText(new URL(swarm.coordinator.url).host);
    await expect(page.getByTestId('pause-when-hidden')).toBeChecked();

    await page.getByTestId('start-button').click();
    await expect(page.getByTestId('connection-state')).toHaveText('connected', { timeout: 90_000 });
    await expect(page.getByTestId('trainer-backend')).toHaveText('webgpu', { timeout: 60_000 });
    await expect(page.getByTestId('self-test')).toHaveText('passed', { timeout: 60_000 });

    await expect
      .poll(async () => (await trainerState(page))?.shardsDone ?? 0, { timeout: 120_000 })
      .toBeGreaterThan(0);
    const before = await trainerState(page);
    console.log(`[trainer] after the first shard: ${JSON.stringify(before)}`);

    // Every heartbeat carries the trainer's health.
    await expect
      .poll(async () => (await nodes()).find((n) => n.connected)?.health ?? null, { timeout: 15_000 })
      .toMatchObject({ backend: 'webgpu', dutyCycle: 1 });
    const health = (await nodes()).find((n) => n.connected)?.health;
    expect(health?.samplesPerSec).toBeGreaterThan(0);
    expect(health?.tensors).toBeGreaterThan(0);

    // A lost GPU device: the lease in hand goes back, a new worker starts from the last parameters.
    await expect
      .poll(async () => (await trainerState(page))?.leaseId ?? null, { timeout: 60_000 })
      .not.toBeNull();
    expect(await page.evaluate(() => window.tabswarmTest.simulateDeviceLoss())).toBe(true);
    await expect.poll(async () => (await trainerState(page))?.restarts, { timeout: 60_000 }).toBe(1);
    await expect.poll(async () => (await trainerState(page))?.releasedLeases, { timeout: 30_000 }).toBe(1);
    await expect(page.getByTestId('restarts')).toHaveText('1');
    // The new worker loaded what the old one kept after its last shard (in Cache Storage: the page
    // never held the parameters), not the checkpoint.
    await expect(page.getByTestId('trainer-log')).toContainText('from the last local parameters', {
      timeout: 60_000,
    });
    const shardsAtLoss = (await trainerState(page))?.shardsDone ?? 0;
    await expect
      .poll(async () => (await trainerState(page))?.shardsDone ?? 0, { timeout: 120_000 })
      .toBeGreaterThan(shardsAtLoss);
    expect((await trainerState(page))?.backend).toBe('webgpu');

    // Trained until the coordinator's own evaluation of a checkpoint reaches the target.
    const latest = await swarm.untilTrained(job.id, 240_000);
    const after = await trainerState(page);
    console.log(
      `[trainer] job ${latest.status} (${latest.statusReason ?? ''}): ${latest.shardsDone} shards, checkpoint ${latest.latestCheckpoint?.seq} accuracy ${latest.latestCheckpoint?.accuracy}; volunteer ${JSON.stringify(after)}`,
    );
    expect(after?.checkpointsUploaded).toBeGreaterThan(0);

    // The restart snapshot lives in the page's Cache Storage (written by the worker), and Stop
    // deletes it: no compute of this page will restart.
    const snapshots = (): Promise<number> =>
      page.evaluate(async () => (await (await caches.open('tabswarm-snapshots-v1')).keys()).length);
    expect(await snapshots()).toBe(1);
    await page.getByTestId('stop-button').click();
    await expect.poll(snapshots, { timeout: 30_000 }).toBe(0);
  } finally {
    await browser.close();
  }
});

test('without WebGPU, a volunteer trains on the fallback backend and says so', async () => {
  test.setTimeout(180_000);
  const job = await createJob({
    name: 'e2e fallback',
    dataset: 'mnist',
    training: {
      optimizer: { type: 'momentum', momentum: 0.9 },
      learningRate: 0.01,
      batchSize: 32,
      localSteps: 5,
      epochs: 1,
    },
    checkpoint: { everyShards: 1000, contributors: 1 },
  });
  // The same Chromium, without --enable-unsafe-webgpu: navigator.gpu has no adapter.
  const { browser, page } = await openVolunteer(CHROMIUM_ARGS.filter((a) => a !== '--enable-unsafe-webgpu'));
  try {
    await page.getByTestId('start-button').click();
    await expect(page.getByTestId('connection-state')).toHaveText('connected', { timeout: 90_000 });
    await expect(page.getByTestId('trainer-backend')).toHaveText('webgl', { timeout: 60_000 });
    await expect(page.getByTestId('backend')).toHaveText('webgl');
    // Alone in the swarm: no peers (the coordinator's view it gets includes the tab itself).
    await expect(page.getByTestId('peer-count')).toHaveText('0');
    await expect(page.getByTestId('trainer-fallback')).toContainText(
      'webgpu: requestAdapter() returned null',
    );
    await expect
      .poll(async () => (await trainerState(page))?.shardsDone ?? 0, { timeout: 120_000 })
      .toBeGreaterThanOrEqual(2);

    // The heartbeat says so too, and the join did.
    const node = (await nodes()).find((n) => n.connected);
    expect(node?.capabilities.backend).toBe('webgl');
    expect(node?.capabilities.fallbackReason).toContain('webgpu');
    await expect
      .poll(async () => (await nodes()).find((n) => n.connected)?.health?.backend, { timeout: 15_000 })
      .toBe('webgl');
    expect((await getJob(job.id)).shardsDone).toBeGreaterThanOrEqual(2);
    console.log(`[fallback] ${JSON.stringify(await trainerState(page))}`);

    // The volunteer's controls: a duty-cycle limit, a pause while the tab is hidden, and Pause.
    await page.getByTestId('duty-cycle').selectOption('0.5');
    await expect
      .poll(async () => (await nodes()).find((n) => n.connected)?.health?.dutyCycle, { timeout: 15_000 })
      .toBe(0.5);
    const setHidden = (hidden: boolean) =>
      page.evaluate((h) => {
        Object.defineProperty(document, 'visibilityState', {
          configurable: true,
          get: () => (h ? 'hidden' : 'visible'),
        });
        document.dispatchEvent(new Event('visibilitychange'));
      }, hidden);
    await setHidden(true);
    await expect(page.getByTestId('trainer-phase')).toHaveText('paused');
    await expect
      .poll(async () => (await nodes()).find((n) => n.connected)?.state, { timeout: 15_000 })
      .toBe('paused');
    await setHidden(false);
    await expect.poll(async () => (await trainerState(page))?.paused).toBe(false);
    // Pause, pressed by the volunteer: holds while the tab is visible, until Resume.
    await page.getByTestId('pause-button').click();
    await expect(page.getByTestId('pause-button')).toHaveText('Resume');
    await expect(page.getByTestId('trainer-phase')).toHaveText('paused');
    await expect
      .poll(async () => (await nodes()).find((n) => n.connected)?.state, { timeout: 15_000 })
      .toBe('paused');
    await page.getByTestId('pause-button').click();
    await expect(page.getByTestId('pause-button')).toHaveText('Pause');
    await expect.poll(async () => (await trainerState(page))?.paused).toBe(false);
    const shards = (await trainerState(page))?.shardsDone ?? 0;
    await expect
      .poll(async () => (await trainerState(page))?.shardsDone ?? 0, { timeout: 60_000 })
      .toBeGreaterThan(shards);
  } finally {
    // A job that already completed answers 409: never let the clean-up hide the test's own failure.
    await api('POST', `/api/jobs/${job.id}/cancel`).catch(() => undefined);
    await browser.close();
  }
});
