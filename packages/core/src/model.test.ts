import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { MODEL_PRESETS, isGptPreset, presetLayout, presetTopology, type ModelSpec } from '@tabswarm/protocol';
import {
  buildJobModel,
  buildModel,
  getFlatWeights,
  layoutOf,
  ModelError,
  modelMismatch,
  setFlatWeights,
  topologyFor,
} from './model.ts';
import {
  computeFans,
  initializeWeight,
  initialParameters,
  InitializerError,
  seededStream,
} from './seeded-init.ts';

// Node has the pure-JS CPU backend only unless something registers another: pin it.
beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

const MNIST = { featureShape: [28, 28, 1], numClasses: 10 } as const;
const mlp: ModelSpec = { kind: 'preset', preset: 'mnist-mlp' };
const cnn: ModelSpec = { kind: 'preset', preset: 'mnist-cnn' };

/** The presets written with tfjs's own layer API, to compare the hand-written topologies with. */
function tfjsPreset(preset: (typeof MODEL_PRESETS)[number], inputShape: number[], numClasses: number) {
  const init = { kernelInitializer: 'glorotUniform', biasInitializer: 'zeros' } as const;
  const layers =
    preset === 'mnist-mlp'
      ? [
          tf.layers.flatten({ name: 'flatten', inputShape }),
          tf.layers.dense({ name: 'hidden', units: 128, activation: 'relu', ...init }),
          tf.layers.dense({ name: 'output', units: numClasses, activation: 'softmax', ...init }),
        ]
      : [
          tf.layers.conv2d({
            name: 'conv1',
            inputShape,
            filters: 8,
            kernelSize: 3,
            activation: 'relu',
            ...init,
          }),
          tf.layers.maxPooling2d({ name: 'pool1', poolSize: 2 }),
          tf.layers.conv2d({ name: 'conv2', filters: 16, kernelSize: 3, activation: 'relu', ...init }),
          tf.layers.maxPooling2d({ name: 'pool2', poolSize: 2 }),
          tf.layers.flatten({ name: 'flatten' }),
          tf.layers.dense({ name: 'output', units: numClasses, activation: 'softmax', ...init }),
        ];
  return tf.sequential({ name: preset, layers });
}

const withoutVersion = (t: object) => ({ ...t, keras_version: undefined });

/** The image classifiers; the GPT presets take text windows and have their own tests (layers/gpt-nano.test.ts). */
const CLASSIFIER_PRESETS = MODEL_PRESETS.filter((p) => !isGptPreset(p));

describe('preset topologies', () => {
  it('are exactly what tfjs emits for the same layers', () => {
    for (const preset of CLASSIFIER_PRESETS) {
      for (const [shape, classes] of [
        [[28, 28, 1], 10],
        [[32, 32, 3], 7],
      ] as const) {
        const built = tfjsPreset(preset, [...shape], classes);
        // keras_version names the tfjs release; tfjs does not read it back.
        expect(withoutVersion(presetTopology(preset, { inputShape: shape, numClasses: classes }))).toEqual(
          withoutVersion(built.toJSON(null, false) as object),
        );
        built.dispose();
      }
    }
  });

  it('rebuild with tfjs into models with the expected parameter counts and layouts', async () => {
    for (const preset of CLASSIFIER_PRESETS) {
      for (const inputShape of [
        [28, 28, 1],
        [28, 28],
        [12, 16, 3],
      ]) {
        const shape = { inputShape, numClasses: 10 };
        const model = await buildModel(presetTopology(preset, shape));
        expect(model.countParams()).toBe(presetLayout(preset, shape).total);
        expect(layoutOf(model)).toEqual(presetLayout(preset, shape));
        expect(model.outputs[0]?.shape).toEqual([null, 10]);
        model.dispose();
      }
    }
    const mnistMlp = await buildModel(topologyFor(mlp, MNIST));
    expect(mnistMlp.countParams()).toBe(101_770);
    mnistMlp.dispose();
    const flat = await buildModel(presetTopology('mnist-mlp', { inputShape: [20], numClasses: 3 }));
    expect(flat.countParams()).toBe(20 * 128 + 128 + 128 * 3 + 3);
    flat.dispose();
  });
});

