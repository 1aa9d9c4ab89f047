/**
 * The binary parameter frame: one format for WebRTC, the socket.io relay and HTTP checkpoint
 * uploads. Decoding never throws: every malformed input becomes a typed FrameError.
 *
 * Layout, little-endian, header padded to a multiple of 8 so the payload can be viewed in place:
 *   0  u32 magic "TSWF"      4  u16 version        6  u8 codec       7  u8 flags (0)
 *   8  u32 round            12  u32 element count  16  u32 payload bytes
 *  20  u32 CRC-32 of every byte of the frame except these four
 *  24  u8 job id length    25  u8 sender id length 26  u16 header bytes  28  u32 reserved (0)
 *  32  job id, sender id (ASCII), zero padding; then the payload.
 *
 * Payloads by codec (n = element count, the length of the dense vector; every array starts at a
 * multiple of 4 bytes, so aligned frames are viewed in place):
 *   fp32       n f32
 *   fp16       ⌈n/2⌉ u32 words, two binary16 halves each, element 2w in the low half
 *   int8Block  u32 block size B, ⌈n/B⌉ f32 scales, ⌈n/4⌉ u32 words of four int8 (element 4w+j in byte j)
 *   topK       u32 count k (≤ n), k u32 indices strictly increasing and < n, k f32 values
 * The arrays are what the kernel library's codecs produce and consume (packages/kernels).
 */
import { crc32Update } from './crc32.ts';
import { FRAME_VERSION } from './version.ts';

export const FRAME_MAGIC = 0x46575354; // "TSWF" read as a little-endian u32
const FIXED_HEADER_BYTES = 32;
const CHECKSUM_OFFSET = 20;
const MAX_ID_BYTES = 64;
const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** Codec ids on the wire. */
export const FRAME_CODECS = { fp32: 0, fp16: 1, int8Block: 2, topK: 3 } as const;
export type FrameCodec = keyof typeof FRAME_CODECS;
export const ALL_FRAME_CODECS: readonly FrameCodec[] = ['fp32', 'fp16', 'int8Block', 'topK'];
const CODEC_BY_ID = new Map<number, FrameCodec>(
  Object.entries(FRAME_CODECS).map(([name, id]) => [id, name as FrameCodec]),
);
/**
 * What `decodeFrame` accepts unless told otherwise: fp32 only, so callers that read values with
 * `frameValues` (checkpoint uploads, files) keep refusing compressed frames. Peers that exchange
 * compressed frames pass `codecs: ALL_FRAME_CODECS` and read them with `framePayload`.
 */
const DEFAULT_DECODE_CODECS: readonly FrameCodec[] = ['fp32'];
/** int8Block block sizes: a multiple of 4 (whole words) up to this. */
export const MAX_INT8_FRAME_BLOCK = 65_536;

export const DEFAULT_MAX_FRAME_BYTES = 512 * 1024 * 1024;

export const FRAME_ERROR_CODES = [
  'FRAME_TRUNCATED',
  'FRAME_TOO_LARGE',
  'FRAME_BAD_MAGIC',
  'FRAME_BAD_VERSION',
  'FRAME_BAD_HEADER',
  'FRAME_UNSUPPORTED_CODEC',
  'FRAME_LENGTH_MISMATCH',
  'FRAME_BAD_CHECKSUM',
  /** A compressed payload whose structure is invalid (block size, sparse indices). Appended: wire order. */
  'FRAME_BAD_PAYLOAD',
] as const;
export type FrameErrorCode = (typeof FRAME_ERROR_CODES)[number];

export interface FrameError {
  readonly ok: false;
  readonly code: FrameErrorCode;
  readonly message: string;
}

export interface FrameHeader {
  readonly version: number;
  readonly codec: FrameCodec;
  readonly jobId: string;
  readonly senderId: string;
  readonly round: number;
  readonly elementCount: number;
  readonly payloadBytes: number;
  readonly checksum: number;
}

export interface DecodedFrame {
  readonly ok: true;
  readonly header: FrameHeader;
  /** A view into the input bytes; copy it if the input buffer will be reused. */
  readonly payload: Uint8Array;
}

