// The backend choice in Node: no WebGPU or WebGL there, so the trainer runs on WebAssembly (its
// .wasm files read from node_modules), and on the CPU when WebAssembly is not to be had.
import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { startBackend } from './backend.ts';
import { oneLocalStep as oneStep } from './test-support.ts';

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
