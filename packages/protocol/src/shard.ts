/**
 * The shard a volunteer downloads: `GET /api/datasets/:id/samples?split=&start=&end=`.
 * Little-endian; the header is 40 bytes so x can be viewed in place as a Float32Array:
 *    0  u32 magic "TSSH"       4  u16 version (1)     6  u8 dtype (0 uint8, 1 float32)
 *    7  u8 label dtype (0 uint8, 1 uint16)             8  u32 count (samples)
 *   12  u32 features per sample                        16  u32 start (index of the first sample)
 *   20  u8 split (0 train, 1 test)   21 reserved (0)
 *   22  u16 labels per sample (0 read as 1; a text window has one label per position)
 *   24  f64 normalization scale     32  f64 normalization offset   (x = raw · scale + offset)
 *   40  x: count × features raw values, then zero padding to a multiple of 4 bytes,
 *       then y: count × labels-per-sample labels.
 * A shard is a pure function of the dataset's bytes and the range, hence immutable and cacheable.
 * The coordinator writes shards; the trainer decodes them. Decoding never throws past
 * `tryDecodeShard`: shards come over the network and are untrusted.
 */
export type ShardDtype = 'uint8' | 'float32';
export type ShardLabelDtype = 'uint8' | 'uint16';
export type ShardSplit = 'train' | 'test';
export interface ShardNormalization {
  readonly scale: number;
  readonly offset: number;
}
type Dtype = ShardDtype;
type LabelDtype = ShardLabelDtype;
type Split = ShardSplit;
type Normalization = ShardNormalization;

export const SHARD_MAGIC = 0x48535354; // "TSSH" read as a little-endian u32
export const SHARD_VERSION = 1;
export const SHARD_HEADER_BYTES = 40;
const DTYPE_CODES: Readonly<Record<Dtype, number>> = { uint8: 0, float32: 1 };
const LABEL_CODES: Readonly<Record<LabelDtype, number>> = { uint8: 0, uint16: 1 };
const SPLIT_CODES: Readonly<Record<Split, number>> = { train: 0, test: 1 };

export interface ShardHeader {
  readonly dtype: Dtype;
  readonly labelDtype: LabelDtype;
  readonly split: Split;
  readonly start: number;
  readonly count: number;
  readonly featureCount: number;
  readonly normalization: Normalization;
  /** Labels per sample: 1 for a classifier (the default), the context length for a text window. */
  readonly labelsPerSample?: number;
}

/** The most labels one sample may carry (a u16 in the header). */
export const MAX_LABELS_PER_SAMPLE = 0xffff;

const pad4 = (n: number): number => Math.ceil(n / 4) * 4;

export function shardBytes(
  h: Pick<ShardHeader, 'dtype' | 'labelDtype' | 'count' | 'featureCount' | 'labelsPerSample'>,
): number {
  const x = h.count * h.featureCount * (h.dtype === 'uint8' ? 1 : 4);
  return (
    SHARD_HEADER_BYTES + pad4(x) + h.count * (h.labelsPerSample ?? 1) * (h.labelDtype === 'uint8' ? 1 : 2)
  );
}

/** Writes a shard header into the first SHARD_HEADER_BYTES of `bytes`; returns where x and y go. */
export function writeShardHeader(bytes: Uint8Array, h: ShardHeader): { xOffset: number; yOffset: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  view.setUint32(0, SHARD_MAGIC, true);
  view.setUint16(4, SHARD_VERSION, true);
  view.setUint8(6, DTYPE_CODES[h.dtype]);
  view.setUint8(7, LABEL_CODES[h.labelDtype]);
  view.setUint32(8, h.count, true);
  view.setUint32(12, h.featureCount, true);
  view.setUint32(16, h.start, true);
  view.setUint8(20, SPLIT_CODES[h.split]);
  const perSample = h.labelsPerSample ?? 1;
  if (!Number.isInteger(perSample) || perSample < 1 || perSample > MAX_LABELS_PER_SAMPLE) {
    throw new RangeError(`labels per sample must be 1 to ${MAX_LABELS_PER_SAMPLE}, got ${perSample}`);
  }
  // 1 is written as 0, so a classifier's shard is byte for byte what it was before the field.
  view.setUint16(22, perSample === 1 ? 0 : perSample, true);
  view.setFloat64(24, h.normalization.scale, true);
  view.setFloat64(32, h.normalization.offset, true);
  const xBytes = h.count * h.featureCount * (h.dtype === 'uint8' ? 1 : 4);
  return { xOffset: SHARD_HEADER_BYTES, yOffset: SHARD_HEADER_BYTES + pad4(xBytes) };
}