describe('job models', () => {
  it('builds a job model checked against its dataset, or says why not with MODEL_INVALID', async () => {
    const model = await buildJobModel(mlp, MNIST);
    expect(layoutOf(model)).toEqual(presetLayout('mnist-mlp', { inputShape: [28, 28, 1], numClasses: 10 }));
    model.dispose();
    const topology = presetTopology('mnist-mlp', { inputShape: [28, 28, 1], numClasses: 10 });
    const wrongClasses = buildJobModel(
      { kind: 'topology', topology },
      { featureShape: [28, 28, 1], numClasses: 4 },
    );
    await expect(wrongClasses).rejects.toThrow(ModelError);
    await expect(wrongClasses).rejects.toMatchObject({ code: 'MODEL_INVALID', message: /4 classes/ });
    await expect(
      buildJobModel({ kind: 'topology', topology: { class_name: 'NoSuchModel', config: {} } }, MNIST),
    ).rejects.toMatchObject({ code: 'MODEL_INVALID', message: /cannot build/ });
    await expect(buildJobModel(mlp, { featureShape: [28, 28, 1], numClasses: 1 })).rejects.toThrow(
      ModelError,
    );
  });

  it('does not change the topology it builds from', async () => {
    const topology = presetTopology('mnist-cnn', { inputShape: [28, 28, 1], numClasses: 10 });
    const copy = JSON.parse(JSON.stringify(topology)) as unknown;
    (await buildModel(topology)).dispose();
    expect(topology).toEqual(copy);
  });

  it('passes a custom topology through and fits presets to the dataset', async () => {
    const topology = presetTopology('mnist-cnn', { inputShape: [28, 28, 1], numClasses: 10 });
    expect(topologyFor({ kind: 'topology', topology }, MNIST)).toBe(topology);
    const model = await buildModel(topologyFor(cnn, MNIST));
    expect(modelMismatch(model, MNIST)).toBeNull();
    expect(modelMismatch(model, { featureShape: [28, 28, 3], numClasses: 10 })).toMatch(/inputs of shape/);
    expect(modelMismatch(model, { featureShape: [28, 28, 1], numClasses: 4 })).toMatch(/4 classes/);
    model.dispose();
  });

  it('rejects a topology tfjs cannot read', async () => {
    await expect(buildModel({ class_name: 'NoSuchModel', config: {} })).rejects.toThrow();
  });

  it('round-trips a flat vector through a model without aliasing it', async () => {
    const model = await buildModel(topologyFor(cnn, MNIST));
    const layout = layoutOf(model);
    const flat = Float32Array.from({ length: layout.total }, (_, i) => (i % 97) / 97 - 0.5);
    setFlatWeights(model, flat);
    expect(getFlatWeights(model)).toEqual(flat);
    // The model keeps its own copy.
    flat[0] = 42;
    expect(getFlatWeights(model)[0]).not.toBe(42);
    // Each weight got its own slice, in model.weights order.
    const bias = layout.entries.find((e) => e.name === 'conv1/bias');
    const tensor = model.weights.find((w) => w.originalName === 'conv1/bias');
    expect(Array.from(tensor?.read().dataSync() ?? [])).toEqual(
      Array.from(flat.subarray(bias?.offset, (bias?.offset ?? 0) + (bias?.size ?? 0))),
    );
    expect(() => setFlatWeights(model, new Float32Array(3))).toThrow(RangeError);
    model.dispose();
  });

  it('draws the same initial parameters for the same seed, and different ones for another', async () => {
    const a = await initialParameters(mlp, MNIST, 7);
    const b = await initialParameters(mlp, MNIST, 7);
    const c = await initialParameters(mlp, MNIST, 8);
    expect(a.length).toBe(101_770);
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    const layout = presetLayout('mnist-mlp', { inputShape: [28, 28, 1], numClasses: 10 });
    const [kernel, bias] = layout.entries;
    // Glorot-uniform kernel within ±√(6 / (fanIn + fanOut)), spread over that range; zero bias.
    const limit = Math.sqrt(6 / (784 + 128));
    const k = a.subarray(kernel?.offset, (kernel?.offset ?? 0) + (kernel?.size ?? 0));
    expect(Math.max(...k)).toBeLessThanOrEqual(limit);
    expect(Math.min(...k)).toBeGreaterThanOrEqual(-limit);
    expect(Math.max(...k)).toBeGreaterThan(limit * 0.99);
    const mean = k.reduce((s, v) => s + v, 0) / k.length;
    expect(Math.abs(mean)).toBeLessThan(limit * 0.01);
    expect(a.subarray(bias?.offset, (bias?.offset ?? 0) + (bias?.size ?? 0)).every((v) => v === 0)).toBe(
      true,
    );
  });

  it('initialises tfjs default (glorot-normal) layers too, and refuses what it cannot reproduce', async () => {
    const model = tf.sequential({
      layers: [
        tf.layers.dense({ name: 'd', inputShape: [4], units: 3 }),
        tf.layers.batchNormalization({ name: 'bn' }),
      ],
    });
    const topology = model.toJSON(null, false) as Record<string, unknown>;
    model.dispose();
    const flat = await initialParameters(
      { kind: 'topology', topology },
      { featureShape: [4], numClasses: 3 },
      1,
    );
    // d/kernel 12 (truncated normal), d/bias 3, bn gamma 3 (ones), beta 3, moving mean 3, moving variance 3 (ones).
    expect(flat.length).toBe(12 + 3 + 12);
    expect(Array.from(flat.subarray(15, 18))).toEqual([1, 1, 1]);
    expect(Array.from(flat.subarray(24, 27))).toEqual([1, 1, 1]);
    const stddev = Math.sqrt(1 / ((4 + 3) / 2));
    expect(flat.subarray(0, 12).every((v) => Math.abs(v) <= 2 * stddev)).toBe(true);

    const orthogonal = tf.sequential({
      layers: [tf.layers.dense({ name: 'o', inputShape: [4], units: 4, kernelInitializer: 'orthogonal' })],
    });
    const unsupported = orthogonal.toJSON(null, false) as Record<string, unknown>;
    orthogonal.dispose();
    await expect(
      initialParameters({ kind: 'topology', topology: unsupported }, { featureShape: [4], numClasses: 4 }, 1),
    ).rejects.toThrow(InitializerError);
  });

  it('leaks no tensors', async () => {
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      await initialParameters(cnn, MNIST, i);
      const model = await buildModel(topologyFor(cnn, MNIST));
      setFlatWeights(model, getFlatWeights(model));
      model.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('seeded initialisers', () => {
  it('compute fans as Keras does', () => {
    expect(computeFans([784, 128])).toEqual([784, 128]);
    expect(computeFans([3, 3, 8, 16])).toEqual([72, 144]);
    expect(computeFans([10])).toEqual([Math.sqrt(10), Math.sqrt(10)]);
  });

  it('give independent streams per weight and reproducible ones per seed', () => {
    const a = seededStream(1, 0);
    const b = seededStream(1, 1);
    const again = seededStream(1, 0);
    const xs = Array.from({ length: 5 }, () => a());
    expect(Array.from({ length: 5 }, () => again())).toEqual(xs);
    expect(Array.from({ length: 5 }, () => b())).not.toEqual(xs);
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
  });

  it('match the moments of their distributions', () => {
    const n = 20_000;
    const moments = (v: Float32Array) => {
      const mean = v.reduce((s, x) => s + x, 0) / v.length;
      return { mean, sd: Math.sqrt(v.reduce((s, x) => s + (x - mean) ** 2, 0) / v.length) };
    };
    const normal = initializeWeight({ className: 'RandomNormal', config: { mean: 1, stddev: 2 } }, [n], 3, 0);
    expect(moments(normal).mean).toBeCloseTo(1, 1);
    expect(moments(normal).sd).toBeCloseTo(2, 1);
    const uniform = initializeWeight(
      { className: 'RandomUniform', config: { minval: 2, maxval: 4 } },
      [n],
      3,
      0,
    );
    expect(Math.min(...uniform)).toBeGreaterThanOrEqual(2);
    expect(Math.max(...uniform)).toBeLessThanOrEqual(4);
    expect(moments(uniform).mean).toBeCloseTo(3, 1);
    const truncated = initializeWeight({ className: 'TruncatedNormal', config: { stddev: 1 } }, [n], 3, 0);
    expect(truncated.every((x) => Math.abs(x) <= 2)).toBe(true);
    expect(initializeWeight({ className: 'Constant', config: { value: 0.5 } }, [2], 0, 0)).toEqual(
      new Float32Array([0.5, 0.5]),
    );
  });
});
