// The trainer's real Web Worker: TensorFlow.js starts inside it (WebGPU where there is an adapter),
// loads a job's model, calibrates; a destroyed GPU device or an uncaught error in the worker settles
// `failed` and fails the calls in flight, which is what the lease loop restarts on.
import { presetLayout } from '@tabswarm/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { jobSpec } from '../any/test-support.ts';
import { DATASET } from '../any/test-fakes.ts';
import { WorkerCompute } from './worker-client.ts';

const spec = jobSpec({ training: { batchSize: 8, localSteps: 2 } });
const size = presetLayout('mnist-mlp', {
  inputShape: DATASET.featureShape,
  numClasses: DATASET.numClasses,
}).total;
const computes: WorkerCompute[] = [];

afterEach(() => {
  for (const c of computes.splice(0)) c.dispose();
});

async function startedWorker(snapshotOwner?: string): Promise<WorkerCompute> {
  const compute = new WorkerCompute();
  computes.push(compute);
  await compute.start({
    baseUrl: location.origin,
    ...(snapshotOwner === undefined ? {} : { snapshotOwner }),
  });
  await compute.loadJob({
    jobId: 'job-w',
    spec,
    dataset: DATASET,
    values: new Float32Array(size).fill(0.01),
  });
  return compute;
}

describe('the trainer worker', () => {
  it('runs TensorFlow.js in the worker and keeps the parameters it was given', async () => {
    const compute = new WorkerCompute();
    computes.push(compute);
    const backend = await compute.start({ baseUrl: location.origin });
    expect(['webgpu', 'webgl', 'cpu']).toContain(backend.backend);
    if ('gpu' in navigator && (await navigator.gpu.requestAdapter()) !== null)
      expect(backend.backend).toBe('webgpu');
    const values = Float32Array.from({ length: size }, (_, i) => (i % 7) / 100);
    const loaded = await compute.loadJob({ jobId: 'job-w', spec, dataset: DATASET, values });
    expect(loaded.layout.total).toBe(size);
    const calibration = await compute.calibrate(1);
    expect(calibration.samplesPerSec).toBeGreaterThan(0);
    // Calibration leaves the parameters as they were.
    expect((await compute.parameters())?.values).toEqual(values);
    const stats = await compute.stats();
    expect(stats).toMatchObject({ backend: backend.backend, jobId: 'job-w' });
    expect(stats.tensors).toBeGreaterThan(0);
    const report = await compute.selfTest();
    expect(report.passed, report.error ?? '').toBe(true);
  });

  it('reports a destroyed GPU device as DEVICE_LOST and fails calls in flight', async ({ skip }) => {
    const compute = await startedWorker();
    if ((await compute.stats()).backend !== 'webgpu') skip('no WebGPU here');
    const inFlight = compute.calibrate(50);
    const settled = inFlight.then(
      () => null,
      (error: unknown) => error,
    );
    expect(await compute.simulateFault('device-loss')).toBe(true);
    const failure = await compute.failed;
    expect(failure.code).toBe('DEVICE_LOST');
    expect(failure.message).toMatch(/destroyed/);
    // The call in flight fails: with DEVICE_LOST, or with the GPU's own error when it failed before
    // Chromium delivered the lost promise (the lease loop restarts on `failed` either way).
    expect(await settled).toBeInstanceOf(Error);
    await expect(compute.parameters()).rejects.toMatchObject({ code: 'DEVICE_LOST' });
  });

  it('reports an uncaught error in the worker as WORKER_CRASHED', async () => {
    const compute = await startedWorker();
    await compute.simulateFault('crash');
    expect((await compute.failed).code).toBe('WORKER_CRASHED');
  });

  it('a worker started after a crash loads the snapshot its predecessor kept; another owner does not see it', async () => {
    const owner = `owner-${Math.random().toString(16).slice(2)}`;
    const first = await startedWorker(owner);
    const values = Float32Array.from({ length: size }, (_, i) => (i % 11) / 50);
    await first.setParameters({ jobId: 'job-w', values });
    expect(await first.saveSnapshot()).toEqual({ jobId: 'job-w', elements: size });
    await first.simulateFault('crash');
    expect((await first.failed).code).toBe('WORKER_CRASHED');
    const job = { jobId: 'job-w', spec, dataset: DATASET, parameterCount: size };
    const second = new WorkerCompute();
    computes.push(second);
    await second.start({ baseUrl: location.origin, snapshotOwner: owner });
    expect(await second.loadJobFromSnapshot(job)).toMatchObject({ jobId: 'job-w' });
    expect((await second.parameters())?.values).toEqual(values);
    // Another tab's trainer (another owner), another job, or another length: nothing is loaded.
    const stranger = new WorkerCompute();
    computes.push(stranger);
    await stranger.start({ baseUrl: location.origin, snapshotOwner: `${owner}-other` });
    expect(await stranger.loadJobFromSnapshot(job)).toBeNull();
    expect(await second.loadJobFromSnapshot({ ...job, jobId: 'job-x' })).toBeNull();
    expect(await second.loadJobFromSnapshot({ ...job, parameterCount: size + 1 })).toBeNull();
  });
});
