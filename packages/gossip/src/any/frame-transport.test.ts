import { afterEach, describe, expect, it } from 'vitest';
import { decodeMessage } from './chunk-codec.ts';
import { FrameHub } from './frame-hub.ts';
import { FrameTransport } from './frame-transport.ts';
import { createMemoryLinkPair, type MemoryLinkOptions } from './memory-link.ts';
import { Reassembler, type ReceiveEvent } from './reassembler.ts';
import { testFrame } from './test-helpers.ts';

const hubs: FrameHub[] = [];
afterEach(() => {
  for (const hub of hubs.splice(0)) hub.close();
});

/** Two nodes, A and B, each with a hub, joined by one in-memory link. */
function pair(link: MemoryLinkOptions = {}, hubOptions: ConstructorParameters<typeof FrameHub>[0] = {}) {
  const received: { a: ReceiveEvent[]; b: ReceiveEvent[] } = { a: [], b: [] };
  const hubA = new FrameHub({ ...hubOptions, onReceive: (e) => received.a.push(e) });
  const hubB = new FrameHub({ ...hubOptions, onReceive: (e) => received.b.push(e) });
  hubs.push(hubA, hubB);
  const [atA, atB] = createMemoryLinkPair('A', 'B', link);
  return { a: hubA.attach(atA), b: hubB.attach(atB), hubA, hubB, received };
}

const kindOf = (message: Uint8Array): string => decodeMessage(message).kind;

describe('frame transport', () => {
  it('delivers a 4 MiB frame and resolves with the checksum the receiver verified', async () => {
    const { a, received } = pair({ bytesPerTick: 512 * 1024 });
    const frame = testFrame(1_048_576);
    const outcome = await a.sendFrame(frame);
    expect(outcome).toMatchObject({ ok: true, bytes: frame.length, elementCount: 1_048_576 });
    expect(received.b).toHaveLength(1);
    const event = received.b[0];
    expect(event?.ok).toBe(true);
    if (outcome.ok && event?.ok) {
      expect(event.frame.header.checksum).toBe(outcome.checksum);
      expect(event.peerId).toBe('A');
    }
  });

  it('never lets the link buffer grow past the limit', async () => {
    const { a, b } = pair(
      { bytesPerTick: 64 * 1024, tickMs: 1 },
      { transport: { maxBufferedBytes: 512 * 1024, lowWaterBytes: 128 * 1024 } },
    );
    const outcome = await a.sendFrame(testFrame(600_000));
    expect(outcome.ok).toBe(true);
    const peak = a.stats().peakBufferedBytes;
    expect(peak).toBeGreaterThan(256 * 1024); // it did fill up, so pacing was exercised
    expect(peak).toBeLessThanOrEqual(512 * 1024);
    expect(b.stats().framesReceived).toBe(1);
  });

  it('sends concurrent frames one after another and both arrive', async () => {
    const { a, received } = pair();
    const [first, second] = await Promise.all([
      a.sendFrame(testFrame(70_000, 1)),
      a.sendFrame(testFrame(30_000, 2)),
    ]);
    expect(first.ok && second.ok).toBe(true);
    expect(received.b.map((e) => e.ok && e.frame.header.elementCount)).toEqual([70_000, 30_000]);
  });

  it('reports a corrupted frame back to the sender as a typed rejection', async () => {
    let flipped = false;
    const { a, received } = pair({
      tamper: (message) => {
        if (flipped || kindOf(message) !== 'chunk' || message.length < 1000) return message;
        flipped = true;
        const copy = message.slice();
        copy[copy.length - 1] = (copy[copy.length - 1] as number) ^ 0x40;
        return copy;
      },
    });
    const outcome = await a.sendFrame(testFrame(50_000));
    expect(outcome).toMatchObject({ ok: false, code: 'REMOTE_REJECTED', remoteCode: 'FRAME_BAD_CHECKSUM' });
    expect(received.b).toMatchObject([{ ok: false, peerId: 'A', code: 'FRAME_BAD_CHECKSUM' }]);
  });

  it('tells the sender when a chunk arrives truncated', async () => {
    let cut = false;
    const { a, hubB, received } = pair({
      tamper: (message) => {
        if (cut || kindOf(message) !== 'chunk') return message;
        cut = true;
        return message.subarray(0, message.length - 3);
      },
    });
    const outcome = await a.sendFrame(testFrame(50_000));
    expect(outcome).toMatchObject({ ok: false, code: 'REMOTE_REJECTED', remoteCode: 'CHUNK_TRUNCATED' });
    expect(received.b).toMatchObject([{ ok: false, code: 'CHUNK_TRUNCATED' }]);
    expect(hubB.reassembler.heldBytes()).toBe(0);
  });

  it('expires a transfer that stalls and tells the sender', async () => {
    let dropped = false;
    const { a, hubB, received } = pair(
      {
        tamper: (message) => {
          const decoded = decodeMessage(message);
          if (!dropped && decoded.kind === 'chunk' && decoded.index === 1) {
            dropped = true;
            return null;
          }
          return message;
        },
      },
      { reassembler: { idleTimeoutMs: 50 }, sweepIntervalMs: 10 },
    );
    const outcome = await a.sendFrame(testFrame(50_000));
    expect(outcome).toMatchObject({ ok: false, code: 'REMOTE_REJECTED', remoteCode: 'TRANSFER_TIMEOUT' });
    expect(received.b).toMatchObject([{ ok: false, code: 'TRANSFER_TIMEOUT' }]);
    expect(hubB.reassembler.heldBytes()).toBe(0);
  });

  it('times out when no acknowledgement comes back', async () => {
    const [atA, atB] = createMemoryLinkPair('A', 'B', { tamper: (m) => (kindOf(m) === 'ack' ? null : m) });
    const a = new FrameTransport(atA, new Reassembler(), { ackTimeoutMs: 50 });
    const b = new FrameTransport(atB, new Reassembler());
    const outcome = await a.sendFrame(testFrame(1000));
    expect(outcome).toMatchObject({ ok: false, code: 'ACK_TIMEOUT' });
    expect(b.stats().framesReceived).toBe(1);
    a.close();
  });

  it('fails with CHANNEL_CLOSED when the link closes mid-transfer, and after', async () => {
    const { a, b } = pair({ bytesPerTick: 16 * 1024, tickMs: 1 });
    const sending = a.sendFrame(testFrame(200_000));
    setTimeout(() => b.close(), 5);
    expect(await sending).toMatchObject({ ok: false, code: 'CHANNEL_CLOSED' });
    expect(a.open).toBe(false);
    expect(await a.sendFrame(testFrame(10))).toMatchObject({ ok: false, code: 'CHANNEL_CLOSED' });
  });

  it('refuses bytes that are not a frame without touching the link', async () => {
    const { a } = pair();
    expect(await a.sendFrame(new Uint8Array(100))).toMatchObject({ ok: false, code: 'BAD_FRAME' });
  });

  it('lets a hub find an open transport by peer and forget it once closed', () => {
    const { a, hubA, hubB } = pair();
    expect(hubA.transportFor('B')).toBe(a);
    expect(hubB.transportFor('A')?.peerId).toBe('A');
    a.close();
    expect(hubA.transportFor('B')).toBeUndefined();
    expect(hubB.transportFor('A')).toBeUndefined();
    expect(hubA.peers()).toEqual([]);
  });
});
