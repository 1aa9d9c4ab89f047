/**
 * Checkpoint evaluations in their own thread: the same figures and errors as in the coordinator's
 * thread, and the coordinator's event loop keeps turning while a long one runs (in-process, one
 * forward pass holds it for its whole length).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { evaluateParameters, type TestSet } from './evaluate.ts';
import { EvaluationThread } from './evaluation-thread.ts';

let thread: EvaluationThread | null = null;
afterEach(async () => {
  await thread?.close();
  thread = null;
});

/** Dense(units) → Dense(2, softmax) on `inputs` features. */
const mlp = (inputs: number, units: number) => ({
  class_name: 'Sequential',
  config: {
    name: 'mlp',
    layers: [
      {
        class_name: 'Dense',
        config: {
          name: 'h',
          units,
          activation: 'relu',
          use_bias: true,
          batch_input_shape: [null, inputs],
          dtype: 'float32',
        },
      },
      { class_name: 'Dense', config: { name: 'o', units: 2, activation: 'softmax', use_bias: true } },
    ],
  },
});

function data(inputs: number, units: number, n: number): { values: Float32Array; set: TestSet } {
  const size = inputs * units + units + units * 2 + 2;
  const values = Float32Array.from({ length: size }, (_, i) => Math.sin(i * 0.37) * 0.05);
  const set: TestSet = {
    x: Float32Array.from({ length: n * inputs }, (_, i) => Math.cos(i * 0.11)),
    y: Int32Array.from({ length: n }, (_, i) => i % 2),
    n,
    featureShape: [inputs],
  };
  return { values, set };
}

/** The longest gap between ticks of a 5 ms timer while `work` runs. */
async function longestStall(work: () => Promise<unknown>): Promise<number> {
  let last = performance.now();
  let longest = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
  }, 5);
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  // The stall the work ended in (the timer had no turn to see it).
  return Math.max(longest, performance.now() - last);
}

describe('EvaluationThread', () => {
  it('gives the figures the coordinator’s own thread gives', async () => {
    thread = new EvaluationThread();
    const { values, set } = data(20, 16, 300);
    const here = await evaluateParameters(mlp(20, 16), values, set, { batchSize: 64, maxSamples: 250 });
    const there = await thread.evaluate(mlp(20, 16), values, set, { batchSize: 64, maxSamples: 250 });
    expect(there.accuracy).toBe(here.accuracy);
    expect(there.loss).toBe(here.loss);
  });

  it('fails as evaluateParameters fails, and keeps serving after', async () => {
    thread = new EvaluationThread();
    const { values, set } = data(20, 16, 10);
    await expect(thread.evaluate(mlp(20, 16), values.subarray(1), set)).rejects.toThrow(RangeError);
    await expect(
      thread.evaluate(mlp(20, 16), values, { ...set, y: Int32Array.from(set.y, () => 5) }),
    ).rejects.toThrow(/label 5/);
    expect((await thread.evaluate(mlp(20, 16), values, set)).accuracy).toBeGreaterThanOrEqual(0);
  });

  it('keeps the event loop turning through a long evaluation, where the in-thread one stalls it', async () => {
    thread = new EvaluationThread();
    // One forward pass of 1,000 samples through 784 → 512: about a second of CPU here.
    const { values, set } = data(784, 512, 1_000);
    const options = { batchSize: 1_000 };
    await thread.evaluate(mlp(784, 512), values, set, options); // the thread's TF.js is warm
    const inThread = await longestStall(() => evaluateParameters(mlp(784, 512), values, set, options));
    const offThread = await longestStall(() => thread!.evaluate(mlp(784, 512), values, set, options));
    console.log(
      `[evaluation thread] longest event-loop stall: ${inThread.toFixed(0)} ms in this thread, ${offThread.toFixed(0)} ms off it`,
    );
    expect(offThread).toBeLessThan(inThread / 3);
  }, 60_000);

  it('fails what is running when closed, and refuses after', async () => {
    thread = new EvaluationThread();
    const { values, set } = data(784, 512, 4_000);
    const running = expect(thread.evaluate(mlp(784, 512), values, set, { batchSize: 4_000 })).rejects.toThrow(
      /closed/,
    );
    await thread.close();
    await running;
    await expect(thread.evaluate(mlp(784, 512), values, set)).rejects.toThrow(/closed/);
  });
});
