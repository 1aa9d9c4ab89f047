/**
 * CSV uploads: a streaming RFC 4180 reader and the import that turns rows into a dataset.
 * The header row names the columns; one is the label, every other one a feature column: numeric
 * (standardised with the training split's statistics by default) or categorical text (one-hot);
 * see csv-columns.ts. A row is numbered by the line it starts on (the header is row 1): what an
 * editor shows, and a spreadsheet too unless quoted fields hold line breaks. Cells stream to a
 * scratch file as they are parsed; labels stay in memory (2 bytes a row); the rows are then
 * shuffled with a seeded permutation and split into train and test, the statistics computed over
 * the training rows, and every row encoded into the stored features.
 */
import fs from 'node:fs';
import { seededPermutation } from '@tabswarm/core';
import {
  MAX_COLUMN_NAME_CHARS,
  type ColumnSummary,
  type CsvColumnChoices,
  type NumericDefault,
} from '@tabswarm/protocol';
import { FeatureColumns, refuseMissing, type FeatureEncoder } from './csv-columns.ts';
import { badRequest } from './errors.ts';
import { MAX_CLASSES, MAX_CLASS_NAME_CHARS, MAX_FEATURES, MAX_SAMPLES, labelDtypeFor } from './layout.ts';
import type { BlobWriter, DatasetDraft } from './writer.ts';

const COMMA = 44;
const QUOTE = 34;
const CR = 13;
const LF = 10;
/** One field is never legitimately this long in a numeric CSV; refusing keeps memory bounded. */
export const MAX_FIELD_CHARS = 64 * 1024;
const MAX_COLUMNS = MAX_FEATURES + 1;

type State = 'fieldStart' | 'unquoted' | 'quoted' | 'quoteInQuoted';

/**
 * Push-based CSV tokenizer. Fields are separated by commas, records by LF, CRLF or CR; a field
 * may be quoted, with "" for a quote inside. Lines with nothing on them are skipped (but counted).
 */
export class CsvReader {
  private state: State = 'fieldStart';
  private field = '';
  private fields: string[] = [];
  private skipLF = false;
  private crInQuoted = false;
  private row = 1;
  private recordRow = 1;
  /** Set once the header is known, so errors can name columns. */
  columnNames: readonly string[] | undefined;

  constructor(private readonly onRecord: (fields: string[], row: number) => void) {}

  private column(index: number): string {
    const name = this.columnNames?.[index];
    return name === undefined ? `column ${index + 1}` : `column ${index + 1} ("${name}")`;
  }

  private fail(message: string): never {
    throw badRequest(`row ${this.recordRow}, ${this.column(this.fields.length)}: ${message}`);
  }

  private pushField(): void {
    if (this.field.length > MAX_FIELD_CHARS)
      this.fail(`the field is longer than ${MAX_FIELD_CHARS} characters`);
    if (this.fields.length >= MAX_COLUMNS) {
      throw badRequest(`row ${this.recordRow} has more than ${MAX_COLUMNS} columns`);
    }
    this.fields.push(this.field);
    this.field = '';
  }

  private endRecord(c: number): void {
    const fields = this.fields;
    const row = this.recordRow;
    this.fields = [];
    this.state = 'fieldStart';
    this.skipLF = c === CR;
    this.row += 1;
    this.recordRow = this.row;
    this.onRecord(fields, row);
  }

