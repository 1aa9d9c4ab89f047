/**
 * The operator's dashboard, driven as a person would: read-only until the operator token is
 * entered (a wrong one is refused), a dataset and a model.json uploaded, a job submitted through
 * the form (an invalid field first, answered next to that field), the job page filling in as
 * simulated volunteers train, pause and resume, the model and metrics downloaded (the model
 * loaded with TensorFlow.js), and screenshots of the jobs list, the job page and the node table.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect, test, type Locator, type Page, type TestInfo } from '@playwright/test';
import * as tf from '@tensorflow/tfjs';
import { startCoordinator, type Coordinator } from './coordinator.ts';
import { blobsCsv, blobsModelJson, blobsTsds } from './dashboard-data.ts';
import { loadSimVolunteer, SimWorker } from './dashboard-swarm.ts';

let coordinator: Coordinator;
let operatorToken: string;
const workers: SimWorker[] = [];

test.beforeAll(async () => {
  coordinator = await startCoordinator();
  operatorToken = fs.readFileSync(path.join(coordinator.dataDir, 'operator-token'), 'utf8').trim();
});

test.afterAll(async () => {
  await Promise.allSettled(workers.map((w) => w.stop()));
  await coordinator?.stop();
});

const count = async (locator: Locator, attribute: string): Promise<number> =>
  Number((await locator.getAttribute(attribute)) ?? 0);

async function screenshot(page: Page, testInfo: TestInfo, name: string): Promise<void> {
  const file = testInfo.outputPath(`${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  await testInfo.attach(name, { path: file, contentType: 'image/png' });
}

test('an operator submits a job, watches it train on simulated volunteers, controls it and downloads the model', async ({
  page,
}, testInfo) => {
  test.setTimeout(90_000);
  await page.setViewportSize({ width: 1440, height: 900 });
  const url = coordinator.url;
  await page.goto(`${url}/#/jobs`);
  await expect(page.getByTestId('dashboard-connection')).toHaveText('connected');

  // Read-only without the token, and it says so.
  await expect(page.getByTestId('read-only-hint')).toBeVisible();
  await page.getByTestId('new-job-link').click();
  await expect(page).toHaveURL(/#\/submit$/);
  await expect(page.getByTestId('submit-job')).toBeDisabled();
  await expect(page.getByTestId('submit-job')).toHaveAttribute('aria-describedby', 'read-only-hint');
  await screenshot(page, testInfo, 'submit-read-only');

  // A wrong token is refused clearly; the right one is accepted and kept.
  await page.getByLabel('Operator token').fill('not-the-token');
  await page.getByTestId('token-submit').click();
  await expect(page.getByTestId('token-error')).toContainText('403');
  await expect(page.getByTestId('token-error')).toContainText('the operator token is wrong');
  await expect(page.getByTestId('submit-job')).toBeDisabled();
  await page.getByLabel('Operator token').fill(operatorToken);
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('token-status')).toHaveText('operator');
  await expect(page.getByTestId('read-only-hint')).toHaveCount(0);
  await expect(page.getByTestId('submit-job')).toBeEnabled();

  // Upload datasets, the binary layout and then a CSV: each progress bar fills and the new dataset
  // is selected.
  await page.getByText('Upload a dataset').click();
  await page.getByTestId('dataset-file').setInputFiles({
    name: 'blobs.tsds',
    mimeType: 'application/octet-stream',
    buffer: blobsTsds(60_000, 1_000),
  });
  await expect(page.getByTestId('dataset-format')).toContainText('binary layout');
  await page.getByTestId('dataset-upload-button').click();
  await expect(page.getByTestId('dataset-uploaded')).toContainText('60,000 training and 1,000 test samples');
  await expect(page.getByTestId('dataset-progress')).toHaveAttribute('data-percent', '100');
  await page.getByTestId('dataset-file').setInputFiles({
    name: 'blobs.csv',
    mimeType: 'text/csv',
    buffer: Buffer.from(blobsCsv(3000)),
  });
  await expect(page.getByTestId('dataset-format')).toContainText('CSV');
  await page.getByTestId('dataset-upload-button').click();
  await expect(page.getByTestId('dataset-uploaded')).toBeVisible();
  await expect(page.getByTestId('dataset-progress')).toHaveAttribute('data-percent', '100');
  const datasetId = (await page.getByTestId('dataset-uploaded').getAttribute('data-dataset-id')) ?? '';
  expect(datasetId).not.toBe('');
  await expect(page.getByTestId('field-dataset')).toHaveValue(datasetId);

  // Upload a model.json as the model.
  await page.getByTestId('model-kind-topology').check();
  await page.getByTestId('field-model.topology').setInputFiles({
    name: 'model.json',
    mimeType: 'application/json',
    buffer: Buffer.from(blobsModelJson()),
  });
  await expect(page.getByTestId('topology-summary')).toContainText('Sequential, 2 layers');

  // Training settings, with one invalid value first: the coordinator's message shows at that field.
  await page.getByTestId('field-name').fill('e2e blobs');
  await page.getByLabel('Batch size').fill('20');
  await page.getByLabel('Local steps per shard (H)').fill('2');
  await page.getByLabel('Epochs').fill('2');
  await page.getByLabel('Every (shards)').fill('10');
  await page.getByLabel('Contributors').fill('2');
  await page.getByLabel('Upload timeout (ms)').fill('5000');
  const learningRate = page.getByTestId('field-training.learningRate');
  await learningRate.fill('0');
  await page.getByTestId('submit-job').click();
  const fieldError = page.getByTestId('field-error-training.learningRate');
  await expect(fieldError).toHaveText('learning rate must be greater than 0');
  await expect(learningRate).toHaveAttribute('aria-invalid', 'true');
  await expect(learningRate).toBeFocused();
  await expect(page.getByTestId('form-error')).toBeVisible();
  await screenshot(page, testInfo, 'submit-field-error');
  await learningRate.fill('0.01');
  await expect(fieldError).toHaveCount(0);
  await page.getByTestId('submit-job').click();

  // The new job's page, live.
  await expect(page).toHaveURL(/#\/jobs\/job-[0-9a-f]{12}$/);
  const jobId = /#\/jobs\/(job-[0-9a-f]{12})$/.exec(page.url())?.[1] ?? '';
  await expect(page.getByTestId('page-title')).toHaveText('e2e blobs');
  await expect(page.getByTestId('job-status')).toHaveText(/queued|running/);
  await expect(page.getByTestId('chart-consensus')).toContainText('No data yet');
  // Checkpoint 0 (the seeded model) is evaluated and drawn.
  const testChart = page.getByTestId('chart-test-time');
  await expect.poll(() => count(testChart, 'data-points')).toBeGreaterThanOrEqual(1);

  // Volunteers join and train: the job page's series grow.
  const SimVolunteer = await loadSimVolunteer();
  for (let i = 0; i < 3; i++) {
    const worker = new SimWorker(new SimVolunteer(url), {
      shardMs: 250,
      samplesPerSec: 300 + i * 50,
      heartbeatMs: 400,
    });
    workers.push(worker);
    await worker.join();
    worker.startWorking();
  }
  await expect(page.getByTestId('job-volunteer-row')).toHaveCount(3);
  await expect(page.getByTestId('job-status')).toHaveText('running');
  const lossChart = page.getByTestId('chart-training-loss');
  await expect.poll(() => count(lossChart, 'data-points')).toBeGreaterThan(5);
  await expect(lossChart).toHaveAttribute('data-series', '4'); // the mean and one line per volunteer
  const pointsBefore = await count(lossChart, 'data-points');
  await expect.poll(() => count(lossChart, 'data-points')).toBeGreaterThan(pointsBefore + 5);
  await expect.poll(() => count(testChart, 'data-points')).toBeGreaterThanOrEqual(2);
  await expect
    .poll(async () => Number(await page.getByTestId('checkpoint-count').textContent()))
    .toBeGreaterThanOrEqual(2);
  await expect.poll(() => count(page.getByTestId('chart-throughput'), 'data-points')).toBeGreaterThan(0);

  // Pause: leases stop; resume: training goes on.
  await page.getByTestId('job-pause').click();
  await expect(page.getByTestId('job-status')).toHaveText('paused');
  await expect(page.getByTestId('job-pause')).toBeDisabled();
  await expect(page.getByTestId('job-active-leases')).toHaveText('0');
  const pausedAt = Number(
    await page
      .getByTestId('job-samples-done')
      .textContent()
      .then((t) => t?.replace(/,/g, '')),
  );
  await page.getByTestId('job-resume').click();
  await expect(page.getByTestId('job-status')).toHaveText('running');
  await expect
    .poll(async () => Number((await page.getByTestId('job-samples-done').textContent())?.replace(/,/g, '')))
    .toBeGreaterThan(pausedAt);

  // A slow volunteer holding a lease is flagged a straggler in the node table.
  const slow = new SimWorker(new SimVolunteer(url), { shardMs: 0, samplesPerSec: 5, heartbeatMs: 400 });
  workers.push(slow);
  await slow.join();
  slow.straggleMs = 60_000;
  expect(await slow.holdLease()).not.toBeNull();
  await screenshot(page, testInfo, 'job-page-running');

  await page.goto(`${url}/#/`);
  const rows = page.getByTestId('node-row');
  await expect(rows).toHaveCount(4);
  await expect(
    page.locator('[data-testid="node-row"][data-status="active"][data-backend="cpu"]'),
  ).toHaveCount(4);
  await expect(page.locator(`[data-testid="node-row"][data-node-id="${slow.nodeId}"]`)).toHaveAttribute(
    'data-derived-status',
    'straggler',
  );
  await expect(page.getByTestId('node-count')).toHaveText('4');
  // Sortable by column, with the order announced.
  await page.getByTestId('sort-samplesPerSec').click();
  await expect(page.locator('th[aria-sort="ascending"]')).toContainText('Samples/s');
  await expect(rows.first()).toHaveAttribute('data-node-id', slow.nodeId);
  await page.getByTestId('sort-samplesPerSec').click();
  await expect(page.locator('th[aria-sort="descending"]')).toContainText('Samples/s');
  await expect(rows.last()).toHaveAttribute('data-node-id', slow.nodeId);
  await screenshot(page, testInfo, 'overview');
  await page.goto(`${url}/#/nodes`);
  await expect(page.getByTestId('topology')).toHaveAttribute('data-nodes', '4');
  await expect(page.getByTestId('topology-no-links')).toBeVisible();
  await screenshot(page, testInfo, 'node-table');

  // The slow volunteer finishes; the job completes.
  await slow.finishHeld();
  await page.goto(`${url}/#/jobs`);
  const jobRow = page.locator(`[data-testid="job-row"][data-job-id="${jobId}"]`);
  await expect(jobRow).toHaveAttribute('data-status', 'completed', { timeout: 45_000 });
  await screenshot(page, testInfo, 'jobs-list');

  // Final model: model.json from the job page, loaded with TensorFlow.js together with weights.bin.
  await jobRow.getByTestId('job-link').click();
  await expect(page.getByTestId('job-status')).toHaveText('completed');
  await expect(page.getByTestId('model-download')).toContainText('Final model');
  await expect.poll(() => count(testChart, 'data-points')).toBeGreaterThanOrEqual(3);
  await screenshot(page, testInfo, 'job-page');
  const [modelDownload] = await Promise.all([
    page.waitForEvent('download'),
    page.getByTestId('download-model-json').click(),
  ]);
  expect(modelDownload.suggestedFilename()).toBe('model.json');
  const model = JSON.parse(fs.readFileSync(await modelDownload.path(), 'utf8')) as {
    modelTopology: object;
    weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
  };
  const [weightsDownload] = await Promise.all([
    page.waitForEvent('download'),
    page.getByTestId('download-weights-bin').click(),
  ]);
  const weights = fs.readFileSync(await weightsDownload.path());
  expect(model.weightsManifest[0]?.paths).toEqual(['weights.bin']);
  const loaded = await tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: model.modelTopology,
      weightSpecs: model.weightsManifest[0]?.weights ?? [],
      weightData: new Uint8Array(weights).buffer,
    }),
  );
  const prediction = loaded.predict(tf.tensor2d([[0, 3, 2, 2]])) as tf.Tensor;
  expect(prediction.shape).toEqual([1, 3]);
  const probabilities = Array.from(await prediction.data());
  expect(probabilities.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
  tf.dispose([prediction]);
  loaded.dispose();

  // Metrics as CSV, generated in the page.
  const [csvDownload] = await Promise.all([
    page.waitForEvent('download'),
    page.getByTestId('download-metrics-csv').click(),
  ]);
  expect(csvDownload.suggestedFilename()).toBe(`${jobId}-metrics.csv`);
  const csv = fs
    .readFileSync(await csvDownload.path(), 'utf8')
    .trimEnd()
    .split('\r\n');
  expect(csv[0]).toBe(
    'kind,time_iso,time_ms,checkpoint_seq,shards_done,samples,accuracy,loss,node_id,counted',
  );
  expect(csv.filter((l) => l.startsWith('checkpoint,')).length).toBeGreaterThanOrEqual(3);
  // 2,400 training rows in shards of 40, two epochs: 120 counted completions.
  expect(csv.filter((l) => l.startsWith('training,') && l.endsWith(',1')).length).toBe(120);

  // The event log, filtered to this job's lifecycle events: the pause and resume are there.
  await page.goto(`${url}/#/events`);
  await expect(page.locator('[data-testid="event-row"][data-kind="join"]')).toHaveCount(4);
  await page.getByTestId('event-kind-job').check();
  await page.getByTestId('event-job').selectOption(jobId);
  await expect(page).toHaveURL(new RegExp(`#/events\\?kind=job&job=${jobId}$`));
  const events = page.getByTestId('event-row');
  await expect(events.filter({ hasText: 'is paused' })).toHaveCount(1);
  await expect(events.first()).toContainText('is completed');
  expect(await events.evaluateAll((rows) => rows.every((r) => r.getAttribute('data-kind') === 'job'))).toBe(
    true,
  );
  await screenshot(page, testInfo, 'events');
});

test('the dashboard is usable from the keyboard', async ({ page }) => {
  await page.goto(`${coordinator.url}/#/jobs`);
  await expect(page.getByTestId('dashboard-connection')).toHaveText('connected');
  // Tab from the top: the skip link, then the navigation, all real links with a visible focus.
  await page.keyboard.press('Tab');
  await expect(page.getByText('Skip to content')).toBeFocused();
  await page.keyboard.press('Tab');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Tab');
  await expect(page.getByRole('link', { name: 'Jobs', exact: true })).toBeFocused();
  await page.keyboard.press('Tab');
  await expect(page.getByRole('link', { name: 'Submit a job' }).first()).toBeFocused();
  const outline = await page.evaluate(() => getComputedStyle(document.activeElement as Element).outlineStyle);
  expect(outline).toBe('solid');
  await page.keyboard.press('Enter');
  await expect(page).toHaveURL(/#\/submit$/);
  // Moving to a page moves focus to its heading.
  await expect(page.getByTestId('page-title')).toBeFocused();
  await expect(page.getByTestId('page-title')).toHaveText('Submit a job');
});
