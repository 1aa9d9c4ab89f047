/**
 * The feature columns of a CSV upload: what each one holds (numbers or text), the preprocessing the
 * upload chose for it (or its default), the training split's statistics, and the encoding of a
 * parsed row into the stored features.
 *
 * While rows stream in, every feature cell becomes one float32 in the scratch file: the number
 * itself, or for a categorical column the id of its text. Once the split is known, `fit` computes
 * the statistics over the TRAINING rows only and `encoder` turns a scratch row into stored features:
 * standardised numbers, raw numbers, one-hot blocks, dropped columns left out.
 *
 * Why standardise here, once, at ingest: the stored shard bytes are then already the numbers the
 * model must see, so the tab's trainer, the virtual volunteers and the coordinator's evaluation all
 * decode the same values with no extra code path to keep in step (a shard's header carries only one
 * scale and offset for all features, not one per column). The statistics stay in the manifest's
 * column summary, for the dashboard and for whoever standardises new data for the trained model.
 * The test split is standardised with the training split's statistics, as new data would be.
 */
import {
  DEFAULT_NUMERIC_PREPROCESSING,
  MAX_CATEGORIES,
  type ColumnSummary,
  type CsvColumnChoices,
  type CsvPreprocessing,
  type NumericDefault,
} from '@tabswarm/protocol';
import { badRequest } from './errors.ts';
import { MAX_FEATURES } from './layout.ts';

/** Plain decimal numbers only: "0x10", "1_000", "" and " " are not numbers here, unlike Number(). */
const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const NON_FINITE = /^[+-]?(?:inf|infinity)$/i;
/** How spreadsheets, pandas and R write a missing value. */
const MISSING = /^(?:|\?|na|n\/a|nan|null|none)$/i;

export interface ColumnOptions {
  readonly choices?: CsvColumnChoices | undefined;
  readonly numericDefault?: NumericDefault | undefined;
}

const short = (text: string): string => (text.length > 40 ? `${text.slice(0, 40)}…` : text);

/** "row 7, column 3 ("age")": where a cell is, by the file's line and the header's column number. */
export function cellAt(row: number, column: number, name: string): string {
  return `row ${row}, column ${column + 1} ("${name}")`;
}

/** A missing value is refused, never imputed: the message says where it is. */
export function refuseMissing(text: string, row: number, column: number, name: string): void {
  if (MISSING.test(text)) {
    const shown = text === '' ? 'empty' : `"${text}"`;
    throw badRequest(
      `${cellAt(row, column, name)}: the value is missing (${shown}); missing values are not filled in — fill them or remove the row (or drop the column with columns={"${name}":"drop"})`,
    );
  }
}

interface Column {
  readonly name: string;
  /** Index in the header, for messages. */
  readonly headerIndex: number;
  /** The upload's explicit choice, if any. */
  readonly chosen: CsvPreprocessing | undefined;
  /** Set once the column is known to hold text (or was chosen onehot): text → provisional id. */
  categories: Map<string, number> | undefined;
  numbers: number;
  firstNumberRow: number;
  /** A dropped column is not parsed; this only says whether it held text, for the summary. */
  sawText: boolean;
}

interface NumericStats {
  min: number;
  max: number;
  mean: number;
  m2: number;
  n: number;
}

/** One column's part of the stored features. */
type Part =
  | { readonly kind: 'numeric'; readonly scale: number; readonly offset: number }
  | { readonly kind: 'onehot'; readonly slotOf: Int32Array }
  | { readonly kind: 'drop' };

export interface FeatureEncoder {
  /** Stored features per sample. */
  readonly width: number;
  /** Stored feature names: the column's, or "column=value" for one-hot slots. */
  readonly names: string[];
  readonly summary: ColumnSummary[];
  /** Encodes one scratch row (a cell per feature column) into `out` (width float32s). */
  encode(cells: Buffer, out: Buffer): void;
}

export class FeatureColumns {
  private readonly columns: Column[];
  private readonly numericDefault: NumericDefault;
  private stats: (NumericStats | undefined)[] = [];

  /** `header` without the label; `headerIndex[i]` is feature i's index in the file's header. */
  constructor(names: readonly string[], headerIndex: readonly number[], options: ColumnOptions) {
    this.numericDefault = options.numericDefault ?? DEFAULT_NUMERIC_PREPROCESSING;
    const choices = options.choices ?? {};
    const known = new Set(names);
    for (const name of Object.keys(choices)) {
      if (!known.has(name)) {
        throw badRequest(
          `columns.${name}: the header has no feature column named "${name}" (the label column's values are its classes)`,
        );
      }
    }
    this.columns = names.map((name, i) => {
      const chosen = Object.hasOwn(choices, name) ? choices[name] : undefined;
      return {
        name,
        headerIndex: headerIndex[i] as number,
        chosen,
        categories: chosen === 'onehot' ? new Map() : undefined,
        numbers: 0,
        firstNumberRow: 0,
        sawText: false,
      };
    });
  }

  get count(): number {
    return this.columns.length;
  }

