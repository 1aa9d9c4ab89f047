/**
 * Fuzzing the binary decoders every receiver runs on untrusted bytes (issue 16 part 6): parameter
 * frames of every codec, dataset shards and peer control messages. Generated cases, both arbitrary
 * bytes and frames whose header fields are random but whose checksum is stamped right (so the
 * decoder's checks past the checksum are reached). Nothing may throw; every refusal carries a code
 * from the declared list; what is accepted is internally consistent.
 * Cases per property: TABSWARM_FUZZ_RUNS (default 10,000).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crc32Update } from './crc32.ts';
import {
  ALL_FRAME_CODECS,
  decodeFrame,
  encodeFrame,
  FRAME_CODECS,
  FRAME_ERROR_CODES,
  FRAME_MAGIC,
  framePayload,
  type DecodedFrame,
} from './frame.ts';
import { gossipControlSchema } from './gossip.ts';
import { SHARD_HEADER_BYTES, SHARD_MAGIC, SHARD_VERSION, shardBytes, tryDecodeShard } from './shard.ts';
import { FRAME_VERSION } from './version.ts';

/** The package has no Node types: read the environment only where there is one. */
const env = (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env ?? {};
const RUNS = Number(env.TABSWARM_FUZZ_RUNS) || 10_000;
const ERROR_CODES: ReadonlySet<string> = new Set(FRAME_ERROR_CODES);
const ID_CHARS = 'abcXYZ019-_';

function stampChecksum(frame: Uint8Array): Uint8Array {
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const crc = crc32Update(crc32Update(0, frame.subarray(0, 20)), frame.subarray(24));
  view.setUint32(20, crc, true);
  return frame;
}

/** A frame header with each field near its valid value or anywhere, payload bytes random, checksum right. */
const structuredFrame = fc
  .record({
    magic: fc.oneof(fc.constant(FRAME_MAGIC), fc.nat({ max: 0xffffffff })),
    version: fc.oneof(fc.constant(FRAME_VERSION), fc.nat({ max: 0xffff })),
    codec: fc.oneof(fc.constantFrom(...Object.values(FRAME_CODECS)), fc.nat({ max: 255 })),
    flags: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, fc.nat({ max: 255 })),
    round: fc.nat({ max: 0xffffffff }),
    elementCount: fc.oneof(fc.nat({ max: 64 }), fc.nat({ max: 0xffffffff })),
    jobId: fc.string({ unit: fc.constantFrom(...ID_CHARS), minLength: 0, maxLength: 70 }),
    senderId: fc.oneof(
      fc.string({ unit: fc.constantFrom(...ID_CHARS), minLength: 1, maxLength: 8 }),
      fc.string({ maxLength: 8 }),
    ),
    /** Payload words; the first is the lead field (block size, top-k count) of compressed codecs. */
    lead: fc.oneof(fc.constantFrom(0, 1, 4, 8, 256, 65_536, 65_540), fc.nat({ max: 0xffffffff })),
    payload: fc.uint8Array({ maxLength: 600 }),
    payloadBytesDelta: fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, fc.integer({ min: -8, max: 8 })),
    headerDelta: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, fc.integer({ min: -8, max: 8 })),
    reserved: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, fc.nat({ max: 0xffffffff })),
    restamp: fc.boolean(),
  })
  .map((f) => {
    const job = new TextEncoder().encode(f.jobId);
    const sender = new TextEncoder().encode(f.senderId);
    const headerBytes = Math.ceil((32 + job.length + sender.length) / 8) * 8;
    const payload = new Uint8Array(4 + f.payload.length);
    new DataView(payload.buffer).setUint32(0, f.lead, true);
    payload.set(f.payload, 4);
    const frame = new Uint8Array(headerBytes + payload.length);
    const view = new DataView(frame.buffer);
    view.setUint32(0, f.magic, true);
    view.setUint16(4, f.version, true);
    view.setUint8(6, f.codec);
    view.setUint8(7, f.flags);
    view.setUint32(8, f.round, true);
    view.setUint32(12, f.elementCount, true);
    view.setUint32(16, Math.max(0, payload.length + f.payloadBytesDelta), true);
    view.setUint8(24, Math.min(255, job.length));
    view.setUint8(25, Math.min(255, sender.length));
    view.setUint16(26, Math.max(0, headerBytes + f.headerDelta), true);
    view.setUint32(28, f.reserved, true);
    frame.set(job, 32);
    frame.set(sender, 32 + job.length);
    frame.set(payload, headerBytes);
    return f.restamp ? stampChecksum(frame) : frame;
  });

