/**
 * Fuzzing what a peer's link receives (issue 16 part 6): chunk, ack and control messages through
 * decodeMessage, sequences of chunks from several peers through the Reassembler under small memory
 * limits, and decoded payloads of every codec through the codecs' check and accumulate. Nothing may
 * throw; every refusal has a declared code; the reassembler never holds more than its limits and
 * frees everything it held.
 * Cases per property: TABSWARM_FUZZ_RUNS (default 10,000).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ALL_FRAME_CODECS,
  decodeFrame,
  encodeFrame,
  framePayload,
  type FramePayload,
} from '@tabswarm/protocol';
import {
  ACK_STATUS_CODES,
  CHUNK_HEADER_BYTES,
  CHUNK_MAGIC,
  CHUNK_WIRE_VERSION,
  decodeMessage,
  encodeAck,
  encodeChunk,
  encodeControl,
  splitFrame,
} from './chunk-codec.ts';
import { createCodec } from './codecs.ts';
import { referenceKernels } from './kernel-library.ts';
import { Reassembler } from './reassembler.ts';

/** The package has no Node types: read the environment only where there is one. */
const env = (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env ?? {};
const RUNS = Number(env.TABSWARM_FUZZ_RUNS) || 10_000;
const RECEIVE_CODES: ReadonlySet<string> = new Set(ACK_STATUS_CODES);
const WIRE_CODES: ReadonlySet<string> = new Set(['CHUNK_MALFORMED', 'CHUNK_TRUNCATED', 'CHUNK_TOO_LARGE']);

const u32 = fc.oneof(fc.nat({ max: 8 }), fc.nat({ max: 0xffffffff }));

/** A message header with each field near a valid value or anywhere, then a body of random length. */
const structuredMessage = fc
  .record({
    magic: fc.oneof({ weight: 4, arbitrary: fc.constant(CHUNK_MAGIC) }, fc.nat({ max: 0xffffffff })),
    version: fc.oneof({ weight: 4, arbitrary: fc.constant(CHUNK_WIRE_VERSION) }, fc.nat({ max: 255 })),
    kind: fc.nat({ max: 4 }),
    headerBytes: fc.oneof({ weight: 4, arbitrary: fc.constant(CHUNK_HEADER_BYTES) }, fc.nat({ max: 0xffff })),
    words: fc.tuple(u32, u32, u32, u32, u32),
    body: fc.uint8Array({ maxLength: 80 }),
  })
  .map((m) => {
    const bytes = new Uint8Array(CHUNK_HEADER_BYTES + m.body.length);
    const view = new DataView(bytes.buffer);
    view.setUint32(0, m.magic, true);
    view.setUint8(4, m.version);
    view.setUint8(5, m.kind);
    view.setUint16(6, m.headerBytes, true);
    m.words.forEach((w, i) => view.setUint32(8 + i * 4, w, true));
    bytes.set(m.body, CHUNK_HEADER_BYTES);
    return bytes;
  });

function checkDecoded(data: unknown): void {
  const message = decodeMessage(data);
  switch (message.kind) {
    case 'error':
      expect(WIRE_CODES.has(message.code), message.code).toBe(true);
      break;
    case 'ack':
      expect(message.error === null || message.error === 'UNKNOWN' || RECEIVE_CODES.has(message.error)).toBe(
        true,
      );
      break;
    case 'chunk':
      expect(message.index).toBeLessThan(message.count);
      expect(message.payload.length).toBeLessThanOrEqual(message.stride);
      expect(message.index * message.stride + message.payload.length).toBeLessThanOrEqual(message.totalBytes);
      break;
    case 'control':
      break;
  }
}

describe('chunk wire fuzz', () => {
  it('arbitrary values and bytes never throw and are refused with a wire code', () => {
    fc.assert(fc.property(fc.oneof(fc.uint8Array({ maxLength: 128 }), fc.anything()), checkDecoded), {
      numRuns: RUNS,
    });
  });

  it('messages with random header fields: a coded refusal or a consistent chunk, ack or control', () => {
    fc.assert(fc.property(structuredMessage, checkDecoded), { numRuns: RUNS });
  });

  it('control messages of arbitrary JSON round-trip; acks of every status decode', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), fc.nat({ max: ACK_STATUS_CODES.length }), (body, status) => {
        let encoded: Uint8Array | null = null;
        try {
          encoded = encodeControl(body);
        } catch (error) {
          expect(error).toBeInstanceOf(RangeError); // over the size limit, the sender's own error
        }
        if (encoded !== null) {
          const decoded = decodeMessage(encoded);
          expect(decoded.kind).toBe('control');
          if (decoded.kind === 'control') expect(decoded.body).toEqual(JSON.parse(JSON.stringify(body)));
        }
        const ack = decodeMessage(
          encodeAck({
            transferId: 7,
            error: status === 0 ? null : (ACK_STATUS_CODES[status - 1] ?? null),
            checksum: 1,
            elementCount: 2,
            totalBytes: 3,
          }),
        );
        expect(ack.kind).toBe('ack');
      }),
      { numRuns: RUNS },
    );
  });
});

