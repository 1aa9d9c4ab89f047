/**
 * The built-in model presets as TF.js layers topologies (model.json's `modelTopology`), and the flat
 * parameter layout every side uses to put a model's weights into one Float32Array. Pure data and
 * pure functions: the browser trainer and the coordinator both build models from these.
 *
 * The layer configs below are what tfjs-layers 4.22 itself emits from `model.toJSON(null, false)`
 * for the same layers (a server test rebuilds them with tfjs and compares), so loading them never
 * depends on tfjs filling in a default differently. Layers are named explicitly: weight names such
 * as "hidden/kernel" are then stable across processes and match a model.json weights manifest.
 */
import { CodedError } from './errors.ts';
import { gptConfig, gptProblem, gptWeightShapes, isGptPreset } from './gpt-presets.ts';
import type { ModelPreset } from './job-spec.ts';

/** A TF.js layers `modelTopology`: a type alias (not an interface) so it fits `ModelSpec.topology`. */
export type LayersTopology = {
  class_name: string;
  /** Sequential: name and layers; a functional model (class_name "Model") adds its input and output layers. */
  config: { name: string; layers: LayerConfig[]; [key: string]: unknown };
  keras_version: string;
  backend: string;
};
export type LayerConfig = { class_name: string; config: Record<string, unknown> };

/** What a preset must be told about the dataset it trains on. */
export interface PresetShape {
  /** One sample's feature shape, without the batch dimension (MNIST: [28, 28, 1]). */
  readonly inputShape: readonly number[];
  readonly numClasses: number;
  /** Labels per sample beyond one: a text dataset's [context] (gpt-nano needs it). */
  readonly labelShape?: readonly number[] | undefined;
}

export interface NamedShape {
  readonly name: string;
  readonly shape: readonly number[];
}

/** Where each weight lives in the flat parameter vector, in the model's `weights` order. */
export interface ParamLayout {
  readonly entries: readonly ParamLayoutEntry[];
  /** Number of fp32 values in the flat vector. */
  readonly total: number;
}
export interface ParamLayoutEntry {
  readonly name: string;
  readonly shape: readonly number[];
  readonly offset: number;
  readonly size: number;
}

export class PresetError extends CodedError<'PRESET_DOES_NOT_FIT'> {
  constructor(message: string) {
    super('PRESET_DOES_NOT_FIT', message, 'PresetError');
  }
}

/** tfjs-layers' version string in a topology; only informative, tfjs does not check it on load. */
export const TOPOLOGY_KERAS_VERSION = 'tfjs-layers 4.22.0';

const MLP_HIDDEN_UNITS = 128;
const CNN_FILTERS = [8, 16] as const;
/** Smallest image side the CNN accepts: two (valid 3×3 conv, 2×2 pool) stages must leave ≥1 pixel. */
export const CNN_MIN_SIDE = 10;

// Glorot-uniform written out as the VarianceScaling config tfjs serialises it to. tfjs's own Dense and
// Conv2D default is glorotNormal; the presets pin the initialiser so seeded initialisation is plain
// arithmetic that every JavaScript engine computes identically.
const glorotUniform = () => ({
  class_name: 'VarianceScaling',
  config: { scale: 1, mode: 'fan_avg', distribution: 'uniform', seed: null },
});
const zeros = () => ({ class_name: 'Zeros', config: {} });
const batchInput = (inputShape: readonly number[]) => ({
  batch_input_shape: [null, ...inputShape],
  dtype: 'float32',
});

function dense(name: string, units: number, activation: string, first?: readonly number[]): LayerConfig {
  return {
    class_name: 'Dense',
    config: {
      units,
      activation,
      use_bias: true,
      kernel_initializer: glorotUniform(),
      bias_initializer: zeros(),
      kernel_regularizer: null,
      bias_regularizer: null,
      activity_regularizer: null,
      kernel_constraint: null,
      bias_constraint: null,
      name,
      trainable: true,
      ...(first ? batchInput(first) : {}),
    },
  };
}