  /** The scratch value of feature column `f`'s cell: a float32 number or a category id. */
  cell(f: number, text: string, row: number): number {
    const column = this.columns[f] as Column;
    if (column.chosen === 'drop') {
      if (!column.sawText && !NUMBER.test(text) && !MISSING.test(text)) column.sawText = true;
      return 0;
    }
    const where = cellAt(row, column.headerIndex, column.name);
    refuseMissing(text, row, column.headerIndex, column.name);
    if (column.categories !== undefined) return this.category(column, text, where);
    if (NUMBER.test(text)) {
      const value = Math.fround(Number(text));
      if (!Number.isFinite(value))
        throw badRequest(`${where}: "${short(text)}" is outside the float32 range`);
      if (column.numbers++ === 0) column.firstNumberRow = row;
      return value;
    }
    if (NON_FINITE.test(text)) throw badRequest(`${where}: "${text}" is not a finite number`);
    // Text in a column with no category list yet.
    if (column.chosen === 'standardize' || column.chosen === 'none') {
      throw badRequest(
        `columns.${column.name}: ${where} holds the text "${short(text)}", which cannot be used as a number (${column.chosen}); choose onehot or drop`,
      );
    }
    if (column.numbers > 0) {
      throw badRequest(
        `${where}: "${short(text)}" is not a number, but the column held numbers from row ${column.firstNumberRow} on; fix the value, or treat every value as a category with columns={"${column.name}":"onehot"}`,
      );
    }
    column.categories = new Map();
    return this.category(column, text, where);
  }

  private category(column: Column, text: string, where: string): number {
    const known = column.categories?.get(text);
    if (known !== undefined) return known;
    const categories = column.categories as Map<string, number>;
    if (categories.size >= MAX_CATEGORIES) {
      throw badRequest(
        `${where}: "${short(text)}" would be value number ${MAX_CATEGORIES + 1} of a categorical column; one-hot columns have at most ${MAX_CATEGORIES} distinct values (drop the column with columns={"${column.name}":"drop"})`,
      );
    }
    if (text.length > 256) throw badRequest(`${where}: a categorical value is at most 256 characters`);
    categories.set(text, categories.size);
    return categories.size - 1;
  }

  /** Accumulates the statistics of one TRAINING row (its scratch cells). */
  fit(cells: Buffer): void {
    for (let f = 0; f < this.columns.length; f++) {
      const column = this.columns[f] as Column;
      if (column.categories !== undefined || column.chosen === 'drop') continue;
      const v = cells.readFloatLE(4 * f);
      let s = this.stats[f];
      if (s === undefined) {
        s = { min: v, max: v, mean: 0, m2: 0, n: 0 };
        this.stats[f] = s;
      }
      // Welford's update: stable for features in the thousands with small spreads.
      s.n += 1;
      const delta = v - s.mean;
      s.mean += delta / s.n;
      s.m2 += delta * (v - s.mean);
      if (v < s.min) s.min = v;
      if (v > s.max) s.max = v;
    }
  }

  /** The encoding of scratch rows into stored features, from the statistics `fit` gathered. */
  encoder(): FeatureEncoder {
    const parts: Part[] = [];
    const names: string[] = [];
    const summary: ColumnSummary[] = [];
    this.columns.forEach((column, f) => {
      if (column.chosen === 'drop') {
        parts.push({ kind: 'drop' });
        const kind = column.sawText ? 'categorical' : 'numeric';
        summary.push({ name: column.name, kind, preprocessing: 'drop' });
        return;
      }
      if (column.categories !== undefined) {
        const values = [...column.categories.keys()].sort();
        const position = new Map(values.map((v, i) => [v, i]));
        const slotOf = new Int32Array(values.length);
        for (const [text, id] of column.categories) slotOf[id] = position.get(text) as number;
        parts.push({ kind: 'onehot', slotOf });
        for (const v of values) names.push(`${column.name}=${v}`);
        summary.push({ name: column.name, kind: 'categorical', preprocessing: 'onehot', categories: values });
        return;
      }
      const s = this.stats[f] ?? { min: 0, max: 0, mean: 0, m2: 0, n: 1 };
      const std = Math.sqrt(s.m2 / s.n);
      const preprocessing = column.chosen ?? this.numericDefault;
      // A column constant on the training split is centred (std 0 would divide by zero).
      const scale = preprocessing === 'standardize' ? 1 / (std > 0 ? std : 1) : 1;
      const offset = preprocessing === 'standardize' ? -s.mean * scale : 0;
      parts.push({ kind: 'numeric', scale, offset });
      names.push(column.name);
      summary.push({
        name: column.name,
        kind: 'numeric',
        preprocessing,
        min: s.min,
        max: s.max,
        mean: s.mean,
        std,
      });
    });
    const width = names.length;
    if (width === 0)
      throw badRequest('every feature column is dropped; a dataset needs at least one feature');
    if (width > MAX_FEATURES) {
      throw badRequest(`one-hot encoding makes ${width} features; a dataset has at most ${MAX_FEATURES}`);
    }
    return {
      width,
      names,
      summary,
      encode(cells: Buffer, out: Buffer): void {
        out.fill(0);
        let at = 0;
        for (let f = 0; f < parts.length; f++) {
          const part = parts[f] as Part;
          if (part.kind === 'drop') continue;
          const v = cells.readFloatLE(4 * f);
          if (part.kind === 'numeric') {
            out.writeFloatLE(Math.fround(v * part.scale + part.offset), 4 * at);
            at += 1;
          } else {
            out.writeFloatLE(1, 4 * (at + (part.slotOf[v] as number)));
            at += part.slotOf.length;
          }
        }
      },
    };
  }
}
