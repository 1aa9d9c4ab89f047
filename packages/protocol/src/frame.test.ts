import { describe, expect, it } from 'vitest';
import {
  ALL_FRAME_CODECS,
  decodeFrame,
  encodeFp32Frame,
  encodeFrame,
  framePayload,
  frameValues,
  FRAME_CODECS,
  type DecodedFrame,
  type FrameError,
  type FramePayload,
} from './frame.ts';
import { crc32 } from './crc32.ts';

function randomVector(n: number, seed = 1): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 0x100000000) * 2 - 1;
  }
  return out;
}

const input = { jobId: 'job-1', senderId: 'vABCDEF12', round: 7, values: randomVector(1001) };

function expectError(result: DecodedFrame | FrameError, code: FrameError['code']): void {
  expect(result.ok).toBe(false);
  if (!result.ok) expect(result.code).toBe(code);
}

/** Rewrites a header field and re-seals the checksum, so only the field under test is wrong. */
function reseal(frame: Uint8Array, edit: (view: DataView) => void): Uint8Array {
  const copy = frame.slice();
  const view = new DataView(copy.buffer);
  edit(view);
  const sum = crc32(new Uint8Array([...copy.subarray(0, 20), ...copy.subarray(24)]));
  view.setUint32(20, sum, true);
  return copy;
}

describe('crc32', () => {
  it('matches the standard check value', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
  });
});