// ---------------------------------------------------------------------------------------------

const LIMITS = {
  maxBytesPerPeer: 600,
  maxBytesTotal: 1000,
  maxTransferBytes: 500,
  maxChunkBytes: 96,
  idleTimeoutMs: 50,
  rememberClosed: 8,
};

/** One step a receiver may see: a chunk (of a real frame, or with odd header values), time passing, an abort, a peer leaving. */
const step = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      op: fc.constant('frame' as const),
      peer: fc.constantFrom('a', 'b', 'c'),
      transferId: fc.nat({ max: 12 }),
      n: fc.nat({ max: 120 }),
      messageBytes: fc.integer({ min: CHUNK_HEADER_BYTES + 1, max: CHUNK_HEADER_BYTES + 128 }),
      /** Which chunks are delivered, in what order (indices modulo the count; repeats are duplicates). */
      order: fc.array(fc.nat({ max: 64 }), { maxLength: 10 }),
      corrupt: fc.option(fc.tuple(fc.nat(), fc.nat({ max: 255 }))),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('chunk' as const),
      peer: fc.constantFrom('a', 'b', 'c'),
      transferId: fc.nat({ max: 12 }),
      index: u32,
      count: u32,
      totalBytes: fc.oneof(fc.nat({ max: 700 }), u32),
      stride: fc.oneof(fc.nat({ max: 200 }), u32),
      payload: fc.uint8Array({ maxLength: 200 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('tick' as const), ms: fc.nat({ max: 80 }) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('abort' as const),
      peer: fc.constantFrom('a', 'b', 'c'),
      transferId: fc.nat({ max: 12 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant('drop' as const), peer: fc.constantFrom('a', 'b', 'c') }),
  },
);

function framesOf(
  n: number,
  transferId: number,
  messageBytes: number,
): { frame: Uint8Array; chunks: Uint8Array[] } {
  const frame = encodeFrame({
    jobId: 'job-1',
    senderId: 'peer',
    round: transferId,
    payload: { codec: 'fp32', values: Float32Array.from({ length: n }, (_, i) => i) },
  });
  return { frame, chunks: [...splitFrame(frame, transferId, messageBytes)] };
}

describe('reassembler fuzz', () => {
  it('any sequence of chunks, timeouts, aborts and departures: coded results, memory within the limits, all freed', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 24 }), (steps) => {
        let now = 0;
        const reassembler = new Reassembler({ ...LIMITS, now: () => now });
        const deliver = (peer: string, bytes: Uint8Array): void => {
          const message = decodeMessage(bytes);
          if (message.kind !== 'chunk') {
            if (message.kind === 'error') expect(WIRE_CODES.has(message.code)).toBe(true);
            return;
          }
          const result = reassembler.accept(peer, message);
          if (result !== null && !result.ok) expect(RECEIVE_CODES.has(result.code), result.code).toBe(true);
          if (result?.ok) expect(result.frame.header.jobId).toBe('job-1');
        };
        for (const s of steps) {
          switch (s.op) {
            case 'frame': {
              const { chunks } = framesOf(s.n, s.transferId, s.messageBytes);
              const order =
                s.order.length > 0 ? s.order.map((i) => i % chunks.length) : chunks.map((_, i) => i);
              for (const i of order) {
                const chunk = (chunks[i] as Uint8Array).slice();
                if (s.corrupt) chunk[s.corrupt[0] % chunk.length] = s.corrupt[1];
                deliver(s.peer, chunk);
              }
              break;
            }
            case 'chunk':
              deliver(s.peer, encodeChunk(s));
              break;
            case 'tick':
              now += s.ms;
              for (const e of reassembler.sweep()) expect(e.code).toBe('TRANSFER_TIMEOUT');
              break;
            case 'abort':
              reassembler.abort(s.peer, s.transferId);
              break;
            case 'drop':
              reassembler.dropPeer(s.peer);
              break;
          }
          const perPeer = ['a', 'b', 'c'].map((p) => reassembler.heldBytes(p));
          for (const held of perPeer) {
            expect(held).toBeGreaterThanOrEqual(0);
            expect(held).toBeLessThanOrEqual(LIMITS.maxBytesPerPeer);
          }
          expect(reassembler.heldBytes()).toBe(perPeer.reduce((x, y) => x + y, 0));
          expect(reassembler.heldBytes()).toBeLessThanOrEqual(LIMITS.maxBytesTotal);
        }
        now += LIMITS.idleTimeoutMs;
        reassembler.sweep();
        expect(reassembler.heldBytes()).toBe(0);
        expect(reassembler.activeTransfers()).toBe(0);
      }),
      { numRuns: RUNS },
    );
  });

  it('a frame delivered whole in any order is reassembled exactly', () => {
    fc.assert(
      fc.property(
        fc.nat({ max: 100 }),
        fc.integer({ min: CHUNK_HEADER_BYTES + 1, max: CHUNK_HEADER_BYTES + 96 }),
        fc.nat(),
        (n, messageBytes, seed) => {
          const { frame, chunks } = framesOf(n, 1, messageBytes);
          const order = chunks
            .map((_, i) => i)
            .sort((x, y) => ((x * 7919 + seed) % 97) - ((y * 7919 + seed) % 97) || x - y);
          const reassembler = new Reassembler({ ...LIMITS, maxTransferBytes: 1000, maxBytesPerPeer: 1000 });
          let result = null;
          for (const i of order) {
            const message = decodeMessage(chunks[i]);
            if (message.kind !== 'chunk') throw new Error('a chunk of a real frame did not decode');
            result = reassembler.accept('a', message);
          }
          if (frame.length > 1000) expect(result).toMatchObject({ ok: false, code: 'TRANSFER_TOO_LARGE' });
          else
            expect(result?.ok && result.frame.payload.slice()).toEqual(frame.subarray(frame.length - n * 4));
          expect(reassembler.heldBytes()).toBe(0);
        },
      ),
      { numRuns: RUNS },
    );
  });
});

