/**
 * Sends and receives whole parameter frames over one MessageLink: splits a frame into chunks,
 * paces them on the link's buffered amount, waits for the receiver's acknowledgement, and on the
 * receiving side feeds chunks to a (possibly shared) Reassembler and acknowledges each transfer.
 * Promises from `sendFrame` never reject; every failure is a typed SendOutcome.
 */
import { FRAME_MAGIC } from '@tabswarm/protocol';
import {
  CHUNK_HEADER_BYTES,
  DEFAULT_MAX_MESSAGE_BYTES,
  decodeMessage,
  encodeAck,
  encodeControl,
  splitFrame,
  type AckMessage,
  type ReceiveErrorCode,
} from './chunk-codec.ts';
import type { MessageLink } from './link.ts';
import type { ReceiveError, ReceiveEvent, Reassembler } from './reassembler.ts';

export const SEND_ERROR_CODES = [
  'BAD_FRAME',
  'CHANNEL_CLOSED',
  'SEND_FAILED',
  'DRAIN_TIMEOUT',
  'ACK_TIMEOUT',
  'REMOTE_REJECTED',
  'CHECKSUM_MISMATCH',
] as const;
export type SendErrorCode = (typeof SEND_ERROR_CODES)[number];

export interface SendSuccess {
  readonly ok: true;
  readonly transferId: number;
  readonly bytes: number;
  /** The checksum the receiver found after decoding; equal to the one sent. */
  readonly checksum: number;
  readonly elementCount: number;
  readonly durationMs: number;
}

export interface SendFailure {
  readonly ok: false;
  readonly transferId: number | null;
  readonly bytes: number;
  readonly code: SendErrorCode;
  /** The receiver's reason, when it rejected the transfer. */
  readonly remoteCode: ReceiveErrorCode | 'UNKNOWN' | null;
  readonly message: string;
}

export type SendOutcome = SendSuccess | SendFailure;

export interface FrameTransportOptions {
  /** Largest message put on the channel, header included. */
  readonly maxMessageBytes?: number;
  /** Never let the channel's buffer grow past this many bytes. */
  readonly maxBufferedBytes?: number;
  /** When the buffer is full, resume sending once it has drained to this. */
  readonly lowWaterBytes?: number;
  readonly drainTimeoutMs?: number;
  /** How long to wait for the receiver's acknowledgement after the last chunk. */
  readonly ackTimeoutMs?: number;
  /** Every frame received and every transfer rejected on this link. */
  readonly onReceive?: (event: ReceiveEvent) => void;
  /** Every control message (heartbeats, exchange handshakes) received on this link, unvalidated. */
  readonly onControl?: (body: unknown, transport: FrameTransport) => void;
}

export const DEFAULT_TRANSPORT_OPTIONS = {
  maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES,
  maxBufferedBytes: 4 * 1024 * 1024,
  lowWaterBytes: 1024 * 1024,
  drainTimeoutMs: 30_000,
  ackTimeoutMs: 30_000,
} as const;

export interface TransportStats {
  readonly framesSent: number;
  readonly framesReceived: number;
  /** The most the link ever had buffered right after this transport sent a message. */
  readonly peakBufferedBytes: number;
  /** Every byte this transport put on the link and took off it (chunks, acks, control). */
  readonly bytesSent: number;
  readonly bytesReceived: number;
  /** When the last message of any kind arrived (Date.now()); the heartbeat's liveness signal. */
  readonly lastReceivedAt: number;
}

/** Reads the checksum from a frame's header (layout in packages/protocol/src/frame.ts). */
function frameChecksum(frame: Uint8Array): number | null {
  if (!(frame instanceof Uint8Array) || frame.length < 32) return null;
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  if (view.getUint32(0, true) !== FRAME_MAGIC) return null;
  return view.getUint32(20, true);
}

let transferCounter = (Math.random() * 0x100000000) >>> 0;
/** Random start so two connections between the same peers do not collide on ids. */
function nextTransferId(): number {
  transferCounter = (transferCounter + 1) >>> 0;
  return transferCounter;
}

type AckWaiter = (ack: AckMessage | 'closed') => void;

