import { describe, expect, it } from 'vitest';
import type { RelayPort } from './coordinator-port.ts';
import { FrameTransport } from './frame-transport.ts';
import { MemoryCoordinator } from './memory-coordinator.ts';
import { Reassembler } from './reassembler.ts';
import { RelayHub } from './relay-link.ts';
import { testFrame } from './test-helpers.ts';

describe('relay links', () => {
  it('paces a frame to the relay rate with a bounded in-flight window, and it arrives intact', async () => {
    const coordinator = new MemoryCoordinator({ relayBytesPerSec: 4_000_000 });
    const a = new RelayHub(coordinator.join('a0000').relay as RelayPort, { maxInFlightBytes: 200_000 });
    const b = new RelayHub(coordinator.join('b0000').relay as RelayPort);
    let peakInFlight = 0;
    const probe = setInterval(() => (peakInFlight = Math.max(peakInFlight, a.inFlightBytes)), 1);
    const received: number[] = [];
    b.onIncoming((link) => {
      new FrameTransport(link, new Reassembler(), {
        onReceive: (e) => received.push(e.ok ? e.frame.header.elementCount : -1),
      });
    });
    const sender = new FrameTransport(a.link('b0000'), new Reassembler());
    const started = Date.now();
    const outcome = await sender.sendFrame(testFrame(500_000)); // 2 MB
    const elapsed = Date.now() - started;
    clearInterval(probe);
    expect(outcome).toMatchObject({ ok: true });
    expect(received).toEqual([500_000]);
    expect(elapsed).toBeGreaterThan(350); // 2 MB at 4 MB/s
    expect(peakInFlight).toBeLessThanOrEqual(200_000 + 65_600);
    a.close();
    b.close();
  });

  it('closes the link when the coordinator refuses a message (the recipient left)', async () => {
    const coordinator = new MemoryCoordinator();
    const a = new RelayHub(coordinator.join('a0000').relay as RelayPort);
    coordinator.join('b0000');
    const link = a.link('b0000');
    coordinator.leave('b0000');
    link.send(new Uint8Array(100));
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(link.open).toBe(false);
    a.close();
  });
});
