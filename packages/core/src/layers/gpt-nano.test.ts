// gpt-nano: the preset builds through the custom layers, its hand-written layout matches tfjs's,
// it is causal, its seeded initialisation covers every weight, and a saved model loads back
// (tfjs's own save → load) with identical predictions — and not without the registration call.
import * as tf from '@tensorflow/tfjs';
import { GPT_NANO, GPT_PRESETS, presetLayout, presetTopology, type ModelSpec } from '@tabswarm/protocol';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildModel, layoutOf, setFlatWeights, topologyFor } from '../model.ts';
import { initialParameters } from '../seeded-init.ts';
import {
  CausalSelfAttention,
  PositionEmbedding,
  TokenEmbedding,
  registerTabswarmLayers,
} from './register.ts';

const T = 16;
const V = 11;
const TEXT = { featureShape: [T], labelShape: [T], numClasses: V };
const SHAPE = { inputShape: [T], labelShape: [T], numClasses: V };
const gptNano: ModelSpec = { kind: 'preset', preset: 'gpt-nano' };

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function tokens(batch: number, seed: number): tf.Tensor2D {
  return tf.floor(tf.randomUniform([batch, T], 0, V, 'float32', seed));
}

describe('gpt-nano', () => {
  it('builds from its topology with the layout the protocol computes, softmax over V at each position', async () => {
    const model = await buildModel(presetTopology('gpt-nano', SHAPE));
    expect(layoutOf(model)).toEqual(presetLayout('gpt-nano', SHAPE));
    expect(model.outputs[0]?.shape).toEqual([null, T, V]);
    const probs = model.predict(tokens(3, 1)) as tf.Tensor;
    const sums = tf.sum(probs, -1).arraySync() as number[][];
    for (const row of sums) for (const s of row) expect(s).toBeCloseTo(1, 5);
    tf.dispose(probs);
    model.dispose();
    // On the built-in corpus (context 64, 83 characters) it stays well under 1 M parameters.
    const corpus = presetLayout('gpt-nano', { inputShape: [64], labelShape: [64], numClasses: 83 }).total;
    expect(corpus).toBeLessThan(1_000_000);
    expect(GPT_NANO.dModel % GPT_NANO.heads).toBe(0);
  });

  it('refuses a dataset that is not text windows', () => {
    expect(() => presetTopology('gpt-nano', { inputShape: [28, 28, 1], numClasses: 10 })).toThrow(
      /text dataset/,
    );
    expect(() => presetTopology('gpt-nano', { inputShape: [16], numClasses: 10 })).toThrow(/text dataset/);
  });

  it('is causal: changing a later token changes no earlier position', async () => {
    const model = await buildModel(topologyFor(gptNano, TEXT));
    setFlatWeights(model, await initialParameters(gptNano, TEXT, 3));
    const a = tokens(1, 5);
    const changed = a.arraySync();
    const row = changed[0] as number[];
    row[10] = ((row[10] as number) + 1) % V;
    const b = tf.tensor2d(changed);
    const pa = (model.predict(a) as tf.Tensor).arraySync() as number[][][];
    const pb = (model.predict(b) as tf.Tensor).arraySync() as number[][][];
    for (let t = 0; t < T; t++) {
      const diff = Math.max(...(pa[0]?.[t] ?? []).map((p, v) => Math.abs(p - (pb[0]?.[t]?.[v] ?? 0))));
      if (t < 10) expect(diff).toBe(0);
      else if (t === 10) expect(diff).toBeGreaterThan(0);
    }
    tf.dispose([a, b]);
    model.dispose();
  });

  it('draws seeded initial parameters for every weight, custom layers included', async () => {
    const one = await initialParameters(gptNano, TEXT, 7);
    const two = await initialParameters(gptNano, TEXT, 7);
    expect(one).toEqual(two);
    const layout = presetLayout('gpt-nano', SHAPE);
    const pos = layout.entries.find((e) => e.name === 'pos_emb/embeddings');
    const values = one.subarray(pos?.offset ?? 0, (pos?.offset ?? 0) + (pos?.size ?? 0));
    const std = Math.sqrt(values.reduce((s, v) => s + v * v, 0) / values.length);
    expect(std).toBeGreaterThan(0.015);
    expect(std).toBeLessThan(0.025);
  });

  it('saves as model.json + weights and loads back with identical predictions, only once registered', async () => {
    const model = await buildModel(topologyFor(gptNano, TEXT));
    setFlatWeights(model, await initialParameters(gptNano, TEXT, 11));
    let artifacts: tf.io.ModelArtifacts | undefined;
    await model.save(
      tf.io.withSaveHandler((a) => {
        artifacts = a;
        return Promise.resolve({ modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } });
      }),
    );
    if (artifacts === undefined) throw new Error('nothing saved');
    const saved = artifacts;
    const json = JSON.stringify(saved.modelTopology);
    expect(json).toContain('TabswarmCausalSelfAttention');
    expect(json).toContain('TabswarmPositionEmbedding');

    // What a user's code sees before calling registerTabswarmLayers(): tfjs cannot read the model.
    const registry = tf.serialization.SerializationMap.getMap().classNameMap;
    delete registry[CausalSelfAttention.className];
    delete registry[PositionEmbedding.className];
    delete registry[TokenEmbedding.className];
    await expect(tf.loadLayersModel(tf.io.fromMemory(saved))).rejects.toThrow(/Unknown layer/);

    registerTabswarmLayers();
    const loaded = await tf.loadLayersModel(tf.io.fromMemory(saved));
    const x = tokens(4, 9);
    const before = model.predict(x) as tf.Tensor;
    const after = loaded.predict(x) as tf.Tensor;
    expect(await after.data()).toEqual(await before.data());
    tf.dispose([x, before, after]);
    model.dispose();
    loaded.dispose();
  });
});

