// The WebAssembly fallback in a browser: with WebGPU and WebGL out of the way, the trainer starts
// tfjs on WebAssembly, fetches the .wasm from this origin (the URLs Vite emitted), says why it fell
// back, and a local step trains there.
import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { startBackend } from '../any/backend.ts';
import { oneLocalStep } from '../any/test-support.ts';
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

    const { loss, moved } = await oneLocalStep();
    expect(Number.isFinite(loss)).toBe(true);
    expect(moved).toBe(true);
  });
});