export interface FrameEnvelope {
  readonly jobId: string;
  readonly senderId: string;
  readonly round: number;
}

export interface FrameInput extends FrameEnvelope {
  readonly values: Float32Array;
}

/** A frame's payload as typed arrays; `length` is the dense vector's element count. */
export type FramePayload =
  | { readonly codec: 'fp32'; readonly values: Float32Array }
  | { readonly codec: 'fp16'; readonly length: number; readonly packed: Uint32Array }
  | {
      readonly codec: 'int8Block';
      readonly length: number;
      readonly blockSize: number;
      readonly scales: Float32Array;
      readonly packed: Uint32Array;
    }
  | {
      readonly codec: 'topK';
      readonly length: number;
      readonly indices: Uint32Array;
      readonly values: Float32Array;
    };

export interface PayloadFrameInput extends FrameEnvelope {
  readonly payload: FramePayload;
}

export interface DecodeOptions {
  readonly maxBytes?: number;
  /** Codecs to accept; others are refused with FRAME_UNSUPPORTED_CODEC. Default: fp32 only. */
  readonly codecs?: readonly FrameCodec[];
}

const fail = (code: FrameErrorCode, message: string): FrameError => ({ ok: false, code, message });

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function headerBytesFor(jobIdLength: number, senderIdLength: number): number {
  return Math.ceil((FIXED_HEADER_BYTES + jobIdLength + senderIdLength) / 8) * 8;
}

function checksumOf(frame: Uint8Array): number {
  const before = crc32Update(0, frame.subarray(0, CHECKSUM_OFFSET));
  return crc32Update(before, frame.subarray(CHECKSUM_OFFSET + 4));
}

const words = (n: number, per: number): number => Math.ceil(n / per);

function validBlockSize(blockSize: number): boolean {
  return (
    Number.isInteger(blockSize) && blockSize >= 4 && blockSize <= MAX_INT8_FRAME_BLOCK && blockSize % 4 === 0
  );
}

/** The dense length of a payload and its size in bytes; throws a RangeError on inconsistent arrays. */
function payloadShape(payload: FramePayload): { length: number; bytes: number } {
  switch (payload.codec) {
    case 'fp32':
      return { length: payload.values.length, bytes: payload.values.length * 4 };
    case 'fp16': {
      const { length, packed } = payload;
      if (!Number.isSafeInteger(length) || length < 0) throw new RangeError('length must be a count');
      if (packed.length !== words(length, 2))
        throw new RangeError(
          `fp16 payload of ${length} elements needs ${words(length, 2)} words, got ${packed.length}`,
        );
      return { length, bytes: packed.length * 4 };
    }
    case 'int8Block': {
      const { length, blockSize, scales, packed } = payload;
      if (!Number.isSafeInteger(length) || length < 0) throw new RangeError('length must be a count');
      if (!validBlockSize(blockSize))
        throw new RangeError(`block size must be a multiple of 4 in 4..${MAX_INT8_FRAME_BLOCK}`);
      if (scales.length !== words(length, blockSize) || packed.length !== words(length, 4)) {
        throw new RangeError(
          `int8 payload of ${length} elements needs ${words(length, blockSize)} scales and ${words(length, 4)} words`,
        );
      }
      return { length, bytes: 4 + scales.length * 4 + packed.length * 4 };
    }
    case 'topK': {
      const { length, indices, values } = payload;
      if (!Number.isSafeInteger(length) || length < 0) throw new RangeError('length must be a count');
      if (indices.length !== values.length || indices.length > length) {
        throw new RangeError(
          `top-k payload: ${indices.length} indices, ${values.length} values, ${length} elements`,
        );
      }
      for (let j = 0; j < indices.length; j++) {
        const index = indices[j] as number;
        if (index >= length || (j > 0 && index <= (indices[j - 1] as number))) {
          throw new RangeError('top-k indices must be strictly increasing and below the length');
        }
      }
      return { length, bytes: 4 + indices.length * 8 };
    }
  }
}

