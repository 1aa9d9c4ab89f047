import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { mulberry32, seededPermutation } from '@tabswarm/core';
import { encodeBinaryDataset, MAX_UPLOAD_HEADER_BYTES, UPLOAD_PREAMBLE_BYTES } from './binary.ts';
import { DatasetError } from './errors.ts';
import type { BlobName } from './layout.ts';
import { DatasetRegistry, type ImportBinaryOptions } from './registry.ts';
import { allocateShard, decodeShard, SHARD_HEADER_BYTES } from './shard.ts';
import { datasetDirEntries, inPieces, tempDataDir } from './test-support.ts';

const f32 = (values: number[]): Buffer => Buffer.from(new Float32Array(values).buffer);
const u16 = (values: number[]): Buffer => {
  const b = Buffer.alloc(values.length * 2);
  values.forEach((v, i) => b.writeUInt16LE(v, i * 2));
  return b;
};

/** 3 train and 2 test samples of shape [2, 3], float32, 300 classes (so uint16 labels). */
const HEADER = {
  name: 'wide',
  featureShape: [2, 3],
  dtype: 'float32',
  numClasses: 300,
  trainSize: 3,
  testSize: 2,
  normalization: { scale: 0.5, offset: -1 },
};
const BLOBS: Record<BlobName, Buffer> = {
  trainX: f32(Array.from({ length: 18 }, (_, i) => i * 1.5)),
  trainY: u16([0, 299, 17]),
  testX: f32(Array.from({ length: 12 }, (_, i) => -i)),
  testY: u16([5, 6]),
};
const FILE = encodeBinaryDataset(HEADER, BLOBS);

async function expectRejected(
  bytes: Uint8Array,
  message: RegExp,
  options: ImportBinaryOptions = {},
  code = 'BAD_REQUEST',
): Promise<void> {
  const dataDir = tempDataDir();
  const registry = new DatasetRegistry(dataDir);
  const error = await registry.importBinary(inPieces(bytes, 7), options).then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(DatasetError);
  expect((error as DatasetError).message).toMatch(message);
  expect((error as DatasetError).code).toBe(code);
  expect(registry.list()).toEqual([]);
  expect(datasetDirEntries(dataDir)).toEqual([]);
}

const withHeader = (header: object, blobs: Record<BlobName, Buffer> = BLOBS): Buffer =>
  encodeBinaryDataset({ ...HEADER, ...header }, blobs);

