/**
 * CSV column preprocessing: the per-column choices an upload may make (`?columns=` JSON, and
 * `?numeric=` for the default of numeric columns) and the column summary a dataset's manifest
 * keeps (what each column held on the training split and what was done to it). Shared by the
 * coordinator, which validates and applies them, and the dashboard, which shows them.
 */
import { z } from 'zod';

/**
 * standardize: (value − train mean) / train standard deviation; none: the raw value; onehot: one
 * 0/1 feature per distinct value; drop: left out of the features.
 */
export const CSV_PREPROCESSING = ['standardize', 'none', 'onehot', 'drop'] as const;
export type CsvPreprocessing = (typeof CSV_PREPROCESSING)[number];
/** What a numeric column gets unless the upload says otherwise. */
export const NUMERIC_DEFAULTS = ['standardize', 'none'] as const;
export type NumericDefault = (typeof NUMERIC_DEFAULTS)[number];
export const DEFAULT_NUMERIC_PREPROCESSING: NumericDefault = 'standardize';

/** Most distinct values a one-hot column may have (each one is a feature). */
export const MAX_CATEGORIES = 256;
export const MAX_COLUMN_NAME_CHARS = 256;

/** `?columns=`: column name → choice. Checked against the header once it is read. */
export const csvColumnChoicesSchema = z.record(
  z
    .string()
    .min(1, { error: 'a column name must not be empty' })
    .max(MAX_COLUMN_NAME_CHARS, { error: `a column name is at most ${MAX_COLUMN_NAME_CHARS} characters` }),
  z.enum(CSV_PREPROCESSING, { error: `the choice must be one of ${CSV_PREPROCESSING.join(', ')}` }),
  { error: `columns must be a JSON object of column name → ${CSV_PREPROCESSING.join(' | ')}` },
);
export type CsvColumnChoices = z.infer<typeof csvColumnChoicesSchema>;

/**
 * Parses the `?columns=` text: JSON, then the schema. Problems name the field path
 * ("columns.age: …"), as REST validation errors do.
 */
export function parseCsvColumnChoices(
  text: string,
):
  | { readonly ok: true; readonly choices: CsvColumnChoices }
  | { readonly ok: false; readonly message: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return {
      ok: false,
      message: `columns: not JSON; give an object such as {"age":"none","colour":"onehot"}`,
    };
  }
  const parsed = csvColumnChoicesSchema.safeParse(raw);
  if (parsed.success) return { ok: true, choices: parsed.data };
  const issue = parsed.error.issues[0];
  const path = ['columns', ...(issue?.path ?? []).map(String)].join('.');
  return { ok: false, message: `${path}: ${issue?.message ?? 'invalid'}` };
}

const finite = z.number().finite();

/** One column of a CSV dataset as the manifest summarises it. Statistics are the training split's. */
export const columnSummarySchema = z.strictObject({
  name: z.string().max(MAX_COLUMN_NAME_CHARS),
  /** numeric: every value a number; categorical: text values; label: the class column. */
  kind: z.enum(['numeric', 'categorical', 'label']),
  /** What was done to it; `classes` for the label column. */
  preprocessing: z.enum([...CSV_PREPROCESSING, 'classes']),
  /** Numeric columns, over the training split (std is the population standard deviation). */
  min: finite.optional(),
  max: finite.optional(),
  mean: finite.optional(),
  std: finite.nonnegative().optional(),
  /** Categorical and label columns: the distinct values, in one-hot (or class index) order. */
  categories: z.array(z.string().max(MAX_COLUMN_NAME_CHARS)).max(1000).optional(),
});
export type ColumnSummary = z.infer<typeof columnSummarySchema>;
