// CSV column preprocessing (issue 15, "data that just works"): standardisation with the TRAINING
// split's statistics, one-hot text columns, dropped columns, missing values refused with row and
// column, the upload's options validated with their field path, and the column summary kept in
// the manifest (and datasets stored without one still loading).
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseReply } from '@tabswarm/protocol';
import { DatasetError } from './errors.ts';
import { MANIFEST_FILE, manifestSchema } from './layout.ts';
import { DatasetRegistry } from './registry.ts';
import { datasetRoutes } from './routes.ts';
import { datasetDirEntries, tempDataDir, useDatasetServer } from './test-support.ts';

/** 40 rows: id (kept raw, to find rows again), a (widely scaled), colour (text), noise, label. */
const ROWS = Array.from({ length: 40 }, (_, i) => ({
  id: i,
  a: 1000 + 37 * ((i * 7) % 13) + (i % 5) * 250,
  colour: ['red', 'green', 'blue'][i % 3] as string,
  noise: (i * 0.37) % 1,
  label: i % 2 === 0 ? 'yes' : 'no',
}));
const CSV = `id,a,colour,noise,label\n${ROWS.map((r) => `${r.id},${r.a},${r.colour},${r.noise},${r.label}`).join('\n')}\n`;

function stats(values: readonly number[]): { mean: number; std: number; min: number; max: number } {
  const mean = values.reduce((s, v) => s + v, 0) / values.length;
  const std = Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / values.length);
  return { mean, std, min: Math.min(...values), max: Math.max(...values) };
}

async function rejection(registry: DatasetRegistry, csv: string, options = {}): Promise<DatasetError> {
  const error = await registry.importCsv(csv, options).then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(DatasetError);
  expect((error as DatasetError).code).toBe('BAD_REQUEST');
  return error as DatasetError;
}

