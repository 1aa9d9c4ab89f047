/**
 * The coordinator's TF.js models: @tabswarm/core's builders run on the pure-JS CPU backend, the
 * one the coordinator evaluates and exports on in Node. Everything else about a model (topology,
 * mismatch checks, layout, flat weights) is imported from core directly.
 */
import * as tf from '@tensorflow/tfjs';
import * as core from '@tabswarm/core';
import type { ModelSpec } from '@tabswarm/protocol';

/** The coordinator evaluates on the pure-JS CPU backend, whatever else is registered. */
export async function ensureCpuBackend(): Promise<void> {
  if (tf.getBackend() !== 'cpu') await tf.setBackend('cpu');
  await tf.ready();
}

/** core's buildModel on the CPU backend. Dispose the model when done. */
export async function buildModel(topology: core.Topology): Promise<tf.LayersModel> {
  await ensureCpuBackend();
  return core.buildModel(topology);
}

/** core's seeded round-0 parameters, built on the CPU backend. */
export async function initialParameters(
  spec: ModelSpec,
  dataset: core.DatasetShape,
  seed: number,
): Promise<Float32Array> {
  await ensureCpuBackend();
  return core.initialParameters(spec, dataset, seed);
}
