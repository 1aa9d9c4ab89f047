// The backend choice in Node: no WebGPU or WebGL there, so the trainer runs on WebAssembly (its
// .wasm files read from node_modules), and on the CPU when WebAssembly is not to be had.
import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { startBackend } from './backend.ts';
import { LocalTrainer } from './local-trainer.ts';
import { jobSpec } from './test-support.ts';

/** One local step of a small MLP on the active backend: the loss, and whether parameters moved. */
async function oneStep(): Promise<{ loss: number; moved: boolean }> {
  const spec = jobSpec({ training: { batchSize: 8, localSteps: 1 } });
  const trainer = await LocalTrainer.create('job-a', spec, { featureShape: [4], numClasses: 3 });
  try {
    const before = await trainer.flat.read();
    const x = tf.randomUniform([8, 4]);
    const y = tf.tensor1d([0, 1, 2, 0, 1, 2, 0, 1]);
    const loss = trainer.step(x, y);
    const value = (await loss.data())[0] ?? Number.NaN;
    tf.dispose([x, y, loss]);
    const after = await trainer.flat.read();
    return { loss: value, moved: after.some((v, i) => v !== before[i]) };
  } finally {
    trainer.dispose();
  }
}

afterAll(async () => {
  await tf.setBackend('cpu');
});

describe('startBackend, called concurrently', () => {
  // First in the file: the race is in WebAssembly's first initialisation.
  it('gives every concurrent caller the backend (tfjs fails the earlier of two overlapping inits)', async () => {
    const infos = await Promise.all([startBackend(), startBackend(), startBackend()]);
    expect(infos.map((i) => i.backend)).toEqual(['wasm', 'wasm', 'wasm']);
  });
});

describe('startBackend in Node', () => {
  it('falls back past WebGPU and WebGL to WebAssembly, says why, and trains a step there', async () => {
    const info = await startBackend();
    expect(info.backend).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(info.fallbackReason).toMatch(/^webgpu: .+; webgl: .+$/);
    expect(info.fallbackReason).not.toMatch(/wasm/);
    const step = await oneStep();
    expect(Number.isFinite(step.loss)).toBe(true);
    expect(step.moved).toBe(true);
  });

  it('without WebAssembly it runs on the CPU, and the reason names what WebAssembly lacked', async () => {
    const info = await startBackend({ skip: { wasm: 'turned off by the test' } });
    expect(info.backend).toBe('cpu');
    expect(info.fallbackReason).toMatch(/wasm: turned off by the test$/);
  });
});
