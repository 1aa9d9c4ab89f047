// The compute thread: the tab's WorkerCompute protocol over a Node worker thread, with its own
// TensorFlow.js on WebAssembly; a crash in the thread reaches the trainer as WORKER_CRASHED.
import { afterEach, describe, expect, it } from 'vitest';
import { buildJobModel, layoutOf } from '@tabswarm/core';
import { jobSpecSchema } from '@tabswarm/protocol';
import type { WorkerCompute } from '@tabswarm/trainer';
import { threadCompute } from './compute-thread.ts';

const computes: WorkerCompute[] = [];
afterEach(() => {
  for (const c of computes.splice(0)) c.dispose();
});

function compute(cpu = false): WorkerCompute {
  const c = threadCompute({ cpu });
  computes.push(c);
  return c;
}

describe('a compute thread', () => {
  it('starts TensorFlow.js on WebAssembly in the thread and holds the parameters it is given', async () => {
    const c = compute();
    const backend = await c.start({ baseUrl: 'http://127.0.0.1:1' });
    expect(backend.backend).toBe('wasm');
    const spec = jobSpecSchema.parse({ name: 'thread', training: { batchSize: 4, localSteps: 1 } });
    const dataset = { featureShape: [4], numClasses: 3 };
    const model = await buildJobModel(spec.model, dataset);
    const size = layoutOf(model).total;
    model.dispose();
    const values = Float32Array.from({ length: size }, (_, i) => i / size);
    const loaded = await c.loadJob({ jobId: 'job-a', spec, dataset, values });
    expect(loaded.layout.total).toBe(size);
    expect((await c.parameters())?.values).toEqual(values);
  });

  it('reports a crash in the thread as WORKER_CRASHED', async () => {
    const c = compute(true);
    expect((await c.start({ baseUrl: 'http://127.0.0.1:1' })).backend).toBe('cpu');
    await c.simulateFault('crash');
    expect((await c.failed).code).toBe('WORKER_CRASHED');
  });
});