describe('binary dataset upload', () => {
  it('round-trips: manifest, checksums, shards and normalised samples', async () => {
    const registry = new DatasetRegistry(tempDataDir());
    const m = await registry.importBinary(FILE, { declaredBytes: FILE.length, maxBytes: FILE.length });
    expect(m).toMatchObject({
      name: 'wide',
      source: 'binary',
      featureShape: [2, 3],
      dtype: 'float32',
      labelDtype: 'uint16',
      numClasses: 300,
      trainSize: 3,
      testSize: 2,
      normalization: { scale: 0.5, offset: -1 },
    });
    const sha = (b: Buffer): string => crypto.createHash('sha256').update(b).digest('hex');
    expect(m.checksums).toEqual({
      trainX: sha(BLOBS.trainX),
      trainY: sha(BLOBS.trainY),
      testX: sha(BLOBS.testX),
      testY: sha(BLOBS.testY),
    });

    const shard = decodeShard(registry.readRaw(m.id, 'train', 1, 3));
    expect(shard).toMatchObject({
      count: 2,
      featureCount: 6,
      start: 1,
      dtype: 'float32',
      labelDtype: 'uint16',
    });
    expect(Array.from(shard.y)).toEqual([299, 17]);
    expect(Array.from(shard.x)).toEqual(Array.from({ length: 12 }, (_, i) => (i + 6) * 1.5 * 0.5 - 1));
    const test = registry.readSamples(m.id, 'test', 0, 2);
    expect(Array.from(test.y)).toEqual([5, 6]);
    expect(test.x[11]).toBe(-11 * 0.5 - 1);

    // Streamed one byte at a time: the same dataset. The query's name wins over the header's.
    const streamed = await registry.importBinary(inPieces(FILE, 1), { name: 'renamed' });
    expect(streamed.checksums).toEqual(m.checksums);
    expect(streamed.name).toBe('renamed');
    expect(new DatasetRegistry(registry.dir.replace(/\/datasets$/, '')).get(m.id)).toEqual(m);
  });

  it('defaults to uint8 labels for up to 256 classes and to the identity normalisation', async () => {
    const registry = new DatasetRegistry(tempDataDir());
    const file = encodeBinaryDataset(
      { featureShape: [3], dtype: 'uint8', numClasses: 2, trainSize: 1, testSize: 1 },
      {
        trainX: Buffer.from([1, 2, 3]),
        trainY: Buffer.from([1]),
        testX: Buffer.from([4, 5, 6]),
        testY: Buffer.from([0]),
      },
    );
    const m = await registry.importBinary(file);
    expect(m).toMatchObject({ labelDtype: 'uint8', normalization: { scale: 1, offset: 0 }, name: m.id });
    expect(Array.from(registry.readSamples(m.id, 'test', 0, 1).x)).toEqual([4, 5, 6]);
  });

  it('refuses what is not a dataset file', async () => {
    await expectRejected(Buffer.from('label,a\n1,2\n'), /not a tabswarm dataset file.*text\/csv/);
    const v2 = Buffer.from(FILE);
    v2.writeUInt16LE(2, 4);
    await expectRejected(v2, /version 2; this server reads version 1/);
    const bigHeader = Buffer.from(FILE);
    bigHeader.writeUInt32LE(MAX_UPLOAD_HEADER_BYTES + 1, 8);
    await expectRejected(bigHeader, /JSON header must be 1 to 65536 bytes/);
    const badJson = Buffer.from(FILE);
    badJson[UPLOAD_PREAMBLE_BYTES] = 0x5b; // "[" instead of "{"
    await expectRejected(badJson, /header is not valid UTF-8 JSON/);
    await expectRejected(Buffer.alloc(0), /the upload is empty/);
    await expectRejected(FILE.subarray(0, 20), /ends inside its header/);
  });

  it('refuses a header that breaks the layout rules', async () => {
    await expectRejected(
      withHeader({ featureShape: [] }),
      /header: featureShape: featureShape needs at least one dimension/,
    );
    await expectRejected(
      withHeader({ featureShape: [2, 0] }),
      /featureShape.1: each feature dimension must be at least 1/,
    );
    await expectRejected(withHeader({ numClasses: 1 }), /numClasses must be at least 2/);
    await expectRejected(withHeader({ numClasses: 1001 }), /numClasses must be at most 1000/);
    await expectRejected(withHeader({ dtype: 'float64' }), /dtype must be one of uint8, float32/);
    await expectRejected(withHeader({ labelDtype: 'uint8' }), /uint8 labels allow at most 256 classes/);
    await expectRejected(withHeader({ classNames: ['a'] }), /classNames has 1 names for 300 classes/);
    await expectRejected(withHeader({ normalization: { scale: 0, offset: 0 } }), /scale must not be 0/);
    await expectRejected(withHeader({ extra: 1 }), /header: .*extra/i);
  });

  it('refuses sizes that do not match the header exactly', async () => {
    await expectRejected(FILE.subarray(0, FILE.length - 1), /ends early: test-y has 3 of its 4 bytes/);
    await expectRejected(
      Buffer.concat([FILE, Buffer.from([0])]),
      /goes on after test-y; the header describes \d+ bytes/,
    );
    await expectRejected(FILE, /header describes a \d+-byte file, but the upload is 10 bytes/, {
      declaredBytes: 10,
    });
    await expectRejected(FILE, /the upload limit is 100 bytes/, { maxBytes: 100 }, 'PAYLOAD_TOO_LARGE');
  });

  it('names the blob and sample of a bad label or a non-finite feature', async () => {
    await expectRejected(
      withHeader({}, { ...BLOBS, testY: u16([5, 300]) }),
      /^test-y: sample 1 has label 300, but numClasses is 300 \(labels are 0 to 299\)$/,
    );
    const x = Buffer.from(BLOBS.trainX);
    x.writeFloatLE(NaN, (2 * 6 + 4) * 4);
    await expectRejected(
      withHeader({}, { ...BLOBS, trainX: x }),
      /^train-x: sample 2, feature 4 is NaN; float32 features must be finite$/,
    );
    const inf = Buffer.from(BLOBS.testX);
    inf.writeFloatLE(-Infinity, 0);
    await expectRejected(
      withHeader({}, { ...BLOBS, testX: inf }),
      /test-x: sample 0, feature 0 is -Infinity/,
    );
  });
});

