// Text datasets: the built-in moby-dick corpus, character tokenisation into next-token windows, and
// the text/plain upload route with its refusals (a coded 4xx, nothing left on disk).
import { describe, expect, it } from 'vitest';
import { decodeCharacters, entropyBits } from '@tabswarm/protocol';
import type { DatasetManifest } from './layout.ts';
import { DatasetRegistry } from './registry.ts';
import { datasetRoutes } from './routes.ts';
import { decodeShard } from './shard.ts';
import { datasetDirEntries, inPieces, useDatasetServer } from './test-support.ts';
import { readUtf8 } from './text.ts';

const TOKEN = 'text-operator-token';
const served = useDatasetServer((app, registry) => {
  app.use('/api/datasets', datasetRoutes(registry, TOKEN, { maxUploadBytes: 64 * 1024 }));
});

async function upload(body: string | Uint8Array, query = '', contentType = 'text/plain; charset=utf-8') {
  const res = await fetch(`${served.base}${query}`, {
    method: 'POST',
    headers: { 'content-type': contentType, authorization: `Bearer ${TOKEN}` },
    body: typeof body === 'string' ? body : new Uint8Array(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

describe('the built-in moby-dick corpus', () => {
  it('is prepared on first use: character vocabulary, next-token windows, held-out part from the end', async () => {
    const m = await served.registry.ensureBuiltin('moby-dick');
    const text = m.text;
    expect(text).toBeDefined();
    if (text === undefined) return;
    expect(m).toMatchObject({ source: 'builtin', featureShape: [64], labelShape: [64], dtype: 'uint8' });
    expect(m.numClasses).toBe(text.vocabulary.length);
    expect(text.vocabulary.length).toBe(83);
    expect(text.trainChars + text.heldOutChars).toBe(1_190_317);
    expect(m.trainSize).toBe(Math.floor((text.trainChars - 1) / 64));
    expect(m.testSize).toBe(Math.floor((text.heldOutChars - 1) / 64));
    // The held-out unigram entropy of English prose: about 4.4 bits per character.
    expect(text.heldOutUnigramBits).toBeGreaterThan(4);
    expect(text.heldOutUnigramBits).toBeLessThan(4.8);

    // A held-out window's labels are its inputs shifted by one, and consecutive windows continue.
    const { x, y, labelsPerSample } = decodeShard(served.registry.readRaw('moby-dick', 'test', 0, 2));
    expect(labelsPerSample).toBe(64);
    const first = decodeCharacters(Array.from(x.subarray(0, 64)), text.vocabulary);
    const labels = decodeCharacters(Array.from(y.subarray(0, 64)), text.vocabulary);
    expect(labels.slice(0, 63)).toBe(first.slice(1));
    expect(decodeCharacters(Array.from(x.subarray(64, 128)), text.vocabulary)[0]).toBe(labels[63]);

    // Prepared once: a second registry on the same directory loads it, byte-identical checksums.
    const again = new DatasetRegistry(served.dataDir).get('moby-dick');
    expect(again?.checksums).toEqual(m.checksums);
  });
});

describe('text uploads', () => {
  const TEXT = 'the quick brown fox jumps over the lazy dog. '.repeat(20); // 900 characters

  it('imports UTF-8 text (multi-byte characters included) into windows of ?context=', async () => {
    const body = `${TEXT}naïve café — ünïcödé ✓ 🐋`;
    const res = await upload(body, '?name=fox&context=16&testFraction=0.2');
    expect(res.status).toBe(201);
    const m = res.json.dataset as DatasetManifest;
    expect(m).toMatchObject({ name: 'fox', source: 'text', featureShape: [16], labelShape: [16] });
    expect(m.text?.vocabulary).toContain('🐋');
    expect(m.text?.vocabulary).toContain('ï');
    const chars = Array.from(body).length;
    expect(m.text?.heldOutChars).toBe(chars - Math.floor(chars * 0.8));
    // The baseline is the held-out labels' entropy, recomputed here from the served shards.
    const shard = decodeShard(served.registry.readRaw(m.id, 'test', 0, m.testSize));
    const counts = new Array<number>(m.numClasses).fill(0);
    for (const t of shard.y) counts[t] = (counts[t] as number) + 1;
    expect(m.text?.heldOutUnigramBits).toBeCloseTo(entropyBits(counts), 10);
  });

  it.each([
    [
      'invalid UTF-8',
      Buffer.concat([Buffer.from(TEXT), Buffer.from([0xc3, 0x28]), Buffer.from(TEXT)]),
      '',
      /UTF-8/,
    ],
    [
      'a truncated multi-byte character at the end',
      Buffer.concat([Buffer.from(TEXT), Buffer.from([0xe2, 0x82])]),
      '',
      /UTF-8/,
    ],
    [
      'text shorter than the context',
      'just a few words here',
      '?context=64',
      /too short for a context of 64/,
    ],
    ['one repeated character', 'a'.repeat(500), '?context=8', /2 distinct characters/],
    ['a context out of range', TEXT, '?context=1', /context/],
    ['CSV options on a text upload', TEXT, '?label=y', /apply to CSV/],
  ])('refuses %s with 400 BAD_REQUEST and writes nothing', async (_what, body, query, message) => {
    const before = datasetDirEntries(served.dataDir);
    const count = served.registry.list().length;
    const res = await upload(body, query);
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ ok: false, code: 'BAD_REQUEST' });
    expect(res.json.message).toMatch(message);
    expect(datasetDirEntries(served.dataDir)).toEqual(before);
    expect(served.registry.list().length).toBe(count);
  });

  it('refuses an empty body and one over the size limit with coded errors, writing nothing', async () => {
    const before = datasetDirEntries(served.dataDir);
    const empty = await upload('');
    expect(empty.status).toBe(400);
    expect(empty.json).toMatchObject({ ok: false, code: 'BAD_REQUEST' });
    const big = await upload('x y '.repeat(20_000));
    expect(big.status).toBe(413);
    expect(big.json).toMatchObject({ ok: false, code: 'PAYLOAD_TOO_LARGE' });
    expect(datasetDirEntries(served.dataDir)).toEqual(before);
  });
});

describe('readUtf8', () => {
  it('decodes characters split across chunks, and refuses text over the character limit with 413', async () => {
    const bytes = Buffer.from('é🐋✓ café '.repeat(10));
    expect(await readUtf8(inPieces(bytes, 1))).toBe('é🐋✓ café '.repeat(10));
    await expect(readUtf8(inPieces(bytes, 7), 20)).rejects.toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
  });
});