describe('CSV preprocessing', () => {
  it('standardises numeric columns with the training split’s statistics, for train and test alike', async () => {
    const registry = new DatasetRegistry(tempDataDir());
    const m = await registry.importCsv(CSV, { columns: { id: 'none' } });
    // id raw, a standardised, colour one-hot in sorted order, noise standardised.
    expect(m.featureShape).toEqual([6]);
    expect(m.columns?.features).toEqual(['id', 'a', 'colour=blue', 'colour=green', 'colour=red', 'noise']);
    const train = registry.readSamples(m.id, 'train', 0, m.trainSize);
    const test = registry.readSamples(m.id, 'test', 0, m.testSize);
    const ids = (s: { x: Float32Array; n: number }) =>
      Array.from({ length: s.n }, (_, i) => s.x[i * 6] as number);
    const trainRows = ids(train).map((id) => ROWS[id] as (typeof ROWS)[number]);
    const expected = stats(trainRows.map((r) => r.a));
    const everyRow = stats(ROWS.map((r) => r.a));
    expect(expected.mean).not.toBeCloseTo(everyRow.mean, 3); // the split matters for this column

    const a = m.columnSummary?.find((c) => c.name === 'a');
    expect(a).toMatchObject({
      kind: 'numeric',
      preprocessing: 'standardize',
      min: expected.min,
      max: expected.max,
    });
    expect(a?.mean).toBeCloseTo(expected.mean, 6);
    expect(a?.std).toBeCloseTo(expected.std, 6);
    for (const split of [train, test]) {
      ids(split).forEach((id, i) => {
        const raw = (ROWS[id] as (typeof ROWS)[number]).a;
        expect(split.x[i * 6 + 1]).toBeCloseTo((raw - expected.mean) / expected.std, 5);
        const colour = (ROWS[id] as (typeof ROWS)[number]).colour;
        expect(Array.from(split.x.subarray(i * 6 + 2, i * 6 + 5))).toEqual(
          ['blue', 'green', 'red'].map((c) => (c === colour ? 1 : 0)),
        );
      });
    }
    expect(m.columnSummary).toEqual([
      expect.objectContaining({ name: 'id', kind: 'numeric', preprocessing: 'none' }),
      expect.objectContaining({ name: 'a', preprocessing: 'standardize' }),
      { name: 'colour', kind: 'categorical', preprocessing: 'onehot', categories: ['blue', 'green', 'red'] },
      expect.objectContaining({ name: 'noise', kind: 'numeric', preprocessing: 'standardize' }),
      { name: 'label', kind: 'label', preprocessing: 'classes', categories: ['no', 'yes'] },
    ]);
  });

  it('keeps raw values with numeric=none, one-hots numeric codes and drops columns on request', async () => {
    const registry = new DatasetRegistry(tempDataDir());
    const csv = 'code,x,comment,label\n1,10,fine,a\n2,20,"odd, really",b\n1,30,?,a\n3,40,ok,b\n';
    const m = await registry.importCsv(csv, {
      numericDefault: 'none',
      columns: { code: 'onehot', comment: 'drop' },
      testFraction: 0.25,
    });
    expect(m.columns?.features).toEqual(['code=1', 'code=2', 'code=3', 'x']);
    const all = [registry.readSamples(m.id, 'train', 0, 3), registry.readSamples(m.id, 'test', 0, 1)];
    const rows = all.flatMap((s) =>
      Array.from({ length: s.n }, (_, i) => Array.from(s.x.subarray(i * 4, i * 4 + 4))),
    );
    expect(rows.sort((p, q) => (p[3] as number) - (q[3] as number))).toEqual([
      [1, 0, 0, 10],
      [0, 1, 0, 20],
      [1, 0, 0, 30],
      [0, 0, 1, 40],
    ]);
    expect(m.columnSummary?.find((c) => c.name === 'comment')).toEqual({
      name: 'comment',
      kind: 'categorical',
      preprocessing: 'drop',
    });
  });

  it('refuses a missing value with its row and column number, and leaves nothing behind', async () => {
    const dataDir = tempDataDir();
    const registry = new DatasetRegistry(dataDir);
    const withGap = CSV.split('\n');
    withGap[4] = '3,NA,red,0.1,no';
    const error = await rejection(registry, withGap.join('\n'));
    expect(error.message).toMatch(/^row 5, column 2 \("a"\): the value is missing \("NA"\)/);
    const emptyText = CSV.replace('\n7,', '\n7,1,,0.5,no\nx,');
    expect((await rejection(registry, emptyText)).message).toMatch(
      /^row 9, column 3 \("colour"\): the value is missing \(empty\)/,
    );
    expect(registry.list()).toEqual([]);
    expect(datasetDirEntries(dataDir)).toEqual([]);
  });

  it('refuses choices that do not fit the data, naming the option', async () => {
    const registry = new DatasetRegistry(tempDataDir());
    expect((await rejection(registry, CSV, { columns: { nope: 'none' } })).message).toMatch(
      /^columns\.nope: the header has no feature column named "nope"/,
    );
    expect((await rejection(registry, CSV, { columns: { label: 'onehot' } })).message).toMatch(
      /^columns\.label: /,
    );
    expect((await rejection(registry, CSV, { columns: { colour: 'standardize' } })).message).toMatch(
      /^columns\.colour: row 2, column 3 \("colour"\) holds the text "red".*choose onehot or drop$/,
    );
    expect(
      (await rejection(registry, CSV, { columns: { a: 'drop', id: 'drop', colour: 'drop', noise: 'drop' } }))
        .message,
    ).toMatch(/every feature column is dropped/);
    expect((await rejection(registry, `${'n'.repeat(257)},label\n1,a\n2,b\n`)).message).toMatch(
      /^row 1 \(the header\), column 1: a column name is at most 256 characters$/,
    );
    const many = `c,label\n${Array.from({ length: 300 }, (_, i) => `v${i},${i % 2}`).join('\n')}\n`;
    expect((await rejection(registry, many)).message).toMatch(
      /^row 258, column 1 \("c"\): "v256" would be value number 257 of a categorical column/,
    );
  });

  it('keeps the column summary across a restart, and loads datasets stored without one', async () => {
    const dataDir = tempDataDir();
    const m = await new DatasetRegistry(dataDir).importCsv(CSV);
    const reloaded = new DatasetRegistry(dataDir).get(m.id);
    expect(reloaded).toEqual(m);
    expect(reloaded?.columnSummary).toHaveLength(5);

    // A manifest written before column summaries existed.
    const file = path.join(dataDir, 'datasets', m.id, MANIFEST_FILE);
    const { columnSummary: _dropped, ...old } = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<
      string,
      unknown
    >;
    fs.writeFileSync(file, JSON.stringify(old));
    expect(manifestSchema.safeParse(old).success).toBe(true);
    const older = new DatasetRegistry(dataDir).get(m.id);
    expect(older?.columnSummary).toBeUndefined();
    expect(older?.trainSize).toBe(m.trainSize);
  });
});