/** Copies a typed array's bytes into `out` at `offset`, little-endian whatever the host. */
function putWords(out: DataView, bytes: Uint8Array, offset: number, array: Float32Array | Uint32Array): void {
  if (LITTLE_ENDIAN_HOST) {
    bytes.set(new Uint8Array(array.buffer, array.byteOffset, array.byteLength), offset);
  } else if (array instanceof Float32Array) {
    array.forEach((v, i) => out.setFloat32(offset + i * 4, v, true));
  } else {
    array.forEach((v, i) => out.setUint32(offset + i * 4, v, true));
  }
}

/** Encodes a parameter frame with any codec's payload. Throws only on programmer error. */
export function encodeFrame(input: PayloadFrameInput): Uint8Array {
  if (!ID_PATTERN.test(input.jobId)) throw new RangeError(`job id must match ${ID_PATTERN}`);
  if (!ID_PATTERN.test(input.senderId)) throw new RangeError(`sender id must match ${ID_PATTERN}`);
  if (!Number.isInteger(input.round) || input.round < 0 || input.round > 0xffffffff) {
    throw new RangeError('round must be an integer in [0, 2^32)');
  }
  const { payload } = input;
  const { length, bytes: payloadBytes } = payloadShape(payload);
  if (length > 0xffffffff || payloadBytes > 0xffffffff) throw new RangeError('payload too large for a frame');
  const headerBytes = headerBytesFor(input.jobId.length, input.senderId.length);
  const frame = new Uint8Array(headerBytes + payloadBytes);
  const view = new DataView(frame.buffer);
  view.setUint32(0, FRAME_MAGIC, true);
  view.setUint16(4, FRAME_VERSION, true);
  view.setUint8(6, FRAME_CODECS[payload.codec]);
  view.setUint8(7, 0);
  view.setUint32(8, input.round, true);
  view.setUint32(12, length, true);
  view.setUint32(16, payloadBytes, true);
  view.setUint8(24, input.jobId.length);
  view.setUint8(25, input.senderId.length);
  view.setUint16(26, headerBytes, true);
  view.setUint32(28, 0, true);
  const encoder = new TextEncoder();
  frame.set(encoder.encode(input.jobId), FIXED_HEADER_BYTES);
  frame.set(encoder.encode(input.senderId), FIXED_HEADER_BYTES + input.jobId.length);
  let at = headerBytes;
  switch (payload.codec) {
    case 'fp32':
      putWords(view, frame, at, payload.values);
      break;
    case 'fp16':
      putWords(view, frame, at, payload.packed);
      break;
    case 'int8Block':
      view.setUint32(at, payload.blockSize, true);
      at += 4;
      putWords(view, frame, at, payload.scales);
      putWords(view, frame, at + payload.scales.byteLength, payload.packed);
      break;
    case 'topK':
      view.setUint32(at, payload.indices.length, true);
      at += 4;
      putWords(view, frame, at, payload.indices);
      putWords(view, frame, at + payload.indices.byteLength, payload.values);
      break;
  }
  view.setUint32(CHECKSUM_OFFSET, checksumOf(frame), true);
  return frame;
}

/** Encodes an fp32 parameter vector. Throws only on programmer error (bad ids, bad round). */
export function encodeFp32Frame(input: FrameInput): Uint8Array {
  const { values, ...envelope } = input;
  return encodeFrame({ ...envelope, payload: { codec: 'fp32', values } });
}

function readId(bytes: Uint8Array): string | null {
  for (const b of bytes) {
    const ok = (b >= 48 && b <= 57) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122) || b === 45 || b === 95;
    if (!ok) return null;
  }
  return String.fromCharCode(...bytes);
}

