// The job page's text sample: a gpt-nano model saved as model.json + weights and served over HTTP
// is loaded (tabswarm's layers registered) and continues the prompt with characters of the
// vocabulary, the same text for the same seed.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { characterVocabulary } from '@tabswarm/protocol';
import { charTextInfo, exportedGptNano } from './test-support.ts';
import { generateSample } from './text-sample.ts';

const TEXT = 'Call me Ishmael. Some years ago, never mind how long precisely.';
const vocabulary = characterVocabulary(TEXT);
const info = charTextInfo(vocabulary, { heldOutUnigramBits: 4, trainChars: 50, heldOutChars: 13 });
let server: http.Server;
let url: string;

beforeAll(async () => {
  await tf.setBackend('cpu');
  const files = await exportedGptNano(vocabulary, 2);
  server = http.createServer((req, res) => {
    if (req.url === '/model.json') res.end(files.json);
    else if (req.url === '/weights.bin') res.end(new Uint8Array(files.weights));
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
