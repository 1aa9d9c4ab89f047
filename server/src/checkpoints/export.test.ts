import http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { presetLayout, presetTopology } from '@tabswarm/protocol';
import { exportModel, WEIGHTS_FILE, type ExportedModel } from './export.ts';
import { layoutOf, setFlatWeights } from '@tabswarm/core';
import { buildModel, initialParameters } from './model-factory.ts';

const MNIST = { featureShape: [28, 28, 1], numClasses: 10 } as const;

/** Serves one exported model as /model.json and /weights.bin, as the coordinator's route will. */
function serve(exported: ExportedModel): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    if (req.url === '/model.json') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(exported.modelJson));
    } else if (req.url === `/${WEIGHTS_FILE}`) {
      res.setHeader('content-type', 'application/octet-stream');
      res.end(exported.weightsBin);
    } else {
      res.statusCode = 404;
      res.end();
    }
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}`,
        close: () => new Promise<void>((done) => server.close(() => done())),
      });
    });
  });
}

describe('exportModel', () => {
  let inputs: tf.Tensor;
  beforeAll(() => {
    inputs = tf.randomUniform([5, 28, 28, 1], 0, 1, 'float32', 11);
  });
  afterAll(() => inputs.dispose());

  it('writes a model.json and weights.bin that tf.loadLayersModel loads over HTTP, predicting the same', async () => {
    for (const preset of ['mnist-mlp', 'mnist-cnn'] as const) {
      const topology = presetTopology(preset, { inputShape: MNIST.featureShape, numClasses: 10 });
      const flat = await initialParameters({ kind: 'preset', preset }, MNIST, 5);
      const original = await buildModel(topology);
      setFlatWeights(original, flat);
      const exported = exportModel(topology, layoutOf(original), flat);
      expect(exported.weightsBin.byteLength).toBe(flat.length * 4);
      expect(exported.modelJson.weightsManifest[0].weights.map((w) => w.name)).toEqual(
        presetLayout(preset, { inputShape: MNIST.featureShape, numClasses: 10 }).entries.map((e) => e.name),
      );

      const server = await serve(exported);
      try {
        const loaded = await tf.loadLayersModel(`${server.url}/model.json`);
        const want = original.predict(inputs) as tf.Tensor;
        const got = loaded.predict(inputs) as tf.Tensor;
        expect(Array.from(got.dataSync())).toEqual(Array.from(want.dataSync()));
        tf.dispose([want, got]);
        loaded.dispose();
      } finally {
        await server.close();
        original.dispose();
      }
    }
  });

  it('loads through tf.io.fromMemory as well', async () => {
    const topology = presetTopology('mnist-cnn', { inputShape: MNIST.featureShape, numClasses: 10 });
    const layout = presetLayout('mnist-cnn', { inputShape: MNIST.featureShape, numClasses: 10 });
    const flat = Float32Array.from({ length: layout.total }, (_, i) => Math.cos(i) * 0.1);
    const { modelJson, weightsBin } = exportModel(topology, layout, flat);
    const loaded = await tf.loadLayersModel(
      tf.io.fromMemory({
        modelTopology: modelJson.modelTopology as tf.io.ModelArtifacts['modelTopology'],
        weightSpecs: modelJson.weightsManifest[0].weights,
        weightData: weightsBin.slice().buffer,
      }),
    );
    const weights = loaded.weights.map((w) => Array.from(w.read().dataSync()));
    expect(Float32Array.from(weights.flat())).toEqual(flat);
    loaded.dispose();
  });

  it('refuses a vector that does not fit the layout', () => {
    const layout = presetLayout('mnist-mlp', { inputShape: [4], numClasses: 2 });
    expect(() => exportModel({}, layout, new Float32Array(layout.total + 1))).toThrow(RangeError);
  });
});