/** A valid frame of any codec, then one byte range overwritten and the checksum stamped again. */
const mutatedValidFrame = fc
  .record({
    codec: fc.constantFrom('fp32', 'fp16', 'int8Block', 'topK'),
    n: fc.nat({ max: 40 }),
    at: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }),
    offsetBy: fc.nat({ max: 3 }),
  })
  .map(({ codec, n, at, bytes, offsetBy }) => {
    const values = Float32Array.from({ length: n }, (_, i) => i - n / 2);
    const k = Math.floor(n / 3);
    const payload =
      codec === 'fp32'
        ? { codec, values }
        : codec === 'fp16'
          ? { codec, length: n, packed: new Uint32Array(Math.ceil(n / 2)) }
          : codec === 'int8Block'
            ? {
                codec,
                length: n,
                blockSize: 8,
                scales: new Float32Array(Math.ceil(n / 8)).fill(1),
                packed: new Uint32Array(Math.ceil(n / 4)),
              }
            : {
                codec,
                length: n,
                indices: Uint32Array.from({ length: k }, (_, i) => i * 2),
                values: new Float32Array(k),
              };
    const frame = encodeFrame({ jobId: 'job-1', senderId: 'node_a', round: 3, payload });
    const start = at % frame.length;
    frame.set(bytes.subarray(0, frame.length - start), start);
    stampChecksum(frame);
    // At an odd offset inside a larger buffer, as a view of a received message is.
    const holder = new Uint8Array(frame.length + offsetBy);
    holder.set(frame, offsetBy);
    return holder.subarray(offsetBy);
  });

/** What an accepted frame promises: its payload arrays fit its header, top-k indices are in range. */
function checkAccepted(decoded: DecodedFrame): void {
  const { header } = decoded;
  const payload = framePayload(decoded);
  const n = header.elementCount;
  switch (payload.codec) {
    case 'fp32':
      expect(payload.values.length).toBe(n);
      break;
    case 'fp16':
      expect(payload.packed.length).toBe(Math.ceil(n / 2));
      break;
    case 'int8Block':
      expect(payload.scales.length).toBe(Math.ceil(n / payload.blockSize));
      expect(payload.packed.length).toBe(Math.ceil(n / 4));
      break;
    case 'topK':
      expect(payload.indices.length).toBe(payload.values.length);
      for (let j = 0; j < payload.indices.length; j++) {
        expect(payload.indices[j]).toBeLessThan(n);
        if (j > 0) expect(payload.indices[j]).toBeGreaterThan(payload.indices[j - 1] as number);
      }
      break;
  }
  // Re-encoding what was decoded gives the same payload bytes: nothing was read past the frame.
  const again = encodeFrame({ jobId: header.jobId, senderId: header.senderId, round: header.round, payload });
  expect(again.subarray(again.length - header.payloadBytes)).toEqual(decoded.payload.slice());
}

function checkDecode(bytes: Uint8Array, maxBytes?: number): void {
  const decoded = decodeFrame(bytes, {
    codecs: ALL_FRAME_CODECS,
    ...(maxBytes !== undefined && { maxBytes }),
  });
  if (decoded.ok) checkAccepted(decoded);
  else {
    expect(ERROR_CODES.has(decoded.code), decoded.code).toBe(true);
    expect(typeof decoded.message).toBe('string');
  }
  // With the default codec list (fp32 only), anything else is refused with a code.
  const fp32Only = decodeFrame(bytes);
  if (fp32Only.ok) expect(fp32Only.header.codec).toBe('fp32');
  else expect(ERROR_CODES.has(fp32Only.code)).toBe(true);
}

describe('frame decoder fuzz', () => {
  it('arbitrary bytes never throw and are refused with a frame error code', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), (bytes) => checkDecode(bytes)),
      { numRuns: RUNS },
    );
  });

  it('frames with random header fields and a right checksum: coded refusal or a consistent frame', () => {
    fc.assert(
      fc.property(structuredFrame, fc.option(fc.nat({ max: 1024 })), (bytes, maxBytes) =>
        checkDecode(bytes, maxBytes ?? undefined),
      ),
      { numRuns: RUNS },
    );
  });

  it('valid frames of every codec with a byte range overwritten (checksum restamped), unaligned', () => {
    fc.assert(
      fc.property(mutatedValidFrame, (bytes) => checkDecode(bytes)),
      { numRuns: RUNS },
    );
  });
});

