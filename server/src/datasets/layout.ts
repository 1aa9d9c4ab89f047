/**
 * How a dataset lies on disk: `<dataDir>/datasets/<id>/` holds manifest.json and four
 * little-endian blobs (train-x.bin, train-y.bin, test-x.bin, test-y.bin). Sample i of a split is
 * bytes [i·rowBytes, (i+1)·rowBytes) of its x blob and element i of its y blob, so any index range
 * is two positioned reads. The manifest is the single source of truth and is written last, inside
 * a temporary directory that is renamed into place, so a dataset directory is complete or absent.
 */
import { columnSummarySchema, textInfoSchema } from '@tabswarm/protocol';
import { z } from 'zod';

export const MANIFEST_FILE = 'manifest.json';
export const FORMAT_VERSION = 1;

export const BLOBS = ['trainX', 'trainY', 'testX', 'testY'] as const;
export type BlobName = (typeof BLOBS)[number];
export const BLOB_FILES: Readonly<Record<BlobName, string>> = {
  trainX: 'train-x.bin',
  trainY: 'train-y.bin',
  testX: 'test-x.bin',
  testY: 'test-y.bin',
};

export const SPLITS = ['train', 'test'] as const;
export type Split = (typeof SPLITS)[number];

export const DTYPES = ['uint8', 'float32'] as const;
export type Dtype = (typeof DTYPES)[number];
export const LABEL_DTYPES = ['uint8', 'uint16'] as const;
export type LabelDtype = (typeof LABEL_DTYPES)[number];
export const DTYPE_BYTES: Readonly<Record<Dtype | LabelDtype, number>> = { uint8: 1, uint16: 2, float32: 4 };

/** A classifier needs two classes; a thousand keeps the output layer (and class names) small. */
export const MIN_CLASSES = 2;
export const MAX_CLASSES = 1000;
export const MAX_FEATURES = 1 << 20;
export const MAX_RANK = 4;
export const MAX_SAMPLES = 2 ** 31 - 1;
export const MAX_NAME_CHARS = 100;
export const MAX_CLASS_NAME_CHARS = 100;

/** Generated ids for uploads; the built-in datasets have fixed names. Matches the job spec's rule. */
export const DATASET_ID_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;
export const BUILTIN_DATASETS = ['mnist', 'moby-dick'] as const;
export type BuiltinDataset = (typeof BUILTIN_DATASETS)[number];
export const isBuiltin = (id: string): id is BuiltinDataset =>
  (BUILTIN_DATASETS as readonly string[]).includes(id);

const int = (what: string, min: number, max: number) =>
  z
    .number({ error: `${what} must be a number` })
    .int({ error: `${what} must be a whole number` })
    .min(min, { error: `${what} must be at least ${min}` })
    .max(max, { error: `${what} must be at most ${max}` });
const finite = (what: string) =>
  z
    .number({ error: `${what} must be a number` })
    .refine(Number.isFinite, { error: `${what} must be finite` });

export const featureShapeSchema = z
  .array(int('each feature dimension', 1, MAX_FEATURES), { error: 'featureShape must be an array of sizes' })
  .min(1, { error: 'featureShape needs at least one dimension' })
  .max(MAX_RANK, { error: `featureShape has at most ${MAX_RANK} dimensions` })
  .refine((shape) => featureCount(shape) <= MAX_FEATURES, {
    error: `a sample has at most ${MAX_FEATURES} features (the product of featureShape)`,
  });

export const normalizationSchema = z.strictObject({
  scale: finite('normalization.scale').refine((v) => v !== 0, { error: 'normalization.scale must not be 0' }),
  offset: finite('normalization.offset'),
});
/** A feature's value for training is raw · scale + offset. */
export type Normalization = z.infer<typeof normalizationSchema>;

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, { error: 'checksums must be sha256 hex digests' });

const classNamesSchema = z
  .array(
    z
      .string()
      .min(1, { error: 'class names must not be empty' })
      .max(MAX_CLASS_NAME_CHARS, { error: `class names are at most ${MAX_CLASS_NAME_CHARS} characters` }),
    { error: 'classNames must be an array of strings' },
  )
  .max(MAX_CLASSES);

/** Fields a dataset's producer decides; shared by the manifest and the binary upload header. */
const shapeFields = {
  featureShape: featureShapeSchema,
  dtype: z.enum(DTYPES, { error: `dtype must be one of ${DTYPES.join(', ')}` }),
  labelDtype: z.enum(LABEL_DTYPES, { error: `labelDtype must be one of ${LABEL_DTYPES.join(', ')}` }),
  numClasses: int('numClasses', MIN_CLASSES, MAX_CLASSES),
  trainSize: int('trainSize', 1, MAX_SAMPLES),
  testSize: int('testSize', 1, MAX_SAMPLES),
  classNames: classNamesSchema.optional(),
};

