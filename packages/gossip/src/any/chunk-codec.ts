/**
 * The chunk wire format: a parameter frame split into messages small enough for a WebRTC data
 * channel, and the acknowledgement a receiver sends back. Pure functions; decoding never throws.
 *
 * Every message starts with a 32-byte little-endian header:
 *   0  u32 magic "TSWC"   4  u8 wire version   5  u8 kind (1 chunk, 2 ack)   6  u16 header bytes (32)
 *   8  u32 transfer id
 * chunk: 12 u32 chunk index  16 u32 chunk count  20 u32 total bytes  24 u32 chunk stride  28 u32 0
 *        then the chunk's payload: bytes [index * stride, min(total, (index + 1) * stride)) of the frame.
 * ack:   12 u16 status (0 ok, else 1 + index in ACK_STATUS_CODES)  14 u16 0  16 u32 frame checksum
 *        20 u32 element count  24 u32 total bytes  28 u32 0
 * control (transfer id 0): 12 u32 body bytes  16..31 0; then a UTF-8 JSON body of at most
 *        GOSSIP_CONTROL_MAX_BYTES: heartbeats and exchange handshakes, validated by the receiver.
 */
import { FRAME_ERROR_CODES, GOSSIP_CONTROL_MAX_BYTES, type FrameErrorCode } from '@tabswarm/protocol';

export const CHUNK_MAGIC = 0x43575354; // "TSWC" read as a little-endian u32
export const CHUNK_WIRE_VERSION = 1;
export const CHUNK_HEADER_BYTES = 32;
const KIND_CHUNK = 1;
const KIND_ACK = 2;
const KIND_CONTROL = 3;

/** Chrome refuses data channel messages over 256 KiB; stay well below by default. */
export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024;
export const MAX_MESSAGE_BYTES_LIMIT = 256 * 1024;

/** Errors found while receiving chunks, before the frame itself is decoded. */
export const CHUNK_ERROR_CODES = [
  'CHUNK_MALFORMED',
  'CHUNK_TRUNCATED',
  'CHUNK_TOO_LARGE',
  'CHUNK_DUPLICATE',
  'CHUNK_INCONSISTENT',
  'TRANSFER_TOO_LARGE',
  'PEER_MEMORY_EXCEEDED',
  'TRANSFER_TIMEOUT',
] as const;
export type ChunkErrorCode = (typeof CHUNK_ERROR_CODES)[number];

/** Everything a receiver can reject a transfer for: a chunk problem or a frame problem. */
export type ReceiveErrorCode = ChunkErrorCode | FrameErrorCode;

/** Status numbers on the wire. Append only: the index is the wire value minus one. */
export const ACK_STATUS_CODES: readonly ReceiveErrorCode[] = [...CHUNK_ERROR_CODES, ...FRAME_ERROR_CODES];

export interface ChunkMessage {
  readonly kind: 'chunk';
  readonly transferId: number;
  readonly index: number;
  readonly count: number;
  readonly totalBytes: number;
  readonly stride: number;
  /** A view into the received message. */
  readonly payload: Uint8Array;
}

export interface AckMessage {
  readonly kind: 'ack';
  readonly transferId: number;
  /** null when the receiver decoded the frame and verified its checksum. */
  readonly error: ReceiveErrorCode | 'UNKNOWN' | null;
  readonly checksum: number;
  readonly elementCount: number;
  readonly totalBytes: number;
}

export interface WireError {
  readonly kind: 'error';
  readonly code: 'CHUNK_MALFORMED' | 'CHUNK_TRUNCATED' | 'CHUNK_TOO_LARGE';
  /** Known when the header was readable, so the sender can be told. */
  readonly transferId: number | null;
  readonly message: string;
}

/** A control message: parsed JSON, not yet validated (the receiver checks it with its schema). */
export interface ControlMessage {
  readonly kind: 'control';
  readonly body: unknown;
}

export type WireMessage = ChunkMessage | AckMessage | ControlMessage;

export interface AckInput {
  readonly transferId: number;
  readonly error: ReceiveErrorCode | null;
  readonly checksum: number;
  readonly elementCount: number;
  readonly totalBytes: number;
}

const isU32 = (n: number): boolean => Number.isInteger(n) && n >= 0 && n <= 0xffffffff;

function writeHeader(view: DataView, kind: number, transferId: number): void {
  view.setUint32(0, CHUNK_MAGIC, true);
  view.setUint8(4, CHUNK_WIRE_VERSION);
  view.setUint8(5, kind);
  view.setUint16(6, CHUNK_HEADER_BYTES, true);
  view.setUint32(8, transferId, true);
}