/** A shard header with random fields (near valid ones) and a body of random length. */
const structuredShard = fc
  .record({
    magic: fc.oneof({ weight: 4, arbitrary: fc.constant(SHARD_MAGIC) }, fc.nat({ max: 0xffffffff })),
    version: fc.oneof({ weight: 4, arbitrary: fc.constant(SHARD_VERSION) }, fc.nat({ max: 0xffff })),
    dtype: fc.nat({ max: 2 }),
    labelDtype: fc.nat({ max: 2 }),
    count: fc.oneof(fc.nat({ max: 16 }), fc.nat({ max: 0xffffffff })),
    featureCount: fc.oneof(fc.nat({ max: 16 }), fc.nat({ max: 0xffffffff })),
    split: fc.nat({ max: 2 }),
    scale: fc.double(),
    offset: fc.double(),
    exact: fc.boolean(),
    extra: fc.integer({ min: -4, max: 4 }),
  })
  .map((s) => {
    const describes =
      s.dtype < 2 && s.labelDtype < 2
        ? shardBytes({
            dtype: s.dtype === 0 ? 'uint8' : 'float32',
            labelDtype: s.labelDtype === 0 ? 'uint8' : 'uint16',
            count: s.count,
            featureCount: s.featureCount,
          })
        : SHARD_HEADER_BYTES + 8;
    const length = Math.max(SHARD_HEADER_BYTES, s.exact && describes < 4096 ? describes : 64 + s.extra);
    const bytes = new Uint8Array(length);
    const view = new DataView(bytes.buffer);
    view.setUint32(0, s.magic, true);
    view.setUint16(4, s.version, true);
    view.setUint8(6, s.dtype);
    view.setUint8(7, s.labelDtype);
    view.setUint32(8, s.count, true);
    view.setUint32(12, s.featureCount, true);
    view.setUint8(20, s.split);
    view.setFloat64(24, s.scale, true);
    view.setFloat64(32, s.offset, true);
    return bytes;
  });

describe('shard decoder fuzz', () => {
  const check = (bytes: Uint8Array): void => {
    const decoded = tryDecodeShard(bytes);
    if (!decoded.ok) {
      expect(decoded.code).toBe('SHARD_INVALID');
      return;
    }
    const { shard } = decoded;
    expect(shard.x.length).toBe(shard.count * shard.featureCount);
    expect(shard.y.length).toBe(shard.count);
    expect(bytes.length).toBe(shardBytes(shard));
  };

  it('arbitrary bytes are refused with SHARD_INVALID, never thrown', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), check), { numRuns: RUNS });
  });

  it('shards with random header fields: refused with a code or decoded to the described size', () => {
    fc.assert(fc.property(structuredShard, check), { numRuns: RUNS });
  });
});

describe('peer control message fuzz', () => {
  const controlLike = fc.oneof(
    fc.jsonValue(),
    fc.record(
      {
        t: fc.constantFrom(
          'ping',
          'pong',
          'xreq',
          'xrep',
          'xok',
          'xabort',
          'bye',
          '__proto__',
          'constructor',
        ),
        seq: fc.oneof(fc.nat(), fc.double(), fc.string()),
        at: fc.oneof(fc.double(), fc.constant(Number.NaN)),
        x: fc.oneof(fc.nat({ max: 0xffffffff }), fc.integer(), fc.double()),
        job: fc.oneof(fc.string(), fc.constant('job-1')),
        round: fc.oneof(fc.nat(), fc.integer()),
        codec: fc.oneof(fc.constantFrom('fp32', 'fp16', 'int8', 'topk'), fc.string()),
        n: fc.integer(),
        param: fc.integer(),
        epoch: fc.oneof(fc.constant(null), fc.integer()),
        verdict: fc.constantFrom('accept', 'busy', 'refuse', 'x'),
        reason: fc.oneof(fc.constant(null), fc.string({ maxLength: 300 })),
        reset: fc.oneof(fc.boolean(), fc.integer()),
      },
      { requiredKeys: ['t'] },
    ),
  );

  it('control bodies: safeParse never throws; what passes is one of the declared messages', () => {
    fc.assert(
      fc.property(controlLike, (body) => {
        const parsed = gossipControlSchema.safeParse(body);
        if (parsed.success)
          expect(['ping', 'pong', 'xreq', 'xrep', 'xok', 'xabort', 'bye']).toContain(parsed.data.t);
        else expect(parsed.error.issues.length).toBeGreaterThan(0);
      }),
      { numRuns: RUNS },
    );
  });
});
