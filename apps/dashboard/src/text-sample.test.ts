// The job page's text sample: a gpt-nano model saved as model.json + weights and served over HTTP
// is loaded (tabswarm's layers registered) and continues the prompt with characters of the
// vocabulary, the same text for the same seed.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildModel, initialParameters, setFlatWeights, topologyFor } from '@tabswarm/core';
import { characterVocabulary, type ModelSpec, type TextInfo } from '@tabswarm/protocol';
import { generateSample } from './text-sample.ts';

const TEXT = 'Call me Ishmael. Some years ago, never mind how long precisely.';
const vocabulary = characterVocabulary(TEXT);
const info: TextInfo = {
  tokenization: 'char',
  context: 16,
  vocabulary,
  heldOutUnigramBits: 4,
  trainChars: 50,
  heldOutChars: 13,
};
let server: http.Server;
let url: string;

beforeAll(async () => {
  await tf.setBackend('cpu');
  const spec: ModelSpec = { kind: 'preset', preset: 'gpt-nano' };
  const shape = { featureShape: [16], labelShape: [16], numClasses: vocabulary.length };
  const model = await buildModel(topologyFor(spec, shape));
  setFlatWeights(model, await initialParameters(spec, shape, 2));
  let files: { json: string; weights: Uint8Array } | undefined;
  await model.save(
    tf.io.withSaveHandler((a) => {
      const { weightData, weightSpecs, modelTopology } = a;
      const bytes = new Uint8Array(weightData as ArrayBuffer);
      files = {
        json: JSON.stringify({
          modelTopology,
          weightsManifest: [{ paths: ['weights.bin'], weights: weightSpecs }],
        }),
        weights: bytes,
      };
      return Promise.resolve({ modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } });
    }),
  );
  model.dispose();
  server = http.createServer((req, res) => {
    if (req.url === '/model.json') res.end(files?.json);
    else if (req.url === '/weights.bin') res.end(files?.weights);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/model.json`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('generateSample', () => {
  it('continues the prompt with characters of the vocabulary, reproducibly for a seed', async () => {
    const a = await generateSample(url, info, { length: 40, seed: 7 });
    expect(a.startsWith('Call me ')).toBe(true);
    const added = Array.from(a.slice('Call me '.length));
    expect(added).toHaveLength(40);
    for (const c of added) expect(vocabulary).toContain(c);
    expect(await generateSample(url, info, { length: 40, seed: 7 })).toBe(a);
  });
});