interface ShapeLike {
  readonly numClasses: number;
  readonly labelDtype?: LabelDtype | undefined;
  readonly classNames?: readonly string[] | undefined;
}
function checkShape(value: ShapeLike, ctx: z.RefinementCtx): void {
  if (value.labelDtype === 'uint8' && value.numClasses > 256) {
    ctx.addIssue({ code: 'custom', path: ['labelDtype'], message: 'uint8 labels allow at most 256 classes' });
  }
  if (value.classNames !== undefined) {
    if (value.classNames.length !== value.numClasses) {
      ctx.addIssue({
        code: 'custom',
        path: ['classNames'],
        message: `classNames has ${value.classNames.length} names for ${value.numClasses} classes`,
      });
    } else if (new Set(value.classNames).size !== value.classNames.length) {
      ctx.addIssue({ code: 'custom', path: ['classNames'], message: 'class names must be distinct' });
    }
  }
}

export const DATASET_SOURCES = ['builtin', 'csv', 'binary', 'text'] as const;

export const manifestSchema = z
  .strictObject({
    formatVersion: z.literal(FORMAT_VERSION),
    id: z.string().regex(DATASET_ID_PATTERN),
    name: z.string().min(1).max(MAX_NAME_CHARS),
    source: z.enum(DATASET_SOURCES),
    createdAt: z.number().int().nonnegative(),
    ...shapeFields,
    normalization: normalizationSchema,
    /** How the rows were shuffled into train and test, where the coordinator did it. */
    split: z
      .strictObject({ seed: z.number().int().nonnegative(), testFraction: z.number().gt(0).lt(1) })
      .optional(),
    /** CSV uploads: the label column and the feature columns' names, in feature order. */
    columns: z.strictObject({ label: z.string(), features: z.array(z.string()) }).optional(),
    /**
     * CSV uploads: every column's kind, training-split statistics and the preprocessing applied
     * (already applied to the stored features). Absent in datasets stored before it existed.
     */
    columnSummary: z.array(columnSummarySchema).optional(),
    /** Labels per sample beyond one: text windows have [context] (the next token at each position). */
    labelShape: z
      .array(int('labelShape', 1, 0xffff))
      .length(1)
      .optional(),
    /** Text datasets: the tokenisation and vocabulary the token ids mean (protocol's text-dataset.ts). */
    text: textInfoSchema.optional(),
    /** sha256 of each blob: what shard ETags are derived from. */
    checksums: z.strictObject({ trainX: sha256Hex, trainY: sha256Hex, testX: sha256Hex, testY: sha256Hex }),
  })
  .superRefine(checkShape);
export type DatasetManifest = z.infer<typeof manifestSchema>;

/** The JSON header of the binary upload format (see binary.ts). */
export const binaryHeaderSchema = z
  .strictObject({
    name: z
      .string({ error: 'name must be text' })
      .trim()
      .min(1, { error: 'name must not be empty' })
      .max(MAX_NAME_CHARS, { error: `name must be at most ${MAX_NAME_CHARS} characters` })
      .optional(),
    ...shapeFields,
    labelDtype: shapeFields.labelDtype.optional(),
    normalization: normalizationSchema.optional(),
  })
  .superRefine(checkShape);
export type BinaryHeader = z.infer<typeof binaryHeaderSchema>;

export function featureCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** uint8 labels while they fit: half the bytes of uint16 for every dataset with ≤ 256 classes. */
export function labelDtypeFor(numClasses: number): LabelDtype {
  return numClasses <= 256 ? 'uint8' : 'uint16';
}

export interface ShapeInfo {
  readonly featureShape: readonly number[];
  readonly labelShape?: readonly number[] | undefined;
  readonly dtype: Dtype;
  readonly labelDtype: LabelDtype;
  readonly trainSize: number;
  readonly testSize: number;
}

export const rowBytes = (s: ShapeInfo): number => featureCount(s.featureShape) * DTYPE_BYTES[s.dtype];
/** Labels one sample carries: 1 for a classifier, the context length for a text window. */
export const labelsPerSample = (s: Pick<ShapeInfo, 'labelShape'>): number => featureCount(s.labelShape ?? []);
/** Bytes of one sample's labels. */
export const labelBytes = (s: ShapeInfo): number => labelsPerSample(s) * DTYPE_BYTES[s.labelDtype];
export const splitSize = (s: ShapeInfo, split: Split): number =>
  split === 'train' ? s.trainSize : s.testSize;

/** Exact byte length of each blob: a file of any other length is not this dataset. */
export function blobBytes(s: ShapeInfo): Record<BlobName, number> {
  const row = rowBytes(s);
  const label = labelBytes(s);
  return {
    trainX: s.trainSize * row,
    trainY: s.trainSize * label,
    testX: s.testSize * row,
    testY: s.testSize * label,
  };
}

/** Readable summary of the first zod issue, with its path: "featureShape.1: …". */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => (issue.path.length > 0 ? `${issue.path.join('.')}: ${issue.message}` : issue.message))
    .join('; ');
}
