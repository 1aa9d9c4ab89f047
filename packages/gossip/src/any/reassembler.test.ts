import { describe, expect, it } from 'vitest';
import { frameValues } from '@tabswarm/protocol';
import { decodeMessage, encodeChunk, type ChunkMessage } from './chunk-codec.ts';
import { Reassembler, type ReceiveEvent, type ReassemblerOptions } from './reassembler.ts';
import { chunksOf, firstDifference, randomVector, shuffled, testFrame } from './test-helpers.ts';

function fakeClock(start = 1_000): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}

/** Feeds chunks in order and returns every non-null event. */
function feed(reassembler: Reassembler, peerId: string, chunks: readonly ChunkMessage[]): ReceiveEvent[] {
  const events: ReceiveEvent[] = [];
  for (const chunk of chunks) {
    const event = reassembler.accept(peerId, chunk);
    if (event !== null) events.push(event);
  }
  return events;
}

function expectError(events: readonly ReceiveEvent[], code: string): void {
  expect(events).toHaveLength(1);
  expect(events[0]).toMatchObject({ ok: false, code });
}

const options = (extra: ReassemblerOptions = {}): ReassemblerOptions => ({ now: fakeClock().now, ...extra });

describe('reassembler', () => {
  it('rebuilds a multi-megabyte frame from 64 KiB chunks, checksum verified', () => {
    const elements = 1_048_576; // 4 MiB of fp32, the size the e2e swarm exchanges
    const frame = testFrame(elements);
    const chunks = chunksOf(frame, 77);
    expect(chunks.length).toBeGreaterThan(60);
    const r = new Reassembler(options());
    const events = feed(r, 'peerA', chunks);
    expect(events).toHaveLength(1);
    const event = events[0];
    expect(event?.ok).toBe(true);
    if (!event?.ok) return;
    expect(event).toMatchObject({ peerId: 'peerA', transferId: 77, bytes: frame.length });
    expect(event.frame.header).toMatchObject({ senderId: 'sender1', round: 3, elementCount: elements });
    expect(firstDifference(frameValues(event.frame), randomVector(elements))).toBe(-1);
    expect(r.heldBytes()).toBe(0);
    expect(r.activeTransfers()).toBe(0);
  });

  it('accepts chunks in any order', () => {
    const frame = testFrame(50_000, 3);
    const r = new Reassembler(options());
    const events = feed(r, 'peerA', shuffled(chunksOf(frame, 1, 8 * 1024)));
    expect(events).toHaveLength(1);
    expect(events[0]?.ok).toBe(true);
    if (events[0]?.ok)
      expect(firstDifference(frameValues(events[0].frame), randomVector(50_000, 3))).toBe(-1);
  });

  it('keeps interleaved transfers from different peers and ids apart', () => {
    const a = chunksOf(testFrame(20_000, 1), 1, 4096);
    const b = chunksOf(testFrame(30_000, 2), 1, 4096);
    const c = chunksOf(testFrame(10_000, 3), 2, 4096);
    const r = new Reassembler(options());
    const events: ReceiveEvent[] = [];
    for (let i = 0; i < Math.max(a.length, b.length, c.length); i++) {
      for (const [peer, list] of [
        ['A', a],
        ['B', b],
        ['A', c],
      ] as const) {
        const chunk = list[i];
        const event = chunk && r.accept(peer, chunk);
        if (event) events.push(event);
      }
    }
    expect(events.map((e) => e.ok && [e.peerId, e.frame.header.elementCount])).toEqual(
      expect.arrayContaining([
        ['A', 20_000],
        ['B', 30_000],
        ['A', 10_000],
      ]),
    );
    expect(r.heldBytes()).toBe(0);
  });

  it('rejects a duplicated chunk, frees the transfer and ignores its later chunks', () => {
    const chunks = chunksOf(testFrame(20_000), 5, 4096);
    const [first, second, ...rest] = chunks;
    if (!first || !second) throw new Error('need two chunks');
    const r = new Reassembler(options());
    expect(feed(r, 'A', [first, second])).toEqual([]);
    expect(r.heldBytes('A')).toBeGreaterThan(0);
    expectError(feed(r, 'A', [second]), 'CHUNK_DUPLICATE');
    expect(r.heldBytes('A')).toBe(0);
    expect(feed(r, 'A', rest)).toEqual([]);
    expect(r.heldBytes()).toBe(0);
  });

  it('rejects a chunk whose count or total disagrees with the rest of its transfer', () => {
    const chunks = chunksOf(testFrame(20_000), 6, 4096);
    const other = chunksOf(testFrame(21_000), 6, 4096);
    const r = new Reassembler(options());
    expect(feed(r, 'A', chunks.slice(0, 3))).toEqual([]);
    expectError(feed(r, 'A', other.slice(3, 4)), 'CHUNK_INCONSISTENT');
    expect(r.heldBytes()).toBe(0);
  });

  it('keeps a truncated chunk out: the codec flags it and the transfer never completes', () => {
    const frame = testFrame(5_000);
    const [message] = [...chunksOf(frame, 8, 4096)].map((c) => encodeChunk(c));
    if (!message) throw new Error('no chunk');
    const decoded = decodeMessage(message.subarray(0, message.length - 7));
    expect(decoded).toMatchObject({ kind: 'error', code: 'CHUNK_TRUNCATED', transferId: 8 });
    const r = new Reassembler(options());
    expect(r.abort('A', 8)).toBe(true);
    expect(r.abort('A', 8)).toBe(false);
    expect(feed(r, 'A', chunksOf(frame, 8, 4096))).toEqual([]);
    expect(r.heldBytes()).toBe(0);
  });

  it('refuses a transfer declaring more than the transfer cap before allocating it', () => {
    const r = new Reassembler(options({ maxTransferBytes: 1024 * 1024 }));
    const huge = encodeChunk({
      transferId: 9,
      index: 0,
      count: 65_536,
      totalBytes: 2 ** 32 - 1,
      stride: 65_536,
      payload: new Uint8Array(65_536),
    });
    const decoded = decodeMessage(huge);
    if (decoded.kind !== 'chunk') throw new Error('expected a well-formed chunk header');
    expectError(feed(r, 'A', [decoded]), 'TRANSFER_TOO_LARGE');
    expect(r.heldBytes()).toBe(0);
    expect(feed(r, 'A', [decoded])).toEqual([]); // remembered as closed: no error storm
  });

  it('enforces the per-peer memory cap across concurrent transfers, but not across peers', () => {
    const frame = testFrame(200_000); // ~800 KB each
    const r = new Reassembler(options({ maxBytesPerPeer: 1_000_000 }));
    const first = chunksOf(frame, 1, 65_536);
    const second = chunksOf(frame, 2, 65_536);
    expect(feed(r, 'A', first.slice(0, 1))).toEqual([]);
    expectError(feed(r, 'A', second.slice(0, 1)), 'PEER_MEMORY_EXCEEDED');
    expect(r.heldBytes('A')).toBe(frame.length);
    expect(feed(r, 'B', second.slice(0, 1))).toEqual([]);
    const done = feed(r, 'A', first.slice(1));
    expect(done[0]?.ok).toBe(true);
    expect(r.heldBytes('A')).toBe(0);
  });

  it('refuses chunks larger than the chunk cap', () => {
    const r = new Reassembler(options({ maxChunkBytes: 1000 }));
    expectError(feed(r, 'A', chunksOf(testFrame(1000), 1, 4096).slice(0, 1)), 'CHUNK_TOO_LARGE');
  });

  it('expires a stalled transfer after the idle timeout and frees its memory', () => {
    const clock = fakeClock();
    const r = new Reassembler({ now: clock.now, idleTimeoutMs: 5_000 });
    const chunks = chunksOf(testFrame(100_000), 3, 65_536);
    expect(feed(r, 'A', chunks.slice(0, 2))).toEqual([]);
    expect(r.heldBytes('A')).toBe(400_000 + 48);
    clock.advance(4_999);
    expect(r.sweep()).toEqual([]);
    expect(feed(r, 'A', chunks.slice(2, 3))).toEqual([]); // activity resets the idle clock
    clock.advance(4_999);
    expect(r.sweep()).toEqual([]);
    clock.advance(1);
    const expired = r.sweep();
    expect(expired).toHaveLength(1);
    expect(expired[0]).toMatchObject({ ok: false, peerId: 'A', transferId: 3, code: 'TRANSFER_TIMEOUT' });
    expect(r.heldBytes()).toBe(0);
    expect(r.activeTransfers()).toBe(0);
    expect(feed(r, 'A', chunks.slice(3))).toEqual([]); // late chunks of the expired transfer are ignored
    expect(r.heldBytes()).toBe(0);
  });

  it('delivers a frame whose checksum fails as a typed frame error', () => {
    const frame = testFrame(10_000);
    frame[frame.length - 5] = (frame[frame.length - 5] as number) ^ 0x01;
    const r = new Reassembler(options());
    expectError(feed(r, 'A', chunksOf(frame, 4, 4096)), 'FRAME_BAD_CHECKSUM');
    expect(r.heldBytes()).toBe(0);
  });

  it('drops a peer with everything it held', () => {
    const r = new Reassembler(options());
    feed(r, 'A', chunksOf(testFrame(10_000), 4, 4096).slice(0, 1));
    expect(r.heldBytes()).toBeGreaterThan(0);
    r.dropPeer('A');
    expect(r.heldBytes()).toBe(0);
  });
});
