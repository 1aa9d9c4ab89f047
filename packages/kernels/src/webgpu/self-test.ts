/**
 * The mix self-test a volunteer runs once at join: the WGSL kernel on tfjs's device against the
 * reference (or, without WebGPU, the reference against float64), reported, never thrown.
 */
import * as tf from '@tensorflow/tfjs';
import type { SelfTestReport } from '@tabswarm/protocol';
import { mulberry32 as createRng, randomVector } from '@tabswarm/core';
import { compareMix, type MixComparison } from '../any/mix-compare.ts';
import { mixReference } from '../any/mix-reference.ts';
import { mixTensors } from './mix-tensors.ts';
import { getTfjsDevice } from './gpu-device.ts';

export interface MixSelfTestOptions {
  /** Elements per vector; default 65,537 (one past a power of two, so the tail is exercised). */
  readonly elements?: number;
  readonly seed?: number;
}

export const MIX_SELF_TEST_DEFAULT_ELEMENTS = 65_537;
const MAX_ELEMENTS = 1 << 26;
/** Uneven, of mixed sign, not summing to 1: a wrong weight slot or order cannot hide. */
const WEIGHTS = [0.625, -0.3, 0.675] as const;

export async function runMixSelfTest(options: MixSelfTestOptions = {}): Promise<SelfTestReport> {
  const started = performance.now();
  const requested = options.elements ?? MIX_SELF_TEST_DEFAULT_ELEMENTS;
  const elements = Number.isSafeInteger(requested) ? Math.min(Math.max(requested, 1), MAX_ELEMENTS) : 1;
  const report = (
    path: SelfTestReport['path'],
    result: MixComparison | null,
    error: unknown,
  ): SelfTestReport => ({
    kernel: 'mix',
    passed: error === null && result !== null && result.ok,
    path,
    elements,
    maxAbsError: result === null || !Number.isFinite(result.maxAbsError) ? null : result.maxAbsError,
    durationMs: Math.min(performance.now() - started, 1e7),
    error: error === null ? (result?.message?.slice(0, 1024) ?? null) : describe(error),
  });

  let path: SelfTestReport['path'] = 'reference';
  try {
    if (elements !== requested) throw new RangeError(`elements must be an integer in 1..${MAX_ELEMENTS}`);
    const rng = createRng(options.seed ?? 0x5eed);
    const inputs = WEIGHTS.map(() => randomVector(rng, elements));
    const expected = mixReference(inputs, WEIGHTS);
    const device = getTfjsDevice();
    if (device === null)
      return report(path, compareMix(expected, mixFloat64(inputs, WEIGHTS), inputs, WEIGHTS), null);
    path = 'webgpu';
    const actual = await mixOnGpu(device, inputs, WEIGHTS);
    return report(path, compareMix(actual, expected, inputs, WEIGHTS), null);
  } catch (error) {
    return report(path, null, error);
  }
}

/** Runs mixTensors on tfjs's device; any validation or out-of-memory error becomes a throw. */
async function mixOnGpu(device: GPUDevice, inputs: readonly Float32Array[], weights: readonly number[]) {
  device.pushErrorScope('validation');
  device.pushErrorScope('out-of-memory');
  const tensors = inputs.map((x) => tf.tensor1d(x, 'float32'));
  let actual: Float32Array | null = null;
  let thrown: Error | null = null;
  try {
    const result = mixTensors(tensors, weights);
    try {
      actual = await result.data<'float32'>();
    } finally {
      result.dispose();
    }
  } catch (error) {
    thrown = error instanceof Error ? error : new Error(String(error));
  } finally {
    for (const t of tensors) t.dispose();
  }
  // Pop both scopes whatever happened, or later, unrelated errors would land in them.
  const outOfMemory = await device.popErrorScope();
  const validation = await device.popErrorScope();
  const gpuError = validation ?? outOfMemory;
  if (gpuError !== null) throw new Error(`WebGPU ${gpuError.constructor.name}: ${gpuError.message}`);
  if (thrown !== null) throw thrown;
  if (actual === null) throw new Error('mix produced no result');
  return actual;
}

/** Σₖ wₖ·xₖ[i] in float64 with the weights as given: independent of the f32 reference. */
function mixFloat64(inputs: readonly Float32Array[], weights: readonly number[]): Float64Array {
  const out = new Float64Array((inputs[0] as Float32Array).length);
  for (const [k, x] of inputs.entries()) {
    const w = weights[k] as number;
    for (let i = 0; i < out.length; i++) out[i] = (out[i] as number) + w * (x[i] as number);
  }
  return out;
}

function describe(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return text.slice(0, 1024);
}
