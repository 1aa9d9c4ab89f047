/**
 * Owns what the frame transports of one node share: a Reassembler (so the memory caps hold per
 * peer across every link to it), the timer that expires stalled transfers, and the set of live
 * links, so a caller can reuse an open link to a peer instead of dialling again.
 */
import { FrameTransport, type FrameTransportOptions } from './frame-transport.ts';
import type { MessageLink } from './link.ts';
import { Reassembler, type ReassemblerOptions, type ReceiveEvent } from './reassembler.ts';

export interface FrameHubOptions {
  readonly reassembler?: ReassemblerOptions;
  readonly transport?: Omit<FrameTransportOptions, 'onReceive' | 'onControl'>;
  /** Every frame received and every transfer rejected, from any peer. */
  readonly onReceive?: (event: ReceiveEvent) => void;
  /** Every control message from any peer, unvalidated, with the transport it came on. */
  readonly onControl?: (body: unknown, transport: FrameTransport) => void;
  readonly sweepIntervalMs?: number;
}

export class FrameHub {
  readonly reassembler: Reassembler;
  readonly #options: FrameHubOptions;
  readonly #byPeer = new Map<string, Set<FrameTransport>>();
  #sweepTimer: ReturnType<typeof setInterval> | null = null;
  #closed = false;

  constructor(options: FrameHubOptions = {}) {
    this.#options = options;
    this.reassembler = new Reassembler(options.reassembler);
  }

  /** Wraps an open link in a transport that shares this hub's reassembler. */
  attach(link: MessageLink): FrameTransport {
    const { onReceive, onControl } = this.#options;
    const transport = new FrameTransport(link, this.reassembler, {
      ...this.#options.transport,
      ...(onReceive ? { onReceive } : {}),
      ...(onControl ? { onControl } : {}),
    });
    if (this.#closed) {
      transport.close();
      return transport;
    }
    let set = this.#byPeer.get(link.peerId);
    if (set === undefined) {
      set = new Set();
      this.#byPeer.set(link.peerId, set);
    }
    set.add(transport);
    transport.onClose(() => this.#detach(transport));
    this.#startSweeping();
    return transport;
  }

  /** An open transport to the peer, if there is one; a direct link is preferred over the relay. */
  transportFor(peerId: string): FrameTransport | undefined {
    let relay: FrameTransport | undefined;
    for (const transport of this.#byPeer.get(peerId) ?? []) {
      if (!transport.open) continue;
      if (transport.link.kind !== 'relay') return transport;
      relay ??= transport;
    }
    return relay;
  }

  /** Every transport attached to the peer that is still open. */
  transportsFor(peerId: string): FrameTransport[] {
    return [...(this.#byPeer.get(peerId) ?? [])].filter((t) => t.open);
  }

  peers(): string[] {
    return [...this.#byPeer.keys()];
  }

  /** Runs one expiry pass now; the hub also does this on its own timer. */
  sweep(): void {
    for (const error of this.reassembler.sweep()) {
      this.transportFor(error.peerId)?.reportRejected(error);
      this.#options.onReceive?.(error);
    }
  }

  close(): void {
    this.#closed = true;
    if (this.#sweepTimer !== null) clearInterval(this.#sweepTimer);
    this.#sweepTimer = null;
    for (const set of [...this.#byPeer.values()]) for (const transport of [...set]) transport.close();
    this.#byPeer.clear();
  }

  #detach(transport: FrameTransport): void {
    const set = this.#byPeer.get(transport.peerId);
    if (set === undefined) return;
    set.delete(transport);
    if (set.size === 0) {
      this.#byPeer.delete(transport.peerId);
      this.reassembler.dropPeer(transport.peerId);
    }
    if (this.#byPeer.size === 0 && this.#sweepTimer !== null) {
      clearInterval(this.#sweepTimer);
      this.#sweepTimer = null;
    }
  }

  #startSweeping(): void {
    if (this.#sweepTimer !== null) return;
    this.#sweepTimer = setInterval(() => this.sweep(), this.#options.sweepIntervalMs ?? 1000);
  }
}