describe('parameter frame', () => {
  it('round-trips header and values bit for bit', () => {
    const frame = encodeFp32Frame(input);
    const decoded = decodeFrame(frame);
    expect(decoded.ok).toBe(true);
    if (!decoded.ok) return;
    expect(decoded.header).toMatchObject({
      codec: 'fp32',
      jobId: 'job-1',
      senderId: 'vABCDEF12',
      round: 7,
      elementCount: 1001,
      payloadBytes: 4004,
    });
    expect(Array.from(frameValues(decoded))).toEqual(Array.from(input.values));
  });

  it('keeps non-finite values and empty vectors intact', () => {
    const values = new Float32Array([NaN, Infinity, -Infinity, -0, 1e-45]);
    const decoded = decodeFrame(encodeFp32Frame({ ...input, values }));
    expect(decoded.ok).toBe(true);
    if (decoded.ok) expect(Array.from(frameValues(decoded))).toEqual(Array.from(values));
    const empty = decodeFrame(encodeFp32Frame({ ...input, values: new Float32Array(0) }));
    expect(empty.ok && empty.header.elementCount).toBe(0);
  });

  it('decodes from an unaligned view by copying', () => {
    const frame = encodeFp32Frame(input);
    const shifted = new Uint8Array(frame.length + 1);
    shifted.set(frame, 1);
    const decoded = decodeFrame(shifted.subarray(1));
    expect(decoded.ok).toBe(true);
    if (decoded.ok) expect(Array.from(frameValues(decoded))).toEqual(Array.from(input.values));
  });

  it('keeps every bit of an unaligned payload, a signalling NaN included (found by the fuzz)', () => {
    const values = new Float32Array(3);
    new Uint32Array(values.buffer).set([0x3f800000, 0xff810000, 0x7f800001]);
    const frame = encodeFp32Frame({ ...input, values });
    const shifted = new Uint8Array(frame.length + 3);
    shifted.set(frame, 3);
    const decoded = decodeFrame(shifted.subarray(3));
    expect(decoded.ok).toBe(true);
    if (decoded.ok) {
      const bits = new Uint32Array(frameValues(decoded).slice().buffer);
      expect(Array.from(bits)).toEqual([0x3f800000, 0xff810000, 0x7f800001]);
    }
  });

  it('rejects truncated frames at every cut point of the header and in the payload', () => {
    const frame = encodeFp32Frame(input);
    for (const cut of [0, 1, 8, 31, 40, 48, frame.length - 1]) {
      expectError(decodeFrame(frame.subarray(0, cut)), 'FRAME_TRUNCATED');
    }
  });

  it('rejects frames over the size limit before reading them', () => {
    const frame = encodeFp32Frame(input);
    expectError(decodeFrame(frame, { maxBytes: frame.length - 1 }), 'FRAME_TOO_LARGE');
    // A short frame whose header claims a huge payload is also refused as too large.
    const claimsHuge = reseal(frame, (v) => {
      v.setUint32(12, 0x3fffffff, true);
      v.setUint32(16, 0xfffffffc, true);
    });
    expectError(decodeFrame(claimsHuge, { maxBytes: 1 << 20 }), 'FRAME_TOO_LARGE');
  });

  it('rejects wrong magic, version, codec and reserved fields with typed errors', () => {
    const frame = encodeFp32Frame(input);
    expectError(decodeFrame(reseal(frame, (v) => v.setUint32(0, 0xdeadbeef, true))), 'FRAME_BAD_MAGIC');
    expectError(decodeFrame(reseal(frame, (v) => v.setUint16(4, 99, true))), 'FRAME_BAD_VERSION');
    expectError(decodeFrame(reseal(frame, (v) => v.setUint8(6, 200))), 'FRAME_UNSUPPORTED_CODEC');
    expectError(
      decodeFrame(reseal(frame, (v) => v.setUint8(6, FRAME_CODECS.topK))),
      'FRAME_UNSUPPORTED_CODEC',
    );
    expectError(decodeFrame(reseal(frame, (v) => v.setUint8(7, 1))), 'FRAME_BAD_HEADER');
    expectError(decodeFrame(reseal(frame, (v) => v.setUint8(24, 0))), 'FRAME_BAD_HEADER');
    expectError(decodeFrame(reseal(frame, (v) => v.setUint8(32, 0x20))), 'FRAME_BAD_HEADER');
  });

  it('rejects length fields that disagree', () => {
    const frame = encodeFp32Frame(input);
    expectError(decodeFrame(reseal(frame, (v) => v.setUint32(16, 4000, true))), 'FRAME_LENGTH_MISMATCH');
    const padded = new Uint8Array(frame.length + 4);
    padded.set(frame);
    expectError(decodeFrame(padded), 'FRAME_LENGTH_MISMATCH');
  });

  it('detects a flipped bit anywhere as a bad checksum', () => {
    const frame = encodeFp32Frame(input);
    for (const at of [9, frame.length - 1, 100, 2000]) {
      const corrupt = frame.slice();
      corrupt[at] = (corrupt[at] as number) ^ 0x10;
      const result = decodeFrame(corrupt);
      expect(result.ok).toBe(false);
      if (!result.ok)
        expect(['FRAME_BAD_CHECKSUM', 'FRAME_TOO_LARGE', 'FRAME_TRUNCATED']).toContain(result.code);
    }
    const payloadFlip = frame.slice();
    payloadFlip[frame.length - 3] = (payloadFlip[frame.length - 3] as number) ^ 1;
    expectError(decodeFrame(payloadFlip), 'FRAME_BAD_CHECKSUM');
  });

  it('never throws on random garbage', () => {
    let s = 42;
    for (let trial = 0; trial < 500; trial++) {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      const bytes = new Uint8Array(s % 300);
      for (let i = 0; i < bytes.length; i++) bytes[i] = (s >>> (i % 24)) & 0xff;
      if (trial % 2 === 0 && bytes.length >= 4) new DataView(bytes.buffer).setUint32(0, 0x46575354, true);
      expect(() => decodeFrame(bytes)).not.toThrow();
      expect(decodeFrame(bytes).ok).toBe(false);
    }
    expect(decodeFrame('nope' as unknown as Uint8Array).ok).toBe(false);
  });

  it('refuses to encode ids that the decoder would reject', () => {
    expect(() => encodeFp32Frame({ ...input, jobId: 'has space' })).toThrow(RangeError);
    expect(() => encodeFp32Frame({ ...input, senderId: '' })).toThrow(RangeError);
    expect(() => encodeFp32Frame({ ...input, round: -1 })).toThrow(RangeError);
  });
});

