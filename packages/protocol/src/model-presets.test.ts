import { describe, expect, it } from 'vitest';
import { isGptPreset } from './gpt-presets.ts';
import { MODEL_PRESETS, modelSpecSchema } from './job-spec.ts';
import {
  layoutFromShapes,
  presetLayout,
  presetTopology,
  presetWeightShapes,
  PresetError,
  sameLayout,
} from './model-presets.ts';

const MNIST = { inputShape: [28, 28, 1], numClasses: 10 } as const;

describe('model presets', () => {
  it('gives the MNIST MLP 101,770 parameters and the CNN 5,258', () => {
    expect(presetLayout('mnist-mlp', MNIST).total).toBe(784 * 128 + 128 + 128 * 10 + 10);
    expect(presetLayout('mnist-mlp', MNIST).total).toBe(101_770);
    expect(presetLayout('mnist-cnn', MNIST).total).toBe(80 + 1168 + 400 * 10 + 10);
  });

  it('fits a preset to the dataset: input shape on the first layer, classes on the last', () => {
    const topology = presetTopology('mnist-mlp', { inputShape: [32, 32, 3], numClasses: 4 });
    const layers = topology.config.layers;
    expect(layers[0]?.config.batch_input_shape).toEqual([null, 32, 32, 3]);
    expect(layers.at(-1)?.config).toMatchObject({ units: 4, activation: 'softmax', name: 'output' });
    expect(presetWeightShapes('mnist-mlp', { inputShape: [32, 32, 3], numClasses: 4 })[0]?.shape).toEqual([
      3072, 128,
    ]);
  });

  it('feeds a flat sample to the MLP without a Flatten layer', () => {
    const layers = presetTopology('mnist-mlp', { inputShape: [20], numClasses: 3 }).config.layers;
    expect(layers.map((l) => l.class_name)).toEqual(['Dense', 'Dense']);
    expect(layers[0]?.config.batch_input_shape).toEqual([null, 20]);
  });

  it('reshapes a channel-less image for the CNN and refuses what is not an image', () => {
    const layers = presetTopology('mnist-cnn', { inputShape: [28, 28], numClasses: 10 }).config.layers;
    expect(layers[0]).toMatchObject({ class_name: 'Reshape', config: { target_shape: [28, 28, 1] } });
    expect(() => presetTopology('mnist-cnn', { inputShape: [20], numClasses: 3 })).toThrow(PresetError);
    expect(() => presetTopology('mnist-cnn', { inputShape: [8, 8, 1], numClasses: 3 })).toThrow(
      /at least 10×10/,
    );
  });

  it('refuses a bad shape or too few classes with a PresetError', () => {
    expect(() => presetTopology('mnist-mlp', { inputShape: [], numClasses: 10 })).toThrow(PresetError);
    expect(() => presetTopology('mnist-mlp', { inputShape: [0, 3], numClasses: 10 })).toThrow(PresetError);
    expect(() => presetTopology('mnist-mlp', { inputShape: [4], numClasses: 1 })).toThrow(/2 classes/);
  });

  it('produces topologies a job spec accepts as a custom topology', () => {
    const TEXT = { inputShape: [64], labelShape: [64], numClasses: 83 };
    for (const preset of MODEL_PRESETS) {
      const topology = presetTopology(preset, isGptPreset(preset) ? TEXT : MNIST);
      expect(modelSpecSchema.safeParse({ kind: 'topology', topology }).success).toBe(true);
      // A plain JSON document: survives a round trip unchanged.
      expect(JSON.parse(JSON.stringify(topology))).toEqual(topology);
    }
  });
});

describe('param layout', () => {
  it('lays weights end to end', () => {
    const layout = layoutFromShapes([
      { name: 'a', shape: [2, 3] },
      { name: 'b', shape: [3] },
      { name: 'c', shape: [] },
    ]);
    expect(layout).toEqual({
      entries: [
        { name: 'a', shape: [2, 3], offset: 0, size: 6 },
        { name: 'b', shape: [3], offset: 6, size: 3 },
        { name: 'c', shape: [], offset: 9, size: 1 },
      ],
      total: 10,
    });
  });

  it('refuses repeated names and bad dimensions', () => {
    expect(() =>
      layoutFromShapes([
        { name: 'a', shape: [1] },
        { name: 'a', shape: [1] },
      ]),
    ).toThrow(RangeError);
    expect(() => layoutFromShapes([{ name: 'a', shape: [1.5] }])).toThrow(RangeError);
    expect(() => layoutFromShapes([{ name: 'a', shape: [-1] }])).toThrow(RangeError);
  });

  it('compares layouts by names, shapes and offsets', () => {
    const a = presetLayout('mnist-mlp', MNIST);
    expect(sameLayout(a, presetLayout('mnist-mlp', MNIST))).toBe(true);
    expect(sameLayout(a, presetLayout('mnist-mlp', { ...MNIST, numClasses: 9 }))).toBe(false);
    expect(sameLayout(a, presetLayout('mnist-cnn', MNIST))).toBe(false);
  });
});
