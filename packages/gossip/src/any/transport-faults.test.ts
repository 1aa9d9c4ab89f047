/**
 * The transport end to end over in-memory links: a 100 MB parameter vector intact, and every
 * kind of damaged chunk stream turned into a typed rejection that both sides see, with the
 * receiver's memory back to zero afterwards.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { frameValues, encodeFp32Frame } from '@tabswarm/protocol';
import { CHUNK_HEADER_BYTES, decodeMessage, encodeChunk, encodeControl } from './chunk-codec.ts';
import { FrameHub } from './frame-hub.ts';
import { createMemoryLinkPair, type MemoryLinkOptions } from './memory-link.ts';
import type { ReceiveEvent } from './reassembler.ts';
import { randomVector, testFrame } from './test-helpers.ts';

const hubs: FrameHub[] = [];
afterEach(() => {
  for (const hub of hubs.splice(0)) hub.close();
});

function pair(link: MemoryLinkOptions = {}, hub: ConstructorParameters<typeof FrameHub>[0] = {}) {
  const received: ReceiveEvent[] = [];
  const control: unknown[] = [];
  const hubA = new FrameHub(hub);
  const hubB = new FrameHub({
    ...hub,
    onReceive: (e) => received.push(e),
    onControl: (body) => control.push(body),
  });
  hubs.push(hubA, hubB);
  const [atA, atB] = createMemoryLinkPair('A', 'B', link);
  return { a: hubA.attach(atA), b: hubB.attach(atB), hubB, received, control };
}

const chunkIndex = (m: Uint8Array): number | null => {
  const d = decodeMessage(m);
  return d.kind === 'chunk' ? d.index : null;
};

describe('transport under faults (memory links)', () => {
  it('carries a 100 MB parameter vector intact, checksum verified, with bounded buffering', async () => {
    const elements = 26_214_400; // 100 MiB of fp32
    const values = randomVector(elements, 11);
    const frame = encodeFp32Frame({ jobId: 'job-1', senderId: 'A', round: 1, values });
    const { a, hubB, received } = pair({ bytesPerTick: 4 << 20 });
    const outcome = await a.sendFrame(frame);
    expect(outcome).toMatchObject({ ok: true, bytes: frame.length, elementCount: elements });
    expect(a.stats().peakBufferedBytes).toBeLessThanOrEqual(4 * 1024 * 1024);
    const event = received[0];
    expect(event?.ok).toBe(true);
    if (!event?.ok) return;
    const got = frameValues(event.frame);
    let same = got.length === values.length;
    for (let i = 0; same && i < got.length; i += 1) same = Object.is(got[i], values[i]);
    expect(same).toBe(true);
    expect(hubB.reassembler.heldBytes()).toBe(0);
  }, 60_000);

  it('reassembles chunks that arrive out of order', async () => {
    let held: Uint8Array | null = null;
    const { a, received } = pair({
      tamper: (m) => {
        if (chunkIndex(m) === 0) {
          held = m;
          return null;
        }
        if (chunkIndex(m) === 3 && held !== null) return [m, held];
        return m;
      },
    });
    expect(await a.sendFrame(testFrame(100_000))).toMatchObject({ ok: true });
    expect(received).toMatchObject([{ ok: true }]);
  });

  it('rejects a duplicated chunk: CHUNK_DUPLICATE on both sides, memory freed', async () => {
    const { a, hubB, received } = pair({ tamper: (m) => (chunkIndex(m) === 2 ? [m, m] : m) });
    const outcome = await a.sendFrame(testFrame(100_000));
    expect(outcome).toMatchObject({ ok: false, code: 'REMOTE_REJECTED', remoteCode: 'CHUNK_DUPLICATE' });
    expect(received).toMatchObject([{ ok: false, code: 'CHUNK_DUPLICATE' }]);
    expect(hubB.reassembler.heldBytes()).toBe(0);
  });

  it('rejects a truncated chunk: CHUNK_TRUNCATED, memory freed', async () => {
    const { a, hubB, received } = pair({
      tamper: (m) => (chunkIndex(m) === 1 ? m.subarray(0, m.length - 9) : m),
    });
    const outcome = await a.sendFrame(testFrame(100_000));
    expect(outcome).toMatchObject({ ok: false, code: 'REMOTE_REJECTED', remoteCode: 'CHUNK_TRUNCATED' });
    expect(received.map((e) => !e.ok && e.code)).toContain('CHUNK_TRUNCATED');
    expect(hubB.reassembler.heldBytes()).toBe(0);
  });

  it('rejects an oversized chunk and a transfer over the size cap before allocating it', async () => {
    const padded = pair({
      tamper: (m) => {
        if (chunkIndex(m) !== 0) return m;
        const big = new Uint8Array(m.length + 100);
        big.set(m);
        return big;
      },
    });
    expect(await padded.a.sendFrame(testFrame(100_000))).toMatchObject({
      ok: false,
      remoteCode: 'CHUNK_TOO_LARGE',
    });
    const capped = pair({}, { reassembler: { maxTransferBytes: 64 * 1024 } });
    expect(await capped.a.sendFrame(testFrame(100_000))).toMatchObject({
      ok: false,
      remoteCode: 'TRANSFER_TOO_LARGE',
    });
    expect(capped.hubB.reassembler.heldBytes()).toBe(0);
  });

  it('holds at most the per-peer cap against a peer that opens transfers and never finishes them', async () => {
    const received: ReceiveEvent[] = [];
    const hubB = new FrameHub({
      reassembler: { maxBytesPerPeer: 1_000_000 },
      onReceive: (e) => received.push(e),
    });
    hubs.push(hubB);
    const [attacker, atB] = createMemoryLinkPair('A', 'B');
    hubB.attach(atB);
    for (let id = 1; id <= 50; id++) {
      const payload = new Uint8Array(60_000);
      attacker.send(
        encodeChunk({ transferId: id, index: 0, count: 4, totalBytes: 240_000, stride: 60_000, payload }),
      );
    }
    // Every chunk delivered (the memory link's delivery is asynchronous: on a loaded machine it
    // takes longer than any fixed wait), then: 4 transfers held, the other 46 refused.
    const refused = (): number => received.filter((e) => !e.ok && e.code === 'PEER_MEMORY_EXCEEDED').length;
    await vi.waitFor(() => expect(refused()).toBeGreaterThanOrEqual(46), { timeout: 10_000 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(hubB.reassembler.heldBytes('A')).toBeLessThanOrEqual(1_000_000);
    expect(refused()).toBe(46);
  });

  it('carries control messages beside a frame, and drops malformed ones', async () => {
    const { a, control } = pair({
      tamper: (m) => (m.length === CHUNK_HEADER_BYTES + 11 ? m.subarray(0, m.length - 1) : m),
    });
    const sending = a.sendFrame(testFrame(200_000));
    expect(a.sendControl({ t: 'ping', seq: 1, at: 5 })).toBeGreaterThan(CHUNK_HEADER_BYTES);
    expect(a.sendControl({ t: 'bye' })).toBe(CHUNK_HEADER_BYTES + 11); // truncated in flight: dropped
    expect(await sending).toMatchObject({ ok: true });
    expect(control).toEqual([{ t: 'ping', seq: 1, at: 5 }]);
    expect(() => encodeControl({ junk: 'x'.repeat(5000) })).toThrow(RangeError);
  });
});
