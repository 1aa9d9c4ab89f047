import { afterEach, describe, expect, it } from 'vitest';
import {
  decodeHello,
  encodeHello,
  helloHandshake,
  waitForChannelDrain,
  type DataChannelLike,
} from './direct-channel.ts';

/**
 * Two ends of a pre-negotiated data channel as a browser runs them: an end that does not exist
 * yet drops what reaches it (as Chromium does for a stream it has no channel for), messages are
 * delivered asynchronously, and `bufferedAmount` is whatever the test sets.
 */
class FakeEnd implements DataChannelLike {
  readyState = 'open';
  bufferedAmount = 0;
  bufferedAmountLowThreshold = 0;
  binaryType = 'blob';
  created = true;
  other: FakeEnd | null = null;
  readonly sent: Uint8Array[] = [];
  readonly #listeners = new Map<string, Set<(event: { data?: unknown }) => void>>();

  send(data: Uint8Array): void {
    if (this.readyState !== 'open') throw new Error('not open');
    this.sent.push(data.slice());
    const copy = data.slice().buffer;
    const to = this.other;
    setTimeout(() => {
      // A 'connecting' end gets it too: in a worker that was busy when the channel arrived,
      // Chromium dispatches queued messages before the open event.
      if (to?.created === true && to.readyState !== 'closed') to.emit('message', { data: copy });
    }, 1);
  }

  close(): void {
    if (this.readyState === 'closed') return;
    this.readyState = 'closed';
    this.emit('close', {});
  }

  addEventListener(type: string, listener: (event: { data?: unknown }) => void): void {
    let set = this.#listeners.get(type);
    if (set === undefined) this.#listeners.set(type, (set = new Set()));
    set.add(listener);
  }

  removeEventListener(type: string, listener: (event: { data?: unknown }) => void): void {
    this.#listeners.get(type)?.delete(listener);
  }

  listenerCount(type: string): number {
    return this.#listeners.get(type)?.size ?? 0;
  }

  emit(type: string, event: { data?: unknown }): void {
    for (const listener of [...(this.#listeners.get(type) ?? [])]) listener(event);
  }
}

function pair(): [FakeEnd, FakeEnd] {
  const a = new FakeEnd();
  const b = new FakeEnd();
  a.other = b;
  b.other = a;
  return [a, b];
}

const stops: (() => void)[] = [];
afterEach(() => {
  for (const stop of stops.splice(0)) stop();
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('the direct channel HELLO exchange', () => {
  it('encodes a HELLO no chunk-wire message can be taken for, and nothing else decodes as one', () => {
    expect(decodeHello(encodeHello(true).slice().buffer)).toEqual({ heard: true });
    expect(decodeHello(encodeHello(false).slice().buffer)).toEqual({ heard: false });
    const chunkMagic = Uint8Array.of(0x54, 0x53, 0x57, 0x43, 1, 1, 32, 0).buffer; // "TSWC" …
    expect(decodeHello(chunkMagic)).toBeNull();
    expect(decodeHello(new ArrayBuffer(9))).toBeNull();
    expect(decodeHello(encodeHello(true))).toBeNull(); // a view, not a received ArrayBuffer
  });

  it('both ends learn the other exists even when one end is created late (its first HELLOs lost)', async () => {
    const [a, b] = pair();
    b.created = false;
    const ha = helloHandshake(a, 2_000);
    stops.push(() => ha.stop());
    await sleep(180); // a's HELLOs so far reached no channel
    let aDone = false;
    void ha.done.then(() => (aDone = true));
    expect(aDone).toBe(false);
    b.created = true;
    const hb = helloHandshake(b, 2_000);
    stops.push(() => hb.stop());
    expect(await hb.done).toBe(true);
    expect(await ha.done).toBe(true);
    // Once each has heard that the other heard it, the repeats stop.
    await sleep(150);
    const settled = a.sent.length + b.sent.length;
    await sleep(200);
    expect(a.sent.length + b.sent.length).toBe(settled);
    expect(a.sent.length).toBeGreaterThan(2); // repeated while b did not exist
  });

  it('an end that hears the other before its own open event settles only once open, and answers then', async () => {
    const [a, b] = pair();
    b.readyState = 'connecting';
    const ha = helloHandshake(a, 2_000);
    const hb = helloHandshake(b, 2_000);
    stops.push(
      () => ha.stop(),
      () => hb.stop(),
    );
    let bDone = false;
    void hb.done.then(() => (bDone = true));
    await sleep(120); // b has heard a, and cannot send yet
    expect(bDone).toBe(false);
    expect(b.sent).toEqual([]);
    b.readyState = 'open';
    b.emit('open', {});
    expect(await hb.done).toBe(true);
    expect(await ha.done).toBe(true);
    expect(decodeHello(b.sent[0]!.slice().buffer)).toEqual({ heard: true });
  });

  it('gives up when the other side never opens its end, and on a close', async () => {
    const [a, b] = pair();
    b.created = false;
    const ha = helloHandshake(a, 300);
    stops.push(() => ha.stop());
    expect(await ha.done).toBe(false);
    // The repeats end at the deadline, stopped or not.
    const sent = a.sent.length;
    await sleep(150);
    expect(a.sent.length).toBe(sent);
    ha.stop();
    expect(a.listenerCount('message')).toBe(0);
    const [c] = pair();
    const hc = helloHandshake(c, 5_000);
    stops.push(() => hc.stop());
    c.close();
    expect(await hc.done).toBe(false);
  });

  it('a drain wait resolves on the low-water event, on a close, or at its timeout', async () => {
    const [a] = pair();
    a.bufferedAmount = 10_000;
    const drained = waitForChannelDrain(a, 1_000, 5_000, () => a.readyState === 'open');
    expect(a.bufferedAmountLowThreshold).toBe(1_000);
    a.bufferedAmount = 500;
    a.emit('bufferedamountlow', {});
    expect(await drained).toBe(true);
    a.bufferedAmount = 10_000;
    const closing = waitForChannelDrain(a, 1_000, 5_000, () => a.readyState === 'open');
    a.close();
    expect(await closing).toBe(false);
    const [b] = pair();
    b.bufferedAmount = 10_000;
    expect(await waitForChannelDrain(b, 1_000, 50, () => true)).toBe(false);
  });
});
