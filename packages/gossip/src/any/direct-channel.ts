/**
 * A data channel the trainer's worker holds itself. The page opens a second, pre-negotiated
 * RTCDataChannel on each peer connection and transfers it to the worker at creation (Chromium
 * allows a transfer only then), so frames go between the worker and the wire without a task on the
 * page. Both tabs create their end independently, and a message reaching a tab before its end
 * exists is dropped by the browser: the two workers first exchange HELLOs, repeated until heard,
 * and a side sends frames on the channel only after hearing the other's — else (an older tab, a
 * browser that cannot transfer) it keeps sending through the page.
 */

/** What the worker uses of an RTCDataChannel (structural, so tests can stand in for one). */
export interface DataChannelLike {
  readonly readyState: string;
  readonly bufferedAmount: number;
  bufferedAmountLowThreshold: number;
  binaryType: string;
  send(data: Uint8Array): void;
  close(): void;
  addEventListener(type: string, listener: (event: { data?: unknown }) => void): void;
  removeEventListener(type: string, listener: (event: { data?: unknown }) => void): void;
}

/** The negotiated id of the direct channel on every peer connection (PeerJS's own is 0 or 1). */
export const DIRECT_CHANNEL_ID = 64;
export const DIRECT_CHANNEL_LABEL = 'tabswarm-direct';

/** How often a HELLO is repeated until the other side answers, and how long a side waits for it. */
export const HELLO_REPEAT_MS = 50;
export const HELLO_TIMEOUT_MS = 3_000;

/** How often a drain wait re-checks, in case a `bufferedamountlow` event is missed. */
const DRAIN_POLL_MS = 100;

// "TSWH", version 1, then whether the sender has heard the other side. No chunk-wire message
// (magic "TSWC", chunk-codec.ts) can be taken for one.
const HELLO_BYTES = 8;
const HELLO_MAGIC = [0x54, 0x53, 0x57, 0x48, 1] as const;

export function encodeHello(heard: boolean): Uint8Array {
  return Uint8Array.of(...HELLO_MAGIC, heard ? 1 : 0, 0, 0);
}

/** The HELLO in `data`, if it is one: whether its sender had heard this side. */
export function decodeHello(data: unknown): { heard: boolean } | null {
  if (!(data instanceof ArrayBuffer) || data.byteLength !== HELLO_BYTES) return null;
  const bytes = new Uint8Array(data);
  for (let i = 0; i < HELLO_MAGIC.length; i++) if (bytes[i] !== HELLO_MAGIC[i]) return null;
  return { heard: bytes[5] === 1 };
}

/**
 * Runs the HELLO exchange on `channel`. Resolves true once this side has heard the other (its end
 * exists, so frames sent now arrive) and its own end is open, false when `timeoutMs` passes or the
 * channel closes first. Repeats its own HELLO until told it was heard (at most until `timeoutMs`) and answers the other
 * side's until `stop()`.
 */
export function helloHandshake(
  channel: DataChannelLike,
  timeoutMs = HELLO_TIMEOUT_MS,
): { readonly done: Promise<boolean>; stop(): void } {
  let heardOther = false;
  let otherHeardUs = false;
  let settle: (ok: boolean) => void = () => undefined;
  const done = new Promise<boolean>((resolve) => (settle = resolve));
  const send = (): void => {
    if (channel.readyState !== 'open') return;
    try {
      channel.send(encodeHello(heardOther));
    } catch {
      // A full or closing channel: the next repeat tries again.
    }
  };
  // Settling twice is harmless: the promise keeps the first outcome.
  const finish = (ok: boolean): void => settle(ok);
  // Usable once the other side is heard and this end is open. In a worker busy when the channel
  // arrived, Chromium dispatches queued messages before the open event (readyState still
  // 'connecting', where send throws): the open event then answers and settles.
  const settleIfReady = (): void => {
    if (heardOther && channel.readyState === 'open') finish(true);
  };
  const onOpen = (): void => {
    send();
    settleIfReady();
  };
  const onMessage = (event: { data?: unknown }): void => {
    const hello = decodeHello(event.data);
    if (hello === null) return;
    const first = !heardOther;
    heardOther = true;
    if (hello.heard) otherHeardUs = true;
    // Answer until the other side says it heard us; the first time, say so at once.
    if (first || !hello.heard) send();
    if (otherHeardUs) clearInterval(repeat);
    settleIfReady();
  };
  const onClose = (): void => {
    stop();
    finish(false);
  };
  const stop = (): void => {
    clearInterval(repeat);
    clearTimeout(timer);
    channel.removeEventListener('message', onMessage);
    channel.removeEventListener('open', onOpen);
    channel.removeEventListener('close', onClose);
  };
  // At the deadline: a side not heard by then sends through the page, and the repeats end either way.
  const timer = setTimeout(() => {
    clearInterval(repeat);
    finish(false);
  }, timeoutMs);
  const repeat = setInterval(() => {
    if (!otherHeardUs) send();
  }, HELLO_REPEAT_MS);
  channel.addEventListener('message', onMessage);
  channel.addEventListener('open', onOpen);
  channel.addEventListener('close', onClose);
  if (channel.readyState === 'closed' || channel.readyState === 'closing') onClose();
  else send();
  return { done, stop };
}

/**
 * Resolves true once `channel.bufferedAmount` is at or below `lowWaterBytes`, false when it closes
 * (or `isOpen` says so) or `timeoutMs` passes first.
 */
export function waitForChannelDrain(
  channel: Pick<
    DataChannelLike,
    'bufferedAmount' | 'bufferedAmountLowThreshold' | 'addEventListener' | 'removeEventListener'
  >,
  lowWaterBytes: number,
  timeoutMs: number,
  isOpen: () => boolean,
): Promise<boolean> {
  if (!isOpen()) return Promise.resolve(false);
  if (channel.bufferedAmount <= lowWaterBytes) return Promise.resolve(true);
  return new Promise<boolean>((resolve) => {
    const finish = (drained: boolean): void => {
      clearTimeout(timer);
      clearInterval(poll);
      channel.removeEventListener('bufferedamountlow', onLow);
      channel.removeEventListener('close', onClose);
      resolve(drained);
    };
    const onLow = (): void => finish(true);
    const onClose = (): void => finish(false);
    const timer = setTimeout(() => finish(false), timeoutMs);
    const poll = setInterval(() => {
      if (!isOpen()) finish(false);
      else if (channel.bufferedAmount <= lowWaterBytes) finish(true);
    }, DRAIN_POLL_MS);
    channel.bufferedAmountLowThreshold = lowWaterBytes;
    channel.addEventListener('bufferedamountlow', onLow);
    channel.addEventListener('close', onClose);
  });
}
