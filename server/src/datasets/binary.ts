/**
 * The binary upload format ("TSDS"): one file, little-endian.
 *    0  u32 magic "TSDS"    4  u16 version (1)    6  u16 reserved (0)    8  u32 header bytes H
 *   12  H bytes of UTF-8 JSON: { name?, featureShape, dtype, numClasses, trainSize, testSize,
 *       labelDtype?, normalization?, classNames? }
 *   then train-x, train-y, test-x, test-y back to back, with no padding; each exactly
 *   size × features × dtype bytes (x) or size × labelDtype bytes (y), and nothing after test-y.
 * The parser is push-based so an upload is validated and written as it streams in; every error
 * names the blob and the sample.
 */
import { DatasetError, badRequest } from './errors.ts';
import {
  BLOBS,
  BLOB_FILES,
  DTYPE_BYTES,
  binaryHeaderSchema,
  blobBytes,
  describeIssues,
  featureCount,
  labelDtypeFor,
  type BinaryHeader,
  type BlobName,
  type LabelDtype,
} from './layout.ts';
import type { DatasetDraft } from './writer.ts';

export const UPLOAD_MAGIC = 0x53445354; // "TSDS" read as a little-endian u32
export const UPLOAD_VERSION = 1;
export const UPLOAD_PREAMBLE_BYTES = 12;
export const MAX_UPLOAD_HEADER_BYTES = 64 * 1024;

export type ParsedHeader = BinaryHeader & { readonly labelDtype: LabelDtype };

export interface BinaryParseOptions {
  /** Largest upload accepted; a header describing more is refused before its blobs are read. */
  readonly maxBytes: number;
  /** Content-Length, when the client sent one: it must equal what the header describes. */
  readonly declaredBytes?: number | undefined;
}

const blobLabel = (name: BlobName): string => BLOB_FILES[name].replace('.bin', '');

export class BinaryUploadParser {
  private pending: Buffer = Buffer.alloc(0);
  private headerBytes = 0;
  private total = 0;
  private header: ParsedHeader | undefined;
  private sizes: Record<BlobName, number> | undefined;
  private blob = 0; // index into BLOBS while reading blobs
  private blobDone = 0; // bytes of the current blob consumed
  private carry: Buffer = Buffer.alloc(0); // a partial element across chunk boundaries
  received = 0;

  constructor(
    private readonly draft: DatasetDraft,
    private readonly options: BinaryParseOptions,
  ) {}

  push(chunk: Uint8Array): void {
    this.received += chunk.length;
    let data = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (this.header === undefined) {
      this.pending = this.pending.length === 0 ? Buffer.from(data) : Buffer.concat([this.pending, data]);
      data = this.readPreamble();
      if (this.header === undefined) return;
    }
    this.consumeBlobs(data);
  }

  /** Returns the header once every byte has arrived and checked out. */
  end(): ParsedHeader {
    if (this.header === undefined || this.sizes === undefined) {
      throw badRequest(
        this.received === 0
          ? 'the upload is empty'
          : `the file ends inside its header (after ${this.received} bytes)`,
      );
    }
    if (this.blob < BLOBS.length) {
      const name = BLOBS[this.blob] as BlobName;
      throw badRequest(
        `the file ends early: ${blobLabel(name)} has ${this.blobDone} of its ${this.sizes[name]} bytes`,
      );
    }
    return this.header;
  }

  /** Parses preamble and JSON header out of `pending`; returns the bytes after them. */
  private readPreamble(): Buffer {
    const p = this.pending;
    if (p.length < UPLOAD_PREAMBLE_BYTES) return Buffer.alloc(0);
    if (this.headerBytes === 0) {
      if (p.readUInt32LE(0) !== UPLOAD_MAGIC) {
        throw badRequest(
          'not a tabswarm dataset file: it must start with "TSDS" (for CSV, send Content-Type: text/csv)',
        );
      }
      const version = p.readUInt16LE(4);
      if (version !== UPLOAD_VERSION) {
        throw badRequest(`dataset file version ${version}; this server reads version ${UPLOAD_VERSION}`);
      }
      if (p.readUInt16LE(6) !== 0) throw badRequest('bytes 6–7 of the file (reserved) must be zero');
      const h = p.readUInt32LE(8);
      if (h === 0 || h > MAX_UPLOAD_HEADER_BYTES) {
        throw badRequest(`the JSON header must be 1 to ${MAX_UPLOAD_HEADER_BYTES} bytes; it says ${h}`);
      }
      this.headerBytes = h;
    }
    const end = UPLOAD_PREAMBLE_BYTES + this.headerBytes;
    if (p.length < end) return Buffer.alloc(0);
    this.header = this.parseHeader(p.subarray(UPLOAD_PREAMBLE_BYTES, end));
    this.sizes = blobBytes(this.header);
    const sizes = this.sizes;
    const total = end + BLOBS.reduce((sum, b) => sum + sizes[b], 0);
    this.total = total;
    if (total > this.options.maxBytes) {
      throw new DatasetError(
        'PAYLOAD_TOO_LARGE',
        `the header describes a ${total}-byte file; the upload limit is ${this.options.maxBytes} bytes`,
      );
    }
    const declared = this.options.declaredBytes;
    if (declared !== undefined && declared !== total) {
      throw badRequest(`the header describes a ${total}-byte file, but the upload is ${declared} bytes`);
    }
    this.pending = Buffer.alloc(0);
    return p.subarray(end);
  }

