import { describe, expect, it } from 'vitest';
import {
  CHUNK_HEADER_BYTES,
  decodeMessage,
  encodeAck,
  encodeChunk,
  splitFrame,
  type WireError,
  type WireMessage,
} from './chunk-codec.ts';
import { firstDifference, testFrame } from './test-helpers.ts';

function expectWireError(result: WireMessage | WireError, code: WireError['code']): void {
  expect(result.kind).toBe('error');
  if (result.kind === 'error') expect(result.code).toBe(code);
}

describe('chunk codec', () => {
  it('splits a frame into messages no larger than the limit that cover it exactly', () => {
    const frame = testFrame(100_000);
    const messages = [...splitFrame(frame, 42, 16 * 1024)];
    expect(messages.length).toBe(Math.ceil(frame.length / (16 * 1024 - CHUNK_HEADER_BYTES)));
    for (const m of messages) expect(m.length).toBeLessThanOrEqual(16 * 1024);
    const joined = new Uint8Array(frame.length);
    let offset = 0;
    messages.forEach((m, i) => {
      const decoded = decodeMessage(m);
      expect(decoded.kind).toBe('chunk');
      if (decoded.kind !== 'chunk') return;
      expect(decoded).toMatchObject({
        transferId: 42,
        index: i,
        count: messages.length,
        totalBytes: frame.length,
      });
      joined.set(decoded.payload, offset);
      offset += decoded.payload.length;
    });
    expect(offset).toBe(frame.length);
    expect(firstDifference(joined, frame)).toBe(-1);
  });

  it('sends a small frame as a single chunk', () => {
    const frame = testFrame(3);
    const messages = [...splitFrame(frame, 1)];
    expect(messages).toHaveLength(1);
    expect(messages[0]?.length).toBe(frame.length + CHUNK_HEADER_BYTES);
  });

  it('refuses message sizes that cannot carry data or that browsers reject', () => {
    const frame = testFrame(3);
    expect(() => [...splitFrame(frame, 1, CHUNK_HEADER_BYTES)]).toThrow(RangeError);
    expect(() => [...splitFrame(frame, 1, 300 * 1024)]).toThrow(RangeError);
    expect(() => [...splitFrame(frame, -1)]).toThrow(RangeError);
    expect(() => [...splitFrame(new Uint8Array(0), 1)]).toThrow(RangeError);
  });

  it('round-trips acknowledgements, including typed rejection codes', () => {
    const ok = decodeMessage(
      encodeAck({ transferId: 9, error: null, checksum: 0xdeadbeef, elementCount: 5, totalBytes: 60 }),
    );
    expect(ok).toEqual({
      kind: 'ack',
      transferId: 9,
      error: null,
      checksum: 0xdeadbeef,
      elementCount: 5,
      totalBytes: 60,
    });
    const rejected = decodeMessage(
      encodeAck({ transferId: 9, error: 'FRAME_BAD_CHECKSUM', checksum: 0, elementCount: 0, totalBytes: 0 }),
    );
    expect(rejected).toMatchObject({ kind: 'ack', error: 'FRAME_BAD_CHECKSUM' });
  });

  it('reports a truncated chunk and a chunk carrying too much with typed errors', () => {
    const [first] = [...splitFrame(testFrame(10_000), 5, 4096)];
    if (first === undefined) throw new Error('no chunk');
    expectWireError(decodeMessage(first.subarray(0, first.length - 1)), 'CHUNK_TRUNCATED');
    expectWireError(decodeMessage(first.subarray(0, 10)), 'CHUNK_TRUNCATED');
    const padded = new Uint8Array(first.length + 1);
    padded.set(first);
    expectWireError(decodeMessage(padded), 'CHUNK_TOO_LARGE');
    const truncated = decodeMessage(first.subarray(0, 100));
    expect(truncated.kind === 'error' && truncated.transferId).toBe(5);
  });

  it('rejects headers whose count, total and stride disagree', () => {
    const payload = new Uint8Array(10);
    expectWireError(
      decodeMessage(encodeChunk({ transferId: 1, index: 0, count: 3, totalBytes: 10, stride: 10, payload })),
      'CHUNK_MALFORMED',
    );
    expectWireError(
      decodeMessage(encodeChunk({ transferId: 1, index: 1, count: 1, totalBytes: 10, stride: 10, payload })),
      'CHUNK_MALFORMED',
    );
    expectWireError(
      decodeMessage(encodeChunk({ transferId: 1, index: 0, count: 1, totalBytes: 0, stride: 10, payload })),
      'CHUNK_MALFORMED',
    );
  });

  it('never throws on garbage and accepts ArrayBuffers as browsers deliver them', () => {
    let s = 99;
    for (let trial = 0; trial < 300; trial++) {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      const bytes = new Uint8Array(s % 200);
      for (let i = 0; i < bytes.length; i++) bytes[i] = (s >>> (i % 24)) & 0xff;
      if (trial % 2 === 0 && bytes.length >= 8) new DataView(bytes.buffer).setUint32(0, 0x43575354, true);
      expect(() => decodeMessage(bytes)).not.toThrow();
    }
    for (const junk of [null, undefined, 'text', 42, {}, [1, 2]])
      expectWireError(decodeMessage(junk), 'CHUNK_MALFORMED');
    const [only] = [...splitFrame(testFrame(4), 3)];
    if (only === undefined) throw new Error('no chunk');
    expect(decodeMessage(only.buffer).kind).toBe('chunk');
  });
});
