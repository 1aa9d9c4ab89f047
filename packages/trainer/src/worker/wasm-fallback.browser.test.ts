// The WebAssembly fallback in a browser: with WebGPU and WebGL out of the way, the trainer starts
// tfjs on WebAssembly, fetches the .wasm from this origin (the URLs Vite emitted), says why it fell
// back, and a local step trains there.
import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { startBackend } from '../any/backend.ts';
import { LocalTrainer } from '../any/local-trainer.ts';
import { jobSpec } from '../any/test-support.ts';
import { WASM_FILES } from './wasm-files.ts';

afterAll(async () => {
  await tf.setBackend('cpu');
});

describe('the WebAssembly fallback', () => {
  it('starts past WebGPU and WebGL, from same-origin .wasm files, and trains a step', async () => {
    const info = await startBackend({
      skip: { webgpu: 'forced off by the test', webgl: 'forced off by the test' },
      wasmPaths: WASM_FILES,
    });
    expect(info.backend).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(info.fallbackReason).toBe('webgpu: forced off by the test; webgl: forced off by the test');

    const wasmFetched = performance
      .getEntriesByType('resource')
      .map((e) => new URL(e.name))
      .filter((url) => url.pathname.endsWith('.wasm'));
    expect(wasmFetched.length).toBeGreaterThan(0);
    expect(wasmFetched.every((url) => url.origin === location.origin)).toBe(true);

    const spec = jobSpec({ training: { batchSize: 8, localSteps: 1 } });
    const trainer = await LocalTrainer.create('job-a', spec, { featureShape: [4], numClasses: 3 });
    try {
      const before = await trainer.flat.read();
      const x = tf.randomUniform([8, 4]);
      const y = tf.tensor1d([0, 1, 2, 0, 1, 2, 0, 1]);
      const loss = trainer.step(x, y);
      const value = (await loss.data())[0] ?? Number.NaN;
      tf.dispose([x, y, loss]);
      expect(Number.isFinite(value)).toBe(true);
      const after = await trainer.flat.read();
      expect(after.some((v, i) => v !== before[i])).toBe(true);
    } finally {
      trainer.dispose();
    }
  });
});