describe('compressed payloads', () => {
  const envelope = { jobId: 'job-1', senderId: 'vABCDEF12', round: 9 };
  const all = { codecs: ALL_FRAME_CODECS };
  const n = 1001;
  const payloads: FramePayload[] = [
    { codec: 'fp16', length: n, packed: Uint32Array.from({ length: 501 }, (_, i) => (i * 2654435761) >>> 0) },
    {
      codec: 'int8Block',
      length: n,
      blockSize: 256,
      scales: Float32Array.from([0.5, 0.25, 0.125, 1e-3]),
      packed: Uint32Array.from({ length: 251 }, (_, i) => (i * 40503) >>> 0),
    },
    {
      codec: 'topK',
      length: n,
      indices: Uint32Array.from([0, 7, 99, 1000]),
      values: Float32Array.from([1.5, -2, 3.25, -0]),
    },
    { codec: 'topK', length: n, indices: new Uint32Array(0), values: new Float32Array(0) },
  ];

  function roundTrip(payload: FramePayload): FramePayload {
    const decoded = decodeFrame(encodeFrame({ ...envelope, payload }), all);
    expect(decoded.ok).toBe(true);
    if (!decoded.ok) throw new Error(decoded.message);
    expect(decoded.header).toMatchObject({ codec: payload.codec, elementCount: n, round: 9 });
    return framePayload(decoded);
  }

  it('round-trips every codec bit for bit, aligned or not', () => {
    for (const payload of payloads) {
      expect(roundTrip(payload)).toEqual(payload);
      const frame = encodeFrame({ ...envelope, payload });
      const shifted = new Uint8Array(frame.length + 1);
      shifted.set(frame, 1);
      const decoded = decodeFrame(shifted.subarray(1), all);
      expect(decoded.ok && framePayload(decoded)).toEqual(payload);
    }
  });

  it('sizes each payload as documented', () => {
    const bytes = (payload: FramePayload): number => {
      const decoded = decodeFrame(encodeFrame({ ...envelope, payload }), all);
      return decoded.ok ? decoded.header.payloadBytes : -1;
    };
    expect(bytes(payloads[0] as FramePayload)).toBe(501 * 4);
    expect(bytes(payloads[1] as FramePayload)).toBe(4 + 4 * 4 + 251 * 4);
    expect(bytes(payloads[2] as FramePayload)).toBe(4 + 4 * 8);
  });

  it('is refused unless the caller accepts compressed codecs, so fp32 readers stay safe', () => {
    const frame = encodeFrame({ ...envelope, payload: payloads[0] as FramePayload });
    expectError(decodeFrame(frame), 'FRAME_UNSUPPORTED_CODEC');
    const decoded = decodeFrame(frame, all);
    expect(decoded.ok).toBe(true);
    if (decoded.ok) expect(() => frameValues(decoded)).toThrow(RangeError);
  });

  it('rejects bad block sizes, over-long counts and unordered or out-of-range indices', () => {
    const int8 = encodeFrame({ ...envelope, payload: payloads[1] as FramePayload });
    const headerBytes = new DataView(int8.buffer).getUint16(26, true);
    expectError(
      decodeFrame(
        reseal(int8, (v) => v.setUint32(headerBytes, 6, true)),
        all,
      ),
      'FRAME_BAD_PAYLOAD',
    );
    expectError(
      decodeFrame(
        reseal(int8, (v) => v.setUint32(headerBytes, 512, true)),
        all,
      ),
      'FRAME_LENGTH_MISMATCH',
    );
    const topK = encodeFrame({ ...envelope, payload: payloads[2] as FramePayload });
    expectError(
      decodeFrame(
        reseal(topK, (v) => v.setUint32(headerBytes, n + 1, true)),
        all,
      ),
      'FRAME_BAD_PAYLOAD',
    );
    expectError(
      decodeFrame(
        reseal(topK, (v) => v.setUint32(headerBytes + 4 + 8, 7, true)),
        all,
      ),
      'FRAME_BAD_PAYLOAD',
    );
    expectError(
      decodeFrame(
        reseal(topK, (v) => v.setUint32(headerBytes + 4 + 12, n, true)),
        all,
      ),
      'FRAME_BAD_PAYLOAD',
    );
    expectError(decodeFrame(topK.subarray(0, headerBytes + 2), all), 'FRAME_TRUNCATED');
  });

  it('refuses to encode inconsistent payloads', () => {
    const bad: FramePayload[] = [
      { codec: 'fp16', length: n, packed: new Uint32Array(500) },
      {
        codec: 'int8Block',
        length: n,
        blockSize: 6,
        scales: new Float32Array(167),
        packed: new Uint32Array(251),
      },
      {
        codec: 'int8Block',
        length: n,
        blockSize: 256,
        scales: new Float32Array(3),
        packed: new Uint32Array(251),
      },
      { codec: 'topK', length: n, indices: Uint32Array.from([3, 3]), values: new Float32Array(2) },
      { codec: 'topK', length: n, indices: Uint32Array.from([n]), values: new Float32Array(1) },
      { codec: 'topK', length: n, indices: Uint32Array.from([1]), values: new Float32Array(2) },
    ];
    for (const payload of bad) expect(() => encodeFrame({ ...envelope, payload })).toThrow(RangeError);
  });

  it('never throws on garbage under any codec id', () => {
    let s = 7;
    for (let trial = 0; trial < 400; trial++) {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      const frame = encodeFrame({ ...envelope, payload: payloads[trial % payloads.length] as FramePayload });
      const corrupt = frame.slice(0, Math.max(32, frame.length - (s % 64)));
      corrupt[s % corrupt.length] = s & 0xff;
      expect(() => decodeFrame(corrupt, all)).not.toThrow();
    }
    expect(Object.keys(FRAME_CODECS)).toEqual(ALL_FRAME_CODECS);
  });
});