describe('ranges and shards', () => {
  it('validates ranges with the reason', async () => {
    const registry = new DatasetRegistry(tempDataDir());
    const { id } = await registry.importBinary(FILE);
    expect(() => registry.readRaw('nope', 'train', 0, 1)).toThrow(/no dataset "nope"/);
    expect(() => registry.readRaw(id, 'train', 2, 2)).toThrow(/end must be greater than start/);
    expect(() => registry.readRaw(id, 'train', -1, 2)).toThrow(/start must be at least 0/);
    expect(() => registry.readRaw(id, 'test', 0, 3)).toThrow(
      /end 3 is past the end of the test split \(2 samples\)/,
    );
    expect(() => registry.readRaw(id, 'train', 0.5, 2)).toThrow(/whole numbers/);
    expect(() => registry.checkRange(id, 'train', 0, 3, 2)).toThrow(/at most 2 samples/);
    expect(registry.shardETag(id, 'train', 0, 2)).toMatch(/^"[0-9a-f]{40}"$/);
    expect(registry.shardETag(id, 'train', 0, 2)).not.toBe(registry.shardETag(id, 'train', 0, 3));
    expect(registry.shardETag(id, 'train', 0, 2)).not.toBe(registry.shardETag(id, 'test', 0, 2));
  });

  it('aligns labels after uint8 features to 4 bytes, and decodes only well-formed shards', () => {
    const { shard, xOffset, yOffset } = allocateShard({
      dtype: 'uint8',
      labelDtype: 'uint16',
      split: 'test',
      start: 3,
      count: 3,
      featureCount: 3,
      normalization: { scale: 2, offset: 1 },
    });
    expect(xOffset).toBe(SHARD_HEADER_BYTES);
    expect(yOffset).toBe(SHARD_HEADER_BYTES + 12);
    expect(shard.length).toBe(SHARD_HEADER_BYTES + 12 + 6);
    shard.writeUInt16LE(7, yOffset + 2);
    shard[xOffset + 8] = 4;
    const decoded = decodeShard(shard);
    expect(Array.from(decoded.y)).toEqual([0, 7, 0]);
    expect(decoded.x[8]).toBe(9);
    expect(() => decodeShard(shard.subarray(0, shard.length - 1))).toThrow(/header describes/);
    expect(() => decodeShard(Buffer.alloc(64))).toThrow(/bad magic/);
  });
});

describe('seeded permutation', () => {
  it('is a deterministic permutation that depends on the seed', () => {
    const a = seededPermutation(1000, 42);
    expect(Array.from(a).sort((x, y) => x - y)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(seededPermutation(1000, 42)).toEqual(a);
    expect(seededPermutation(1000, 43)).not.toEqual(a);
    const r = mulberry32(1);
    for (let i = 0; i < 1000; i++) {
      const v = r();
      expect(v >= 0 && v < 1).toBe(true);
    }
  });
});