  feed(text: string): void {
    let runStart = 0; // where the current unquoted or quoted run began in this chunk
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (this.skipLF) {
        this.skipLF = false;
        if (c === LF) {
          runStart = i + 1;
          continue;
        }
      }
      switch (this.state) {
        case 'fieldStart':
          if (c === QUOTE) {
            this.state = 'quoted';
            runStart = i + 1;
          } else if (c === COMMA) {
            this.pushField();
          } else if (c === CR || c === LF) {
            if (this.fields.length === 0) {
              // A blank line: counted, so later row numbers still match the file's lines.
              this.row += 1;
              this.recordRow = this.row;
              this.skipLF = c === CR;
            } else {
              this.pushField();
              this.endRecord(c);
            }
          } else {
            this.state = 'unquoted';
            runStart = i;
          }
          break;
        case 'unquoted':
          if (c === COMMA || c === CR || c === LF) {
            this.field += text.slice(runStart, i);
            this.pushField();
            if (c === COMMA) this.state = 'fieldStart';
            else this.endRecord(c);
          } else if (c === QUOTE) {
            this.fail(
              'a quote inside an unquoted field (quote the whole field and double the quote: "a""b")',
            );
          }
          break;
        case 'quoted':
          // A line break inside a quoted field: the next record starts on a later line.
          if (c === CR || (c === LF && !this.crInQuoted)) this.row += 1;
          this.crInQuoted = c === CR;
          if (c === QUOTE) {
            this.field += text.slice(runStart, i);
            this.state = 'quoteInQuoted';
          }
          break;
        case 'quoteInQuoted':
          if (c === QUOTE) {
            this.field += '"';
            this.state = 'quoted';
            runStart = i + 1;
          } else if (c === COMMA) {
            this.pushField();
            this.state = 'fieldStart';
          } else if (c === CR || c === LF) {
            this.pushField();
            this.endRecord(c);
          } else {
            this.fail('text after the closing quote of a quoted field');
          }
          break;
      }
    }
    if (this.state === 'unquoted' || this.state === 'quoted') {
      this.field += text.slice(runStart);
      if (this.field.length > MAX_FIELD_CHARS)
        this.fail(`the field is longer than ${MAX_FIELD_CHARS} characters`);
    }
  }

  end(): void {
    if (this.state === 'quoted') this.fail('a quoted field is not closed before the end of the file');
    if (this.state !== 'fieldStart' || this.fields.length > 0) {
      this.pushField();
      this.endRecord(LF);
    }
  }
}

const INTEGER_LABEL = /^(?:0|[1-9]\d*)$/;

export interface CsvImportOptions {
  /** The label column's name; "label" by default. */
  readonly labelColumn?: string | undefined;
  /** Share of rows for the test split, 0 < f < 1; 0.2 by default. */
  readonly testFraction?: number | undefined;
  readonly seed?: number | undefined;
  /** Per feature column: standardize, none, onehot or drop (defaults: see csv-columns.ts). */
  readonly columns?: CsvColumnChoices | undefined;
  /** What numeric columns without a choice get; standardize by default. */
  readonly numericDefault?: NumericDefault | undefined;
}

export const DEFAULT_TEST_FRACTION = 0.2;
export const DEFAULT_SPLIT_SEED = 1;

export interface CsvImportResult {
  readonly featureShape: number[];
  readonly numClasses: number;
  readonly classNames?: string[];
  readonly trainSize: number;
  readonly testSize: number;
  readonly split: { seed: number; testFraction: number };
  readonly columns: { label: string; features: string[] };
  readonly columnSummary: ColumnSummary[];
}

/** Growable Uint16Array of provisional label ids (≤ MAX_CLASSES, so 16 bits suffice). */
class LabelColumn {
  private data = new Uint16Array(1024);
  length = 0;
  push(v: number): void {
    if (this.length === this.data.length) {
      const bigger = new Uint16Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.length++] = v;
  }
  at(i: number): number {
    return this.data[i] as number;
  }
}

/**
 * Reads a CSV from `source` into the draft's four blobs. Throws a DatasetError (400) naming row
 * and column at the first problem; the caller discards the draft then.
 */
