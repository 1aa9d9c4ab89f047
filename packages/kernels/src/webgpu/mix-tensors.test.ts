// Without WebGPU (Node: tfjs on its CPU backend) the same calls run the TypeScript reference.
import * as tf from '@tensorflow/tfjs';
import { selfTestReportSchema } from '@tabswarm/protocol';
import { beforeAll, describe, expect, it } from 'vitest';
import { mulberry32 as createRng, randomVector } from '@tabswarm/core';
import { getTfjsDevice } from './gpu-device.ts';
import { mixReference } from '../any/mix-reference.ts';
import { mixTensors } from './mix-tensors.ts';
import { passingMixSelfTest } from '../any/kernel-test-helpers.ts';
import { runMixSelfTest } from './self-test.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('mix on a non-WebGPU backend', () => {
  it('has no device, and mixTensors returns the reference result', () => {
    expect(getTfjsDevice()).toBeNull();
    const rng = createRng(4);
    const arrays = [randomVector(rng, 300), randomVector(rng, 300)];
    const inputs = arrays.map((a) => tf.tensor1d(a));
    const before = tf.memory().numTensors;
    const out = mixTensors(inputs, [0.75, -0.25]);
    expect(out.shape).toEqual([300]);
    expect(out.dataSync()).toEqual(mixReference(arrays, [0.75, -0.25]));
    out.dispose();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose(inputs);
  });

  it('rejects mismatched tensors', () => {
    const a = tf.tensor1d([1, 2, 3]);
    const b = tf.tensor1d([1, 2]);
    const i = tf.tensor1d([1, 2, 3], 'int32');
    expect(() => mixTensors([a, b], [1, 1])).toThrow(/input 1 has 2 elements/);
    expect(() => mixTensors([a, i], [1, 1])).toThrow(/dtype int32/);
    expect(() => mixTensors([a], [1, 2])).toThrow(/one weight per input/);
    tf.dispose([a, b, i]);
  });

  it('the self-test takes the reference path and passes', async () => {
    const report = await runMixSelfTest({ elements: 10_001 });
    expect(selfTestReportSchema.parse(report)).toEqual(report);
    expect(report).toMatchObject(passingMixSelfTest('reference', 10_001));
    expect(report.maxAbsError).toBeLessThan(1e-6);
  });

  it('the self-test reports bad options instead of throwing', async () => {
    const report = await runMixSelfTest({ elements: 0 });
    expect(selfTestReportSchema.safeParse(report).success).toBe(true);
    expect(report.passed).toBe(false);
    expect(report.error).toMatch(/elements must be an integer/);
  });
});