/** How a frame of `totalBytes` is cut: every chunk but the last carries exactly `stride` bytes. */
export function chunkLayout(totalBytes: number, maxMessageBytes: number): { count: number; stride: number } {
  const stride = maxMessageBytes - CHUNK_HEADER_BYTES;
  return { count: Math.max(1, Math.ceil(totalBytes / stride)), stride };
}

/** Size of chunk `index` under the layout; what a receiver checks each chunk against. */
export function expectedChunkBytes(index: number, totalBytes: number, stride: number): number {
  return Math.min(stride, totalBytes - index * stride);
}

/**
 * The messages of one transfer, produced lazily so a large frame is never held twice.
 * Throws only on programmer error (bad transfer id or message size, empty frame).
 */
export function* splitFrame(
  frame: Uint8Array,
  transferId: number,
  maxMessageBytes = DEFAULT_MAX_MESSAGE_BYTES,
): Generator<Uint8Array, void, undefined> {
  if (!isU32(transferId)) throw new RangeError('transfer id must be a u32');
  if (
    !Number.isInteger(maxMessageBytes) ||
    maxMessageBytes <= CHUNK_HEADER_BYTES ||
    maxMessageBytes > MAX_MESSAGE_BYTES_LIMIT
  ) {
    throw new RangeError(`message size must be in (${CHUNK_HEADER_BYTES}, ${MAX_MESSAGE_BYTES_LIMIT}]`);
  }
  if (frame.length === 0 || frame.length > 0xffffffff) throw new RangeError('frame must be 1 byte to 4 GiB');
  const { count, stride } = chunkLayout(frame.length, maxMessageBytes);
  for (let index = 0; index < count; index++) {
    const start = index * stride;
    const payload = frame.subarray(start, Math.min(frame.length, start + stride));
    const message = new Uint8Array(CHUNK_HEADER_BYTES + payload.length);
    const view = new DataView(message.buffer);
    writeHeader(view, KIND_CHUNK, transferId);
    view.setUint32(12, index, true);
    view.setUint32(16, count, true);
    view.setUint32(20, frame.length, true);
    view.setUint32(24, stride, true);
    view.setUint32(28, 0, true);
    message.set(payload, CHUNK_HEADER_BYTES);
    yield message;
  }
}

/** Encodes one chunk with arbitrary header values; for tests and tools that need odd chunks. */
export function encodeChunk(chunk: Omit<ChunkMessage, 'kind'>): Uint8Array {
  const message = new Uint8Array(CHUNK_HEADER_BYTES + chunk.payload.length);
  const view = new DataView(message.buffer);
  writeHeader(view, KIND_CHUNK, chunk.transferId);
  view.setUint32(12, chunk.index, true);
  view.setUint32(16, chunk.count, true);
  view.setUint32(20, chunk.totalBytes, true);
  view.setUint32(24, chunk.stride, true);
  message.set(chunk.payload, CHUNK_HEADER_BYTES);
  return message;
}

export function encodeAck(ack: AckInput): Uint8Array {
  const message = new Uint8Array(CHUNK_HEADER_BYTES);
  const view = new DataView(message.buffer);
  writeHeader(view, KIND_ACK, ack.transferId);
  view.setUint16(12, ack.error === null ? 0 : ACK_STATUS_CODES.indexOf(ack.error) + 1, true);
  view.setUint32(16, ack.checksum >>> 0, true);
  view.setUint32(20, ack.elementCount >>> 0, true);
  view.setUint32(24, ack.totalBytes >>> 0, true);
  return message;
}

/** Encodes a control message; throws a RangeError if its JSON is larger than the limit. */
export function encodeControl(body: unknown): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(body));
  if (json.length > GOSSIP_CONTROL_MAX_BYTES) {
    throw new RangeError(`control message of ${json.length} bytes; the limit is ${GOSSIP_CONTROL_MAX_BYTES}`);
  }
  const message = new Uint8Array(CHUNK_HEADER_BYTES + json.length);
  const view = new DataView(message.buffer);
  writeHeader(view, KIND_CONTROL, 0);
  view.setUint32(12, json.length, true);
  message.set(json, CHUNK_HEADER_BYTES);
  return message;
}

function asBytes(data: unknown): Uint8Array | null {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return null;
}

const wireError = (code: WireError['code'], transferId: number | null, message: string): WireError => ({
  kind: 'error',
  code,
  transferId,
  message,
});

