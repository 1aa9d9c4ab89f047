/**
 * A job's TF.js model: its topology (a preset fitted to the dataset or the operator's document),
 * the model built from it, the checks that it fits the dataset, and its flat weight layout. The
 * coordinator and the tabs build through these functions, so their flat layouts agree.
 */
import * as tf from '@tensorflow/tfjs';
import {
  CodedError,
  layoutFromShapes,
  presetTopology,
  type ModelSpec,
  type ParamLayout,
} from '@tabswarm/protocol';
import { registerTabswarmLayers } from './layers/register.ts';

/** What a model needs to know about its dataset. */
export interface DatasetShape {
  readonly featureShape: readonly number[];
  readonly numClasses: number;
  /** Labels per sample beyond one: a text window's [context]; the model then outputs [...labelShape, numClasses]. */
  readonly labelShape?: readonly number[] | undefined;
}

/** A TF.js layers `modelTopology` document. */
export type Topology = Record<string, unknown>;

/** A model that cannot be built or does not fit its dataset; the message says why. */
export class ModelError extends CodedError<'MODEL_INVALID'> {
  constructor(message: string) {
    super('MODEL_INVALID', message, 'ModelError');
  }
}

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** The topology a job trains. Throws protocol's PresetError when a preset does not fit the dataset. */
export function topologyFor(spec: ModelSpec, dataset: DatasetShape): Topology {
  if (spec.kind === 'topology') return spec.topology;
  return presetTopology(spec.preset, {
    inputShape: dataset.featureShape,
    numClasses: dataset.numClasses,
    ...(dataset.labelShape !== undefined && { labelShape: dataset.labelShape }),
  });
}

/**
 * Builds an untrained model on the current backend. Rejects with tfjs's error when it cannot read
 * the topology. Dispose it when done.
 */
export async function buildModel(topology: Topology): Promise<tf.LayersModel> {
  registerTabswarmLayers();
  // A copy (the topology is JSON): nothing promises that tfjs's deserialisation leaves its input untouched.
  const config = { modelTopology: JSON.parse(JSON.stringify(topology)) as unknown };
  // tfjs types the topology as its own JSON type; ours is the same document typed as unknown values.
  return tf.models.modelFromJSON(config as Parameters<typeof tf.models.modelFromJSON>[0]);
}

/** Why a model cannot train on a dataset, or null when it can. */
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
  const labels = dataset.labelShape ?? [];
  const expected = [...labels, dataset.numClasses];
  if (output.length !== expected.length || output.some((d, i) => d !== expected[i])) {
    return labels.length === 0
      ? `the model outputs shape [${output.join(', ')}], the dataset has ${dataset.numClasses} classes`
      : `the model outputs shape [${output.join(', ')}]; the dataset's samples need [${expected.join(', ')}] (${dataset.numClasses} classes at each of ${labels.join(' × ')} positions)`;
  }
  return null;
}

/**
 * A job's untrained model, checked against its dataset, on the current backend. Throws a
 * ModelError (code MODEL_INVALID) saying why it cannot be built or does not fit.
 */
export async function buildJobModel(spec: ModelSpec, dataset: DatasetShape): Promise<tf.LayersModel> {
  let topology: Topology;
  try {
    topology = topologyFor(spec, dataset);
  } catch (error) {
    throw new ModelError(`model: ${messageOf(error)}`);
  }
  let model: tf.LayersModel;
  try {
    model = await buildModel(topology);
  } catch (error) {
    throw new ModelError(`TensorFlow.js cannot build the model: ${messageOf(error)}`);
  }
  const mismatch = modelMismatch(model, dataset);
  if (mismatch !== null) {
    model.dispose();
    throw new ModelError(`model: ${mismatch}`);
  }
  return model;
}

/** The flat layout of a model's weights (model.weights order, named as a model.json manifest names them). */
export function layoutOf(model: tf.LayersModel): ParamLayout {
  return layoutFromShapes(model.weights.map((w) => ({ name: w.originalName, shape: w.shape as number[] })));
}

/** A copy of every weight, laid end to end in layout order. */
export function getFlatWeights(model: tf.LayersModel): Float32Array {
  const layout = layoutOf(model);
  const flat = new Float32Array(layout.total);
  model.weights.forEach((w, i) => {
    const entry = layout.entries[i];
    if (entry !== undefined) flat.set(w.read().dataSync(), entry.offset);
  });
  return flat;
}

/** Writes a flat vector into the model's weights. Throws a RangeError when its length does not fit. */
export function setFlatWeights(model: tf.LayersModel, flat: Float32Array): void {
  const layout = layoutOf(model);
  if (flat.length !== layout.total) {
    throw new RangeError(`the model has ${layout.total} parameters, the vector ${flat.length}`);
  }
  model.weights.forEach((w, i) => {
    const entry = layout.entries[i];
    if (entry === undefined) return;
    // slice, not subarray: the CPU backend keeps the array it is given, and the caller keeps theirs.
    const value = tf.tensor(flat.slice(entry.offset, entry.offset + entry.size), [...entry.shape], 'float32');
    w.write(value);
    value.dispose();
  });
}