export class FrameTransport {
  readonly link: MessageLink;
  readonly #reassembler: Reassembler;
  readonly #options: Required<Omit<FrameTransportOptions, 'onReceive' | 'onControl'>>;
  readonly #onReceive: ((event: ReceiveEvent) => void) | undefined;
  readonly #onControl: ((body: unknown, transport: FrameTransport) => void) | undefined;
  readonly #waiters = new Map<number, AckWaiter>();
  readonly #closeHandlers = new Set<() => void>();
  readonly #unsubscribe: (() => void)[];
  #sendChain: Promise<unknown> = Promise.resolve();
  #closed = false;
  #stats = {
    framesSent: 0,
    framesReceived: 0,
    peakBufferedBytes: 0,
    bytesSent: 0,
    bytesReceived: 0,
    lastReceivedAt: Date.now(),
  };

  constructor(link: MessageLink, reassembler: Reassembler, options: FrameTransportOptions = {}) {
    const { onReceive, onControl, ...rest } = options;
    this.link = link;
    this.#reassembler = reassembler;
    this.#onReceive = onReceive;
    this.#onControl = onControl;
    const merged = { ...DEFAULT_TRANSPORT_OPTIONS, ...rest };
    // Never exceed what the channel negotiated, whatever the caller asked for.
    const channelMax = link.maxMessageBytes;
    if (channelMax !== undefined && channelMax > CHUNK_HEADER_BYTES && channelMax < merged.maxMessageBytes) {
      merged.maxMessageBytes = channelMax;
    }
    this.#options = merged;
    if (this.#options.lowWaterBytes >= this.#options.maxBufferedBytes) {
      throw new RangeError('lowWaterBytes must be below maxBufferedBytes');
    }
    this.#unsubscribe = [
      link.onMessage((data) => this.#onMessage(data)),
      link.onClose(() => this.#onLinkClosed()),
    ];
    if (!link.open) this.#onLinkClosed();
  }

  get peerId(): string {
    return this.link.peerId;
  }

  get open(): boolean {
    return !this.#closed && this.link.open;
  }

  stats(): TransportStats {
    return { ...this.#stats };
  }

  /** How a frame of `bytes` is carried: the number of bytes it puts on this link, headers included. */
  wireBytes(bytes: number): number {
    const stride = this.#options.maxMessageBytes - CHUNK_HEADER_BYTES;
    return bytes + Math.max(1, Math.ceil(bytes / stride)) * CHUNK_HEADER_BYTES;
  }

  /**
   * Sends a control message (heartbeat, exchange handshake) ahead of any queued chunks of a frame
   * being sent. Returns the bytes put on the link, or 0 when the link is closed or refused it.
   */
  sendControl(body: unknown): number {
    const message = encodeControl(body);
    return this.#sendControl(message) ? message.length : 0;
  }

  /** Sends one encoded frame and resolves with the receiver's verdict. Frames go out one at a time. */
  sendFrame(frame: Uint8Array): Promise<SendOutcome> {
    const run = this.#sendChain.then(() => this.#send(frame));
    this.#sendChain = run;
    return run;
  }

  /** Tells the sender that its transfer was dropped here (used for timeouts found by a sweep). */
  reportRejected(error: ReceiveError): void {
    if (error.transferId === null) return;
    this.#sendControl(
      encodeAck({
        transferId: error.transferId,
        error: error.code,
        checksum: 0,
        elementCount: 0,
        totalBytes: 0,
      }),
    );
  }

  onClose(handler: () => void): () => void {
    this.#closeHandlers.add(handler);
    return () => this.#closeHandlers.delete(handler);
  }

  close(): void {
    this.link.close();
    this.#onLinkClosed();
  }

  async #send(frame: Uint8Array): Promise<SendOutcome> {
    const started = Date.now();
    const bytes = frame instanceof Uint8Array ? frame.length : 0;
    const failure = (
      code: SendErrorCode,
      message: string,
      transferId: number | null,
      remoteCode: SendFailure['remoteCode'] = null,
    ): SendFailure => ({ ok: false, transferId, bytes, code, remoteCode, message });

    const checksum = frameChecksum(frame);
    if (checksum === null) return failure('BAD_FRAME', 'not an encoded parameter frame', null);
    if (!this.open) return failure('CHANNEL_CLOSED', `link to ${this.peerId} is closed`, null);

    const transferId = nextTransferId();
    let ack: AckMessage | 'closed' | null = null;
    let wake: (() => void) | null = null;
    this.#waiters.set(transferId, (reply) => {
      ack = reply;
      wake?.();
    });
    const outcome = await this.#transmit(frame, transferId, () => ack !== null);
    if (outcome !== null) {
      this.#waiters.delete(transferId);
      return failure(outcome.code, outcome.message, transferId);
    }
    if (ack === null) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.#options.ackTimeoutMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    this.#waiters.delete(transferId);
    const reply = ack as AckMessage | 'closed' | null;
    if (reply === null) {
      return failure(
        'ACK_TIMEOUT',
        `no acknowledgement from ${this.peerId} within ${this.#options.ackTimeoutMs} ms`,
        transferId,
      );
    }
    if (reply === 'closed')
      return failure('CHANNEL_CLOSED', `link to ${this.peerId} closed before it acknowledged`, transferId);
    if (reply.error !== null) {
      return failure(
        'REMOTE_REJECTED',
        `${this.peerId} rejected the frame: ${reply.error}`,
        transferId,
        reply.error,
      );
    }
    if (reply.checksum !== checksum || reply.totalBytes !== bytes) {
      return failure(
        'CHECKSUM_MISMATCH',
        `${this.peerId} acknowledged checksum ${reply.checksum} over ${reply.totalBytes} bytes; sent ${checksum} over ${bytes}`,
        transferId,
      );
    }
    this.#stats.framesSent++;
    return {
      ok: true,
      transferId,
      bytes,
      checksum: reply.checksum,
      elementCount: reply.elementCount,
      durationMs: Date.now() - started,
    };
  }

  /** Puts every chunk on the link, pacing on its buffer. Returns null when all went out (or the receiver already answered). */
  async #transmit(
    frame: Uint8Array,
    transferId: number,
    answered: () => boolean,
  ): Promise<{ code: SendErrorCode; message: string } | null> {
    const { maxMessageBytes, maxBufferedBytes, lowWaterBytes, drainTimeoutMs } = this.#options;
    try {
      for (const message of splitFrame(frame, transferId, maxMessageBytes)) {
        if (answered()) return null; // the receiver rejected early; the rest would be ignored
        if (!this.open)
          return { code: 'CHANNEL_CLOSED', message: `link to ${this.peerId} closed while sending` };
        if (this.link.bufferedAmount + message.length > maxBufferedBytes) {
          const drained = await this.link.waitForDrain(lowWaterBytes, drainTimeoutMs);
          if (!this.open)
            return { code: 'CHANNEL_CLOSED', message: `link to ${this.peerId} closed while sending` };
          if (!drained)
            return {
              code: 'DRAIN_TIMEOUT',
              message: `link to ${this.peerId} did not drain within ${drainTimeoutMs} ms`,
            };
          if (answered()) return null;
        }
        this.link.send(message);
        this.#stats.bytesSent += message.length;
        this.#stats.peakBufferedBytes = Math.max(this.#stats.peakBufferedBytes, this.link.bufferedAmount);
      }
      return null;
    } catch (error) {
      if (error instanceof RangeError) return { code: 'BAD_FRAME', message: error.message };
      return {
        code: this.open ? 'SEND_FAILED' : 'CHANNEL_CLOSED',
        message: error instanceof Error ? error.message : String(error),
      };
    }
  }

  #onMessage(data: unknown): void {
    if (this.#closed) return;
    this.#stats.bytesReceived += byteLength(data);
    this.#stats.lastReceivedAt = Date.now();
    const message = decodeMessage(data);
    if (message.kind === 'control') {
      if (this.#onControl === undefined) return;
      try {
        this.#onControl(message.body, this);
      } catch (error) {
        queueMicrotask(() => {
          throw error;
        });
      }
      return;
    }
    if (message.kind === 'ack') {
      this.#waiters.get(message.transferId)?.(message);
      return;
    }
    if (message.kind === 'error') {
      // A malformed chunk dooms its transfer: free it now rather than at the timeout.
      if (message.transferId !== null && !this.#reassembler.abort(this.peerId, message.transferId)) return;
      const error: ReceiveError = {
        ok: false,
        peerId: this.peerId,
        transferId: message.transferId,
        code: message.code,
        message: message.message,
      };
      this.reportRejected(error);
      this.#deliver(error);
      return;
    }
    const event = this.#reassembler.accept(this.peerId, message);
    if (event === null) return;
    if (event.ok) {
      this.#stats.framesReceived++;
      this.#sendControl(
        encodeAck({
          transferId: event.transferId,
          error: null,
          checksum: event.frame.header.checksum,
          elementCount: event.frame.header.elementCount,
          totalBytes: event.bytes,
        }),
      );
    } else {
      this.reportRejected(event);
    }
    this.#deliver(event);
  }

  #deliver(event: ReceiveEvent): void {
    if (this.#onReceive === undefined) return;
    try {
      this.#onReceive(event);
    } catch (error) {
      // A failing handler must not break the link; surface it without unwinding the transport.
      queueMicrotask(() => {
        throw error;
      });
    }
  }

  #sendControl(message: Uint8Array): boolean {
    if (!this.open) return false;
    try {
      this.link.send(message);
      this.#stats.bytesSent += message.length;
      return true;
    } catch {
      // The link is failing; its close handler settles everything waiting on it.
      return false;
    }
  }

  #onLinkClosed(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const unsubscribe of this.#unsubscribe ?? []) unsubscribe();
    for (const waiter of [...this.#waiters.values()]) waiter('closed');
    this.#waiters.clear();
    for (const handler of [...this.#closeHandlers]) handler();
  }
}

function byteLength(data: unknown): number {
  if (data instanceof ArrayBuffer) return data.byteLength;
  if (ArrayBuffer.isView(data)) return data.byteLength;
  return 0;
}