/** Decodes a message from the channel. Never throws: anything malformed becomes a WireError. */
export function decodeMessage(data: unknown): WireMessage | WireError {
  const bytes = asBytes(data);
  if (bytes === null) return wireError('CHUNK_MALFORMED', null, 'message must be binary');
  if (bytes.length < CHUNK_HEADER_BYTES) {
    return wireError(
      'CHUNK_TRUNCATED',
      null,
      `message is ${bytes.length} bytes; the header alone is ${CHUNK_HEADER_BYTES}`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) !== CHUNK_MAGIC)
    return wireError('CHUNK_MALFORMED', null, 'not a tabswarm chunk (bad magic)');
  const version = view.getUint8(4);
  if (version !== CHUNK_WIRE_VERSION) {
    return wireError(
      'CHUNK_MALFORMED',
      null,
      `chunk wire version ${version}; this build speaks ${CHUNK_WIRE_VERSION}`,
    );
  }
  if (view.getUint16(6, true) !== CHUNK_HEADER_BYTES)
    return wireError('CHUNK_MALFORMED', null, 'unexpected chunk header length');
  const kind = view.getUint8(5);
  const transferId = view.getUint32(8, true);

  if (kind === KIND_ACK) {
    if (
      bytes.length !== CHUNK_HEADER_BYTES ||
      view.getUint16(14, true) !== 0 ||
      view.getUint32(28, true) !== 0
    ) {
      return wireError('CHUNK_MALFORMED', transferId, 'malformed acknowledgement');
    }
    const status = view.getUint16(12, true);
    return {
      kind: 'ack',
      transferId,
      error: status === 0 ? null : (ACK_STATUS_CODES[status - 1] ?? 'UNKNOWN'),
      checksum: view.getUint32(16, true),
      elementCount: view.getUint32(20, true),
      totalBytes: view.getUint32(24, true),
    };
  }
  if (kind === KIND_CONTROL) return decodeControl(bytes, view);
  if (kind !== KIND_CHUNK) return wireError('CHUNK_MALFORMED', transferId, `unknown message kind ${kind}`);

  const index = view.getUint32(12, true);
  const count = view.getUint32(16, true);
  const totalBytes = view.getUint32(20, true);
  const stride = view.getUint32(24, true);
  if (view.getUint32(28, true) !== 0)
    return wireError('CHUNK_MALFORMED', transferId, 'reserved chunk field must be zero');
  if (totalBytes === 0 || stride === 0 || count !== Math.ceil(totalBytes / stride) || index >= count) {
    return wireError(
      'CHUNK_MALFORMED',
      transferId,
      `chunk ${index} of ${count} does not fit ${totalBytes} bytes in strides of ${stride}`,
    );
  }
  const payload = bytes.subarray(CHUNK_HEADER_BYTES);
  const expected = expectedChunkBytes(index, totalBytes, stride);
  if (payload.length < expected) {
    return wireError(
      'CHUNK_TRUNCATED',
      transferId,
      `chunk ${index} carries ${payload.length} bytes; expected ${expected}`,
    );
  }
  if (payload.length > expected) {
    return wireError(
      'CHUNK_TOO_LARGE',
      transferId,
      `chunk ${index} carries ${payload.length} bytes; expected ${expected}`,
    );
  }
  return { kind: 'chunk', transferId, index, count, totalBytes, stride, payload };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function decodeControl(bytes: Uint8Array, view: DataView): ControlMessage | WireError {
  const length = view.getUint32(12, true);
  for (let offset = 16; offset < CHUNK_HEADER_BYTES; offset += 4) {
    if (view.getUint32(offset, true) !== 0)
      return wireError('CHUNK_MALFORMED', null, 'reserved control field must be zero');
  }
  if (view.getUint32(8, true) !== 0)
    return wireError('CHUNK_MALFORMED', null, 'control messages have transfer id 0');
  if (length > GOSSIP_CONTROL_MAX_BYTES) {
    return wireError(
      'CHUNK_TOO_LARGE',
      null,
      `control body of ${length} bytes; the limit is ${GOSSIP_CONTROL_MAX_BYTES}`,
    );
  }
  if (bytes.length !== CHUNK_HEADER_BYTES + length) {
    return wireError(
      bytes.length < CHUNK_HEADER_BYTES + length ? 'CHUNK_TRUNCATED' : 'CHUNK_TOO_LARGE',
      null,
      `control message is ${bytes.length} bytes; its header declares ${CHUNK_HEADER_BYTES + length}`,
    );
  }
  try {
    return { kind: 'control', body: JSON.parse(utf8.decode(bytes.subarray(CHUNK_HEADER_BYTES))) as unknown };
  } catch {
    return wireError('CHUNK_MALFORMED', null, 'control body is not UTF-8 JSON');
  }
}