/** Decodes and verifies a frame. Never throws. */
export function decodeFrame(frame: Uint8Array, options: DecodeOptions = {}): DecodedFrame | FrameError {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_FRAME_BYTES;
  const accepted = options.codecs ?? DEFAULT_DECODE_CODECS;
  if (!(frame instanceof Uint8Array)) return fail('FRAME_BAD_HEADER', 'frame must be bytes');
  if (frame.length > maxBytes) {
    return fail('FRAME_TOO_LARGE', `frame is ${frame.length} bytes; the limit is ${maxBytes}`);
  }
  if (frame.length < FIXED_HEADER_BYTES) {
    return fail(
      'FRAME_TRUNCATED',
      `frame is ${frame.length} bytes; the header alone is ${FIXED_HEADER_BYTES}`,
    );
  }
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  if (view.getUint32(0, true) !== FRAME_MAGIC)
    return fail('FRAME_BAD_MAGIC', 'not a tabswarm frame (bad magic)');
  const version = view.getUint16(4, true);
  if (version !== FRAME_VERSION) {
    return fail('FRAME_BAD_VERSION', `frame version ${version}; this build speaks version ${FRAME_VERSION}`);
  }
  const codecId = view.getUint8(6);
  const codec = CODEC_BY_ID.get(codecId);
  if (codec === undefined || !accepted.includes(codec)) {
    return fail('FRAME_UNSUPPORTED_CODEC', `codec ${codec ?? codecId} is not supported`);
  }
  if (view.getUint8(7) !== 0 || view.getUint32(28, true) !== 0) {
    return fail('FRAME_BAD_HEADER', 'reserved header fields must be zero');
  }
  const round = view.getUint32(8, true);
  const elementCount = view.getUint32(12, true);
  const payloadBytes = view.getUint32(16, true);
  const checksum = view.getUint32(CHECKSUM_OFFSET, true);
  const jobIdLength = view.getUint8(24);
  const senderIdLength = view.getUint8(25);
  const headerBytes = view.getUint16(26, true);
  if (
    jobIdLength === 0 ||
    jobIdLength > MAX_ID_BYTES ||
    senderIdLength === 0 ||
    senderIdLength > MAX_ID_BYTES
  ) {
    return fail('FRAME_BAD_HEADER', 'job and sender ids must be 1–64 bytes');
  }
  if (headerBytes !== headerBytesFor(jobIdLength, senderIdLength)) {
    return fail('FRAME_BAD_HEADER', `header length ${headerBytes} does not match its ids`);
  }
  if (payloadBytes > maxBytes) {
    return fail('FRAME_TOO_LARGE', `payload of ${payloadBytes} bytes; the limit is ${maxBytes}`);
  }
  // Compressed payloads state their own size in their first word; it is covered by the checksum.
  let lead: number | null = null;
  if (codec === 'int8Block' || codec === 'topK') {
    if (payloadBytes < 4 || frame.length < headerBytes + 4) {
      return fail('FRAME_TRUNCATED', `${codec} payload must start with a 4-byte field`);
    }
    lead = view.getUint32(headerBytes, true);
  }
  const shape = expectedPayload(codec, elementCount, lead);
  if (typeof shape === 'string') return fail('FRAME_BAD_PAYLOAD', shape);
  if (payloadBytes !== shape) {
    return fail(
      'FRAME_LENGTH_MISMATCH',
      `${codec} payload of ${elementCount} elements must be ${shape} bytes, header says ${payloadBytes}`,
    );
  }
  const expected = headerBytes + payloadBytes;
  if (expected > maxBytes) {
    return fail('FRAME_TOO_LARGE', `frame declares ${expected} bytes; the limit is ${maxBytes}`);
  }
  if (frame.length < expected) {
    return fail('FRAME_TRUNCATED', `frame is ${frame.length} bytes; its header declares ${expected}`);
  }
  if (frame.length > expected) {
    return fail('FRAME_LENGTH_MISMATCH', `frame is ${frame.length} bytes; its header declares ${expected}`);
  }
  const jobId = readId(frame.subarray(FIXED_HEADER_BYTES, FIXED_HEADER_BYTES + jobIdLength));
  const senderId = readId(
    frame.subarray(FIXED_HEADER_BYTES + jobIdLength, FIXED_HEADER_BYTES + jobIdLength + senderIdLength),
  );
  if (jobId === null || senderId === null) {
    return fail('FRAME_BAD_HEADER', 'job and sender ids must be letters, digits, - or _');
  }
  if (checksumOf(frame) !== checksum)
    return fail('FRAME_BAD_CHECKSUM', 'frame checksum does not match its contents');
  if (codec === 'topK' && lead !== null) {
    const bad = badSparseIndex(view, headerBytes + 4, lead, elementCount);
    if (bad !== null) return fail('FRAME_BAD_PAYLOAD', bad);
  }
  return {
    ok: true,
    header: { version, codec, jobId, senderId, round, elementCount, payloadBytes, checksum },
    payload: frame.subarray(headerBytes),
  };
}