export interface DecodedShard extends ShardHeader {
  readonly labelsPerSample: number;
  /** Normalised features, count × featureCount. */
  readonly x: Float32Array;
  /** count × labelsPerSample labels, sample by sample. */
  readonly y: Int32Array;
}

function keyOf<K extends string>(codes: Readonly<Record<K, number>>, code: number, what: string): K {
  const found = (Object.keys(codes) as K[]).find((k) => codes[k] === code);
  if (found === undefined) throw new RangeError(`shard has an unknown ${what} code ${code}`);
  return found;
}

/** Decodes and normalises a shard. Throws RangeError on anything malformed. */
export function decodeShard(bytes: Uint8Array): DecodedShard {
  if (bytes.length < SHARD_HEADER_BYTES) throw new RangeError('shard is shorter than its header');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) !== SHARD_MAGIC) throw new RangeError('not a tabswarm shard (bad magic)');
  const version = view.getUint16(4, true);
  if (version !== SHARD_VERSION) throw new RangeError(`shard version ${version} is not supported`);
  const header: ShardHeader & { labelsPerSample: number } = {
    dtype: keyOf(DTYPE_CODES, view.getUint8(6), 'dtype'),
    labelDtype: keyOf(LABEL_CODES, view.getUint8(7), 'label dtype'),
    count: view.getUint32(8, true),
    featureCount: view.getUint32(12, true),
    start: view.getUint32(16, true),
    split: keyOf(SPLIT_CODES, view.getUint8(20), 'split'),
    normalization: { scale: view.getFloat64(24, true), offset: view.getFloat64(32, true) },
    labelsPerSample: view.getUint16(22, true) || 1,
  };
  if (bytes.length !== shardBytes(header)) {
    throw new RangeError(`shard is ${bytes.length} bytes; its header describes ${shardBytes(header)}`);
  }
  const n = header.count * header.featureCount;
  const { scale, offset } = header.normalization;
  const x = new Float32Array(n);
  if (header.dtype === 'uint8') {
    for (let i = 0; i < n; i++) x[i] = (bytes[SHARD_HEADER_BYTES + i] as number) * scale + offset;
  } else {
    for (let i = 0; i < n; i++) x[i] = view.getFloat32(SHARD_HEADER_BYTES + i * 4, true) * scale + offset;
  }
  const yOffset = SHARD_HEADER_BYTES + pad4(n * (header.dtype === 'uint8' ? 1 : 4));
  const y = new Int32Array(header.count * header.labelsPerSample);
  for (let i = 0; i < y.length; i++) {
    y[i] = header.labelDtype === 'uint8' ? view.getUint8(yOffset + i) : view.getUint16(yOffset + i * 2, true);
  }
  return { ...header, x, y };
}

/** decodeShard for untrusted bytes: a typed result instead of an exception. */
export function tryDecodeShard(
  bytes: Uint8Array,
):
  | { readonly ok: true; readonly shard: DecodedShard }
  | { readonly ok: false; readonly code: 'SHARD_INVALID'; readonly message: string } {
  try {
    return { ok: true, shard: decodeShard(bytes) };
  } catch (error) {
    return { ok: false, code: 'SHARD_INVALID', message: (error as Error).message };
  }
}