export async function importCsvInto(
  draft: DatasetDraft,
  source: AsyncIterable<Uint8Array>,
  options: CsvImportOptions = {},
): Promise<CsvImportResult> {
  const labelColumn = options.labelColumn ?? 'label';
  const testFraction = options.testFraction ?? DEFAULT_TEST_FRACTION;
  const seed = options.seed ?? DEFAULT_SPLIT_SEED;
  if (!(testFraction > 0 && testFraction < 1)) throw badRequest('testFraction must be between 0 and 1');

  let header: string[] | undefined;
  let labelIndex = -1;
  let columns: FeatureColumns | undefined;
  let rowBytes: Buffer | undefined;
  const scratch: BlobWriter = draft.scratchFile('rows-x');
  const labels = new LabelColumn();
  const classIds = new Map<string, number>();
  const firstRowOf: number[] = [];

  const reader = new CsvReader((fields, row) => {
    if (header === undefined) {
      header = readHeader(fields, labelColumn);
      labelIndex = header.indexOf(labelColumn);
      const featureIndex = header.map((_, i) => i).filter((i) => i !== labelIndex);
      columns = new FeatureColumns(
        featureIndex.map((i) => (header as string[])[i] as string),
        featureIndex,
        { choices: options.columns, numericDefault: options.numericDefault },
      );
      rowBytes = Buffer.alloc(columns.count * 4);
      reader.columnNames = header;
      return;
    }
    if (fields.length !== header.length) {
      throw badRequest(`row ${row} has ${fields.length} columns, but the header has ${header.length}`);
    }
    if (labels.length >= MAX_SAMPLES) throw badRequest(`a dataset has at most ${MAX_SAMPLES} rows`);
    const x = rowBytes as Buffer;
    const cols = columns as FeatureColumns;
    let f = 0;
    for (let c = 0; c < fields.length; c++) {
      const text = (fields[c] as string).trim();
      if (c === labelIndex) {
        labels.push(classId(text, row));
        continue;
      }
      x.writeFloatLE(cols.cell(f, text, row), 4 * f++);
    }
    scratch.write(x);
  });

  const classId = (text: string, row: number): number => {
    const known = classIds.get(text);
    if (known !== undefined) return known;
    const where = `row ${row}, column ${labelIndex + 1} ("${labelColumn}")`;
    refuseMissing(text, row, labelIndex, labelColumn);
    if (text.length > MAX_CLASS_NAME_CHARS) {
      throw badRequest(`${where}: a label is at most ${MAX_CLASS_NAME_CHARS} characters`);
    }
    if (classIds.size >= MAX_CLASSES) {
      throw badRequest(
        `${where}: "${text}" would be class number ${MAX_CLASSES + 1}; a dataset has at most ${MAX_CLASSES} classes`,
      );
    }
    const id = classIds.size;
    classIds.set(text, id);
    firstRowOf.push(row);
    return id;
  };

  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
  let bytes = 0;
  const decode = (chunk?: Uint8Array): string => {
    try {
      return chunk === undefined ? decoder.decode() : decoder.decode(chunk, { stream: true });
    } catch {
      throw badRequest(`the file is not UTF-8 text (an invalid byte sequence near byte ${bytes})`);
    }
  };
  for await (const chunk of source) {
    reader.feed(decode(chunk));
    bytes += chunk.length;
  }
  reader.feed(decode());
  reader.end();
  scratch.finish();

  if (header === undefined || columns === undefined)
    throw badRequest('the file is empty: it needs a header row and data rows');
  const n = labels.length;
  if (n === 0) throw badRequest('the file has a header row but no data rows');

  const { classOf, numClasses, classNames } = resolveClasses(classIds, firstRowOf, labelColumn, labelIndex);
  const testSize = Math.round(n * testFraction);
  const trainSize = n - testSize;
  if (testSize < 1 || trainSize < 1) {
    throw badRequest(
      `${n} rows with testFraction ${testFraction} leave ${trainSize} for training and ${testSize} for testing; each needs at least one`,
    );
  }

  // The split is decided first; the statistics are then the training rows' alone.
  const order = seededPermutation(n, seed);
  const rowSize = columns.count * 4;
  const buffer = Buffer.allocUnsafe(rowSize);
  const labelDtype = labelDtypeFor(numClasses);
  const fd = fs.openSync(scratch.file, 'r');
  let encoder: FeatureEncoder;
  try {
    const isTrain = new Uint8Array(n);
    for (let k = 0; k < trainSize; k++) isTrain[order[k] as number] = 1;
    const rowsPerRead = Math.max(1, Math.floor((1 << 20) / Math.max(1, rowSize)));
    const chunk = Buffer.allocUnsafe(rowsPerRead * rowSize);
    for (let r = 0; r < n; r += rowsPerRead) {
      const rows = Math.min(rowsPerRead, n - r);
      readAt(fd, chunk, rows * rowSize, r * rowSize);
      for (let i = 0; i < rows; i++) {
        if (isTrain[r + i] === 1) columns.fit(chunk.subarray(i * rowSize, (i + 1) * rowSize));
      }
    }
    encoder = columns.encoder();
    const out = Buffer.allocUnsafe(encoder.width * 4);

    // Shuffle rows into train then test by reading the scratch file in permuted order.
    for (const [split, from, to] of [
      ['train', 0, trainSize],
      ['test', trainSize, n],
    ] as const) {
      const xOut = draft.blob(split === 'train' ? 'trainX' : 'testX');
      const y = Buffer.allocUnsafe((to - from) * (labelDtype === 'uint8' ? 1 : 2));
      for (let k = from; k < to; k++) {
        const r = order[k] as number;
        readAt(fd, buffer, rowSize, r * rowSize);
        encoder.encode(buffer, out);
        xOut.write(out);
        const label = classOf[labels.at(r)] as number;
        if (labelDtype === 'uint8') y[k - from] = label;
        else y.writeUInt16LE(label, (k - from) * 2);
      }
      draft.blob(split === 'train' ? 'trainY' : 'testY').write(y);
    }
  } finally {
    fs.closeSync(fd);
  }

  const labelSummary: ColumnSummary = {
    name: labelColumn,
    kind: 'label',
    preprocessing: 'classes',
    categories: classNames ?? Array.from({ length: numClasses }, (_, i) => String(i)),
  };
  const columnSummary = [...encoder.summary];
  columnSummary.splice(labelIndex, 0, labelSummary);
  return {
    featureShape: [encoder.width],
    numClasses,
    ...(classNames !== undefined && { classNames }),
    trainSize,
    testSize,
    split: { seed, testFraction },
    columns: { label: labelColumn, features: encoder.names },
    columnSummary,
  };
}