function conv2d(name: string, filters: number, first?: readonly number[]): LayerConfig {
  return {
    class_name: 'Conv2D',
    config: {
      filters,
      kernel_initializer: glorotUniform(),
      kernel_regularizer: null,
      kernel_constraint: null,
      kernel_size: [3, 3],
      strides: [1, 1],
      padding: 'valid',
      data_format: 'channels_last',
      dilation_rate: [1, 1],
      activation: 'relu',
      use_bias: true,
      bias_initializer: zeros(),
      bias_regularizer: null,
      activity_regularizer: null,
      bias_constraint: null,
      name,
      trainable: true,
      ...(first ? batchInput(first) : {}),
    },
  };
}

function maxPool(name: string): LayerConfig {
  return {
    class_name: 'MaxPooling2D',
    config: {
      pool_size: [2, 2],
      padding: 'valid',
      strides: [2, 2],
      data_format: 'channels_last',
      name,
      trainable: true,
    },
  };
}

function flatten(name: string, first?: readonly number[]): LayerConfig {
  return { class_name: 'Flatten', config: { name, trainable: true, ...(first ? batchInput(first) : {}) } };
}

function reshape(name: string, targetShape: readonly number[], first: readonly number[]): LayerConfig {
  return {
    class_name: 'Reshape',
    config: { target_shape: [...targetShape], name, trainable: true, ...batchInput(first) },
  };
}

function checkShape({ inputShape, numClasses }: PresetShape): void {
  if (inputShape.length === 0 || !inputShape.every((d) => Number.isInteger(d) && d >= 1)) {
    throw new PresetError(`input shape must be positive whole numbers, got [${inputShape.join(', ')}]`);
  }
  if (!Number.isInteger(numClasses) || numClasses < 2) {
    throw new PresetError(`a classifier needs at least 2 classes, got ${numClasses}`);
  }
}

const product = (dims: readonly number[]): number => dims.reduce((a, b) => a * b, 1);
/** Side length after a valid 3×3 convolution and a 2×2 pool. */
const afterStage = (side: number): number => Math.floor((side - 2) / 2);

/** Image side lengths and channels the CNN sees: [h, w, c] as given, or [h, w] with one channel. */
function cnnImage(inputShape: readonly number[]): [number, number, number] {
  const [h, w, c = 1] = inputShape;
  if ((inputShape.length !== 2 && inputShape.length !== 3) || h === undefined || w === undefined) {
    throw new PresetError(
      `mnist-cnn needs image samples, [height, width] or [height, width, channels]; got [${inputShape.join(', ')}]`,
    );
  }
  if (h < CNN_MIN_SIDE || w < CNN_MIN_SIDE) {
    throw new PresetError(
      `mnist-cnn needs images of at least ${CNN_MIN_SIDE}×${CNN_MIN_SIDE}, got ${h}×${w}`,
    );
  }
  return [h, w, c];
}

/**
 * The topology of a preset for a dataset's feature shape and class count. Throws a PresetError when
 * the preset cannot take that input (the CNN needs images), so a job can be refused with its message.
 */
