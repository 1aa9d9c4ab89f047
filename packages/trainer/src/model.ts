/**
 * The job's model from its spec: a preset fitted to the dataset or the operator's own TF.js layers
 * topology, built exactly as the coordinator builds it (so the flat layouts agree).
 */
import * as tf from '@tensorflow/tfjs';
import { layoutFromShapes, presetTopology, type ModelSpec, type ParamLayout } from '@tabswarm/protocol';
import { TrainerError, errorText } from './errors.ts';
import type { DatasetShape } from './types.ts';

export type Topology = Record<string, unknown>;

export function topologyFor(spec: ModelSpec, dataset: DatasetShape): Topology {
  if (spec.kind === 'topology') return spec.topology;
  try {
    return presetTopology(spec.preset, { inputShape: dataset.featureShape, numClasses: dataset.numClasses });
  } catch (error) {
    throw new TrainerError('MODEL_INVALID', `model: ${errorText(error)}`);
  }
}

/** Why a model cannot train on a dataset, or null when it can (the coordinator's rule). */
export function modelMismatch(model: tf.LayersModel, dataset: DatasetShape): string | null {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) {
    return `the model must have one input and one output, it has ${model.inputs.length} and ${model.outputs.length}`;
  }
  const input = (model.inputs[0] as tf.SymbolicTensor).shape.slice(1);
  const output = (model.outputs[0] as tf.SymbolicTensor).shape.slice(1);
  const want = dataset.featureShape;
  if (input.length !== want.length || input.some((d, i) => d !== null && d !== want[i])) {
    return `the model takes inputs of shape [${input.join(', ')}], the dataset's samples are [${want.join(', ')}]`;
  }
  if (output.length !== 1 || output[0] !== dataset.numClasses) {
    return `the model outputs shape [${output.join(', ')}], the dataset has ${dataset.numClasses} classes`;
  }
  return null;
}

/** Builds the untrained model on the current backend. Throws MODEL_INVALID. Dispose it when done. */
export async function buildModel(spec: ModelSpec, dataset: DatasetShape): Promise<tf.LayersModel> {
  const topology = topologyFor(spec, dataset);
  let model: tf.LayersModel;
  try {
    // A copy: nothing promises that tfjs's deserialisation leaves its input untouched.
    const config = { modelTopology: structuredClone(topology) };
    model = await tf.models.modelFromJSON(config as unknown as Parameters<typeof tf.models.modelFromJSON>[0]);
  } catch (error) {
    throw new TrainerError('MODEL_INVALID', `TensorFlow.js cannot build the model: ${errorText(error)}`);
  }
  const mismatch = modelMismatch(model, dataset);
  if (mismatch !== null) {
    model.dispose();
    throw new TrainerError('MODEL_INVALID', `model: ${mismatch}`);
  }
  return model;
}

/** The flat layout of a model's weights (model.weights order, model.json names), as the coordinator's. */
export function layoutOf(model: tf.LayersModel): ParamLayout {
  return layoutFromShapes(model.weights.map((w) => ({ name: w.originalName, shape: w.shape as number[] })));
}
