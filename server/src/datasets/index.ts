/** Datasets: the built-in mnist, CSV and binary uploads, and shards over HTTP. */
export { DatasetRegistry, type DatasetRegistryOptions, type Samples, type ByteSource } from './registry.ts';
export { datasetRoutes, DEFAULT_DATASET_LIMITS, type DatasetLimits } from './routes.ts';
export { DatasetError } from './errors.ts';
export type { DatasetManifest, Split, Dtype, LabelDtype, Normalization } from './layout.ts';
export { decodeShard, type DecodedShard } from './shard.ts';
export { encodeBinaryDataset } from './binary.ts';
export { evaluationSize, MAX_TEXT_EVAL_WINDOWS } from './text.ts';
