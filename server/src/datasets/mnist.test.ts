import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { BLOB_FILES, type DatasetManifest } from './layout.ts';
import { defaultMnistDigitsDir } from './mnist.ts';
import { DatasetRegistry } from './registry.ts';
import { decodeShard } from './shard.ts';
import { datasetDirEntries, tempDataDir } from './test-support.ts';

let dataDir: string;
let registry: DatasetRegistry;
let mnist: DatasetManifest;

beforeAll(async () => {
  dataDir = tempDataDir();
  registry = new DatasetRegistry(dataDir);
  mnist = await registry.ensureBuiltin('mnist');
});

function labelCounts(split: 'train' | 'test', size: number): number[] {
  const counts = new Array<number>(10).fill(0);
  for (const y of registry.readSamples('mnist', split, 0, size).y) counts[y] = (counts[y] ?? 0) + 1;
  return counts;
}

describe('built-in mnist', () => {
  it('is 8,000 train and 2,000 test 28×28 uint8 digits with scale 1/255', () => {
    expect(mnist).toMatchObject({
      id: 'mnist',
      source: 'builtin',
      featureShape: [28, 28, 1],
      dtype: 'uint8',
      labelDtype: 'uint8',
      numClasses: 10,
      trainSize: 8000,
      testSize: 2000,
      normalization: { scale: 1 / 255, offset: 0 },
    });
    const dir = path.join(dataDir, 'datasets', 'mnist');
    expect(fs.statSync(path.join(dir, BLOB_FILES.trainX)).size).toBe(8000 * 784);
    expect(fs.statSync(path.join(dir, BLOB_FILES.testY)).size).toBe(2000);
    expect(registry.list().map((m) => m.id)).toEqual(['mnist']);
    expect(registry.datasetExists('mnist')).toBe(true);
  });

  it('keeps every digit of the package, every class in both splits', () => {
    const digitsDir = defaultMnistDigitsDir();
    const expected = Array.from({ length: 10 }, (_, d) => {
      const { data } = JSON.parse(fs.readFileSync(path.join(digitsDir, `${d}.json`), 'utf8')) as {
        data: number[];
      };
      return data.length / 784;
    });
    const train = labelCounts('train', 8000);
    const test = labelCounts('test', 2000);
    expect(train.map((n, d) => n + (test[d] ?? 0))).toEqual(expected);
    for (const n of train) expect(n).toBeGreaterThan(500);
    for (const n of test) expect(n).toBeGreaterThan(100);
  });

  it('normalises pixels into [0, 1]', () => {
    const { x, n, featureShape } = registry.readSamples('mnist', 'test', 0, 2000);
    expect(n).toBe(2000);
    expect(featureShape).toEqual([28, 28, 1]);
    let min = Infinity;
    let max = -Infinity;
    for (const v of x) {
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
    expect(min).toBe(0);
    expect(max).toBeCloseTo(1, 6);
    expect(max).toBeLessThanOrEqual(1);
  });

  it('builds byte-identical files on every coordinator', async () => {
    const other = new DatasetRegistry(tempDataDir());
    const again = await other.ensureBuiltin('mnist');
    expect(again.checksums).toEqual(mnist.checksums);
    expect(
      other.readRaw('mnist', 'train', 100, 164).equals(registry.readRaw('mnist', 'train', 100, 164)),
    ).toBe(true);
  });

  it('prepares once for concurrent callers, and is loaded, not rebuilt, after a restart', async () => {
    const dir = tempDataDir();
    const fresh = new DatasetRegistry(dir);
    const [a, b, c] = await Promise.all([
      fresh.ensureBuiltin('mnist'),
      fresh.resolve('mnist'),
      fresh.ensureBuiltin('mnist'),
    ]);
    expect(b).toBe(a);
    expect(c).toBe(a);
    expect(datasetDirEntries(dir)).toEqual(['mnist']);
    const restarted = new DatasetRegistry(dir);
    expect(restarted.get('mnist')).toEqual(a);
  });

  it('cleans up a preparation a crash left half-written, and rebuilds a damaged one', async () => {
    const dir = tempDataDir();
    const half = path.join(dir, 'datasets', '.tmp-mnist-crashed');
    fs.mkdirSync(half, { recursive: true });
    fs.writeFileSync(path.join(half, BLOB_FILES.trainX), Buffer.alloc(1000));
    const first = new DatasetRegistry(dir);
    expect(datasetDirEntries(dir)).toEqual([]);
    expect(first.get('mnist')).toBeUndefined();
    await first.ensureBuiltin('mnist');

    fs.truncateSync(path.join(dir, 'datasets', 'mnist', BLOB_FILES.trainX), 10);
    const second = new DatasetRegistry(dir);
    expect(second.get('mnist')).toBeUndefined();
    const rebuilt = await second.ensureBuiltin('mnist');
    expect(rebuilt.checksums).toEqual(mnist.checksums);
    expect(datasetDirEntries(dir)).toEqual(['mnist']);
  });

  it('serves a shard whose decoding equals readSamples', () => {
    const raw = registry.readRaw('mnist', 'train', 10, 42);
    const shard = decodeShard(raw);
    const samples = registry.readSamples('mnist', 'train', 10, 42);
    expect(shard).toMatchObject({ count: 32, featureCount: 784, start: 10, split: 'train', dtype: 'uint8' });
    expect(shard.x).toEqual(samples.x);
    expect(shard.y).toEqual(samples.y);
    expect(registry.readSamples('mnist', 'train', 10, 11).y[0]).toBe(samples.y[0]);
  });
});