function readHeader(fields: string[], labelColumn: string): string[] {
  const names = fields.map((f) => f.trim());
  names.forEach((name, i) => {
    if (name === '') {
      throw badRequest(
        `row 1 (the header), column ${i + 1} has no name; every column needs one (pandas: to_csv(index=False) drops the unnamed index)`,
      );
    }
  });
  names.forEach((name, i) => {
    if (name.length > MAX_COLUMN_NAME_CHARS) {
      throw badRequest(
        `row 1 (the header), column ${i + 1}: a column name is at most ${MAX_COLUMN_NAME_CHARS} characters`,
      );
    }
  });
  const seen = new Set<string>();
  for (const name of names) {
    if (seen.has(name)) throw badRequest(`row 1 (the header) names column "${name}" twice`);
    seen.add(name);
  }
  if (!seen.has(labelColumn)) {
    const shown = names
      .slice(0, 10)
      .map((n) => `"${n}"`)
      .join(', ');
    throw badRequest(
      `the header has no column named "${labelColumn}" (it has ${shown}${names.length > 10 ? ', …' : ''}); choose the label column with ?label=NAME`,
    );
  }
  if (names.length < 2) throw badRequest('the file needs at least one feature column besides the label');
  return names;
}

function readAt(fd: number, into: Buffer, length: number, position: number): void {
  let done = 0;
  while (done < length) {
    const got = fs.readSync(fd, into, done, length - done, position + done);
    if (got === 0) throw new Error('the scratch file is shorter than the rows written to it');
    done += got;
  }
}

/**
 * Labels that are all non-negative integers are class indices themselves (numClasses = max + 1);
 * otherwise each distinct label is a class name, indexed in sorted order.
 */
function resolveClasses(
  classIds: Map<string, number>,
  firstRowOf: readonly number[],
  labelColumn: string,
  labelIndex: number,
): { classOf: number[]; numClasses: number; classNames?: string[] } {
  const texts = [...classIds.keys()];
  const classOf = new Array<number>(texts.length);
  if (texts.every((t) => INTEGER_LABEL.test(t))) {
    let max = 0;
    for (const [text, id] of classIds) {
      const value = Number(text);
      if (value >= MAX_CLASSES) {
        throw badRequest(
          `row ${firstRowOf[id]}, column ${labelIndex + 1} ("${labelColumn}"): label ${text} is too large; integer labels are class indices 0 to ${MAX_CLASSES - 1}`,
        );
      }
      classOf[id] = value;
      max = Math.max(max, value);
    }
    if (max + 1 < 2)
      throw badRequest(
        `the label column "${labelColumn}" has only one class (0); a classifier needs at least two`,
      );
    return { classOf, numClasses: max + 1 };
  }
  if (texts.length < 2) {
    throw badRequest(
      `the label column "${labelColumn}" has only one class ("${texts[0] ?? ''}"); a classifier needs at least two`,
    );
  }
  const classNames = [...texts].sort();
  const index = new Map(classNames.map((name, i) => [name, i]));
  for (const [text, id] of classIds) classOf[id] = index.get(text) as number;
  return { classOf, numClasses: classNames.length, classNames };
}