// gpt-mini: the same blocks at GPT-2 small's width (384) and half its depth (6), 10.7 M parameters
// on the built-in corpus — for volunteers with real GPUs. Built here at a short context so that a
// few training steps fit the CPU backend.
describe('gpt-mini', () => {
  const gptMini: ModelSpec = { kind: 'preset', preset: 'gpt-mini' };

  it('has 10–20 M parameters on the built-in corpus, heads that divide its width', () => {
    const corpus = presetLayout('gpt-mini', { inputShape: [64], labelShape: [64], numClasses: 83 }).total;
    expect(corpus).toBeGreaterThan(10_000_000);
    expect(corpus).toBeLessThan(20_000_000);
    expect(GPT_PRESETS['gpt-mini'].dModel % GPT_PRESETS['gpt-mini'].heads).toBe(0);
    expect(() => presetTopology('gpt-mini', { inputShape: [28, 28, 1], numClasses: 10 })).toThrow(
      /gpt-mini needs a text dataset/,
    );
  });

  it('builds with the layout the protocol computes and learns: an Adam step lowers its loss on a batch', async () => {
    const model = await buildModel(presetTopology('gpt-mini', SHAPE));
    expect(layoutOf(model)).toEqual(presetLayout('gpt-mini', SHAPE));
    setFlatWeights(model, await initialParameters(gptMini, TEXT, 5));
    const x = tokens(1, 13);
    // Next-token targets: the input shifted by one (a pattern the model can pick up at once).
    const y = tf.oneHot(
      tf.cast(tf.concat([x.slice([0, 1], [1, T - 1]), x.slice([0, 0], [1, 1])], 1), 'int32'),
      V,
    );
    const loss = (): tf.Scalar =>
      tf.tidy(() =>
        tf.neg(tf.mean(tf.sum(tf.mul(y, tf.log(tf.add(model.predict(x) as tf.Tensor, 1e-7))), -1))),
      );
    const optimizer = tf.train.adam(1e-3);
    const losses: number[] = [];
    for (let step = 0; step < 2; step++) {
      const l = optimizer.minimize(loss, true);
      losses.push((await l?.data())?.[0] ?? Number.NaN);
      l?.dispose();
    }
    // Untrained, the loss is about ln V; one step on the batch lowers it.
    expect(losses[0]).toBeCloseTo(Math.log(V), 0);
    expect(losses[1], `losses ${losses.join(' ')}`).toBeLessThan((losses[0] as number) - 0.1);
    tf.dispose([x, y]);
    optimizer.dispose();
    model.dispose();
  }, 60_000);
});
