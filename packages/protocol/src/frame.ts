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
 */
import { crc32Update } from './crc32.ts';
import { FRAME_VERSION } from './version.ts';

export const FRAME_MAGIC = 0x46575354; // "TSWF" read as a little-endian u32
const FIXED_HEADER_BYTES = 32;
const CHECKSUM_OFFSET = 20;
const MAX_ID_BYTES = 64;
const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** Codec ids on the wire. Only fp32 is defined so far; the others reserve their numbers. */
export const FRAME_CODECS = { fp32: 0, fp16: 1, int8Block: 2, topK: 3 } as const;
export type FrameCodec = keyof typeof FRAME_CODECS;
const CODEC_BY_ID = new Map<number, FrameCodec>(
  Object.entries(FRAME_CODECS).map(([name, id]) => [id, name as FrameCodec]),
);
/** Codecs this build can decode; a frame with any other codec id is refused with a typed error. */
const SUPPORTED_CODECS: ReadonlySet<FrameCodec> = new Set(['fp32']);

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

export interface FrameInput {
  readonly jobId: string;
  readonly senderId: string;
  readonly round: number;
  readonly values: Float32Array;
}

export interface DecodeOptions {
  readonly maxBytes?: number;
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

/** Encodes an fp32 parameter vector. Throws only on programmer error (bad ids, bad round). */
export function encodeFp32Frame(input: FrameInput): Uint8Array {
  if (!ID_PATTERN.test(input.jobId)) throw new RangeError(`job id must match ${ID_PATTERN}`);
  if (!ID_PATTERN.test(input.senderId)) throw new RangeError(`sender id must match ${ID_PATTERN}`);
  if (!Number.isInteger(input.round) || input.round < 0 || input.round > 0xffffffff) {
    throw new RangeError('round must be an integer in [0, 2^32)');
  }
  const payloadBytes = input.values.length * 4;
  const headerBytes = headerBytesFor(input.jobId.length, input.senderId.length);
  const frame = new Uint8Array(headerBytes + payloadBytes);
  const view = new DataView(frame.buffer);
  view.setUint32(0, FRAME_MAGIC, true);
  view.setUint16(4, FRAME_VERSION, true);
  view.setUint8(6, FRAME_CODECS.fp32);
  view.setUint8(7, 0);
  view.setUint32(8, input.round, true);
  view.setUint32(12, input.values.length, true);
  view.setUint32(16, payloadBytes, true);
  view.setUint8(24, input.jobId.length);
  view.setUint8(25, input.senderId.length);
  view.setUint16(26, headerBytes, true);
  view.setUint32(28, 0, true);
  const encoder = new TextEncoder();
  frame.set(encoder.encode(input.jobId), FIXED_HEADER_BYTES);
  frame.set(encoder.encode(input.senderId), FIXED_HEADER_BYTES + input.jobId.length);
  const payload = frame.subarray(headerBytes);
  if (LITTLE_ENDIAN_HOST) {
    payload.set(new Uint8Array(input.values.buffer, input.values.byteOffset, payloadBytes));
  } else {
    const out = new DataView(frame.buffer, headerBytes);
    input.values.forEach((v, i) => out.setFloat32(i * 4, v, true));
  }
  view.setUint32(CHECKSUM_OFFSET, checksumOf(frame), true);
  return frame;
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
  if (codec === undefined || !SUPPORTED_CODECS.has(codec)) {
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
  if (payloadBytes !== elementCount * 4) {
    return fail(
      'FRAME_LENGTH_MISMATCH',
      `fp32 payload of ${elementCount} elements must be ${elementCount * 4} bytes, header says ${payloadBytes}`,
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
  return {
    ok: true,
    header: { version, codec, jobId, senderId, round, elementCount, payloadBytes, checksum },
    payload: frame.subarray(headerBytes),
  };
}

/** The fp32 values of a decoded frame: a view when alignment allows, a copy otherwise. */
export function frameValues(decoded: DecodedFrame): Float32Array {
  const { payload, header } = decoded;
  if (LITTLE_ENDIAN_HOST && payload.byteOffset % 4 === 0) {
    return new Float32Array(payload.buffer, payload.byteOffset, header.elementCount);
  }
  const out = new Float32Array(header.elementCount);
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}
