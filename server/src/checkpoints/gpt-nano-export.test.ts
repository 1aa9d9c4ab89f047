// A gpt-nano checkpoint as the coordinator exports it (model.json + weights.bin, served over HTTP)
// loads in a user's TensorFlow.js code after registerTabswarmLayers(), predicts what the
// coordinator's model predicts, and its next-token loss on held-out moby-dick windows matches the
// coordinator's own evaluation within 1e-4. The sample generator reads the same export.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  generateTokens,
  layoutOf,
  registerTabswarmLayers,
  setFlatWeights,
  topologyFor,
} from '@tabswarm/core';
import type { ModelSpec } from '@tabswarm/protocol';
import { DatasetRegistry, type Samples } from '../datasets/index.ts';
import { tempDataDir } from '../datasets/test-support.ts';
import { evaluateParameters } from './evaluate.ts';
import { exportModel, WEIGHTS_FILE } from './export.ts';
import { buildModel, ensureCpuBackend, initialParameters } from './model-factory.ts';

const gptNano: ModelSpec = { kind: 'preset', preset: 'gpt-nano' };
let server: http.Server;
let url: string;
let heldOut: Samples;
let flat: Float32Array;
let topology: Record<string, unknown>;

beforeAll(async () => {
  await ensureCpuBackend();
  const registry = new DatasetRegistry(tempDataDir());
  const manifest = await registry.ensureBuiltin('moby-dick');
  heldOut = registry.readSamples('moby-dick', 'test', 0, 32);
  topology = topologyFor(gptNano, manifest);
  // Not the initial model: perturbed, so the check does not pass on a near-uniform output alone.
  flat = await initialParameters(gptNano, manifest, 5);
  for (let i = 0; i < flat.length; i++) flat[i] = (flat[i] as number) * 3 + Math.sin(i) * 0.01;
  const model = await buildModel(topology);
  const exported = exportModel(topology, layoutOf(model), flat);
  model.dispose();
  server = http.createServer((req, res) => {
    if (req.url === '/model.json') res.end(JSON.stringify(exported.modelJson));
    else if (req.url === `/${WEIGHTS_FILE}`) res.end(exported.weightsBin);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/model.json`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('an exported gpt-nano checkpoint', () => {
  it('loads in user code and scores the held-out windows as the coordinator does, within 1e-4', async () => {
    registerTabswarmLayers(); // the one call a user's code makes before loading
    const loaded = await tf.loadLayersModel(url);
    const x = tf.tensor2d(heldOut.x, [heldOut.n, 64]);
    const probs = loaded.predict(x) as tf.Tensor;
    const labels = tf.tensor1d(heldOut.y, 'int32');
    const picked = tf.sum(tf.mul(tf.reshape(probs, [-1, 83]), tf.oneHot(labels, 83)), -1);
    const userLoss = (
      await tf.mean(tf.neg(tf.log(tf.clipByValue(picked, 1e-7, 1 - 1e-7)))).data()
    )[0] as number;

    const coordinator = await evaluateParameters(topology, flat, heldOut);
    expect(Math.abs(userLoss - coordinator.loss)).toBeLessThan(1e-4);
    expect(coordinator.loss).toBeGreaterThan(0);

    // Same weights, same predictions as a model the coordinator builds from the vector.
    const own = await buildModel(topology);
    setFlatWeights(own, flat);
    const ownProbs = own.predict(x) as tf.Tensor;
    expect(tf.max(tf.abs(tf.sub(ownProbs, probs))).dataSync()[0]).toBeLessThan(1e-6);

    const sample = await generateTokens(loaded, { prompt: [1, 2], length: 8, temperature: 0.8, seed: 3 });
    expect(sample).toHaveLength(8);
    tf.dispose([x, probs, labels, picked, ownProbs]);
    own.dispose();
    loaded.dispose();
  });
});