export function presetTopology(preset: ModelPreset, shape: PresetShape): LayersTopology {
  checkShape(shape);
  const { inputShape, numClasses } = shape;
  if (isGptPreset(preset)) {
    const problem = gptProblem(preset, shape);
    if (problem !== null) throw new PresetError(problem);
    return {
      class_name: 'Model',
      config: gptConfig(preset, inputShape[0] as number, numClasses) as LayersTopology['config'],
      keras_version: TOPOLOGY_KERAS_VERSION,
      backend: 'tensor_flow.js',
    };
  }
  let layers: LayerConfig[];
  switch (preset) {
    case 'mnist-mlp':
      // tfjs's Flatten wants rank ≥ 3 with the batch, so a flat sample goes straight into Dense.
      layers =
        inputShape.length === 1
          ? [dense('hidden', MLP_HIDDEN_UNITS, 'relu', inputShape)]
          : [flatten('flatten', inputShape), dense('hidden', MLP_HIDDEN_UNITS, 'relu')];
      layers.push(dense('output', numClasses, 'softmax'));
      break;
    case 'mnist-cnn': {
      const [h, w, c] = cnnImage(inputShape);
      layers =
        inputShape.length === 2
          ? [reshape('reshape', [h, w, c], inputShape), conv2d('conv1', CNN_FILTERS[0])]
          : [conv2d('conv1', CNN_FILTERS[0], inputShape)];
      layers.push(
        maxPool('pool1'),
        conv2d('conv2', CNN_FILTERS[1]),
        maxPool('pool2'),
        flatten('flatten'),
        dense('output', numClasses, 'softmax'),
      );
      break;
    }
  }
  return {
    class_name: 'Sequential',
    config: { name: preset, layers },
    keras_version: TOPOLOGY_KERAS_VERSION,
    backend: 'tensor_flow.js',
  };
}

/** A preset's weights, in the order tfjs's `model.weights` lists them. Throws like presetTopology. */
export function presetWeightShapes(preset: ModelPreset, shape: PresetShape): NamedShape[] {
  checkShape(shape);
  const { inputShape, numClasses } = shape;
  if (isGptPreset(preset)) {
    const problem = gptProblem(preset, shape);
    if (problem !== null) throw new PresetError(problem);
    return gptWeightShapes(preset, inputShape[0] as number, numClasses);
  }
  switch (preset) {
    case 'mnist-mlp':
      return [
        { name: 'hidden/kernel', shape: [product(inputShape), MLP_HIDDEN_UNITS] },
        { name: 'hidden/bias', shape: [MLP_HIDDEN_UNITS] },
        { name: 'output/kernel', shape: [MLP_HIDDEN_UNITS, numClasses] },
        { name: 'output/bias', shape: [numClasses] },
      ];
    case 'mnist-cnn': {
      const [h, w, c] = cnnImage(inputShape);
      const [f1, f2] = CNN_FILTERS;
      const flat = afterStage(afterStage(h)) * afterStage(afterStage(w)) * f2;
      return [
        { name: 'conv1/kernel', shape: [3, 3, c, f1] },
        { name: 'conv1/bias', shape: [f1] },
        { name: 'conv2/kernel', shape: [3, 3, f1, f2] },
        { name: 'conv2/bias', shape: [f2] },
        { name: 'output/kernel', shape: [flat, numClasses] },
        { name: 'output/bias', shape: [numClasses] },
      ];
    }
  }
}

/** Lays named shapes end to end. Throws a RangeError on a bad dimension or a repeated name. */
export function layoutFromShapes(shapes: readonly NamedShape[]): ParamLayout {
  const seen = new Set<string>();
  let offset = 0;
  const entries = shapes.map(({ name, shape }) => {
    if (seen.has(name)) throw new RangeError(`weight name ${name} appears twice`);
    seen.add(name);
    if (!shape.every((d) => Number.isInteger(d) && d >= 0)) {
      throw new RangeError(`weight ${name} has a bad shape [${shape.join(', ')}]`);
    }
    const size = product(shape);
    const entry = { name, shape: [...shape], offset, size };
    offset += size;
    return entry;
  });
  return { entries, total: offset };
}

/** The flat layout of a preset without building a model. */
export function presetLayout(preset: ModelPreset, shape: PresetShape): ParamLayout {
  return layoutFromShapes(presetWeightShapes(preset, shape));
}

/** True when two layouts put the same weights, of the same shapes, at the same offsets. */
export function sameLayout(a: ParamLayout, b: ParamLayout): boolean {
  return (
    a.total === b.total &&
    a.entries.length === b.entries.length &&
    a.entries.every((e, i) => {
      const o = b.entries[i];
      return (
        o !== undefined &&
        o.name === e.name &&
        o.offset === e.offset &&
        o.shape.length === e.shape.length &&
        o.shape.every((d, j) => d === e.shape[j])
      );
    })
  );
}