describe('CSV preprocessing on arbitrary tables', () => {
  it('either builds a valid dataset or refuses with BAD_REQUEST, leaving nothing behind', async () => {
    const dataDir = tempDataDir();
    const registry = new DatasetRegistry(dataDir);
    // Mostly well-formed columns (all numbers or all text), now and then a bad cell.
    const bad = fc.constantFrom('', 'NA', '?', 'inf', '1e40', 'red');
    const numeric = fc.oneof(
      {
        arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e30, max: 1e30 }).map(String),
        weight: 30,
      },
      { arbitrary: bad, weight: 1 },
    );
    const text = fc.oneof(
      { arbitrary: fc.constantFrom('red', 'blue', '"a,b"', '7'), weight: 30 },
      { arbitrary: bad, weight: 1 },
    );
    const cell = (kind: boolean) => (kind ? numeric : text);
    const label = fc.constantFrom('x', 'y');
    const choice = fc.constantFrom('standardize', 'none', 'onehot', 'drop');
    await fc.assert(
      fc.asyncProperty(
        fc
          .tuple(fc.boolean(), fc.boolean())
          .chain(([a, b]) => fc.array(fc.tuple(cell(a), cell(b), label), { minLength: 2, maxLength: 12 })),
        fc.dictionary(fc.constantFrom('a', 'b', 'label', 'zz'), choice, { maxKeys: 3 }),
        fc.constantFrom(undefined, 'standardize', 'none'),
        async (rows, columns, numericDefault) => {
          const csv = `a,b,label\n${rows.map((r) => r.join(',')).join('\n')}\n`;
          const before = registry.list().length;
          try {
            const m = await registry.importCsv(csv, {
              columns: columns,
              numericDefault: numericDefault,
              testFraction: 0.5,
            });
            expect(manifestSchema.safeParse(m).success).toBe(true);
            const x = registry.readSamples(m.id, 'train', 0, m.trainSize).x;
            expect(x.every(Number.isFinite)).toBe(true);
          } catch (err) {
            expect(err).toBeInstanceOf(DatasetError);
            expect((err as DatasetError).code).toBe('BAD_REQUEST');
            expect(registry.list()).toHaveLength(before);
          }
          expect(datasetDirEntries(dataDir).filter((e) => e.startsWith('.tmp-'))).toEqual([]);
        },
      ),
      { numRuns: 150, seed: 15 },
    );
  });
});

describe('CSV preprocessing over HTTP', () => {
  const TOKEN = 'test-operator-token';
  const served = useDatasetServer((app, registry) => {
    app.use('/api/datasets', datasetRoutes(registry, TOKEN));
  });

  const post = async (body: string | Uint8Array<ArrayBuffer>, query: string, type = 'text/csv') => {
    const res = await fetch(`${served.base}${query}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': type },
      body,
    });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  };
  const q = (columns: string): string => `?columns=${encodeURIComponent(columns)}`;

  it('takes per-column choices as ?columns= JSON and ?numeric=, and serves the summary', async () => {
    const res = await post(CSV, `${q('{"id":"drop","colour":"onehot"}')}&numeric=none`);
    expect(res.status).toBe(201);
    const id = (res.json.dataset as { id: string }).id;
    const got: unknown = await (await fetch(`${served.base}/${id}`)).json();
    const parsed = parseReply('GET /api/datasets/:id', got);
    if (!parsed.ok) throw parsed.error;
    expect(parsed.value.dataset.featureShape).toEqual([5]);
    expect(parsed.value.dataset.columnSummary?.map((c) => `${c.name}:${c.preprocessing}`)).toEqual([
      'id:drop',
      'a:none',
      'colour:onehot',
      'noise:none',
      'label:classes',
    ]);
  });

  it('answers bad options with 400, the field path, and nothing stored', async () => {
    const before = datasetDirEntries(served.dataDir);
    const cases: [string, RegExp][] = [
      [q('{"a":"log"}'), /^columns\.a: the choice must be one of standardize, none, onehot, drop$/],
      [q('{"nope":"none"}'), /^columns\.nope: the header has no feature column named "nope"/],
      [q('["a"]'), /^columns: columns must be a JSON object/],
      [q('{a:1'), /^columns: not JSON/],
      [q('{"colour":"none"}'), /^columns\.colour: row 2, column 3 \("colour"\) holds the text "red"/],
      ['?numeric=zscore', /^numeric: must be one of standardize, none, got "zscore"$/],
    ];
    for (const [query, message] of cases) {
      const res = await post(CSV, query);
      expect(res.status, query).toBe(400);
      expect(res.json).toMatchObject({ ok: false, code: 'BAD_REQUEST' });
      expect(res.json.message, query).toMatch(message);
    }
    const gap = await post(CSV.replace(/\n5,\d+,/, '\n5,?,'), '');
    expect(gap.status).toBe(400);
    expect(gap.json.message).toMatch(/^row 7, column 2 \("a"\): the value is missing \("\?"\)/);
    const binary = await post(new Uint8Array([1, 2, 3]), q('{"a":"none"}'), 'application/octet-stream');
    expect(binary.status).toBe(400);
    expect(binary.json.message).toMatch(/apply to CSV uploads/);
    expect(datasetDirEntries(served.dataDir)).toEqual(before);
  });
});