// ---------------------------------------------------------------------------------------------

/** A payload of any codec whose fields are random: lengths, block sizes, indices, non-finite values. */
const anyPayload: fc.Arbitrary<FramePayload> = fc.oneof(
  fc.float32Array({ maxLength: 40 }).map((values): FramePayload => ({ codec: 'fp32', values })),
  fc
    .nat({ max: 40 })
    .chain((n) =>
      fc
        .uint32Array({ minLength: Math.ceil(n / 2), maxLength: Math.ceil(n / 2) })
        .map((packed): FramePayload => ({ codec: 'fp16', length: n, packed })),
    ),
  fc.tuple(fc.nat({ max: 40 }), fc.constantFrom(4, 8, 12, 256, 65_536)).chain(([n, blockSize]) =>
    fc
      .tuple(
        fc.float32Array({ minLength: Math.ceil(n / blockSize), maxLength: Math.ceil(n / blockSize) }),
        fc.uint32Array({ minLength: Math.ceil(n / 4), maxLength: Math.ceil(n / 4) }),
      )
      .map(([scales, packed]): FramePayload => ({
        codec: 'int8Block',
        length: n,
        blockSize,
        scales,
        packed,
      })),
  ),
  fc.nat({ max: 40 }).chain((n) =>
    fc.uniqueArray(fc.nat({ max: Math.max(0, n - 1) }), { maxLength: n }).chain((indices) =>
      fc
        .float32Array({ minLength: indices.length, maxLength: indices.length })
        .map((values): FramePayload => ({
          codec: 'topK',
          length: n,
          indices: Uint32Array.from(indices.sort((a, b) => a - b)),
          values,
        })),
    ),
  ),
);

describe('codec fuzz', () => {
  const codecs = (['fp32', 'fp16', 'int8', 'topk'] as const).map((name) =>
    createCodec(name, referenceKernels, { topkFraction: 0.25, int8BlockSize: 8 }),
  );

  it('decoded payloads of any codec: check refuses what does not fit; accumulate of what fits never throws or resizes', async () => {
    await fc.assert(
      fc.asyncProperty(
        anyPayload,
        fc.nat({ max: 40 }),
        fc.nat({ max: 3 }),
        async (payload, length, which) => {
          // Through the wire format first, as a receiver gets it.
          const decoded = decodeFrame(encodeFrame({ jobId: 'job-1', senderId: 'peer', round: 0, payload }), {
            codecs: ALL_FRAME_CODECS,
          });
          if (!decoded.ok) throw new Error(decoded.message);
          const received = framePayload(decoded);
          const codec = codecs[which] ?? codecs[0];
          if (codec === undefined) return;
          const reason = codec.check(received, length, codec.param(length));
          if (reason !== null) {
            expect(typeof reason).toBe('string');
            return;
          }
          const target = new Float32Array(length);
          await codec.accumulate(target, received);
          expect(target.length).toBe(length);
        },
      ),
      { numRuns: RUNS },
    );
  });
});