/** Payload bytes for a codec, or a reason the lead field (block size, count) is impossible. */
function expectedPayload(codec: FrameCodec, n: number, lead: number | null): number | string {
  switch (codec) {
    case 'fp32':
      return n * 4;
    case 'fp16':
      return words(n, 2) * 4;
    case 'int8Block': {
      const blockSize = lead ?? 0;
      if (!validBlockSize(blockSize))
        return `int8 block size ${blockSize} is not a multiple of 4 in 4..${MAX_INT8_FRAME_BLOCK}`;
      return 4 + words(n, blockSize) * 4 + words(n, 4) * 4;
    }
    case 'topK': {
      const count = lead ?? 0;
      if (count > n) return `top-k payload claims ${count} entries of a ${n}-element vector`;
      return 4 + count * 8;
    }
  }
}

/** Indices must be strictly increasing and in range, so a scatter never writes twice or outside. */
function badSparseIndex(view: DataView, offset: number, count: number, n: number): string | null {
  let previous = -1;
  for (let j = 0; j < count; j++) {
    const index = view.getUint32(offset + j * 4, true);
    if (index >= n) return `top-k index ${index} is outside the ${n}-element vector`;
    if (index <= previous) return `top-k indices must be strictly increasing (${previous} then ${index})`;
    previous = index;
  }
  return null;
}

function f32Array(bytes: Uint8Array, count: number): Float32Array {
  if (LITTLE_ENDIAN_HOST) {
    if (bytes.byteOffset % 4 === 0) return new Float32Array(bytes.buffer, bytes.byteOffset, count);
    // An unaligned view is copied byte for byte: reading each value through a number would
    // change the bits of a signalling NaN (the decoded payload must be exactly what was sent).
    return new Float32Array(bytes.slice(0, count * 4).buffer);
  }
  const out = new Float32Array(count);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}

function u32Array(bytes: Uint8Array, count: number): Uint32Array {
  if (LITTLE_ENDIAN_HOST && bytes.byteOffset % 4 === 0)
    return new Uint32Array(bytes.buffer, bytes.byteOffset, count);
  const out = new Uint32Array(count);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < count; i++) out[i] = view.getUint32(i * 4, true);
  return out;
}

/**
 * The payload of a decoded frame (of any codec) as typed arrays: views into the frame when its
 * payload is 4-byte aligned, copies otherwise. Trusts `decoded`, which decodeFrame validated.
 */
export function framePayload(decoded: DecodedFrame): FramePayload {
  const { payload, header } = decoded;
  const n = header.elementCount;
  switch (header.codec) {
    case 'fp32':
      return { codec: 'fp32', values: f32Array(payload, n) };
    case 'fp16':
      return { codec: 'fp16', length: n, packed: u32Array(payload, words(n, 2)) };
    case 'int8Block': {
      const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
      const blockSize = view.getUint32(0, true);
      const blocks = words(n, blockSize);
      return {
        codec: 'int8Block',
        length: n,
        blockSize,
        scales: f32Array(payload.subarray(4), blocks),
        packed: u32Array(payload.subarray(4 + blocks * 4), words(n, 4)),
      };
    }
    case 'topK': {
      const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
      const count = view.getUint32(0, true);
      return {
        codec: 'topK',
        length: n,
        indices: u32Array(payload.subarray(4), count),
        values: f32Array(payload.subarray(4 + count * 4), count),
      };
    }
  }
}

/** The fp32 values of a decoded fp32 frame: a view when alignment allows, a copy otherwise. */
export function frameValues(decoded: DecodedFrame): Float32Array {
  const { payload, header } = decoded;
  if (header.codec !== 'fp32')
    throw new RangeError(`frameValues reads fp32 frames; this one is ${header.codec}`);
  return f32Array(payload, header.elementCount);
}
