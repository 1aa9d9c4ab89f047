import { describe, expect, it } from 'vitest';
import { CsvReader } from './csv.ts';
import { DatasetError } from './errors.ts';
import { DatasetRegistry } from './registry.ts';
import { datasetDirEntries, inPieces, tempDataDir } from './test-support.ts';

function records(text: string, pieceSize = Infinity): [string[], number][] {
  const out: [string[], number][] = [];
  const reader = new CsvReader((fields, row) => out.push([fields, row]));
  for (let i = 0; i < text.length; i += pieceSize) reader.feed(text.slice(i, i + pieceSize));
  reader.end();
  return out;
}

const IRIS = [
  'sepal_length,sepal_width,petal_length,petal_width,label',
  ...Array.from({ length: 30 }, (_, i) => {
    const species = ['setosa', 'versicolor', 'virginica'][i % 3] as string;
    return `${(4 + i / 10).toFixed(1)},${(3 + (i % 5) / 10).toFixed(1)},${1 + (i % 7)},${(i % 4) / 2},${species}`;
  }),
].join('\n');

async function expectRejected(csv: string | Uint8Array, message: RegExp, options = {}): Promise<void> {
  const dataDir = tempDataDir();
  const registry = new DatasetRegistry(dataDir);
  const error = await registry.importCsv(csv, options).then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(DatasetError);
  expect((error as DatasetError).code).toBe('BAD_REQUEST');
  expect((error as DatasetError).message).toMatch(message);
  expect(registry.list()).toEqual([]);
  expect(datasetDirEntries(dataDir)).toEqual([]);
}

describe('CsvReader', () => {
  it('reads RFC 4180 quoting: commas, doubled quotes and line breaks inside quotes', () => {
    expect(records('a,b,c\n"x,1","say ""hi""","two\nlines"\r\n3,,4')).toEqual([
      [['a', 'b', 'c'], 1],
      [['x,1', 'say "hi"', 'two\nlines'], 2],
      [['3', '', '4'], 4],
    ]);
  });

  it('numbers rows by their first line, counting blank lines, with LF, CRLF or CR endings', () => {
    expect(records('h1,h2\r\n\r\n1,2\r3,4\n\n5,6\n')).toEqual([
      [['h1', 'h2'], 1],
      [['1', '2'], 3],
      [['3', '4'], 4],
      [['5', '6'], 6],
    ]);
  });

  it('gives the same records whatever the chunk boundaries', () => {
    const text = 'a,b\r\n"q""x",2\r\n"multi\r\nline",3\n4,5';
    const whole = records(text);
    for (const size of [1, 2, 3, 5]) expect(records(text, size)).toEqual(whole);
  });

  it('refuses broken quoting with the row and column', () => {
    expect(() => records('a,b\n1,x"y\n')).toThrow(/row 2, column 2: a quote inside an unquoted field/);
    expect(() => records('a,b\n1,"x"y\n')).toThrow(/row 2, column 2: text after the closing quote/);
    expect(() => records('a,b\n1,"open\n2,3\n')).toThrow(/row 2, column 2: a quoted field is not closed/);
  });
});