  private parseHeader(bytes: Buffer): ParsedHeader {
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
    } catch {
      throw badRequest('the header is not valid UTF-8 JSON');
    }
    const parsed = binaryHeaderSchema.safeParse(json);
    if (!parsed.success) throw badRequest(`header: ${describeIssues(parsed.error)}`);
    return { ...parsed.data, labelDtype: parsed.data.labelDtype ?? labelDtypeFor(parsed.data.numClasses) };
  }

  private consumeBlobs(data: Buffer): void {
    const sizes = this.sizes as Record<BlobName, number>;
    let from = 0;
    while (from < data.length) {
      const name = BLOBS[this.blob];
      if (name === undefined) {
        throw badRequest(`the file goes on after test-y; the header describes ${this.total} bytes`);
      }
      const take = Math.min(sizes[name] - this.blobDone, data.length - from);
      this.writeElements(name, data.subarray(from, from + take));
      from += take;
      this.blobDone += take;
      if (this.blobDone === sizes[name]) {
        this.draft.finishBlob(name);
        this.blob += 1;
        this.blobDone = 0;
      }
    }
    // Empty blobs cannot occur (sizes ≥ 1), so a finished last blob is detected above.
  }

  private writeElements(name: BlobName, bytes: Buffer): void {
    const header = this.header as ParsedHeader;
    const isX = name === 'trainX' || name === 'testX';
    const size = isX ? DTYPE_BYTES[header.dtype] : DTYPE_BYTES[header.labelDtype];
    // Elements straddling chunks: validate only whole ones, keep the rest for the next chunk.
    const joined = this.carry.length > 0 ? Buffer.concat([this.carry, bytes]) : bytes;
    const whole = joined.length - (joined.length % size);
    const firstElement = (this.blobDone - this.carry.length) / size;
    const elements = joined.subarray(0, whole);
    if (isX) {
      if (header.dtype === 'float32') this.checkFinite(name, elements, firstElement);
    } else this.checkLabels(name, elements, firstElement);
    this.draft.blob(name).write(elements);
    this.carry = Buffer.from(joined.subarray(whole));
  }

  private checkFinite(name: BlobName, bytes: Buffer, first: number): void {
    const features = featureCount((this.header as ParsedHeader).featureShape);
    for (let i = 0; i < bytes.length; i += 4) {
      const v = bytes.readFloatLE(i);
      if (!Number.isFinite(v)) {
        const index = first + i / 4;
        throw badRequest(
          `${blobLabel(name)}: sample ${Math.floor(index / features)}, feature ${index % features} is ${v}; float32 features must be finite`,
        );
      }
    }
  }

  private checkLabels(name: BlobName, bytes: Buffer, first: number): void {
    const header = this.header as ParsedHeader;
    const wide = header.labelDtype === 'uint16';
    const step = wide ? 2 : 1;
    for (let i = 0; i < bytes.length; i += step) {
      const label = wide ? bytes.readUInt16LE(i) : (bytes[i] as number);
      if (label >= header.numClasses) {
        throw badRequest(
          `${blobLabel(name)}: sample ${first + i / step} has label ${label}, but numClasses is ${header.numClasses} (labels are 0 to ${header.numClasses - 1})`,
        );
      }
    }
  }
}

/** Builds a TSDS file: what a client (or a test) sends as `application/octet-stream`. */
export function encodeBinaryDataset(
  header: Readonly<Record<string, unknown>>,
  blobs: Readonly<Record<BlobName, Uint8Array>>,
): Buffer {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const preamble = Buffer.alloc(UPLOAD_PREAMBLE_BYTES);
  preamble.writeUInt32LE(UPLOAD_MAGIC, 0);
  preamble.writeUInt16LE(UPLOAD_VERSION, 4);
  preamble.writeUInt16LE(0, 6);
  preamble.writeUInt32LE(json.length, 8);
  return Buffer.concat([preamble, json, ...BLOBS.map((b) => blobs[b])]);
}