describe('CSV import', () => {
  it('imports numeric features with string labels, shuffled and split by testFraction', async () => {
    const registry = new DatasetRegistry(tempDataDir());
    const m = await registry.importCsv(IRIS, { name: ' Iris ', numericDefault: 'none' });
    expect(m).toMatchObject({
      name: 'Iris',
      source: 'csv',
      featureShape: [4],
      dtype: 'float32',
      labelDtype: 'uint8',
      numClasses: 3,
      classNames: ['setosa', 'versicolor', 'virginica'],
      trainSize: 24,
      testSize: 6,
      split: { seed: 1, testFraction: 0.2 },
      columns: { label: 'label', features: ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'] },
    });
    expect(m.id).toMatch(/^ds-[0-9a-f]{12}$/);

    // Every input row is in exactly one split, with its label.
    const rows = (split: 'train' | 'test', n: number): string[] => {
      const { x, y } = registry.readSamples(m.id, split, 0, n);
      return Array.from(
        y,
        (label, i) => `${Array.from(x.subarray(i * 4, i * 4 + 4)).join(',')},${m.classNames?.[label]}`,
      );
    };
    const expected = IRIS.split('\n')
      .slice(1)
      .map((line) => {
        const cells = line.split(',');
        return `${cells
          .slice(0, 4)
          .map((v) => Math.fround(Number(v)))
          .join(',')},${cells[4]}`;
      });
    const got = [...rows('train', 24), ...rows('test', 6)];
    expect([...got].sort()).toEqual([...expected].sort());
    expect(got).not.toEqual(expected); // shuffled

    // Same seed, same split; another seed, another order.
    const again = await registry.importCsv(IRIS, { numericDefault: 'none' });
    expect(again.checksums).toEqual(m.checksums);
    const reseeded = await registry.importCsv(IRIS, { seed: 7, testFraction: 0.5 });
    expect(reseeded).toMatchObject({ trainSize: 15, testSize: 15 });
  });

  it('uses integer labels as class indices and takes the label column by name', async () => {
    const registry = new DatasetRegistry(tempDataDir());
    const csv = 'digit,x1,x2\n0,1,2\n2,3,4\n1,5,6\n2,-7.5e1,.5\n0,1,1\n';
    const m = await registry.importCsv(csv, { labelColumn: 'digit', testFraction: 0.4 });
    expect(m).toMatchObject({ numClasses: 3, trainSize: 3, testSize: 2, columns: { label: 'digit' } });
    expect(m.classNames).toBeUndefined();
    const all = [
      ...registry.readSamples(m.id, 'train', 0, 3).y,
      ...registry.readSamples(m.id, 'test', 0, 2).y,
    ];
    expect(all.sort()).toEqual([0, 0, 1, 2, 2]);
  });

  it('streams: a UTF-8 BOM, quoted cells and characters split across chunks', async () => {
    const registry = new DatasetRegistry(tempDataDir());
    const text = '\uFEFFlabel,"a",b\r\ncafé,1,2\r\n"thé",3,4\r\ncafé,5,6\r\nthé,7,8\r\n';
    const bytes = Buffer.from(text, 'utf8');
    const m = await registry.importCsv(inPieces(bytes, 3), { testFraction: 0.25 });
    expect(m).toMatchObject({ classNames: ['café', 'thé'], trainSize: 3, testSize: 1 });
    expect(m.columns?.features).toEqual(['a', 'b']);
    const whole = await registry.importCsv(bytes, { testFraction: 0.25 });
    expect(whole.checksums).toEqual(m.checksums);
  });

  it('names row and column for a value that is not a number', async () => {
    const lines = IRIS.split('\n');
    lines[16] = '5.0,3.1,1.4,abc,setosa';
    await expectRejected(
      lines.join('\n'),
      /^row 17, column 4 \("petal_width"\): "abc" is not a number, but the column held numbers from row 2 on; fix the value, or treat every value as a category with columns=\{"petal_width":"onehot"\}$/,
    );
  });

  it('refuses non-finite, empty and out-of-range values', async () => {
    await expectRejected('a,label\n1,x\nNaN,y\n', /^row 3, column 1 \("a"\): the value is missing \("NaN"\)/);
    await expectRejected(
      'a,label\n1,x\n-Infinity,y\n',
      /row 3, column 1 \("a"\): "-Infinity" is not a finite number/,
    );
    await expectRejected(
      'a,label\n1e39,x\n2,y\n',
      /row 2, column 1 \("a"\): "1e39" is outside the float32 range/,
    );
    await expectRejected('a,label\n1,x\n ,y\n', /row 3, column 1 \("a"\): the value is missing \(empty\)/);
    await expectRejected('a,label\n1,x\n0x10,y\n', /row 3, column 1 \("a"\): "0x10" is not a number/);
  });

  it('refuses a row with the wrong number of columns', async () => {
    await expectRejected('a,b,label\n1,2,x\n1,2\n', /^row 3 has 2 columns, but the header has 3$/);
    await expectRejected('a,b,label\n1,2,x\n\n1,2,3,4\n', /^row 4 has 4 columns, but the header has 3$/);
  });

  it('refuses an empty file, a header without rows, and a missing label column', async () => {
    await expectRejected('', /the file is empty/);
    await expectRejected('\n\n', /the file is empty/);
    await expectRejected('a,label\n', /header row but no data rows/);
    await expectRejected(
      'a,b\n1,2\n',
      /no column named "label" \(it has "a", "b"\); choose the label column with \?label=NAME/,
    );
    await expectRejected('a,b\n1,2\n', /no column named "y"/, { labelColumn: 'y' });
    await expectRejected('label\nx\n', /at least one feature column/);
  });

  it('refuses unnamed and duplicate header columns', async () => {
    await expectRejected(',a,label\n0,1,x\n', /column 1 has no name.*index=False/);
    await expectRejected('a,a,label\n0,1,x\n', /names column "a" twice/);
  });

  it('refuses too many classes, a single class, and an empty label', async () => {
    const many = ['a,label', ...Array.from({ length: 1001 }, (_, i) => `${i},c${i}`)].join('\n');
    await expectRejected(
      many,
      /^row 1002, column 2 \("label"\): "c1000" would be class number 1001; a dataset has at most 1000 classes$/,
    );
    await expectRejected('a,label\n1,5\n2,1500\n', /row 3, column 2 \("label"\): label 1500 is too large/);
    await expectRejected('a,label\n1,cat\n2,cat\n', /only one class \("cat"\)/);
    await expectRejected('a,label\n1,0\n2,0\n', /only one class \(0\)/);
    await expectRejected(
      'a,label\n1,cat\n2,\n',
      /row 3, column 2 \("label"\): the value is missing \(empty\)/,
    );
  });

  it('refuses a split that leaves train or test empty, and bad options', async () => {
    await expectRejected(
      'a,label\n1,x\n2,y\n',
      /2 rows with testFraction 0.1 leave 2 for training and 0 for testing/,
      {
        testFraction: 0.1,
      },
    );
    await expectRejected('a,label\n1,x\n2,y\n', /testFraction must be between 0 and 1/, { testFraction: 1 });
  });

  it('refuses bytes that are not UTF-8', async () => {
    await expectRejected(Buffer.from([0x61, 0x2c, 0x6c, 0x0a, 0xff, 0xfe, 0x0a]), /not UTF-8 text/);
  });

  it('refuses broken quoting in a data row', async () => {
    await expectRejected('a,label\n1,"x\n', /row 2, column 2 \("label"\): a quoted field is not closed/);
  });
});
